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
/// output row's dy and the matching shifted row of a zero-padded copy of x are multiplied as vectors along ow, with
/// four vector accumulators taking the rows (n, oh) in turn; the lanes and accumulators are added up in a fixed
/// order at the end. Each dW element is summed by one thread in an order that depends only on the shape, so the
/// result is the same for any thread count; the order differs from the GEMM's, so <see cref="Applies"/> reads the
/// shape alone.
/// </summary>
internal static unsafe class ThinWeightGradient<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Whether the direct form is used where it applies (true, the default) or never; tests and benchmarks switch it.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Most weights per output channel (C/G·KH·KW) and output channels per group for the direct form. Each product here
    /// loads both its factors, where the GEMM reuses them from registers: LeNet's second layer (150 weights per output
    /// channel) ran 1.5–2× slower this way, its first (25) 2–3× faster (`Cortado.Bench.Gemm --op wgrad`).
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
        // One item per (output channel, input channel of its group): its KH·KW weights.
        CortadoThreads.ParallelFor(g.OutC * cg, item =>
        {
            int o = item / cg, ci = item % cg, c = o / ocg * cg + ci;
            T* w = (T*)pdw + ((long)o * cg + ci) * kk;
            for (int kh = 0; kh < geo.KH; kh++)
                for (int kw = 0; kw < geo.KW; kw++)
                    w[kh * geo.KW + kw] = Tap((T*)pxs, (T*)pdys, geo, o, c, kh * geo.DilationH * wp + kw * geo.DilationW, hp, wp, owp, lanes);
        });
    }

    // Σ over n, oh, ow of dy[n, o, oh, ow]·xs[n, c, oh + off] for one tap (off = kh·d·wp + kw·d in the padded plane).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Tap(T* xs, T* dys, in Conv2dGeometry g, int o, int c, int off, int hp, int wp, int owp, int lanes)
    {
        int samples = g.N, outH = g.OutH, outW = g.OutW;
        nint dySample = (nint)g.OutC * outH * owp, xSample = (nint)g.C * hp * wp;
        T* d0 = dys + (nint)o * outH * owp;
        T* s0 = xs + (nint)c * hp * wp + off;
        if (lanes > 1)
        {
            // Four accumulators: a row's vectors in turn (a0, a1, a2, a3, a0, …) when it has four or more; rows of two
            // vectors in pairs (a0, a1 for the even row, a2, a3 for the odd one); rows of one or three vectors four
            // or two rows at a time likewise. So narrow rows still keep four chains of fused multiply-adds in
            // flight, and which accumulator takes which product depends on the shape alone.
            Vector<T> a0 = Vector<T>.Zero, a1 = Vector<T>.Zero, a2 = Vector<T>.Zero, a3 = Vector<T>.Zero;
            int vpr = owp / lanes;
            for (int n = 0; n < samples; n++)
            {
                T* d = d0 + n * dySample, s = s0 + n * xSample;
                int oh = 0;
                if (vpr == 1)
                {
                    for (; oh + 4 <= outH; oh += 4, d += 4 * owp, s += 4 * wp)
                    {
                        a0 = VectorFma<T>.Of(Load(d), Load(s), a0);
                        a1 = VectorFma<T>.Of(Load(d + owp), Load(s + wp), a1);
                        a2 = VectorFma<T>.Of(Load(d + 2 * owp), Load(s + 2 * wp), a2);
                        a3 = VectorFma<T>.Of(Load(d + 3 * owp), Load(s + 3 * wp), a3);
                    }
                }
                else if (vpr == 2)
                {
                    for (; oh + 2 <= outH; oh += 2, d += 2 * owp, s += 2 * wp)
                    {
                        a0 = VectorFma<T>.Of(Load(d), Load(s), a0);
                        a1 = VectorFma<T>.Of(Load(d + lanes), Load(s + lanes), a1);
                        a2 = VectorFma<T>.Of(Load(d + owp), Load(s + wp), a2);
                        a3 = VectorFma<T>.Of(Load(d + owp + lanes), Load(s + wp + lanes), a3);
                    }
                }
                for (; oh < outH; oh++, d += owp, s += wp)
                {
                    int v = 0;
                    for (; v + 4 * lanes <= owp; v += 4 * lanes)
                    {
                        a0 = VectorFma<T>.Of(Load(d + v), Load(s + v), a0);
                        a1 = VectorFma<T>.Of(Load(d + v + lanes), Load(s + v + lanes), a1);
                        a2 = VectorFma<T>.Of(Load(d + v + 2 * lanes), Load(s + v + 2 * lanes), a2);
                        a3 = VectorFma<T>.Of(Load(d + v + 3 * lanes), Load(s + v + 3 * lanes), a3);
                    }
                    if (v < owp) a0 = VectorFma<T>.Of(Load(d + v), Load(s + v), a0);
                    if ((v += lanes) < owp) a1 = VectorFma<T>.Of(Load(d + v), Load(s + v), a1);
                    if ((v += lanes) < owp) a2 = VectorFma<T>.Of(Load(d + v), Load(s + v), a2);
                }
            }
            var sum = (a0 + a1) + (a2 + a3);
            T total = T.Zero;
            for (int l = 0; l < lanes; l++) total += sum[l];
            return total;
        }
        T t = T.Zero;
        for (int n = 0; n < samples; n++)
        {
            T* d = d0 + n * dySample, s = s0 + n * xSample;
            for (int oh = 0; oh < outH; oh++, d += owp, s += wp)
                for (int ow = 0; ow < outW; ow++) t = T.FusedMultiplyAdd(d[ow], s[ow], t);
        }
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Load(T* p) => Unsafe.ReadUnaligned<Vector<T>>(p);
}
