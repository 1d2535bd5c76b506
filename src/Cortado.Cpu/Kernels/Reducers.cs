// Reduction operators and the fixed-order (pairwise, blocked) loops that apply them to spans and to stacks of rows.
using System.Numerics;
using System.Numerics.Tensors;
using Cortado.Threading;

namespace Cortado.Cpu.Kernels;

/// <summary>An associative reduction: a leaf over a short contiguous span, a scalar combine and a row-wise combine.</summary>
internal interface IReduceOperator<T> where T : unmanaged
{
    /// <summary>The reduction of a non-empty span of at most <see cref="Reducer.Block"/> elements.</summary>
    T Leaf(ReadOnlySpan<T> x);

    /// <summary>Combines two partial results.</summary>
    T Combine(T a, T b);

    /// <summary>acc[i] = Combine(acc[i], x[i]).</summary>
    void CombineInto(Span<T> acc, ReadOnlySpan<T> x);
}

internal readonly struct SumReduce<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    public T Leaf(ReadOnlySpan<T> x)
    {
        if (x.Length >= 16) return TensorPrimitives.Sum(x);
        T s = T.Zero;
        foreach (var v in x) s += v;
        return s;
    }

    public T Combine(T a, T b) => a + b;
    public void CombineInto(Span<T> acc, ReadOnlySpan<T> x) => TensorPrimitives.Add(acc, x, acc);
}

internal readonly struct ProdReduce<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    public T Leaf(ReadOnlySpan<T> x) => TensorPrimitives.Product(x);
    public T Combine(T a, T b) => a * b;
    public void CombineInto(Span<T> acc, ReadOnlySpan<T> x) => TensorPrimitives.Multiply(acc, x, acc);
}

/// <summary>Maximum; NaN propagates (IEEE 754:2019 maximum).</summary>
internal readonly struct MaxReduce<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    public T Leaf(ReadOnlySpan<T> x) => TensorPrimitives.Max(x);
    public T Combine(T a, T b) => T.Max(a, b);
    public void CombineInto(Span<T> acc, ReadOnlySpan<T> x) => TensorPrimitives.Max(acc, x, acc);
}

/// <summary>Minimum; NaN propagates (IEEE 754:2019 minimum).</summary>
internal readonly struct MinReduce<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    public T Leaf(ReadOnlySpan<T> x) => TensorPrimitives.Min(x);
    public T Combine(T a, T b) => T.Min(a, b);
    public void CombineInto(Span<T> acc, ReadOnlySpan<T> x) => TensorPrimitives.Min(acc, x, acc);
}

/// <summary>Whether a candidate replaces the current best in an arg-reduction.</summary>
internal interface IArgRule<T>
{
    bool Better(T candidate, T best);
}

/// <summary>Strictly greater, or the first NaN (NaN counts as the maximum, as in PyTorch); ties keep the first index.</summary>
internal readonly struct ArgMaxRule<T> : IArgRule<T> where T : INumber<T>
{
    public bool Better(T v, T best) => v > best || (T.IsNaN(v) && !T.IsNaN(best));
}

/// <summary>Strictly smaller, or the first NaN (NaN propagates as the extreme, as in PyTorch); ties keep the first index.</summary>
internal readonly struct ArgMinRule<T> : IArgRule<T> where T : INumber<T>
{
    public bool Better(T v, T best) => v < best || (T.IsNaN(v) && !T.IsNaN(best));
}

/// <summary>
/// Fixed-order reductions. A span is cut into leaves of <see cref="Block"/> elements whose results are
/// combined pairwise; a stack of rows is cut into blocks of <see cref="RowBlock"/> rows, each accumulated in
/// order, and the block results combined pairwise. The order depends only on the lengths, so computing
/// leaves or blocks on several threads gives bit-identical results, and float32 sums keep an error that
/// grows with the logarithm of the length rather than the length.
/// </summary>
internal static class Reducer
{
    /// <summary>Leaf length of span reductions.</summary>
    public const int Block = 2048;

    /// <summary>Rows accumulated in order before the pairwise combination.</summary>
    public const int RowBlock = 32;

