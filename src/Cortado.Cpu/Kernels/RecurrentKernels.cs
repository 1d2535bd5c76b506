// Fused gate kernels of the recurrent layers: one pass over a batch row does activations and the cell update.
using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Cortado.Cpu.Kernels;

/// <summary>A row-major matrix inside a backing array: row r of width w starts at Offset + r·w.</summary>
internal readonly struct RowBuf<T>(T[] data, int offset, int width)
{
    private readonly T[] _data = data;
    private readonly int _offset = offset;
    private readonly int _width = width;

    public Span<T> Row(int r) => _data.AsSpan(_offset + r * _width, _width);
}

/// <summary>
/// Per-row kernels for LSTM, GRU and Elman cells. The transcendental parts (σ, tanh) go through
/// TensorPrimitives on spans of one row, which stay in L1; the gradient arithmetic is a Vector&lt;T&gt;
/// loop with a scalar tail that performs the same operations in the same order (the JIT does not contract
/// a·b + c into an FMA), so an element's result does not depend on where it falls in the row or on how
/// rows are split over threads.
/// </summary>
internal static class RecurrentKernels<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void LstmForward(RowBuf<T> gates, RowBuf<T> cPrev, RowBuf<T> c, RowBuf<T> h, int hidden, int r0, int r1)
    {
        int H = hidden;
        for (int r = r0; r < r1; r++)
        {
            var g = gates.Row(r);
            var ifg = g[..(2 * H)];
            TensorPrimitives.Sigmoid(ifg, ifg);
            var gg = g.Slice(2 * H, H);
            TensorPrimitives.Tanh(gg, gg);
            var o = g.Slice(3 * H, H);
            TensorPrimitives.Sigmoid(o, o);
            var cr = c.Row(r);
            var hr = h.Row(r);
            TensorPrimitives.Multiply(g.Slice(H, H), cPrev.Row(r), cr);
            TensorPrimitives.MultiplyAdd(g[..H], gg, cr, cr);
            TensorPrimitives.Tanh(cr, hr);
            TensorPrimitives.Multiply(o, hr, hr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void LstmBackward(RowBuf<T> gates, RowBuf<T> cPrev, RowBuf<T> c, RowBuf<T> dh, RowBuf<T> dc, RowBuf<T> dGates,
                                    int hidden, int r0, int r1)
    {
        int H = hidden;
        var scratch = ArrayPool<T>.Shared.Rent(H);
        try
        {
            var tc = scratch.AsSpan(0, H);
            for (int r = r0; r < r1; r++)
            {
                TensorPrimitives.Tanh(c.Row(r), tc);
                var g = gates.Row(r);
                var dg = dGates.Row(r);
                Span<T> gi = g[..H], gf = g.Slice(H, H), gg = g.Slice(2 * H, H), go = g.Slice(3 * H, H);
                Span<T> di = dg[..H], df = dg.Slice(H, H), dgg = dg.Slice(2 * H, H), dgo = dg.Slice(3 * H, H);
                Span<T> cp = cPrev.Row(r), dhr = dh.Row(r), dcr = dc.Row(r);
                int j = 0;
                if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
                {
                    var one = Vector<T>.One;
                    for (; j + Vector<T>.Count <= H; j += Vector<T>.Count)
                    {
                        var t = new Vector<T>(tc[j..]);
                        var i = new Vector<T>(gi[j..]);
                        var f = new Vector<T>(gf[j..]);
                        var gv = new Vector<T>(gg[j..]);
                        var o = new Vector<T>(go[j..]);
                        var d = new Vector<T>(dhr[j..]);
                        var dcn = new Vector<T>(dcr[j..]) + d * o * (one - t * t);
                        (dcn * gv * i * (one - i)).CopyTo(di[j..]);
                        (dcn * new Vector<T>(cp[j..]) * f * (one - f)).CopyTo(df[j..]);
                        (dcn * i * (one - gv * gv)).CopyTo(dgg[j..]);
                        (d * t * o * (one - o)).CopyTo(dgo[j..]);
                        (dcn * f).CopyTo(dcr[j..]);
                    }
                }
                for (; j < H; j++)
                {
                    T t = tc[j], i = gi[j], f = gf[j], gv = gg[j], o = go[j], d = dhr[j];
                    T dcn = dcr[j] + d * o * (T.One - t * t);
                    di[j] = dcn * gv * i * (T.One - i);
                    df[j] = dcn * cp[j] * f * (T.One - f);
                    dgg[j] = dcn * i * (T.One - gv * gv);
                    dgo[j] = d * t * o * (T.One - o);
                    dcr[j] = dcn * f;
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void GruForward(RowBuf<T> gx, RowBuf<T> gh, RowBuf<T> hPrev, RowBuf<T> h, int hidden, int r0, int r1)
    {
        int H = hidden;
        for (int r = r0; r < r1; r++)
        {
            var x = gx.Row(r);
            var hh = gh.Row(r);
            var rz = x[..(2 * H)];
            TensorPrimitives.Add(rz, hh[..(2 * H)], rz);
            TensorPrimitives.Sigmoid(rz, rz);
            var n = x.Slice(2 * H, H);
            TensorPrimitives.MultiplyAdd(x[..H], hh.Slice(2 * H, H), n, n);
            TensorPrimitives.Tanh(n, n);
            var hr = h.Row(r);
            TensorPrimitives.Subtract(hPrev.Row(r), n, hr);
            TensorPrimitives.MultiplyAdd(hr, x.Slice(H, H), n, hr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void GruBackward(RowBuf<T> gates, RowBuf<T> gh, RowBuf<T> hPrev, RowBuf<T> dh, RowBuf<T> dGx, RowBuf<T> dGh,
                                   RowBuf<T> dhPrev, int hidden, int r0, int r1)
    {
        int H = hidden;
        for (int r = r0; r < r1; r++)
        {
            var g = gates.Row(r);
            Span<T> gr = g[..H], gz = g.Slice(H, H), gn = g.Slice(2 * H, H), ghn = gh.Row(r).Slice(2 * H, H);
            Span<T> hp = hPrev.Row(r), d = dh.Row(r), dp = dhPrev.Row(r);
            var ax = dGx.Row(r);
            var ah = dGh.Row(r);
            Span<T> axr = ax[..H], axz = ax.Slice(H, H), axn = ax.Slice(2 * H, H);
            Span<T> ahr = ah[..H], ahz = ah.Slice(H, H), ahn = ah.Slice(2 * H, H);
            int j = 0;
            if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
            {
                var one = Vector<T>.One;
                for (; j + Vector<T>.Count <= H; j += Vector<T>.Count)
                {
                    var rv = new Vector<T>(gr[j..]);
                    var zv = new Vector<T>(gz[j..]);
                    var nv = new Vector<T>(gn[j..]);
                    var dv = new Vector<T>(d[j..]);
                    var dan = dv * (one - zv) * (one - nv * nv);
                    var dar = dan * new Vector<T>(ghn[j..]) * rv * (one - rv);
                    var daz = dv * (new Vector<T>(hp[j..]) - nv) * zv * (one - zv);
                    (dv * zv).CopyTo(dp[j..]);
                    dar.CopyTo(axr[j..]);
                    dar.CopyTo(ahr[j..]);
                    daz.CopyTo(axz[j..]);
                    daz.CopyTo(ahz[j..]);
                    dan.CopyTo(axn[j..]);
                    (dan * rv).CopyTo(ahn[j..]);
                }
            }
            for (; j < H; j++)
            {
                T rv = gr[j], zv = gz[j], nv = gn[j], dv = d[j];
                T dan = dv * (T.One - zv) * (T.One - nv * nv);
                T dar = dan * ghn[j] * rv * (T.One - rv);
                T daz = dv * (hp[j] - nv) * zv * (T.One - zv);
                dp[j] = dv * zv;
                axr[j] = dar;
                ahr[j] = dar;
                axz[j] = daz;
                ahz[j] = daz;
                axn[j] = dan;
                ahn[j] = dan * rv;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void RnnForward(bool relu, RowBuf<T> gates, RowBuf<T> h, int r0, int r1)
    {
        for (int r = r0; r < r1; r++)
        {
            if (relu) TensorPrimitives.Max(gates.Row(r), T.Zero, h.Row(r));
            else TensorPrimitives.Tanh(gates.Row(r), h.Row(r));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first step: skip the unoptimised tier
    public static void RnnBackward(bool relu, RowBuf<T> h, RowBuf<T> dh, RowBuf<T> dGates, int hidden, int r0, int r1)
    {
        int H = hidden;
        for (int r = r0; r < r1; r++)
        {
            Span<T> hr = h.Row(r), d = dh.Row(r), dg = dGates.Row(r);
            int j = 0;
            if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
            {
                var one = Vector<T>.One;
                for (; j + Vector<T>.Count <= H; j += Vector<T>.Count)
                {
                    var hv = new Vector<T>(hr[j..]);
                    var dv = new Vector<T>(d[j..]);
                    var res = relu ? Vector.ConditionalSelect(Vector.GreaterThan(hv, Vector<T>.Zero), dv, Vector<T>.Zero) : dv * (one - hv * hv);
                    res.CopyTo(dg[j..]);
                }
            }
            for (; j < H; j++)
                dg[j] = relu ? (hr[j] > T.Zero ? d[j] : T.Zero) : d[j] * (T.One - hr[j] * hr[j]);
        }
    }
}
