// Direct depthwise convolution (one input channel per group), where im2col + GEMM would waste most of its work.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu.Conv;

/// <summary>
/// Convolution with groups = C (each output channel reads one input channel, e.g. MobileNet's depthwise
/// layers). A GEMM per group would have one row, so these kernels slide the window directly:
/// y[n, o, oh, ow] = bias[o] + Σ_{kh, kw} w[o, 0, kh, kw]·x[n, o / (OC/C), ih, iw], taps summed in the
/// order (kh, kw) for every element. Vectors run along output rows (the forward pass splits a strided
/// input into column phases first, so its taps read contiguous runs); multiply and add are separate, so
/// vector and scalar positions round alike. Threads split over whole output planes.
/// </summary>
internal static unsafe class DepthwiseConv<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>True for the geometries these kernels serve: one input channel per group, several groups.</summary>
    public static bool Applies(in Conv2dGeometry g) => g.Groups > 1 && g.C == g.Groups;

    // dst[i] += w·src[i·stride] for i < count.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(T* dst, T* src, int stride, int count, T w)
    {
        int i = 0;
        if (stride == 1 && VectorPaths.Enabled && Vector.IsHardwareAccelerated)
        {
            var vw = new Vector<T>(w);
            for (; i + Vector<T>.Count <= count; i += Vector<T>.Count)
                (Vector.Load(dst + i) + vw * Vector.Load(src + i)).Store(dst + i);
        }
        for (; i < count; i++) dst[i] += w * src[(nint)i * stride];
    }

    // dst[i·stride] += w·src[i] for i < count.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyScatter(T* dst, int stride, T* src, int count, T w)
    {
        if (stride == 1)
        {
            Axpy(dst, src, 1, count, w);
            return;
        }
        for (int i = 0; i < count; i++) dst[(nint)i * stride] += w * src[i];
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

    /// <summary>y = depthwise conv2d(x, w) + bias (bias may be null).</summary>
    public static void Forward(T* x, T* w, T* bias, T* y, Conv2dGeometry g)
    {
        int mult = g.OutC / g.C, kk = g.KH * g.KW;
        int hw = g.H * g.W, ohw = g.OutH * g.OutW;
        nint px = (nint)x, pw = (nint)w, pb = (nint)bias, py = (nint)y;
        // With a column stride s > 1, each input plane is first split into its s column phases (phase p, row ih holds
        // columns p, p + s, …), so every tap reads a contiguous run: column ow·s + off is phase off mod s at ow + ⌊off / s⌋.
        int s = g.StrideW, phaseW = (g.W + s - 1) / s;
        CortadoThreads.ParallelRanges(g.N * g.OutC, PlanesPerTask(ohw * kk), (p0, p1) =>
        {
            T* phases = s == 1 ? null : (T*)Gemm.GemmScratch.Cols.Get((nuint)((long)s * g.H * phaseW * sizeof(T)));
            T* split = null;
            for (int plane = p0; plane < p1; plane++)
            {
                int n = plane / g.OutC, o = plane % g.OutC;
                T* xp = (T*)px + ((nint)n * g.C + o / mult) * hw;
                T* yp = (T*)py + (nint)plane * ohw;
                T* wp = (T*)pw + (nint)o * kk;
                if (phases != null && split != xp)
                {
                    for (int ph = 0; ph < s; ph++)
                        for (int ih = 0; ih < g.H; ih++)
                        {
                            T* src = xp + (nint)ih * g.W, dst = phases + ((nint)ph * g.H + ih) * phaseW;
                            for (int i = 0, c = ph; c < g.W; i++, c += s) dst[i] = src[c];
                        }
                    split = xp;
                }
                new Span<T>(yp, ohw).Fill(pb == 0 ? T.Zero : ((T*)pb)[o]);
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++)
                    {
                        T wv = wp[kh * g.KW + kw];
                        var (lo, hi) = Im2Col<T>.ValidRange(kw, g.PadW, g.DilationW, s, g.W, g.OutW);
                        if (lo >= hi) continue;
                        int off = kw * g.DilationW - g.PadW, iw0 = lo * s + off;
                        int phase = ((off % s) + s) % s, shift = (off - phase) / s;
                        for (int oh = 0; oh < g.OutH; oh++)
                        {
                            int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                            if ((uint)ih >= (uint)g.H) continue;
                            T* src = phases == null ? xp + (nint)ih * g.W + iw0 : phases + ((nint)phase * g.H + ih) * phaseW + lo + shift;
                            Axpy(yp + (nint)oh * g.OutW + lo, src, 1, hi - lo, wv);
                        }
                    }
            }
        });
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
