// Element-wise ops of one and two tensors, with broadcasting, and their gradients.
using Cortado.Backends;

namespace Cortado.Ops;

/// <summary>Shared dtype handling for element-wise ops: storage dtypes are computed in float32.</summary>
internal static class Pointwise
{
    /// <summary>Runs <paramref name="kernel"/> on compute-typed inputs and casts the result back to <paramref name="outType"/>.</summary>
    public static Tensor Compute(DType outType, int[] shape, DType computeOut, Action<Tensor> kernel)
    {
        // The element-wise kernels write every element of y: it need not be zeroed first.
        var y = Tensor.Uninitialized(computeOut, shape);
        if (y.Numel > 0) kernel(y);
        return outType == computeOut ? y : y.Cast(outType);
    }
}

/// <summary>y = f(x) element-wise for one of the <see cref="UnaryKind"/> functions; see that enum for each formula.</summary>
public sealed class UnaryOp(UnaryKind kind, double alpha = 0, double beta = 0) : Op
{
    /// <summary>The function.</summary>
    public UnaryKind Kind => kind;

    public override string Name => kind.ToString().ToLowerInvariant();
    public override int[] InferShape(int[][] s) => s[0];

    public override DType InferDType(DType[] d) => kind switch
    {
        UnaryKind.IsNaN => DType.Bool,
        _ => d[0],
    };

    public override bool Differentiable => kind is not (UnaryKind.Sign or UnaryKind.Floor or UnaryKind.Ceil or UnaryKind.Round or UnaryKind.Not or UnaryKind.IsNaN);

    private static bool IntegerOk(UnaryKind k) => k is UnaryKind.Neg or UnaryKind.Abs or UnaryKind.Sign or UnaryKind.Square or UnaryKind.Clamp
        or UnaryKind.AddScalar or UnaryKind.MulScalar or UnaryKind.Relu;

    public override Tensor Forward(Tensor[] inputs)
    {
        var x = inputs[0];
        var outType = InferDType([x.DType]);
        DType compute;
        if (kind == UnaryKind.Not)
        {
            if (x.DType != DType.Bool) throw new DTypeMismatchException($"{Where} needs bool input, got {x.DType.Name()}");
            compute = DType.Bool;
        }
        else if (x.DType is DType.Int32 or DType.Int64 && IntegerOk(kind)) compute = x.DType;
        else if (x.DType == DType.Float64) compute = DType.Float64;
        else compute = DType.Float32;
        if (!x.DType.IsFloating() && compute.IsFloating() && kind != UnaryKind.IsNaN) outType = DType.Float32;
        var xc = x.Cast(compute).Contiguous();
        var computeOut = kind == UnaryKind.IsNaN ? DType.Bool : compute;
        return Pointwise.Compute(outType, x.Dims, computeOut, y => Backend.Current.Unary(kind, xc, y, alpha, beta));
    }

    public override Tensor?[] Backward(Tensor[] inputs, Tensor y, Tensor g)
    {
        var x = inputs[0];
        Tensor gx = kind switch
        {
            UnaryKind.Neg => g.Neg(),
            UnaryKind.Abs => g * x.Sign(),
            UnaryKind.Exp => g * y,
            UnaryKind.Log => g / x,
            UnaryKind.Sqrt => g * 0.5 / y,
            UnaryKind.Rsqrt => g * (-0.5) * y * y * y,
            UnaryKind.Sin => g * x.Cos(),
            UnaryKind.Cos => -(g * x.Sin()),
            UnaryKind.Tanh => g * (1.0 - y * y),
            UnaryKind.Sigmoid => g * y * (1.0 - y),
            // The gradient at exactly 0 is taken as 0, as PyTorch does.
            UnaryKind.Relu => BinaryOp.ReluGrad(g, x),
            UnaryKind.Gelu => g * GeluGrad(x),
            UnaryKind.Erf => g * (x * x).Neg().Exp() * (2.0 / Math.Sqrt(Math.PI)),
            UnaryKind.Reciprocal => -(g * y * y),
            UnaryKind.Square => g * x * 2.0,
            UnaryKind.LeakyRelu => g * Tensor.Where(x > 0.0, Tensor.Scalar(1.0, g.DType), Tensor.Scalar(alpha, g.DType)),
            UnaryKind.Clamp => g * ((x >= alpha) & (x <= beta)).Cast(g.DType),
            UnaryKind.PowScalar => g * x.Pow(alpha - 1) * alpha,
            UnaryKind.AddScalar => g,
            UnaryKind.MulScalar => g * alpha,
            UnaryKind.Softplus => g * x.Sigmoid(),
            _ => throw new CortadoException($"{Where} has no gradient"),
        };
        return [gx];
    }

    private static Tensor GeluGrad(Tensor x)
    {
        // d/dx [x·Φ(x)] = Φ(x) + x·φ(x)
        var cdf = ((x * (1.0 / Math.Sqrt(2.0))).Erf() + 1.0) * 0.5;
        var pdf = (x * x * -0.5).Exp() * (1.0 / Math.Sqrt(2.0 * Math.PI));
        return cdf + x * pdf;
    }
}

/// <summary>y = f(a, b) element-wise with NumPy broadcasting, for one of the <see cref="BinaryKind"/> functions.</summary>
public sealed class BinaryOp(BinaryKind kind) : Op
{
    /// <summary>The function.</summary>
    public BinaryKind Kind => kind;

    public override string Name => kind.ToString().ToLowerInvariant();

