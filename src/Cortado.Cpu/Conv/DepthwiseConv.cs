// Direct depthwise convolution (one input channel per group), where im2col + GEMM would waste most of its work.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu.Conv;

/// <summary>
/// Convolution with groups = C (each output channel reads one input channel, e.g. MobileNet's depthwise
/// layers). A GEMM per group would have one row, so these kernels slide the window directly:
/// y[n, o, oh, ow] = bias[o] + Σ_{kh, kw} w[o, 0, kh, kw]·x[n, o / (OC/C), ih, iw], taps summed in the
/// order (kh, kw) for every element. The forward pass works on a zero-padded copy of each input plane split
/// into its stride phases (see <see cref="Forward"/>) and sums by fused multiply-adds; the backward passes run
/// vectors along rows and multiply and add separately. Either way vector and scalar positions round alike.
/// Threads split over whole planes.
/// </summary>
internal static unsafe class DepthwiseConv<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>True for the geometries these kernels serve: one input channel per group, several groups.</summary>
    public static bool Applies(in Conv2dGeometry g) => g.Groups > 1 && g.C == g.Groups;

    // dst[i·stride] += w·src[i] for i < count (vectors where dst is contiguous).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyScatter(T* dst, int stride, T* src, int count, T w)
    {
        int i = 0;
        if (stride == 1 && VectorPaths.Enabled && Vector.IsHardwareAccelerated)
        {
            var vw = new Vector<T>(w);
            for (; i + Vector<T>.Count <= count; i += Vector<T>.Count)
                (Vector.Load(dst + i) + vw * Vector.Load(src + i)).Store(dst + i);
        }
        for (; i < count; i++) dst[(nint)i * stride] += w * src[i];
    }

    // Σ a[i]·b[i·stride] for i < count, in a fixed order (vector lanes, then the lanes summed, then the tail).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Dot(T* a, T* b, int stride, int count)
    {
        int i = 0;
        T sum = T.Zero;
        if (stride == 1 && VectorPaths.Enabled && Vector.IsHardwareAccelerated && count >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i + Vector<T>.Count <= count; i += Vector<T>.Count) acc += Vector.Load(a + i) * Vector.Load(b + i);
            sum = Vector.Sum(acc);
        }
        for (; i < count; i++) sum += a[i] * b[(nint)i * stride];
        return sum;
    }

    /// <summary>Vectors of output a forward pass keeps in registers at once (independent sums, so their adds overlap).</summary>
    private const int Unroll = 4;

    /// <summary>
    /// y = act(depthwise conv2d(x, w) + bias) (bias may be null). Each input plane is copied into a zero-padded
    /// buffer split into its StrideH × StrideW phases (phase (a, b) holds padded rows a, a + sh, … and columns b,
    /// b + sw, …), all Hq × Wq. Output (oh, ow) then reads tap (kh, kw) at flat position oh·Wq + ow + a fixed
    /// offset per tap, so the output plane is computed as one flat run of Wq-wide rows (the columns past OutW are
    /// computed and dropped), vectors of it at a time with the sums in registers, whatever the row width. Every
    /// element is bias, then fused multiply-adds w·x + sum for each tap in (kh, kw) order, padding included as
    /// zeros, in vector and scalar positions alike. ReLU and Clip then bound the sums in registers when there is no
    /// residual; otherwise the residual (y's shape) is added and the activation applied, plane by plane.
    /// </summary>
    public static void Forward(T* x, T* w, T* bias, T* y, Conv2dGeometry g, Activation act = default, T* residual = null)
    {
        int mult = g.OutC / g.C, kk = g.KH * g.KW;
        int hw = g.H * g.W, ohw = g.OutH * g.OutW;
        int sh = g.StrideH, sw = g.StrideW;
        int hq = (g.H + 2 * g.PadH + sh - 1) / sh, wq = (g.W + 2 * g.PadW + sw - 1) / sw;
        int phaseLen = hq * wq, total = g.OutH * wq;
        var offsets = new int[kk];
        for (int kh = 0; kh < g.KH; kh++)
            for (int kw = 0; kw < g.KW; kw++)
            {
                int r = kh * g.DilationH, c = kw * g.DilationW;
                offsets[kh * g.KW + kw] = (r % sh * sw + c % sw) * phaseLen + r / sh * wq + c / sw;
            }
        // Vector runs cover the flat output rounded up to whole chunks; the buffer is long enough for every tap to
        // read that far (the extra values are computed from zeros and dropped).
        int chunk = Unroll * Math.Max(Vector<T>.Count, Vector512<T>.Count);
        int rounded = (total + chunk - 1) / chunk * chunk;
        long bufLen = Math.Max((long)sh * sw * phaseLen, offsets.Max() + (long)rounded);
        nint px = (nint)x, pw = (nint)w, pb = (nint)bias, py = (nint)y, pr = (nint)residual;
        // ReLU and Clip (MobileNet's ReLU6) are applied to the sums in registers when there is no residual to add
        // first; other activations and residuals take a pass over each finished plane.
        bool inPlane = Kernels.RowFinish.Bounds(act, out bool lower, out T lo, out bool upper, out T hi) && residual == null;
        var bounds = inPlane ? new PlaneBounds(lower, lo, upper, hi) : default;
        CortadoThreads.ParallelRanges(g.N * g.OutC, PlanesPerTask((long)ohw * kk), (p0, p1) =>
        {
            T* buf = (T*)Gemm.GemmScratch.Cols.Get((nuint)(bufLen * sizeof(T)));
            T* flat = (T*)Gemm.GemmScratch.Stage.Get((nuint)(rounded * sizeof(T)));
            T* padded = null;
            // Padding and slack are zeroed once: every plane writes the same interior positions.
            new Span<T>(buf, (int)bufLen).Clear();
            for (int plane = p0; plane < p1; plane++)
            {
                int n = plane / g.OutC, o = plane % g.OutC;
                T* xp = (T*)px + ((nint)n * g.C + o / mult) * hw;
                T* yp = (T*)py + (nint)plane * ohw;
                if (padded != xp)
                {
                    // With a channel multiplier the next output plane reads the same input plane: pad it once.
                    Pad(xp, buf, g, hq, wq);
                    padded = xp;
                }
                fixed (int* off = offsets) Plane(buf, off, (T*)pw + (nint)o * kk, kk, pb == 0 ? T.Zero : ((T*)pb)[o], flat, total, bounds);
                for (int oh = 0; oh < g.OutH; oh++)
                    new ReadOnlySpan<T>(flat + (nint)oh * wq, g.OutW).CopyTo(new Span<T>(yp + (nint)oh * g.OutW, g.OutW));
                if (!inPlane)
                    Kernels.RowFinish.Apply(new Span<T>(yp, ohw), false, T.Zero,
                                            pr != 0 ? new ReadOnlySpan<T>((T*)pr + (nint)plane * ohw, ohw) : default, act);
            }
        });
    }

    // Writes the input plane xp into the interior of buf, the zero-padded plane as its StrideH × StrideW phases of
    // hq × wq each (the padding positions are never written, so they stay zero).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pad(T* xp, T* buf, in Conv2dGeometry g, int hq, int wq)
    {
        int sh = g.StrideH, sw = g.StrideW;
        for (int a = 0; a < sh; a++)
            for (int b = 0; b < sw; b++)
            {
                if (sw == 2 && b == 1) continue; // written with phase 0 below
                T* phase = buf + (a * sw + b) * (nint)hq * wq;
                // Phase column j holds padded column j·sw + b, input column j·sw + b − PadW.
                int j0 = Math.Max(0, (g.PadW - b + sw - 1) / sw);
                int j1 = Math.Min(wq, (g.W + g.PadW - b + sw - 1) / sw);
                if (sw > 2 && j0 >= j1) continue;
                for (int i = 0; i < hq; i++)
                {
                    int ih = i * sh + a - g.PadH;
                    if ((uint)ih >= (uint)g.H) continue;
                    T* row = xp + (nint)ih * g.W;
                    T* dst = phase + (nint)i * wq;
                    if (sw == 1) new ReadOnlySpan<T>(row, g.W).CopyTo(new Span<T>(dst + g.PadW, g.W));
                    else if (sw == 2)
                    {
                        // Input column 2m lands in phase PadW mod 2 at m + ⌊PadW / 2⌋, column 2m + 1 in the other
                        // phase at m + ⌈PadW / 2⌉: one pass splits the row into both.
                        T* other = dst + (nint)hq * wq; // phase (a, 1)
                        T* evens = g.PadW % 2 == 0 ? dst + g.PadW / 2 : other + g.PadW / 2;
                        T* odds = g.PadW % 2 == 0 ? other + g.PadW / 2 : dst + (g.PadW + 1) / 2;
                        Deinterleave(row, g.W, evens, odds);
                    }
                    else
                    {
                        T* src = row + (j0 * sw + b - g.PadW);
                        for (int j = 0; j < j1 - j0; j++) dst[j0 + j] = src[(nint)j * sw];
                    }
                }
            }
    }

    /// <summary>The 16 floats v0, v1 split into evens (0, 2, …, 14) and odds (1, 3, …, 15), in order (AVX2).</summary>
    internal static void SplitEvenOdd(Vector256<float> v0, Vector256<float> v1, out Vector256<float> evens, out Vector256<float> odds)
    {
        // Per 128-bit lane: [v0 0 2, v1 0 2] and [v0 1 3, v1 1 3]; then the 64-bit pairs back in order.
        evens = Avx2.Permute4x64(Avx.Shuffle(v0, v1, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
        odds = Avx2.Permute4x64(Avx.Shuffle(v0, v1, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
    }

    // evens[m] = src[2m], odds[m] = src[2m + 1] for the count values of src.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Deinterleave(T* src, int count, T* evens, T* odds)
    {
        int i = 0;
        if (typeof(T) == typeof(float) && Avx2.IsSupported && VectorPaths.Enabled)
        {
            for (; i + 16 <= count; i += 16)
            {
                SplitEvenOdd(Avx.LoadVector256((float*)src + i), Avx.LoadVector256((float*)src + i + 8), out var e, out var o);
                Avx.Store((float*)evens + i / 2, e);
                Avx.Store((float*)odds + i / 2, o);
            }
        }
        for (; i + 1 < count; i += 2)
        {
            evens[i / 2] = src[i];
            odds[i / 2] = src[i + 1];
        }
        if (i < count) evens[i / 2] = src[i];
    }

    // A lower and an upper bound applied to each finished sum (IEEE maximum, then minimum), as RowFinish applies them.
    private readonly record struct PlaneBounds(bool Lower, T Lo, bool Upper, T Hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Bounded(Vector512<T> v, bool lower, Vector512<T> lo, bool upper, Vector512<T> hi)
    {
        if (lower) v = Vector512.Max(v, lo);
        return upper ? Vector512.Min(v, hi) : v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Bounded(Vector<T> v, bool lower, Vector<T> lo, bool upper, Vector<T> hi)
    {
        if (lower) v = Vector.Max(v, lo);
        return upper ? Vector.Min(v, hi) : v;
    }

    // flat[f] = bias + Σ_t w[t]·buf[off[t] + f] for f < total, each term added by a fused multiply-add in tap order,
    // then bounded (vector runs may write up to the next whole chunk). 512-bit vectors where the hardware runs them
    // natively.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plane(T* buf, int* off, T* wt, int kk, T bias, T* flat, int total, PlaneBounds bounds)
    {
        int f = 0;
        bool lower = bounds.Lower, upper = bounds.Upper;
        if (VectorPaths.Enabled && Vector512.IsHardwareAccelerated)
        {
            int v = Vector512<T>.Count;
            var vb = Vector512.Create(bias);
            Vector512<T> vl = Vector512.Create(bounds.Lo), vh = Vector512.Create(bounds.Hi);
            for (; f < total; f += Unroll * v)
            {
                Vector512<T> a0 = vb, a1 = vb, a2 = vb, a3 = vb;
                for (int t = 0; t < kk; t++)
                {
                    var wv = Vector512.Create(wt[t]);
                    T* p = buf + off[t] + f;
                    a0 = VectorFma<T>.Of(wv, Vector512.Load(p), a0);
                    a1 = VectorFma<T>.Of(wv, Vector512.Load(p + v), a1);
                    a2 = VectorFma<T>.Of(wv, Vector512.Load(p + 2 * v), a2);
                    a3 = VectorFma<T>.Of(wv, Vector512.Load(p + 3 * v), a3);
                }
                Bounded(a0, lower, vl, upper, vh).Store(flat + f);
                Bounded(a1, lower, vl, upper, vh).Store(flat + f + v);
                Bounded(a2, lower, vl, upper, vh).Store(flat + f + 2 * v);
                Bounded(a3, lower, vl, upper, vh).Store(flat + f + 3 * v);
            }
            return;
        }
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated)
        {
            int v = Vector<T>.Count;
            var vb = new Vector<T>(bias);
            Vector<T> vl = new(bounds.Lo), vh = new(bounds.Hi);
            for (; f < total; f += Unroll * v)
            {
                Vector<T> a0 = vb, a1 = vb, a2 = vb, a3 = vb;
                for (int t = 0; t < kk; t++)
                {
                    var wv = new Vector<T>(wt[t]);
                    T* p = buf + off[t] + f;
                    a0 = VectorFma<T>.Of(wv, Vector.Load(p), a0);
                    a1 = VectorFma<T>.Of(wv, Vector.Load(p + v), a1);
                    a2 = VectorFma<T>.Of(wv, Vector.Load(p + 2 * v), a2);
                    a3 = VectorFma<T>.Of(wv, Vector.Load(p + 3 * v), a3);
                }
                Bounded(a0, lower, vl, upper, vh).Store(flat + f);
                Bounded(a1, lower, vl, upper, vh).Store(flat + f + v);
                Bounded(a2, lower, vl, upper, vh).Store(flat + f + 2 * v);
                Bounded(a3, lower, vl, upper, vh).Store(flat + f + 3 * v);
            }
            return;
        }
        for (; f < total; f++)
        {
            T acc = bias;
            for (int t = 0; t < kk; t++) acc = T.FusedMultiplyAdd(wt[t], buf[off[t] + f], acc);
            if (lower) acc = T.Max(acc, bounds.Lo);
            if (upper) acc = T.Min(acc, bounds.Hi);
            flat[f] = acc;
        }
    }

    /// <summary>dx = ∂L/∂x given dy and w; dx is overwritten.</summary>
    public static void BackwardInput(T* dy, T* w, T* dx, Conv2dGeometry g)
    {
        int mult = g.OutC / g.C, kk = g.KH * g.KW;
        int hw = g.H * g.W, ohw = g.OutH * g.OutW;
        nint pdy = (nint)dy, pw = (nint)w, pdx = (nint)dx;
        CortadoThreads.ParallelRanges(g.N * g.C, PlanesPerTask(ohw * kk * mult), (p0, p1) =>
        {
            for (int plane = p0; plane < p1; plane++)
            {
                int n = plane / g.C, c = plane % g.C;
                T* dxp = (T*)pdx + (nint)plane * hw;
                new Span<T>(dxp, hw).Clear();
                for (int j = 0; j < mult; j++)
                {
                    int o = c * mult + j;
                    T* dyp = (T*)pdy + ((nint)n * g.OutC + o) * ohw;
                    T* wp = (T*)pw + (nint)o * kk;
                    for (int kh = 0; kh < g.KH; kh++)
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            T wv = wp[kh * g.KW + kw];
                            var (lo, hi) = Im2Col<T>.ValidRange(kw, g.PadW, g.DilationW, g.StrideW, g.W, g.OutW);
                            if (lo >= hi) continue;
                            int iw0 = lo * g.StrideW - g.PadW + kw * g.DilationW;
                            for (int oh = 0; oh < g.OutH; oh++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                if ((uint)ih >= (uint)g.H) continue;
                                AxpyScatter(dxp + (nint)ih * g.W + iw0, g.StrideW, dyp + (nint)oh * g.OutW + lo, hi - lo, wv);
                            }
                        }
                }
            }
        });
    }

    /// <summary>dw = ∂L/∂w given x and dy, samples summed in order; dw is overwritten.</summary>
    public static void BackwardWeight(T* x, T* dy, T* dw, Conv2dGeometry g)
    {
        int mult = g.OutC / g.C, kk = g.KH * g.KW;
        int hw = g.H * g.W, ohw = g.OutH * g.OutW;
        nint px = (nint)x, pdy = (nint)dy, pdw = (nint)dw;
        // One task per output channel: each weight is summed by one thread over samples in order.
        CortadoThreads.ParallelRanges(g.OutC, 1, (o0, o1) =>
        {
            for (int o = o0; o < o1; o++)
            {
                int c = o / mult;
                T* wp = (T*)pdw + (nint)o * kk;
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        T sum = T.Zero;
                        var (lo, hi) = Im2Col<T>.ValidRange(kw, g.PadW, g.DilationW, g.StrideW, g.W, g.OutW);
                        int iw0 = lo * g.StrideW - g.PadW + kw * g.DilationW;
                        for (int n = 0; n < g.N && lo < hi; n++)
                        {
                            T* xp = (T*)px + ((nint)n * g.C + c) * hw;
                            T* dyp = (T*)pdy + ((nint)n * g.OutC + o) * ohw;
                            for (int oh = 0; oh < g.OutH; oh++)
                            {
                                int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                if ((uint)ih >= (uint)g.H) continue;
                                sum += Dot(dyp + (nint)oh * g.OutW + lo, xp + (nint)ih * g.W + iw0, g.StrideW, hi - lo);
                            }
                        }
                        wp[kh * g.KW + kw] = sum;
                    }
            }
        });
    }

    // Planes per task: enough work in each (≈ 32K multiply-adds) that claiming a task costs little.
    private static int PlanesPerTask(long macsPerPlane) => (int)Math.Clamp((1L << 15) / Math.Max(1, macsPerPlane), 1, 64);
}