    /// <summary>The reduction of x[offset .. offset+n) (n ≥ 1), leaves optionally computed in parallel.</summary>
    public static T Range<T, TOp>(T[] x, int offset, int n, TOp op, bool parallel = false)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        // The blocked path is a method of its own: its local function's captures would otherwise be allocated on
        // entry, for every call (48 bytes per output of a global pooling).
        return n <= Block ? op.Leaf(new ReadOnlySpan<T>(x, offset, n)) : Blocked(x, offset, n, op, parallel);
    }

    private static T Blocked<T, TOp>(T[] x, int offset, int n, TOp op, bool parallel)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int nb = (n + Block - 1) / Block;
        var partial = new T[nb];
        void Leaves(int b0, int b1)
        {
            for (int b = b0; b < b1; b++)
            {
                int s = b * Block;
                partial[b] = op.Leaf(new ReadOnlySpan<T>(x, offset + s, Math.Min(Block, n - s)));
            }
        }
        if (parallel && nb > 1) CortadoThreads.ParallelRanges(nb, Math.Max(1, Work.Chunk / Block), Leaves);
        else Leaves(0, nb);
        return Tree(partial, op);
    }

    /// <summary>Pairwise combination of partial results: the left half (rounded up) with the right half.</summary>
    public static T Tree<T, TOp>(ReadOnlySpan<T> p, TOp op) where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        if (p.Length == 1) return p[0];
        int h = (p.Length + 1) >> 1;
        return op.Combine(Tree(p[..h], op), Tree(p[h..], op));
    }

    /// <summary>
    /// dest[k] = reduction over q of x[rowOffsets[q] + k] for k in [0, width): rows are combined element-wise
    /// (vectorised), <see cref="RowBlock"/> rows at a time in order, then the blocks pairwise. Blocks are
    /// optionally computed in parallel.
    /// </summary>
    public static void Rows<T, TOp>(T[] x, int[] rowOffsets, int shift, int width, Span<T> dest, TOp op, bool parallel = false)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int q = rowOffsets.Length;
        int nb = (q + RowBlock - 1) / RowBlock;
        if (nb == 1)
        {
            AccumulateBlock(x, rowOffsets, shift, 0, q, dest, op);
            return;
        }
        var buf = new T[nb * width];
        void Blocks(int b0, int b1)
        {
            for (int b = b0; b < b1; b++)
                AccumulateBlock(x, rowOffsets, shift, b * RowBlock, Math.Min(q, (b + 1) * RowBlock), new Span<T>(buf, b * width, width), op);
        }
        if (parallel) CortadoThreads.ParallelRanges(nb, Work.ChunkFor((long)RowBlock * width), Blocks);
        else Blocks(0, nb);
        TreeRows(buf, 0, nb, width, op);
        new ReadOnlySpan<T>(buf, 0, width).CopyTo(dest);
    }

    private static void AccumulateBlock<T, TOp>(T[] x, int[] rowOffsets, int shift, int q0, int q1, Span<T> acc, TOp op)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int w = acc.Length;
        new ReadOnlySpan<T>(x, rowOffsets[q0] + shift, w).CopyTo(acc);
        for (int q = q0 + 1; q < q1; q++) op.CombineInto(acc, new ReadOnlySpan<T>(x, rowOffsets[q] + shift, w));
    }

    // Combines blocks [lo, hi) pairwise into block lo.
    private static void TreeRows<T, TOp>(T[] buf, int lo, int hi, int width, TOp op) where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        if (hi - lo <= 1) return;
        int mid = lo + ((hi - lo + 1) >> 1);
        TreeRows(buf, lo, mid, width, op);
        TreeRows(buf, mid, hi, width, op);
        op.CombineInto(new Span<T>(buf, lo * width, width), new ReadOnlySpan<T>(buf, mid * width, width));
    }

    /// <summary>Index of the first best element of x[offset .. offset+n) under <typeparamref name="TRule"/>, with the value found.</summary>
    public static (T value, int index) ArgRange<T, TRule>(T[] x, int offset, int n) where T : unmanaged where TRule : struct, IArgRule<T>
    {
        var rule = default(TRule);
        T best = x[offset];
        int at = 0;
        for (int i = 1; i < n; i++)
        {
            T v = x[offset + i];
            if (rule.Better(v, best))
            {
                best = v;
                at = i;
            }
        }
        return (best, at);
    }
}
