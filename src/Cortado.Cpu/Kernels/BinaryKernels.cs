// Binary element-wise kernels: arithmetic through TensorPrimitives, comparisons and logic through small structs.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Cortado.Cpu.Kernels;

#pragma warning disable CA1812 // The structs are created through generic dispatch.

internal readonly struct AddKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Invoke(T a, T b) => a + b;
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Add(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Add(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Add(b, a, y);
}

internal readonly struct SubKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Invoke(T a, T b) => a - b;
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Subtract(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Subtract(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Subtract(a, b, y);
}

internal readonly struct MulKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Invoke(T a, T b) => a * b;
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Multiply(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Multiply(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Multiply(b, a, y);
}

/// <summary>ReLU's gradient: g where x &gt; 0, else g·0 (±0, or NaN for an infinite or NaN g), in one pass.</summary>
internal readonly struct ReluGradKernel<T> : IBinaryKernel<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Invoke(T g, T x) => x > T.Zero ? g : g * T.Zero;

    public void Run(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> y)
    {
        int i = 0;
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated)
            for (; i + Vector<T>.Count <= y.Length; i += Vector<T>.Count)
            {
                var gv = new Vector<T>(g.Slice(i));
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(x.Slice(i)), Vector<T>.Zero), gv, gv * Vector<T>.Zero).CopyTo(y.Slice(i));
            }
        for (; i < y.Length; i++) y[i] = Invoke(g[i], x[i]);
    }

    public void Run(ReadOnlySpan<T> g, T x, Span<T> y)
    {
        if (x > T.Zero) g.CopyTo(y);
        else TensorPrimitives.Multiply(g, T.Zero, y);
    }

    public void Run(T g, ReadOnlySpan<T> x, Span<T> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = Invoke(g, x[i]);
    }
}

internal readonly struct DivKernel<T> : IBinaryKernel<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Invoke(T a, T b) => a / b;
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Divide(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Divide(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Divide(a, b, y);
}

internal readonly struct PowKernel<T> : IBinaryKernel<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Invoke(T a, T b) => T.Pow(a, b);
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Pow(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Pow(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Pow(a, b, y);
}

/// <summary>IEEE 754:2019 maximum: NaN propagates, +0 &gt; −0 (TensorPrimitives.Max and T.Max agree on this).</summary>
internal readonly struct MaxKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Invoke(T a, T b) => T.Max(a, b);
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Max(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Max(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Max(b, a, y);
}

/// <summary>IEEE 754:2019 minimum: NaN propagates, −0 &lt; +0.</summary>
internal readonly struct MinKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Invoke(T a, T b) => T.Min(a, b);
    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Min(a, b, y);
    public void Run(ReadOnlySpan<T> a, T b, Span<T> y) => TensorPrimitives.Min(a, b, y);
    public void Run(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Min(b, a, y);
}

/// <summary>A comparison of two values (IEEE semantics: every comparison with NaN is false except ≠).</summary>
internal interface IPredicate<T>
{
    bool Invoke(T a, T b);
}

internal readonly struct EqPredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a == b; }
internal readonly struct NePredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a != b; }
internal readonly struct LtPredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a < b; }
internal readonly struct LePredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a <= b; }
internal readonly struct GtPredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a > b; }
internal readonly struct GePredicate<T> : IPredicate<T> where T : INumber<T> { public bool Invoke(T a, T b) => a >= b; }
internal readonly struct BoolEqPredicate : IPredicate<bool> { public bool Invoke(bool a, bool b) => a == b; }
internal readonly struct BoolNePredicate : IPredicate<bool> { public bool Invoke(bool a, bool b) => a != b; }

/// <summary>A comparison written to a bool tensor, one tight loop per operand shape.</summary>
internal readonly struct CompareKernel<T, TP> : IBinaryKernel<T, bool> where T : unmanaged where TP : struct, IPredicate<T>
{
    public bool Invoke(T a, T b) => default(TP).Invoke(a, b);

    public void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<bool> y)
    {
        var p = default(TP);
        for (int i = 0; i < y.Length; i++) y[i] = p.Invoke(a[i], b[i]);
    }

    public void Run(ReadOnlySpan<T> a, T b, Span<bool> y)
    {
        var p = default(TP);
        for (int i = 0; i < y.Length; i++) y[i] = p.Invoke(a[i], b);
    }

    public void Run(T a, ReadOnlySpan<T> b, Span<bool> y)
    {
        var p = default(TP);
        for (int i = 0; i < y.Length; i++) y[i] = p.Invoke(a, b[i]);
    }
}

/// <summary>Logical and/or/xor of bools as byte-wise bit operations (bools are stored as 0 and 1).</summary>
internal enum LogicalKind { And, Or, Xor }

internal readonly struct LogicalKernel(LogicalKind kind) : IBinaryKernel<bool, bool>
{
    public bool Invoke(bool a, bool b) => kind switch
    {
        LogicalKind.And => a & b,
        LogicalKind.Or => a | b,
        _ => a ^ b,
    };

    public void Run(ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, Span<bool> y)
    {
        var ab = MemoryMarshal.Cast<bool, byte>(a);
        var bb = MemoryMarshal.Cast<bool, byte>(b);
        var yb = MemoryMarshal.Cast<bool, byte>(y);
        switch (kind)
        {
            case LogicalKind.And: TensorPrimitives.BitwiseAnd(ab, bb, yb); break;
            case LogicalKind.Or: TensorPrimitives.BitwiseOr(ab, bb, yb); break;
            default: TensorPrimitives.Xor(ab, bb, yb); break;
        }
    }

    public void Run(ReadOnlySpan<bool> a, bool b, Span<bool> y)
    {
        var ab = MemoryMarshal.Cast<bool, byte>(a);
        var yb = MemoryMarshal.Cast<bool, byte>(y);
        byte s = b ? (byte)1 : (byte)0;
        switch (kind)
        {
            case LogicalKind.And: TensorPrimitives.BitwiseAnd(ab, s, yb); break;
            case LogicalKind.Or: TensorPrimitives.BitwiseOr(ab, s, yb); break;
            default: TensorPrimitives.Xor(ab, s, yb); break;
        }
    }

    public void Run(bool a, ReadOnlySpan<bool> b, Span<bool> y) => Run(b, a, y);
}
