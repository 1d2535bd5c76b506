// Implicit GEMM for convolution: packs the GEMM's B panels straight from the image, so no column matrix is stored.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>
    /// Output rows narrower than this many pixels are packed with AVX2 gathers (float32) instead of row runs: a panel
    /// then spans several short rows, and each run's clipping cost more than its copy. Whole forward convolutions ran
    /// 1.12–1.8× faster with gathers at 2×2 to 16×16 outputs and 0.6–0.66× at 28×28 (`Cortado.Bench.Gemm --op
    /// gather`). 0 turns the gathers off (tests compare both; the values, and so the bits, are the same).
    /// </summary>
    public static int GatherBelowWidth = 20;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Pack(int p0, int kc, int j0, int cols, T* dst, int nr)
    {
        ref readonly var g = ref _shape.Geometry;
        if (g.KH * g.KW <= MaxGatherTaps && Gathers(nr) && PackGather(p0, kc, j0, cols, (float*)dst, nr))
            return;
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

    private const int MaxGatherTaps = 49;

    // The panel with one masked gather per 8 columns and step. For each kernel tap (kh, kw) and group of 8 columns,
    // the offsets (sample·stride + ih·W + iw from channel 0) and the in-image mask are computed once; a step (c, kh, kw)
    // then gathers from channel c, with zeros where the window reads padding or the column is past the panel's edge.
    // Returns false (nothing written) when an offset would not fit in 32 bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool PackGather(int p0, int kc, int j0, int cols, float* dst, int nr)
    {
        if (!OffsetsFit(j0 + cols - 1)) return false;
        ref readonly var g = ref _shape.Geometry;
        int taps = g.KH * g.KW, groups = nr / 8, ohw = g.OutH * g.OutW;
        int* ihBase = stackalloc int[nr];
        int* iwBase = stackalloc int[nr];
        int* sampleOff = stackalloc int[nr];
        for (int j = 0; j < nr; j++)
        {
            if (j < cols)
            {
                int q = j0 + j, sIdx = q / ohw, pix = q - sIdx * ohw, oh = pix / g.OutW, ow = pix - oh * g.OutW;
                ihBase[j] = oh * g.StrideH - g.PadH;
                iwBase[j] = ow * g.StrideW - g.PadW;
                sampleOff[j] = (int)(sIdx * _sampleStride);
            }
            else
            {
                // Past the panel's edge: a row no tap reaches, so the mask is off and the lane stays zero.
                ihBase[j] = int.MinValue / 2;
                iwBase[j] = 0;
                sampleOff[j] = 0;
            }
        }
        var index = stackalloc Vector256<int>[taps * groups];
        var mask = stackalloc Vector256<int>[taps * groups];
        var vh = Vector256.Create(g.H);
        var vw = Vector256.Create(g.W);
        for (int t = 0; t < taps; t++)
        {
            int kh = t / g.KW, kw = t - kh * g.KW;
            var dh = Vector256.Create(kh * g.DilationH);
            var dw = Vector256.Create(kw * g.DilationW);
            for (int grp = 0; grp < groups; grp++)
            {
                var ih = Vector256.Load(ihBase + grp * 8) + dh;
                var iw = Vector256.Load(iwBase + grp * 8) + dw;
                var inside = Inside(ih, iw, vh, vw);
                index[t * groups + grp] = inside & (Vector256.Load(sampleOff + grp * 8) + ih * vw + iw);
                mask[t * groups + grp] = inside;
            }
        }
        nint hw = (nint)g.H * g.W;
        float* x = (float*)_x;
        int c = p0 / taps, tap = p0 - c * taps;
        for (int p = 0; p < kc; p++)
        {
            float* src = x + c * hw;
            float* d = dst + (nint)p * nr;
            Vector256<int>* ix = index + tap * groups;
            Vector256<int>* mk = mask + tap * groups;
            for (int grp = 0; grp < groups; grp++)
                Avx2.GatherMaskVector256(Vector256<float>.Zero, src, ix[grp], mk[grp].AsSingle(), 4).Store(d + grp * 8);
            if (++tap == taps)
            {
                tap = 0;
                c++;
            }
        }
        return true;
    }

    /// <summary>
    /// Whether float32 panels of this geometry, <paramref name="nr"/> columns wide, are packed with gathers (see
    /// <see cref="GatherBelowWidth"/>).
    /// </summary>
    internal bool Gathers(int nr) => GathersFor(_shape.Geometry, nr);

    /// <summary>Whether float32 panels of <paramref name="g"/>, <paramref name="nr"/> columns wide, are gathered.</summary>
    internal static bool GathersFor(in Conv2dGeometry g, int nr) =>
        typeof(T) == typeof(float) && g.OutW < GatherBelowWidth && nr % 8 == 0 && Avx2.IsSupported && VectorPaths.Enabled;

    /// <summary>
    /// The transposed panel (<see cref="Im2ColPanelsT{T}"/>): step p is pixel p0 + p, column j is column-matrix row
    /// j0 + j (c, kh, kw). Per column the channel and tap offsets are computed once, per step the pixel's; each 8
    /// columns are one masked gather. Returns false (nothing written) when an offset would not fit in 32 bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool PackTransposedGather(int p0, int kc, int j0, int cols, float* dst, int nr)
    {
        if (!OffsetsFit(p0 + kc - 1)) return false;
        ref readonly var g = ref _shape.Geometry;
        int taps = g.KH * g.KW, groups = nr / 8, ohw = g.OutH * g.OutW;
        nint hw = (nint)g.H * g.W;
        int* colOff = stackalloc int[nr];
        int* colH = stackalloc int[nr];
        int* colW = stackalloc int[nr];
        for (int j = 0; j < nr; j++)
        {
            int r = j0 + j, c = r / taps, tap = r - c * taps, kh = tap / g.KW, kw = tap - kh * g.KW;
            colH[j] = j < cols ? kh * g.DilationH : int.MinValue / 2; // past the panel's edge: no row is inside
            colW[j] = kw * g.DilationW;
            colOff[j] = j < cols ? (int)(c * hw) + colH[j] * g.W + colW[j] : 0;
        }
        var vh = Vector256.Create(g.H);
        var vw = Vector256.Create(g.W);
        float* x = (float*)_x;
        int q = p0, sIdx = q / ohw, pix = q - sIdx * ohw, oh = pix / g.OutW, ow = pix - oh * g.OutW;
        for (int p = 0; p < kc; p++)
        {
            int ihb = oh * g.StrideH - g.PadH, iwb = ow * g.StrideW - g.PadW;
            var pixH = Vector256.Create(ihb);
            var pixW = Vector256.Create(iwb);
            var pixOff = Vector256.Create((int)(sIdx * _sampleStride) + ihb * g.W + iwb);
            float* d = dst + (nint)p * nr;
            for (int grp = 0; grp < groups; grp++)
            {
                var ih = Vector256.Load(colH + grp * 8) + pixH;
                var iw = Vector256.Load(colW + grp * 8) + pixW;
                var inside = Inside(ih, iw, vh, vw);
                var index = inside & (Vector256.Load(colOff + grp * 8) + pixOff);
                Avx2.GatherMaskVector256(Vector256<float>.Zero, x, index, inside.AsSingle(), 4).Store(d + grp * 8);
            }
            if (++ow == g.OutW)
            {
                ow = 0;
                if (++oh == g.OutH)
                {
                    oh = 0;
                    sIdx++;
                }
            }
        }
        return true;
    }

    // Whether every gather offset up to chunk pixel `lastPixel` (its sample's whole input) fits in 32 bits.
    private bool OffsetsFit(int lastPixel)
    {
        ref readonly var g = ref _shape.Geometry;
        long lastSample = lastPixel / (g.OutH * g.OutW);
        return lastSample * _sampleStride + (long)g.C * g.H * g.W < int.MaxValue;
    }

    // All ones in the lanes where row ih and column iw lie inside an h × w image.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Inside(Vector256<int> ih, Vector256<int> iw, Vector256<int> h, Vector256<int> w) =>
        Vector256.GreaterThanOrEqual(ih, Vector256<int>.Zero) & Vector256.LessThan(ih, h)
        & Vector256.GreaterThanOrEqual(iw, Vector256<int>.Zero) & Vector256.LessThan(iw, w);

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
