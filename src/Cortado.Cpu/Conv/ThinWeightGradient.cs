// The weight gradient of a stride-1 convolution with few weights per output channel, as direct dot products.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu.Conv;

/// <summary>
/// dW[o, c, kh, kw] = Σ over samples and output pixels of dy[n, o, oh, ow]·x[n, c, oh + kh·d − p, ow + kw·d − p], for a
/// stride-1 convolution whose dW is thin (LeNet's first layer: 6×25): as a GEMM, dy·colsᵀ spends its time building the
/// column matrix (25 × 50,176 values at batch 64) for a product a few rows tall. Here each
/// output row's dy and the matching shifted row of a zero-padded copy of x are multiplied as vectors along ow, four
/// output channels at a time (each x vector loaded once for the four), every output one chain over the rows in order,
/// its lanes added in order at the end. Each dW element is summed by one thread in an order that depends only on the shape, so the
/// result is the same for any thread count; the order differs from the GEMM's, so <see cref="Applies"/> reads the
/// shape alone.
/// </summary>
internal static unsafe class ThinWeightGradient<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Whether the direct form is used where it applies (true, the default) or never; tests and benchmarks switch it.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Most weights per output channel (C/G·KH·KW) and output channels per group for the direct form. Each x vector here
    /// serves four products, where the GEMM's tile reuses its factors far more: LeNet's second layer (150 weights per
    /// output channel) ran as fast or up to 1.5× slower this way, its first (25) 2–3× faster (`Cortado.Bench.Gemm --op
    /// wgrad`).
    /// </summary>
    internal const int MaxRowLength = 32, MaxOutChannels = 32;

    /// <summary>Whether <paramref name="g"/>'s weight gradient takes the direct form: stride 1, thin dW, rows of 8+ pixels.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Enabled && g.StrideH == 1 && g.StrideW == 1 && g.OutW >= 8 && g.OutH >= 1 && g.N > 0
        && (g.C / g.Groups) * g.KH * g.KW <= MaxRowLength && g.OutC / g.Groups <= MaxOutChannels;

    public static void Run(T* x, T* dy, T* dw, in Conv2dGeometry g)
    {
        int lanes = VectorPaths.Enabled && Vector.IsHardwareAccelerated ? Vector<T>.Count : 1;
        int owp = (g.OutW + lanes - 1) / lanes * lanes;               // dy rows padded to whole vectors
        int hp = g.H + 2 * g.PadH, wp = g.W + 2 * g.PadW + lanes;     // x planes padded, plus a vector's slack
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups, kk = g.KH * g.KW;
        long xLen = (long)g.N * g.C * hp * wp, dyLen = (long)g.N * g.OutC * g.OutH * owp;
        T* xs = (T*)Gemm.GemmScratch.Cols.Get((nuint)((xLen + dyLen) * sizeof(T)));
        T* dys = xs + xLen;
        var geo = g;
        nint pxs = (nint)xs, pdys = (nint)dys, px = (nint)x, pdy = (nint)dy, pdw = (nint)dw;
        // Padded copies, plane by plane (zeros around x and past each dy row's end).
        CortadoThreads.ParallelFor(g.N, n =>
        {
            for (int c = 0; c < geo.C; c++)
            {
                T* dst = (T*)pxs + ((long)n * geo.C + c) * hp * wp;
                new Span<T>(dst, hp * wp).Clear();
                T* src = (T*)px + ((long)n * geo.C + c) * geo.H * geo.W;
                for (int r = 0; r < geo.H; r++)
                    new ReadOnlySpan<T>(src + (long)r * geo.W, geo.W).CopyTo(new Span<T>(dst + (long)(r + geo.PadH) * wp + geo.PadW, geo.W));
            }
            for (int o = 0; o < geo.OutC; o++)
                for (int r = 0; r < geo.OutH; r++)
                {
                    T* dst = (T*)pdys + (((long)n * geo.OutC + o) * geo.OutH + r) * owp;
                    new ReadOnlySpan<T>((T*)pdy + (((long)n * geo.OutC + o) * geo.OutH + r) * geo.OutW, geo.OutW).CopyTo(new Span<T>(dst, geo.OutW));
                    new Span<T>(dst + geo.OutW, owp - geo.OutW).Clear();
                }
        });
        // One item per (block of four output channels of a group, input channel of the group): their KH·KW weights each.
        // A group with fewer than four left fills the block with its last channel again and keeps one result of it.
        int blocks = (ocg + 3) / 4;
        CortadoThreads.ParallelFor(g.Groups * blocks * cg, item =>
        {
            int gi = item / (blocks * cg), rest = item % (blocks * cg), b = rest / cg, ci = rest % cg;
            int c = gi * cg + ci, first = gi * ocg + 4 * b, count = Math.Min(4, ocg - 4 * b);
            Span<int> os = [first, first + Math.Min(1, count - 1), first + Math.Min(2, count - 1), first + Math.Min(3, count - 1)];
            for (int kh = 0; kh < geo.KH; kh++)
                for (int kw = 0; kw < geo.KW; kw++)
                {
                    var (t0, t1, t2, t3) = Taps((T*)pxs, (T*)pdys, geo, os[0], os[1], os[2], os[3], c, kh * geo.DilationH * wp + kw * geo.DilationW, hp, wp, owp, lanes);
                    int at = ci * kk + kh * geo.KW + kw;
                    T* w = (T*)pdw + at;
                    w[(long)os[0] * cg * kk] = t0;
                    if (count > 1) w[(long)os[1] * cg * kk] = t1;
                    if (count > 2) w[(long)os[2] * cg * kk] = t2;
                    if (count > 3) w[(long)os[3] * cg * kk] = t3;
                }
        });
    }

    // Σ over n, oh, ow of dy[n, oₖ, oh, ow]·xs[n, c, oh + off] for one tap (off = kh·d·wp + kw·d in the padded plane)
    // and four output channels o₀…o₃ at once: each row's x vector is loaded once for all four. Each output is one
    // chain of fused multiply-adds over the rows' vectors in order, its lanes added in order at the end.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (T, T, T, T) Taps(T* xs, T* dys, in Conv2dGeometry g, int o0, int o1, int o2, int o3, int c, int off,
                                     int hp, int wp, int owp, int lanes)
    {
        int samples = g.N, outH = g.OutH, outW = g.OutW;
        nint dySample = (nint)g.OutC * outH * owp, xSample = (nint)g.C * hp * wp, plane = (nint)outH * owp;
        T* d0 = dys + o0 * plane, d1 = dys + o1 * plane, d2 = dys + o2 * plane, d3 = dys + o3 * plane;
        T* x0 = xs + (nint)c * hp * wp + off;
        if (lanes > 1)
        {
            Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
            for (int n = 0; n < samples; n++)
            {
                nint dn = n * dySample;
                T* s = x0 + n * xSample;
                for (int oh = 0; oh < outH; oh++, s += wp, dn += owp)
                    for (int v = 0; v < owp; v += lanes)
                    {
                        var xv = Load(s + v);
                        a0 = VectorFma<T>.Of(Load(d0 + dn + v), xv, a0);
                        a1 = VectorFma<T>.Of(Load(d1 + dn + v), xv, a1);
                        a2 = VectorFma<T>.Of(Load(d2 + dn + v), xv, a2);
                        a3 = VectorFma<T>.Of(Load(d3 + dn + v), xv, a3);
                    }
            }
            return (Lanes(a0, lanes), Lanes(a1, lanes), Lanes(a2, lanes), Lanes(a3, lanes));
        }
        T t0 = T.Zero, t1 = T.Zero, t2 = T.Zero, t3 = T.Zero;
        for (int n = 0; n < samples; n++)
        {
            nint dn = n * dySample;
            T* s = x0 + n * xSample;
            for (int oh = 0; oh < outH; oh++, s += wp, dn += owp)
                for (int ow = 0; ow < outW; ow++)
                {
                    T xv = s[ow];
                    t0 = T.FusedMultiplyAdd(d0[dn + ow], xv, t0);
                    t1 = T.FusedMultiplyAdd(d1[dn + ow], xv, t1);
                    t2 = T.FusedMultiplyAdd(d2[dn + ow], xv, t2);
                    t3 = T.FusedMultiplyAdd(d3[dn + ow], xv, t3);
                }
        }
        return (t0, t1, t2, t3);
    }

    // The lanes of a vector added in order.
    private static T Lanes(Vector<T> v, int lanes)
    {
        T total = T.Zero;
        for (int l = 0; l < lanes; l++) total += v[l];
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Load(T* p) => Unsafe.ReadUnaligned<Vector<T>>(p);
}
