// Element-wise kernel contracts, the shared vector loop, and the drivers that feed spans or strided runs to kernels.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cortado.Threading;

namespace Cortado.Cpu.Kernels;

/// <summary>y[i] = f(x[i]) over two spans of equal length (the spans may be the same memory).</summary>
internal interface IUnaryKernel<TIn, TOut> where TIn : unmanaged where TOut : unmanaged
{
    void Run(ReadOnlySpan<TIn> x, Span<TOut> y);
}

/// <summary>An element-wise function with a scalar and a <see cref="Vector{T}"/> form that compute the same thing (the TensorPrimitives pattern).</summary>
internal interface IUnaryOperator<T> where T : unmanaged
{
    T Invoke(T x);
    Vector<T> Invoke(Vector<T> x);
}

/// <summary>y = f(a, b) over spans and scalars: the span/span, span/scalar and scalar/span shapes that broadcasting produces.</summary>
internal interface IBinaryKernel<T, TOut> where T : unmanaged where TOut : unmanaged
{
    TOut Invoke(T a, T b);
    void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<TOut> y);
    void Run(ReadOnlySpan<T> a, T b, Span<TOut> y);
    void Run(T a, ReadOnlySpan<T> b, Span<TOut> y);
}

/// <summary>Runs an <see cref="IUnaryOperator{T}"/> through the shared vector loop.</summary>
internal readonly struct Vectorized<T, TOp> : IUnaryKernel<T, T> where T : unmanaged where TOp : struct, IUnaryOperator<T>
{
    private readonly TOp _op;

    public Vectorized(TOp op) => _op = op;

    public void Run(ReadOnlySpan<T> x, Span<T> y) => Loops.Map(x, y, _op);
}

/// <summary>The loops shared by every operator.</summary>
internal static class Loops
{
    /// <summary>y[i] = op(x[i]): whole vectors first, then a scalar tail.</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> x, Span<T> y, TOp op) where T : unmanaged where TOp : struct, IUnaryOperator<T>
    {
        int n = x.Length, i = 0;
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported && n >= Vector<T>.Count)
        {
            ref T xr = ref MemoryMarshal.GetReference(x);
            ref T yr = ref MemoryMarshal.GetReference(y);
            int last = n - Vector<T>.Count;
            for (; i <= last; i += Vector<T>.Count)
                op.Invoke(Vector.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) y[i] = op.Invoke(x[i]);
    }
}

/// <summary>One strided run of a unary kernel: unit strides go straight to the kernel, others through a small stack buffer.</summary>
internal struct UnarySegment<TIn, TOut, TK> : ISegmentKernel
    where TIn : unmanaged where TOut : unmanaged where TK : struct, IUnaryKernel<TIn, TOut>
{
    private const int Buffer = 256;
    public TIn[] X;
    public TOut[] Y;
    public int StrideX, StrideY;
    public TK Kernel;

    public void Run(ReadOnlySpan<int> offsets, int length)
    {
        int oy = offsets[0], ox = offsets[1];
        if (StrideX == 1 && StrideY == 1)
        {
            Kernel.Run(new ReadOnlySpan<TIn>(X, ox, length), new Span<TOut>(Y, oy, length));
            return;
        }
        Span<TIn> bx = stackalloc TIn[Buffer];
        Span<TOut> by = stackalloc TOut[Buffer];
        for (int i = 0; i < length; i += Buffer)
        {
            int n = Math.Min(Buffer, length - i);
            scoped ReadOnlySpan<TIn> src;
            if (StrideX == 1) src = new ReadOnlySpan<TIn>(X, ox + i, n);
            else
            {
                int p = ox + i * StrideX;
                for (int j = 0; j < n; j++, p += StrideX) bx[j] = X[p];
                src = bx[..n];
            }
            if (StrideY == 1) Kernel.Run(src, new Span<TOut>(Y, oy + i, n));
            else
            {
                Kernel.Run(src, by[..n]);
                int p = oy + i * StrideY;
                for (int j = 0; j < n; j++, p += StrideY) Y[p] = by[j];
            }
        }
    }
}

