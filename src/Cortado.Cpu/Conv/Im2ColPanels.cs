// Implicit GEMM for convolution: packs the GEMM's B panels straight from the image, so no column matrix is stored.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cortado.Backends;
using Cortado.Cpu.Gemm;
using Cortado.Cpu.Kernels;

namespace Cortado.Cpu.Conv;

/// <summary>
/// The column matrix of <see cref="Im2Col{T}"/> (row r = (c·KH + kh)·KW + kw, column q = sample·OH·OW + oh·OW + ow)
/// seen as a <see cref="PanelSource{T}"/>: each panel the GEMM asks for is gathered from the input when it is
/// packed. The panels hold exactly the values im2col would have written, so the product has the same bits, but the
/// matrix itself (KH·KW·C/G rows by the output's pixels) is never stored and never read back.
/// </summary>
internal sealed unsafe class Im2ColPanels<T> : PanelSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _x;
    private readonly nint _sampleStride;
    private readonly Shape _shape;

    /// <summary>
    /// Columns over <paramref name="x"/> (channel 0 of the group in the first sample of the chunk; samples
    /// <paramref name="sampleStride"/> elements apart), with the per-geometry tables of <paramref name="shape"/>.
    /// </summary>
    public Im2ColPanels(T* x, nint sampleStride, Shape shape)
    {
        _x = x;
        _sampleStride = sampleStride;
        _shape = shape;
    }

    /// <summary>What depends on the geometry only: for each kw, the output columns whose input column is inside the image.</summary>
    internal sealed class Shape
    {
        public readonly Conv2dGeometry Geometry;
        public readonly int[] Lo, Hi, Offset;

        public Shape(in Conv2dGeometry g)
        {
            Geometry = g;
            Lo = new int[g.KW];
            Hi = new int[g.KW];
            Offset = new int[g.KW];
            for (int kw = 0; kw < g.KW; kw++)
            {
                (Lo[kw], Hi[kw]) = Im2Col<T>.ValidRange(kw, g.PadW, g.DilationW, g.StrideW, g.W, g.OutW);
                Offset[kw] = kw * g.DilationW - g.PadW;
            }
        }
    }

    // A run of values: the widest vectors that fit, the last one overlapping the one before it instead of a scalar
    // tail (source and destination never overlap).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(T* src, T* dst, int count)
    {
        if (VectorPaths.Enabled)
        {
            if (Vector512.IsHardwareAccelerated && count >= Vector512<T>.Count)
            {
                int i = 0;
                for (; i + Vector512<T>.Count < count; i += Vector512<T>.Count) Vector512.Load(src + i).Store(dst + i);
                Vector512.Load(src + count - Vector512<T>.Count).Store(dst + count - Vector512<T>.Count);
                return;
            }
            if (Vector256.IsHardwareAccelerated && count >= Vector256<T>.Count)
            {
                int i = 0;
                for (; i + Vector256<T>.Count < count; i += Vector256<T>.Count) Vector256.Load(src + i).Store(dst + i);
                Vector256.Load(src + count - Vector256<T>.Count).Store(dst + count - Vector256<T>.Count);
                return;
            }
            if (Vector128.IsHardwareAccelerated && count >= Vector128<T>.Count)
            {
                int i = 0;
                for (; i + Vector128<T>.Count < count; i += Vector128<T>.Count) Vector128.Load(src + i).Store(dst + i);
                Vector128.Load(src + count - Vector128<T>.Count).Store(dst + count - Vector128<T>.Count);
                return;
            }
        }
        for (int i = 0; i < count; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Pack(int p0, int kc, int j0, int cols, T* dst, int nr)
    {
        ref readonly var g = ref _shape.Geometry;
        int khkw = g.KH * g.KW;
        // The panel's columns as runs along one output row of one sample.
        int* store = stackalloc int[4 * cols];
        var runs = new PixelRuns(g, j0, cols, store);
        int c = p0 / khkw, rem = p0 - c * khkw, kh = rem / g.KW, kw = rem - kh * g.KW;
        for (int p = 0; p < kc; p++)
        {
            T* d = dst + (nint)p * nr;
            UnfoldRow(c, kh, kw, runs, d);
            for (int j = cols; j < nr; j++) d[j] = T.Zero;
            NextTap(g, ref c, ref kh, ref kw);
        }
    }

    /// <summary>The pixels [q0, q0 + count) of a chunk (sample·OH·OW + oh·OW + ow) as runs along one output row of one sample.</summary>
    internal readonly struct PixelRuns
    {
        public readonly int Count;
        public readonly int* Sample, Oh, Ow, Len;

        /// <summary>Splits the range; <paramref name="store"/> holds 4·<paramref name="count"/> ints for the runs.</summary>
        public PixelRuns(in Conv2dGeometry g, int q0, int count, int* store)
        {
            Sample = store;
            Oh = store + count;
            Ow = store + 2 * count;
            Len = store + 3 * count;
            int ow_ = g.OutW, ohw = g.OutH * g.OutW, runs = 0;
            for (int off = 0, q = q0; off < count; runs++)
            {
                int s = q / ohw, pix = q - s * ohw, oh = pix / ow_, ow = pix - oh * ow_;
                int len = Math.Min(ow_ - ow, count - off);
                Sample[runs] = s;
                Oh[runs] = oh;
                Ow[runs] = ow;
                Len[runs] = len;
                off += len;
                q += len;
            }
            Count = runs;
        }
    }

    /// <summary>The next column-matrix row after (c, kh, kw): kw fastest, then kh, then c.</summary>
    internal static void NextTap(in Conv2dGeometry g, ref int c, ref int kh, ref int kw)
    {
        if (++kw < g.KW) return;
        kw = 0;
        if (++kh < g.KH) return;
        kh = 0;
        c++;
    }

    /// <summary>
    /// Writes column-matrix row (c, kh, kw) at the pixels of <paramref name="runs"/> to d[0 …] in order: the input
    /// values im2col would write there, zeros where the window reads padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void UnfoldRow(int c, int kh, int kw, in PixelRuns runs, T* d)
    {
        ref readonly var g = ref _shape.Geometry;
        nint hw = (nint)g.H * g.W;
        int ihBase = kh * g.DilationH - g.PadH, l = _shape.Lo[kw], h = _shape.Hi[kw], iwOff = _shape.Offset[kw];
        for (int r = 0, off = 0; r < runs.Count; off += runs.Len[r], r++)
        {
            int ow0 = runs.Ow[r], ow1 = ow0 + runs.Len[r];
            int ih = runs.Oh[r] * g.StrideH + ihBase;
            T* dd = d + off - ow0;
            int a = Math.Max(ow0, l), b = Math.Min(ow1, h);
            if ((uint)ih >= (uint)g.H || a >= b)
            {
                for (int ow = ow0; ow < ow1; ow++) dd[ow] = T.Zero;
                continue;
            }
            for (int ow = ow0; ow < a; ow++) dd[ow] = T.Zero;
            T* row = _x + runs.Sample[r] * _sampleStride + c * hw + (nint)ih * g.W;
            int iw = a * g.StrideW + iwOff;
            if (g.StrideW == 1) CopyRun(row + iw, dd + a, b - a);
            else if (g.StrideW == 2) Im2Col<T>.CopyEven(row + iw, dd + a, b - a, g.W - iw);
            else for (int ow = a, i = iw; ow < b; ow++, i += g.StrideW) dd[ow] = row[i];
            for (int ow = b; ow < ow1; ow++) dd[ow] = T.Zero;
        }
    }
}
