// Element-wise kernels: unary, binary with broadcasting, where, copy/cast and fill.
using System.Numerics;
using Cortado.Backends;
using Cortado.Cpu.Kernels;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>
    /// y = f(x) element-wise (see <see cref="UnaryKind"/> for each f). float32/float64 for every function;
    /// int32/int64 for Neg, Abs, Sign, Square, Clamp, AddScalar, MulScalar and Relu (integer results wrap on
    /// overflow; alpha/beta are converted by truncation toward zero, saturating, except that Clamp's bounds
    /// are rounded inward: lo = ⌈alpha⌉, hi = ⌊beta⌋); bool for Not; IsNaN writes bool (always false for
    /// integers). x may be any strided view of y's shape.
    /// </summary>
    public void Unary(UnaryKind op, Tensor x, Tensor y, double alpha = 0, double beta = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        CheckSameShape("unary_" + op, x, y);
        bool ok = x.DType switch
        {
            DType.Float32 => UnaryFloat<float>(op, x, y, alpha, beta),
            DType.Float64 => UnaryFloat<double>(op, x, y, alpha, beta),
            DType.Int32 => UnaryInt<int>(op, x, y, alpha, beta),
            DType.Int64 => UnaryInt<long>(op, x, y, alpha, beta),
            DType.Bool when op == UnaryKind.Not => UnaryNot(x, y),
            _ => false,
        };
        if (!ok) throw Missing("unary_" + op.ToString().ToLowerInvariant(), x.DType);
    }

    private bool UnaryFloat<T>(UnaryKind op, Tensor x, Tensor y, double alpha, double beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op == UnaryKind.IsNaN)
        {
            RequireDType("unary_isnan", y, DType.Bool);
            Drive.Unary<T, bool, IsNaNKernel<T>>(x, y, default);
            return true;
        }
        RequireDType("unary_" + op, y, x.DType);
        T a = T.CreateTruncating(alpha), b = T.CreateTruncating(beta);
        switch (op)
        {
            case UnaryKind.Neg: Drive.Unary<T, T, NegKernel<T>>(x, y, default); break;
            case UnaryKind.Abs: Drive.Unary<T, T, AbsFloatKernel<T>>(x, y, default); break;
            case UnaryKind.Exp: Drive.Unary<T, T, ExpKernel<T>>(x, y, default); break;
            case UnaryKind.Log: Drive.Unary<T, T, LogKernel<T>>(x, y, default); break;
            case UnaryKind.Sqrt: Drive.Unary<T, T, SqrtKernel<T>>(x, y, default); break;
            case UnaryKind.Rsqrt: Drive.Unary<T, T, RsqrtKernel<T>>(x, y, default); break;
            case UnaryKind.Sin: Drive.Unary<T, T, SinKernel<T>>(x, y, default); break;
            case UnaryKind.Cos: Drive.Unary<T, T, CosKernel<T>>(x, y, default); break;
            case UnaryKind.Tanh: Drive.Unary<T, T, TanhKernel<T>>(x, y, default); break;
            case UnaryKind.Sigmoid: Drive.Unary<T, T, SigmoidKernel<T>>(x, y, default); break;
            case UnaryKind.Floor: Drive.Unary<T, T, FloorKernel<T>>(x, y, default); break;
            case UnaryKind.Ceil: Drive.Unary<T, T, CeilKernel<T>>(x, y, default); break;
            case UnaryKind.Round: Drive.Unary<T, T, RoundKernel<T>>(x, y, default); break;
            case UnaryKind.Reciprocal: Drive.Unary<T, T, ReciprocalKernel<T>>(x, y, default); break;
            case UnaryKind.Square: Drive.Unary<T, T, SquareKernel<T>>(x, y, default); break;
            case UnaryKind.AddScalar: Drive.Unary<T, T, AddScalarKernel<T>>(x, y, new(a)); break;
            case UnaryKind.MulScalar: Drive.Unary<T, T, MulScalarKernel<T>>(x, y, new(a)); break;
            case UnaryKind.PowScalar:
                // x² is common (variance, norms) and exact as a product; Pow is a scalar loop.
                if (alpha == 2) Drive.Unary<T, T, SquareKernel<T>>(x, y, default);
                else if (alpha == 1) Drive.Unary<T, T, CopyKernel<T>>(x, y, default);
                else Drive.Unary<T, T, PowScalarKernel<T>>(x, y, new(a));
                break;
            case UnaryKind.Relu: Op<T, ReluOp<T>>(x, y, new()); break;
            case UnaryKind.LeakyRelu: Op<T, LeakyReluOp<T>>(x, y, new(a)); break;
            case UnaryKind.Clamp: Op<T, ClampOp<T>>(x, y, new(a, b)); break;
            case UnaryKind.Sign: Op<T, SignOp<T>>(x, y, new()); break;
            case UnaryKind.Gelu: Op<T, GeluOp<T>>(x, y, new()); break;
            case UnaryKind.Erf: Op<T, ErfOp<T>>(x, y, new()); break;
            case UnaryKind.Softplus: Op<T, SoftplusOp<T>>(x, y, new()); break;
            default: return false;
        }
        return true;
    }

    private bool UnaryInt<T>(UnaryKind op, Tensor x, Tensor y, double alpha, double beta) where T : unmanaged, IBinaryInteger<T>, ISignedNumber<T>, IMinMaxValue<T>
    {
        if (op == UnaryKind.IsNaN)
        {
            RequireDType("unary_isnan", y, DType.Bool);
            Fill(y, 0);
            return true;
        }
        RequireDType("unary_" + op, y, x.DType);
        T a = T.CreateSaturating(alpha);
        switch (op)
        {
            case UnaryKind.Neg: Drive.Unary<T, T, NegKernel<T>>(x, y, default); break;
            case UnaryKind.Abs: Op<T, AbsIntOp<T>>(x, y, new()); break;
            case UnaryKind.Sign: Op<T, SignOp<T>>(x, y, new()); break;
            case UnaryKind.Square: Drive.Unary<T, T, SquareKernel<T>>(x, y, default); break;
            case UnaryKind.AddScalar: Drive.Unary<T, T, AddScalarKernel<T>>(x, y, new(a)); break;
            case UnaryKind.MulScalar: Drive.Unary<T, T, MulScalarKernel<T>>(x, y, new(a)); break;
            case UnaryKind.Relu: Op<T, ReluOp<T>>(x, y, new()); break;
            case UnaryKind.Clamp:
                // For integers x ≥ 0.5 means x ≥ 1: round the bounds inward; NaN bounds leave that side open.
                T lo = double.IsNaN(alpha) ? T.MinValue : T.CreateSaturating(Math.Ceiling(alpha));
                T hi = double.IsNaN(beta) ? T.MaxValue : T.CreateSaturating(Math.Floor(beta));
                Op<T, ClampOp<T>>(x, y, new(lo, hi));
                break;
            default: return false;
        }
        return true;
    }

    private bool UnaryNot(Tensor x, Tensor y)
    {
        RequireDType("unary_not", y, DType.Bool);
        Drive.Unary<bool, bool, NotKernel>(x, y, default);
        return true;
    }

    private static void Op<T, TOp>(Tensor x, Tensor y, TOp op) where T : unmanaged where TOp : struct, IUnaryOperator<T> =>
        Drive.Unary<T, T, Vectorized<T, TOp>>(x, y, new Vectorized<T, TOp>(op));

    /// <summary>
    /// y = f(a, b) element-wise; a and b are views already broadcast to y's shape (stride 0 where
    /// broadcast). float32/float64: every op (Max/Min propagate NaN); int32/int64: Add, Sub, Mul, Maximum,
    /// Minimum (wrapping) and comparisons; bool: And, Or, Xor, Eq, Ne. Comparisons write bool.
    /// </summary>
    public void Binary(BinaryKind op, Tensor a, Tensor b, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(y);
        string name = "binary_" + op.ToString().ToLowerInvariant();
        CheckSameShape(name, a, y);
        CheckSameShape(name, b, y);
        if (a.DType != b.DType) throw new DTypeMismatchException($"{name}: operands are {a.DType.Name()} and {b.DType.Name()}; they must share one dtype");
        bool isCompare = op is BinaryKind.Eq or BinaryKind.Ne or BinaryKind.Lt or BinaryKind.Le or BinaryKind.Gt or BinaryKind.Ge;
        bool isLogical = op is BinaryKind.And or BinaryKind.Or or BinaryKind.Xor;
        RequireDType(name, y, isCompare || isLogical ? DType.Bool : a.DType);
        bool ok = a.DType switch
        {
            DType.Float32 => BinaryFloat<float>(op, a, b, y),
            DType.Float64 => BinaryFloat<double>(op, a, b, y),
            DType.Int32 => BinaryInt<int>(op, a, b, y),
            DType.Int64 => BinaryInt<long>(op, a, b, y),
            DType.Bool => BinaryBool(op, a, b, y),
            _ => false,
        };
        if (!ok) throw Missing(name, a.DType);
    }

    private static bool BinaryFloat<T>(BinaryKind op, Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case BinaryKind.Div: Drive.Binary<T, T, DivKernel<T>>(a, b, y, default); return true;
            case BinaryKind.Pow: Drive.Binary<T, T, PowKernel<T>>(a, b, y, default); return true;
            case BinaryKind.ReluGrad: Drive.Binary<T, T, ReluGradKernel<T>>(a, b, y, default); return true;
            default: return BinaryNumeric<T>(op, a, b, y);
        }
    }

    private static bool BinaryInt<T>(BinaryKind op, Tensor a, Tensor b, Tensor y) where T : unmanaged, IBinaryInteger<T> =>
        BinaryNumeric<T>(op, a, b, y);

    private static bool BinaryNumeric<T>(BinaryKind op, Tensor a, Tensor b, Tensor y) where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case BinaryKind.Add: Drive.Binary<T, T, AddKernel<T>>(a, b, y, default); break;
            case BinaryKind.Sub: Drive.Binary<T, T, SubKernel<T>>(a, b, y, default); break;
            case BinaryKind.Mul: Drive.Binary<T, T, MulKernel<T>>(a, b, y, default); break;
            case BinaryKind.Maximum: Drive.Binary<T, T, MaxKernel<T>>(a, b, y, default); break;
            case BinaryKind.Minimum: Drive.Binary<T, T, MinKernel<T>>(a, b, y, default); break;
            case BinaryKind.Eq: Drive.Binary<T, bool, CompareKernel<T, EqPredicate<T>>>(a, b, y, default); break;
            case BinaryKind.Ne: Drive.Binary<T, bool, CompareKernel<T, NePredicate<T>>>(a, b, y, default); break;
            case BinaryKind.Lt: Drive.Binary<T, bool, CompareKernel<T, LtPredicate<T>>>(a, b, y, default); break;
            case BinaryKind.Le: Drive.Binary<T, bool, CompareKernel<T, LePredicate<T>>>(a, b, y, default); break;
            case BinaryKind.Gt: Drive.Binary<T, bool, CompareKernel<T, GtPredicate<T>>>(a, b, y, default); break;
            case BinaryKind.Ge: Drive.Binary<T, bool, CompareKernel<T, GePredicate<T>>>(a, b, y, default); break;
            default: return false;
        }
        return true;
    }

    private static bool BinaryBool(BinaryKind op, Tensor a, Tensor b, Tensor y)
    {
        switch (op)
        {
            case BinaryKind.And: Drive.Binary<bool, bool, LogicalKernel>(a, b, y, new(LogicalKind.And)); break;
            case BinaryKind.Or: Drive.Binary<bool, bool, LogicalKernel>(a, b, y, new(LogicalKind.Or)); break;
            case BinaryKind.Xor: Drive.Binary<bool, bool, LogicalKernel>(a, b, y, new(LogicalKind.Xor)); break;
            case BinaryKind.Eq: Drive.Binary<bool, bool, CompareKernel<bool, BoolEqPredicate>>(a, b, y, default); break;
            case BinaryKind.Ne: Drive.Binary<bool, bool, CompareKernel<bool, BoolNePredicate>>(a, b, y, default); break;
            default: return false;
        }
        return true;
    }

    /// <summary>y = cond ? a : b element-wise; all three are views broadcast to y's shape; cond is bool; a, b and y share any one dtype.</summary>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(cond);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(y);
        CheckSameShape("where", cond, y);
        CheckSameShape("where", a, y);
        CheckSameShape("where", b, y);
        if (cond.DType != DType.Bool) throw new DTypeMismatchException($"where: condition must be bool, got {cond.DType.Name()}");
        if (a.DType != y.DType || b.DType != y.DType)
            throw new DTypeMismatchException($"where: values are {a.DType.Name()} and {b.DType.Name()} but the output is {y.DType.Name()}");
        switch (y.DType)
        {
            case DType.Float32: Drive.Where<float>(cond, a, b, y); break;
            case DType.Float64: Drive.Where<double>(cond, a, b, y); break;
            case DType.Int32: Drive.Where<int>(cond, a, b, y); break;
            case DType.Int64: Drive.Where<long>(cond, a, b, y); break;
            case DType.Bool: Drive.Where<bool>(cond, a, b, y); break;
            case DType.Float16: Drive.Where<Half>(cond, a, b, y); break;
            case DType.BFloat16: Drive.Where<BFloat16>(cond, a, b, y); break;
            case DType.Int8: Drive.Where<sbyte>(cond, a, b, y); break;
            case DType.UInt8: Drive.Where<byte>(cond, a, b, y); break;
            default: throw Missing("where", y.DType);
        }
    }

    /// <summary>
    /// dst = src element-wise, converting between any two of the nine dtypes; both may be strided views of
    /// one shape. Conversions: x → bool is x ≠ 0 (NaN → true); bool → number is 0/1; floating → int32/int64
    /// truncates toward zero and saturates (NaN → 0); floating → int8/uint8 truncates to int32 and keeps the
    /// low 8 bits (300.7 → 44); integer narrowing wraps; floating narrowing rounds to nearest even.
    /// </summary>
    public void Copy(Tensor src, Tensor dst)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(dst);
        CheckSameShape("copy", src, dst);
        switch (src.DType)
        {
            case DType.Float32: CopyFrom<float>(src, dst); break;
            case DType.Float64: CopyFrom<double>(src, dst); break;
            case DType.Int32: CopyFrom<int>(src, dst); break;
            case DType.Int64: CopyFrom<long>(src, dst); break;
            case DType.Bool: CopyFrom<bool>(src, dst); break;
            case DType.Float16: CopyFrom<Half>(src, dst); break;
            case DType.BFloat16: CopyFrom<BFloat16>(src, dst); break;
            case DType.Int8: CopyFrom<sbyte>(src, dst); break;
            case DType.UInt8: CopyFrom<byte>(src, dst); break;
            default: throw Missing("copy", src.DType);
        }
    }

    private void CopyFrom<TS>(Tensor src, Tensor dst) where TS : unmanaged
    {
        switch (dst.DType)
        {
            case DType.Float32: CopyTo<TS, float>(src, dst); break;
            case DType.Float64: CopyTo<TS, double>(src, dst); break;
            case DType.Int32: CopyTo<TS, int>(src, dst); break;
            case DType.Int64: CopyTo<TS, long>(src, dst); break;
            case DType.Bool: CopyTo<TS, bool>(src, dst); break;
            case DType.Float16: CopyTo<TS, Half>(src, dst); break;
            case DType.BFloat16: CopyTo<TS, BFloat16>(src, dst); break;
            case DType.Int8: CopyTo<TS, sbyte>(src, dst); break;
            case DType.UInt8: CopyTo<TS, byte>(src, dst); break;
            default: throw Missing("copy", dst.DType);
        }
    }

    private static void CopyTo<TS, TD>(Tensor src, Tensor dst) where TS : unmanaged where TD : unmanaged
    {
        if (typeof(TS) == typeof(TD)) Drive.Unary<TS, TS, CopyKernel<TS>>(src, dst, default);
        else Drive.Unary<TS, TD, ConvertKernel<TS, TD>>(src, dst, default);
    }

    /// <summary>Sets every element of <paramref name="dst"/> to <paramref name="value"/> converted to its dtype as <see cref="Copy"/> converts a float64 (NaN → 0 for integers, x ≠ 0 for bool).</summary>
    public void Fill(Tensor dst, double value)
    {
        ArgumentNullException.ThrowIfNull(dst);
        switch (dst.DType)
        {
            case DType.Float32: FillTyped<float>(dst, value); break;
            case DType.Float64: FillTyped<double>(dst, value); break;
            case DType.Int32: FillTyped<int>(dst, value); break;
            case DType.Int64: FillTyped<long>(dst, value); break;
            case DType.Bool: FillTyped<bool>(dst, value); break;
            case DType.Float16: FillTyped<Half>(dst, value); break;
            case DType.BFloat16: FillTyped<BFloat16>(dst, value); break;
            case DType.Int8: FillTyped<sbyte>(dst, value); break;
            case DType.UInt8: FillTyped<byte>(dst, value); break;
            default: throw Missing("fill", dst.DType);
        }
    }

    private static void FillTyped<T>(Tensor dst, double value) where T : unmanaged
    {
        if (dst.Numel == 0) return;
        T v = Cvt.FromDouble<T>(value);
        if (dst.IsContiguous)
        {
            new Span<T>(dst.Data<T>(), dst.Offset, dst.Numel).Fill(v);
            return;
        }
        // A strided destination: copy from a one-element source broadcast with stride 0.
        var one = new Tensor(new Storage<T>([v]), dst.Dims, new int[dst.Rank], 0);
        Drive.Unary<T, T, CopyKernel<T>>(one, dst, default);
    }

    private static void CheckSameShape(string op, Tensor a, Tensor y)
    {
        if (!ShapeUtil.Equal(a.Shape, y.Shape))
            throw new ShapeMismatchException($"{op}: operand shape {ShapeUtil.Format(a.Shape)} differs from output shape {ShapeUtil.Format(y.Shape)} (operands must be broadcast before the kernel)");
    }

    // Contiguous for the kernels' purposes. Core's Tensor.IsContiguous reports false for some tensors with a
    // zero-size dimension (e.g. shape [5, 0, 7]); such tensors hold nothing to lay out.
    private static bool Dense(Tensor t) => t.Numel == 0 || t.IsContiguous;

    private static void RequireDType(string op, Tensor t, DType want)
    {
        if (t.DType != want) throw new DTypeMismatchException($"{op}: output is {t.DType.Name()}, expected {want.Name()}");
    }
}