/// <summary>One strided run of a binary kernel: unit and zero (broadcast) strides use the span kernels, anything else a scalar loop.</summary>
internal struct BinarySegment<T, TOut, TK> : ISegmentKernel
    where T : unmanaged where TOut : unmanaged where TK : struct, IBinaryKernel<T, TOut>
{
    // Below this length a span call costs more than it saves.
    private const int MinSpan = 8;
    public T[] A, B;
    public TOut[] Y;
    public int StrideA, StrideB, StrideY;
    public TK Kernel;

    public void Run(ReadOnlySpan<int> offsets, int length)
    {
        int oy = offsets[0], oa = offsets[1], ob = offsets[2];
        if (StrideY == 1 && length >= MinSpan)
        {
            var y = new Span<TOut>(Y, oy, length);
            if (StrideA == 1)
            {
                if (StrideB == 1) { Kernel.Run(new ReadOnlySpan<T>(A, oa, length), new ReadOnlySpan<T>(B, ob, length), y); return; }
                if (StrideB == 0) { Kernel.Run(new ReadOnlySpan<T>(A, oa, length), B[ob], y); return; }
            }
            else if (StrideA == 0)
            {
                if (StrideB == 1) { Kernel.Run(A[oa], new ReadOnlySpan<T>(B, ob, length), y); return; }
                if (StrideB == 0) { y.Fill(Kernel.Invoke(A[oa], B[ob])); return; }
            }
        }
        for (int i = 0; i < length; i++, oy += StrideY, oa += StrideA, ob += StrideB)
            Y[oy] = Kernel.Invoke(A[oa], B[ob]);
    }
}

/// <summary>One strided run of y = c ? a : b.</summary>
internal struct WhereSegment<T> : ISegmentKernel where T : unmanaged
{
    public bool[] C;
    public T[] A, B, Y;
    public int StrideC, StrideA, StrideB, StrideY;

    public void Run(ReadOnlySpan<int> offsets, int length)
    {
        int oy = offsets[0], oc = offsets[1], oa = offsets[2], ob = offsets[3];
        if (StrideY == 1 && StrideC == 1 && StrideA == 1 && StrideB == 1)
        {
            var c = new ReadOnlySpan<bool>(C, oc, length);
            var a = new ReadOnlySpan<T>(A, oa, length);
            var b = new ReadOnlySpan<T>(B, ob, length);
            var y = new Span<T>(Y, oy, length);
            for (int i = 0; i < y.Length; i++) y[i] = c[i] ? a[i] : b[i];
            return;
        }
        for (int i = 0; i < length; i++, oy += StrideY, oc += StrideC, oa += StrideA, ob += StrideB)
            Y[oy] = C[oc] ? A[oa] : B[ob];
    }
}

/// <summary>Feeds tensors to element-wise kernels: contiguous operands as (parallel) spans, anything else through <see cref="StridedLayout"/>.</summary>
internal static class Drive
{
    /// <summary>y = k(x) for tensors of equal shape.</summary>
    public static void Unary<TIn, TOut, TK>(Tensor x, Tensor y, TK kernel)
        where TIn : unmanaged where TOut : unmanaged where TK : struct, IUnaryKernel<TIn, TOut>
    {
        int n = y.Numel;
        if (n == 0) return;
        var xd = x.Data<TIn>();
        var yd = y.Data<TOut>();
        if (x.IsContiguous && y.IsContiguous)
        {
            int xo = x.Offset, yo = y.Offset;
            if (n < Work.Threshold) kernel.Run(new ReadOnlySpan<TIn>(xd, xo, n), new Span<TOut>(yd, yo, n));
            else CortadoThreads.ParallelRanges(n, Work.Chunk, (s, e) => kernel.Run(new ReadOnlySpan<TIn>(xd, xo + s, e - s), new Span<TOut>(yd, yo + s, e - s)));
            return;
        }
        var l = StridedLayout.Create(y.Shape, y, x);
        int r = l.Rank;
        if (r >= 2 && l.InnerStride(0) == 1 && l.InnerStride(1) != 1 && l.Strides[r + r - 2] == 1)
        {
            // x is a transposed view (its second-last dimension is the contiguous one): element-by-element rows
            // would stride through memory, so go tile by tile.
            Transposed(l, xd, yd, kernel);
            return;
        }
        l.Run(new UnarySegment<TIn, TOut, TK> { X = xd, Y = yd, StrideX = l.InnerStride(1), StrideY = l.InnerStride(0), Kernel = kernel });
    }

    private const int Tile = 32;

