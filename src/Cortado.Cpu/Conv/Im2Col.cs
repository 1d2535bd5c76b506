// im2col and col2im for NCHW convolution: unfolding input windows into GEMM columns and folding them back.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Backends;
using Cortado.Cpu.Kernels;

namespace Cortado.Cpu.Conv;

/// <summary>
/// Unfolds one sample's channels into the column matrix of a convolution and folds it back.
/// Row r = (c·KH + kh)·KW + kw (stored <c>ld</c> elements apart, so several samples can sit side by
/// side in one matrix), column q = oh·OW + ow, and
/// cols[r, q] = x[c, oh·strideH − padH + kh·dilationH, ow·strideW − padW + kw·dilationW], zero where that
/// position lies in the padding. Rows are independent, so callers may split channel ranges across threads.
/// </summary>
internal static unsafe class Im2Col<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Writes rows of channels [c0, c1) of <paramref name="x"/> (channel 0 of the group, [C, H, W]) into <paramref name="cols"/>
    /// (row 0 of channel 0; rows <paramref name="ld"/> apart). With <paramref name="oh0"/> and <paramref name="oh1"/>, only the
    /// columns of output rows [oh0, oh1) are written, from column 0 of <paramref name="cols"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold(T* x, T* cols, nint ld, int c0, int c1, in Conv2dGeometry g, int oh0 = 0, int oh1 = int.MaxValue)
    {
        int oh_ = Math.Min(g.OutH, oh1), ow_ = g.OutW, kh_ = g.KH, kw_ = g.KW;
        nint hw = (nint)g.H * g.W;
        for (int c = c0; c < c1; c++)
        {
            T* xc = x + c * hw;
            for (int kh = 0; kh < kh_; kh++)
            {
                for (int kw = 0; kw < kw_; kw++)
                {
                    T* row = cols + ((nint)(c * kh_ + kh) * kw_ + kw) * ld;
                    var (lo, hi) = ValidRange(kw, g.PadW, g.DilationW, g.StrideW, g.W, ow_);
                    int iw0 = lo * g.StrideW - g.PadW + kw * g.DilationW;
                    for (int oh = oh0; oh < oh_; oh++)
                    {
                        T* dst = row + (nint)(oh - oh0) * ow_;
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.H || lo >= hi)
                        {
                            new Span<T>(dst, ow_).Clear();
                            continue;
                        }
                        T* src = xc + (nint)ih * g.W + iw0;
                        for (int ow = 0; ow < lo; ow++) dst[ow] = T.Zero;
                        if (g.StrideW == 1)
                        {
                            Copy(src, dst + lo, hi - lo);
                        }
                        else if (g.StrideW == 2)
                        {
                            CopyEven(src, dst + lo, hi - lo, g.W - iw0);
                        }
                        else
                        {
                            int s = g.StrideW;
                            for (int ow = lo, i = 0; ow < hi; ow++, i += s) dst[ow] = src[i];
                        }
                        for (int ow = hi; ow < ow_; ow++) dst[ow] = T.Zero;
                    }
                }
            }
        }
    }

    /// <summary>Adds rows of channels [c0, c1) of <paramref name="cols"/> (rows <paramref name="ld"/> apart) back into <paramref name="dx"/> ([C, H, W]), row after row in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FoldAdd(T* cols, nint ld, T* dx, int c0, int c1, in Conv2dGeometry g)
    {
        int oh_ = g.OutH, ow_ = g.OutW, kh_ = g.KH, kw_ = g.KW;
        nint hw = (nint)g.H * g.W;
        for (int c = c0; c < c1; c++)
        {
            T* dc = dx + c * hw;
            for (int kh = 0; kh < kh_; kh++)
            {
                for (int kw = 0; kw < kw_; kw++)
                {
                    T* row = cols + ((nint)(c * kh_ + kh) * kw_ + kw) * ld;
                    var (lo, hi) = ValidRange(kw, g.PadW, g.DilationW, g.StrideW, g.W, ow_);
                    if (lo >= hi) continue;
                    int iw0 = lo * g.StrideW - g.PadW + kw * g.DilationW;
                    int s = g.StrideW;
                    for (int oh = 0; oh < oh_; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)ih >= (uint)g.H) continue;
                        T* src = row + (nint)oh * ow_;
                        T* dst = dc + (nint)ih * g.W + iw0;
                        if (s == 1) AddTo(src + lo, dst, hi - lo);
                        else for (int ow = lo, i = 0; ow < hi; ow++, i += s) dst[i] += src[ow];
                    }
                }
            }
        }
    }

    // Short runs (one output row) are copied with vectors inline: a memmove call per row would cost more than the copy.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(T* src, T* dst, int count)
    {
        int i = 0;
        if (VectorPaths.Enabled && Vector512.IsHardwareAccelerated)
            for (; i + Vector512<T>.Count <= count; i += Vector512<T>.Count) Vector512.Load(src + i).Store(dst + i);
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated)
            for (; i + Vector<T>.Count <= count; i += Vector<T>.Count) Vector.Load(src + i).Store(dst + i);
        for (; i < count; i++) dst[i] = src[i];
    }

    // dst[i] = src[2i] for i < count (stride-2 windows); `available` elements of the row may be read from src.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyEven(T* src, T* dst, int count, int available)
    {
        int i = 0;
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            // Two 16-float loads, the even lanes of both gathered by one two-source permute.
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            float* s = (float*)src, d = (float*)dst;
            for (; i + 16 <= count && 2 * i + 32 <= available; i += 16)
                Avx512F.PermuteVar16x32x2(Vector512.Load(s + 2 * i), even, Vector512.Load(s + 2 * i + 16)).Store(d + i);
        }
        for (; i < count; i++) dst[i] = src[2 * i];
    }

    // dst[i] += src[i]; the sum of two values rounds the same in a vector lane as in a scalar.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(T* src, T* dst, int count)
    {
        int i = 0;
        if (VectorPaths.Enabled && Vector512.IsHardwareAccelerated)
            for (; i + Vector512<T>.Count <= count; i += Vector512<T>.Count) (Vector512.Load(dst + i) + Vector512.Load(src + i)).Store(dst + i);
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated)
            for (; i + Vector<T>.Count <= count; i += Vector<T>.Count) (Vector.Load(dst + i) + Vector.Load(src + i)).Store(dst + i);
        for (; i < count; i++) dst[i] += src[i];
    }

    // Output columns [lo, hi) whose input column ow·stride − pad + k·dilation lies inside [0, width).
    internal static (int lo, int hi) ValidRange(int k, int pad, int dilation, int stride, int width, int outW)
    {
        int t = pad - k * dilation;                 // need ow·stride ≥ t
        int lo = t <= 0 ? 0 : (t + stride - 1) / stride;
        int u = width - 1 + pad - k * dilation;     // need ow·stride ≤ u
        int hi = u < 0 ? 0 : Math.Min(outW, u / stride + 1);
        return (Math.Min(lo, hi), hi);
    }
}