    private bool IsComparison => kind is BinaryKind.Eq or BinaryKind.Ne or BinaryKind.Lt or BinaryKind.Le or BinaryKind.Gt or BinaryKind.Ge;
    private bool IsLogical => kind is BinaryKind.And or BinaryKind.Or or BinaryKind.Xor;

    public override bool Differentiable => !IsComparison && !IsLogical;

    public override int[] InferShape(int[][] s) => ShapeUtil.Broadcast(s[0], s[1]);

    public override DType InferDType(DType[] d)
    {
        if (IsComparison || IsLogical) return DType.Bool;
        var p = DTypeInfo.Promote(d[0], d[1]);
        if (kind is BinaryKind.Div or BinaryKind.Pow && !p.IsFloating()) return DType.Float32;
        return p;
    }

    public override Tensor Forward(Tensor[] x)
    {
        var (a, b) = (x[0], x[1]);
        int[] shape;
        try { shape = ShapeUtil.Broadcast(a.Shape, b.Shape); }
        catch (ShapeMismatchException e) { throw new ShapeMismatchException($"{Where}: {e.Message}"); }
        var outType = InferDType([a.DType, b.DType]);
        DType compute;
        if (IsLogical)
        {
            if (a.DType != DType.Bool || b.DType != DType.Bool) throw new DTypeMismatchException($"{Where} needs bool inputs, got {a.DType.Name()} and {b.DType.Name()}");
            compute = DType.Bool;
        }
        else
        {
            compute = DTypeInfo.Promote(a.DType, b.DType);
            if (compute == DType.Bool && kind is not (BinaryKind.Eq or BinaryKind.Ne)) compute = DType.Int32;
            if (kind is BinaryKind.Div or BinaryKind.Pow && !compute.IsFloating()) compute = DType.Float32;
            compute = compute.ComputeType();
            if (compute is DType.Int8 or DType.UInt8) compute = DType.Int32;
        }
        var av = ExpandOp.View(a.Cast(compute), shape);
        var bv = ExpandOp.View(b.Cast(compute), shape);
        var computeOut = IsComparison || IsLogical ? DType.Bool : compute;
        return Pointwise.Compute(outType, shape, computeOut, y => Backend.Current.Binary(kind, av, bv, y));
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var (a, b) = (x[0], x[1]);
        Tensor? ga = null, gb = null;
        switch (kind)
        {
            case BinaryKind.Add: ga = g; gb = g; break;
            case BinaryKind.Sub: ga = g; gb = g.Neg(); break;
            case BinaryKind.Mul:
                if (a.RequiresGrad) ga = g * b;
                if (b.RequiresGrad) gb = g * a;
                break;
            case BinaryKind.Div:
                if (a.RequiresGrad) ga = g / b;
                if (b.RequiresGrad) gb = -(g * a / (b * b));
                break;
            case BinaryKind.Pow:
                if (a.RequiresGrad) ga = g * b * a.Pow(b - 1.0);
                if (b.RequiresGrad) gb = g * y * Tensor.Where(a > 0.0, a, Tensor.OnesLike(a)).Log();
                break;
            case BinaryKind.Maximum:
            case BinaryKind.Minimum:
            {
                // Ties split the gradient evenly, as PyTorch does.
                var win = kind == BinaryKind.Maximum ? (a > b) : (a < b);
                var mask = win.Cast(g.DType) + a.Eq(b).Cast(g.DType) * 0.5;
                ga = g * mask;
                gb = g * (1.0 - mask);
                break;
            }
            case BinaryKind.ReluGrad:
                // Linear in the gradient a, piecewise constant in b (zero gradient almost everywhere).
                if (a.RequiresGrad) ga = ReluGrad(g, b);
                break;
            default:
                throw new CortadoException($"{Where} has no gradient");
        }
        return [ga?.SumTo(a.Dims), gb?.SumTo(b.Dims)];
    }

    /// <summary>ReLU's gradient g·(x &gt; 0) in one pass (<see cref="BinaryKind.ReluGrad"/>).</summary>
    internal static Tensor ReluGrad(Tensor g, Tensor x) => Op.Apply(new BinaryOp(BinaryKind.ReluGrad), g, x);
}

/// <summary>y = cond ? a : b element-wise with broadcasting (torch.where).</summary>
public sealed class WhereOp : Op
{
    public override string Name => "where";
    public override int[] InferShape(int[][] s) => ShapeUtil.Broadcast(ShapeUtil.Broadcast(s[0], s[1]), s[2]);
    public override DType InferDType(DType[] d) => DTypeInfo.Promote(d[1], d[2]);

    public override Tensor Forward(Tensor[] x)
    {
        var (c, a, b) = (x[0], x[1], x[2]);
        if (c.DType != DType.Bool) throw new DTypeMismatchException($"{Where}: condition must be bool, got {c.DType.Name()}");
        var shape = InferShape([c.Dims, a.Dims, b.Dims]);
        var outType = InferDType([c.DType, a.DType, b.DType]);
        var compute = outType.ComputeType();
        var cv = ExpandOp.View(c, shape);
        var av = ExpandOp.View(a.Cast(compute), shape);
        var bv = ExpandOp.View(b.Cast(compute), shape);
        return Pointwise.Compute(outType, shape, compute, y => Backend.Current.Where(cv, av, bv, y));
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var zero = Tensor.Scalar(0, g.DType);
        return [null, Tensor.Where(x[0], g, zero).SumTo(x[1].Dims), Tensor.Where(x[0], zero, g).SumTo(x[2].Dims)];
    }
}