    // y[.., i, j] = k(x[.., i, j]) where x has stride 1 along i and y stride 1 along j, in 32×32 tiles: each
    // tile row gathers 32 elements from 32 columns of x that stay in L1, and the kernel writes them to a
    // contiguous run of y.
    private static void Transposed<TIn, TOut, TK>(StridedLayout l, TIn[] xd, TOut[] yd, TK kernel)
        where TIn : unmanaged where TOut : unmanaged where TK : struct, IUnaryKernel<TIn, TOut>
    {
        int r = l.Rank;
        int rows = l.Shape[r - 2], cols = l.Shape[r - 1];
        int rowTiles = (rows + Tile - 1) / Tile;
        int tasks = l.Numel / (rows * cols) * rowTiles;
        Work.For(tasks, Work.ChunkFor((long)Tile * cols), l.Numel, (t0, t1) => TransposedTiles(l, xd, yd, kernel, t0, t1, rowTiles));
    }

    private static void TransposedTiles<TIn, TOut, TK>(StridedLayout l, TIn[] xd, TOut[] yd, TK kernel, int t0, int t1, int rowTiles)
        where TIn : unmanaged where TOut : unmanaged where TK : struct, IUnaryKernel<TIn, TOut>
    {
        int r = l.Rank;
        int rows = l.Shape[r - 2], cols = l.Shape[r - 1];
        int syRow = l.Strides[r - 2], sxCol = l.Strides[r + r - 1];
        Span<TIn> buf = stackalloc TIn[Tile];
        for (int t = t0; t < t1; t++)
        {
            int o = t / rowTiles, i0 = (t % rowTiles) * Tile;
            int i1 = Math.Min(rows, i0 + Tile);
            int ox = l.OuterOffset(1, o, 2), oy = l.OuterOffset(0, o, 2);
            for (int j0 = 0; j0 < cols; j0 += Tile)
            {
                int m = Math.Min(Tile, cols - j0);
                var b = buf[..m];
                for (int i = i0; i < i1; i++)
                {
                    int q = ox + i + j0 * sxCol;
                    if (typeof(TK) == typeof(CopyKernel<TIn>))
                    {
                        // A plain copy needs no staging: gather straight into y.
                        var y = new Span<TOut>(yd, oy + i * syRow + j0, m);
                        for (int j = 0; j < y.Length; j++, q += sxCol) y[j] = Unsafe.As<TIn, TOut>(ref xd[q]);
                        continue;
                    }
                    for (int j = 0; j < b.Length; j++, q += sxCol) b[j] = xd[q];
                    kernel.Run(b, new Span<TOut>(yd, oy + i * syRow + j0, m));
                }
            }
        }
    }

    /// <summary>y = k(a, b) for a and b already broadcast to y's shape.</summary>
    public static void Binary<T, TOut, TK>(Tensor a, Tensor b, Tensor y, TK kernel)
        where T : unmanaged where TOut : unmanaged where TK : struct, IBinaryKernel<T, TOut>
    {
        int n = y.Numel;
        if (n == 0) return;
        var ad = a.Data<T>();
        var bd = b.Data<T>();
        var yd = y.Data<TOut>();
        if (a.IsContiguous && b.IsContiguous && y.IsContiguous)
        {
            int ao = a.Offset, bo = b.Offset, yo = y.Offset;
            if (n < Work.Threshold) kernel.Run(new ReadOnlySpan<T>(ad, ao, n), new ReadOnlySpan<T>(bd, bo, n), new Span<TOut>(yd, yo, n));
            else CortadoThreads.ParallelRanges(n, Work.Chunk, (s, e) =>
                kernel.Run(new ReadOnlySpan<T>(ad, ao + s, e - s), new ReadOnlySpan<T>(bd, bo + s, e - s), new Span<TOut>(yd, yo + s, e - s)));
            return;
        }
        var l = StridedLayout.Create(y.Shape, y, a, b);
        l.Run(new BinarySegment<T, TOut, TK>
        {
            A = ad, B = bd, Y = yd,
            StrideY = l.InnerStride(0), StrideA = l.InnerStride(1), StrideB = l.InnerStride(2),
            Kernel = kernel,
        });
    }

    /// <summary>y = c ? a : b for operands already broadcast to y's shape.</summary>
    public static void Where<T>(Tensor c, Tensor a, Tensor b, Tensor y) where T : unmanaged
    {
        if (y.Numel == 0) return;
        var l = StridedLayout.Create(y.Shape, y, c, a, b);
        l.Run(new WhereSegment<T>
        {
            C = c.Data<bool>(), A = a.Data<T>(), B = b.Data<T>(), Y = y.Data<T>(),
            StrideY = l.InnerStride(0), StrideC = l.InnerStride(1), StrideA = l.InnerStride(2), StrideB = l.InnerStride(3),
        });
    }
}
