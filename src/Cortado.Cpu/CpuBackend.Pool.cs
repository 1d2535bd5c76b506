// Pooling kernels: max and average pooling, forward and backward.
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Backends;
using Cortado.Cpu.Kernels;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>
    /// Max pooling of contiguous x [N, C, H, W] into y [N, C, OutH, OutW] (torch max_pool2d with
    /// return_indices): each output is the maximum over its KH×KW window (stride, padding, dilation from
    /// <paramref name="g"/>), padding counting as −∞; indices gets the flat h·W + w position of the maximum in
    /// its (n, c) plane. Ties keep the first position in row-major window order; a NaN in the window wins
    /// (the last NaN, as PyTorch's CPU kernel does). A window lying wholly in padding gives −∞ and index −1.
    /// float32/float64; planes run in parallel. Without indices (null: inference), rows of outputs are computed
    /// with vectors, tap after tap in the same window order, so y is the same as with indices.
    /// </summary>
    public void MaxPool2d(Tensor x, Tensor y, Tensor? indices, Conv2dGeometry g)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        const string name = "max_pool2d";
        CheckPoolShapes(name, x, y, g);
        if (indices is not null && (indices.DType != DType.Int64 || !ShapeUtil.Equal(indices.Shape, y.Shape) || !Dense(indices)))
            throw new ShapeMismatchException($"{name}: indices must be contiguous int64 of shape {ShapeUtil.Format(y.Shape)}, got {indices.DType.Name()} {ShapeUtil.Format(indices.Shape)}");
        switch (x.DType)
        {
            case DType.Float32 when indices is null: MaxPoolRows<float>(x, y, g); break;
            case DType.Float64 when indices is null: MaxPoolRows<double>(x, y, g); break;
            case DType.Float32: MaxPoolTyped<float>(x, y, indices!, g); break;
            case DType.Float64: MaxPoolTyped<double>(x, y, indices!, g); break;
            default: throw Missing(name, x.DType);
        }
    }

    // Max pooling without indices. For each output row and each valid window row, the input row is split into its
    // stride phases (phase p holds columns p, p + s, p + 2s, …), so that tap kw of every output column is one
    // contiguous run of a phase: out[ow] ← x[ow·s + kw·d − pad] = phase[(kw·d − pad) mod s][ow + ⌊(kw·d − pad) / s⌋].
    // Each tap updates the row with the scalar loop's rule (a larger value or a NaN replaces), in the same order.
    private static void MaxPoolRows<T>(Tensor x, Tensor y, Conv2dGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xd = x.Data<T>();
        var yd = y.Data<T>();
        int xo = x.Offset, yo = y.Offset;
        int planes = g.N * g.C, s = g.StrideW, w = g.W, ow_ = g.OutW;
        int phaseLen = (w + s - 1) / s;
        long perPlane = (long)g.OutH * g.OutW * g.KH * g.KW;
        var rows = Taps(g.OutH, g.StrideH, g.PadH, g.KH, g.DilationH, g.H);
        // Per tap kw: its phase, its offset within the phase, and the output columns whose input column is inside.
        var taps = new (int phase, int shift, int lo, int hi)[g.KW];
        for (int kw = 0; kw < g.KW; kw++)
        {
            int off = kw * g.DilationW - g.PadW;
            int phase = ((off % s) + s) % s, shift = (off - phase) / s;
            // ow is valid when 0 ≤ ow·s + off < W.
            int lo = off >= 0 ? 0 : (-off + s - 1) / s;
            int hi = Math.Min(ow_, off >= w ? 0 : (w - off + s - 1) / s);
            taps[kw] = (phase, shift, lo, Math.Max(lo, hi));
        }
        Work.For(planes, Work.ChunkFor(perPlane), perPlane * planes, (p0, p1) =>
        {
            // A row split into its stride phases; on the stack when small (a task per plane allocated one each).
            Span<T> phases = s == 1 ? default : s * phaseLen <= 2048 ? stackalloc T[s * phaseLen] : new T[s * phaseLen];
            for (int p = p0; p < p1; p++)
            {
                var plane = new ReadOnlySpan<T>(xd, xo + p * g.H * w, g.H * w);
                var outPlane = new Span<T>(yd, yo + p * g.OutH * ow_, g.OutH * ow_);
                for (int oh = 0; oh < g.OutH; oh++)
                {
                    var acc = outPlane.Slice(oh * ow_, ow_);
                    acc.Fill(T.NegativeInfinity);
                    var (hs, khLo, khHi) = rows[oh];
                    for (int kh = khLo; kh < khHi; kh++)
                    {
                        var row = plane.Slice((hs + kh * g.DilationH) * w, w);
                        if (s == 2)
                        {
                            // Both phases in one pass (vector shuffles where the hardware has them).
                            unsafe
                            {
                                fixed (T* r = row, ph = phases)
                                    Conv.DepthwiseConv<T>.Deinterleave(r, w, ph, ph + phaseLen);
                            }
                        }
                        else if (!phases.IsEmpty)
                            for (int ph = 0; ph < s; ph++)
                            {
                                var dst = phases.Slice(ph * phaseLen, phaseLen);
                                for (int i = 0, c = ph; c < w; i++, c += s) dst[i] = row[c];
                            }
                        foreach (var (phase, shift, lo, hi) in taps)
                        {
                            if (lo >= hi) continue;
                            ReadOnlySpan<T> src = phases.IsEmpty ? row.Slice(lo + shift, hi - lo) : phases.Slice(phase * phaseLen + lo + shift, hi - lo);
                            MaxInto(acc.Slice(lo, hi - lo), src);
                        }
                    }
                }
            }
        });
    }

    // acc[i] ← v[i] where v[i] > acc[i] or v[i] is NaN (the scalar kernel's rule: ties keep the earlier tap).
    private static void MaxInto<T>(Span<T> acc, ReadOnlySpan<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<T>.Count <= acc.Length; i += Vector<T>.Count)
            {
                var a = new Vector<T>(acc.Slice(i));
                var b = new Vector<T>(v.Slice(i));
                var take = Vector.GreaterThan(b, a) | ~Vector.Equals(b, b);
                Vector.ConditionalSelect(take, b, a).CopyTo(acc.Slice(i));
            }
        }
        for (; i < acc.Length; i++)
            if (v[i] > acc[i] || T.IsNaN(v[i])) acc[i] = v[i];
    }

    // The window positions [lo, hi) of one axis whose coordinate start + k·dilation lies in [0, size).
    private static (int lo, int hi) ValidTaps(int start, int taps, int dilation, int size)
    {
        int lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
        int hi = start >= size ? 0 : Math.Min(taps, (size - start + dilation - 1) / dilation);
        return (lo, Math.Max(lo, hi));
    }

    private static void MaxPoolTyped<T>(Tensor x, Tensor y, Tensor indices, Conv2dGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xd = x.Data<T>();
        var yd = y.Data<T>();
        var id = indices.Data<long>();
        int xo = x.Offset, yo = y.Offset, io = indices.Offset;
        int planes = g.N * g.C;
        long perPlane = (long)g.OutH * g.OutW * g.KH * g.KW;
        // The window geometry is the same in every plane: clip each output row's and column's taps once.
        var rows = Taps(g.OutH, g.StrideH, g.PadH, g.KH, g.DilationH, g.H);
        var cols = Taps(g.OutW, g.StrideW, g.PadW, g.KW, g.DilationW, g.W);
        // 2×2 windows at stride 2 without padding (LeNet's and VGG's pooling): every window is whole.
        bool pairs = g is { KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilationH: 1, DilationW: 1 };
        // The output columns whose windows lie wholly inside the input's width (a contiguous range).
        var inner = InnerRange(cols, g.KW);
        Work.For(planes, Work.ChunkFor(perPlane), perPlane * planes, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                if (pairs)
                {
                    MaxPool2x2Plane(new ReadOnlySpan<T>(xd, xo + p * g.H * g.W, g.H * g.W), new Span<T>(yd, yo + p * g.OutH * g.OutW, g.OutH * g.OutW),
                        new Span<long>(id, io + p * g.OutH * g.OutW, g.OutH * g.OutW), g.W, g.OutH, g.OutW);
                    continue;
                }
                MaxPoolPlane(new ReadOnlySpan<T>(xd, xo + p * g.H * g.W, g.H * g.W), new Span<T>(yd, yo + p * g.OutH * g.OutW, g.OutH * g.OutW),
                    new Span<long>(id, io + p * g.OutH * g.OutW, g.OutH * g.OutW), g.W, g.DilationH, g.DilationW, rows, cols, g.StrideW, inner);
            }
        });
    }

    private static void MaxPoolPlane<T>(ReadOnlySpan<T> x, Span<T> y, Span<long> idx, int w, int dh, int dw,
        (int start, int lo, int hi)[] rows, (int start, int lo, int hi)[] cols, int sw, (int lo, int hi) inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool vectors = typeof(T) == typeof(float) && Avx2.IsSupported && VectorPaths.Enabled && inner.hi - inner.lo >= 8;
        int k = 0;
        foreach (var (hs, khLo, khHi) in rows)
        {
            int row0 = k;
            for (int ow = 0; ow < cols.Length; ow++)
            {
                if (vectors && ow == inner.lo && khLo < khHi)
                {
                    // The windows wholly inside the width, 8 at a time; the rest of the row below, one by one.
                    MaxPoolRowVector(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y), idx, row0, w, dh, dw, sw,
                                     hs, khLo, khHi, cols[inner.lo].start, cols[inner.lo].hi, inner.lo, inner.hi);
                    ow = inner.hi - 1;
                    k = row0 + inner.hi;
                    continue;
                }
                var (ws, kwLo, kwHi) = cols[ow];
                T best = T.NegativeInfinity;
                int at = khLo < khHi && kwLo < kwHi ? (hs + khLo * dh) * w + ws + kwLo * dw : -1;
                for (int kh = khLo; kh < khHi; kh++)
                {
                    int rb = (hs + kh * dh) * w + ws;
                    for (int kw = kwLo; kw < kwHi; kw++)
                    {
                        int c = rb + kw * dw;
                        T v = x[c];
                        if (v > best || T.IsNaN(v))
                        {
                            best = v;
                            at = c;
                        }
                    }
                }
                y[k] = best;
                idx[k++] = at;
            }
        }
    }

    // The range [lo, hi) of output columns whose taps are all inside the input (empty when there are none).
    private static (int lo, int hi) InnerRange((int start, int lo, int hi)[] cols, int kw)
    {
        int lo = 0;
        while (lo < cols.Length && !(cols[lo].lo == 0 && cols[lo].hi == kw)) lo++;
        int hi = lo;
        while (hi < cols.Length && cols[hi].lo == 0 && cols[hi].hi == kw) hi++;
        return (lo, hi);
    }

    // Output columns [owLo, owHi) of one output row (at y[row0 …]), whose windows lie wholly inside the width, 8 at a
    // time with gathers: the taps in MaxPoolPlane's order (kh, then kw) under its rule (a later tap replaces the best
    // when greater or NaN, the first one from −∞), the index following the tap taken. A range that is not a whole
    // number of blocks ends with a block moved back over the one before (its windows get the same values again).
    private static unsafe void MaxPoolRowVector(ReadOnlySpan<float> x, Span<float> y, Span<long> idx, int row0, int w, int dh, int dw,
        int sw, int hs, int khLo, int khHi, int ws0, int kw, int owLo, int owHi)
    {
        fixed (float* xp = x, yp = y)
        fixed (long* ip = idx)
        {
            var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * Vector256.Create(sw);
            for (int ow = owLo; ow < owHi; ow += 8)
            {
                int o = Math.Min(ow, owHi - 8);
                // Lane j's window starts at column ws0 + (o − owLo + j)·sw.
                var colStart = Vector256.Create(ws0 + (o - owLo) * sw) + lanes;
                var best = Vector256.Create(float.NegativeInfinity);
                var at = Vector256.Create((hs + khLo * dh) * w) + colStart;
                for (int kh = khLo; kh < khHi; kh++)
                {
                    var rowStart = Vector256.Create((hs + kh * dh) * w) + colStart;
                    for (int t = 0; t < kw; t++)
                    {
                        var c = rowStart + Vector256.Create(t * dw);
                        var v = Avx2.GatherVector256(xp, c, 4);
                        Take(ref best, ref at, v, c);
                    }
                }
                best.Store(yp + row0 + o);
                StoreIndices(at, ip + row0 + o);
            }
        }
    }

    // MaxPoolPlane for whole 2×2 windows at stride 2: the same taps in the same order (row 0 then row 1, left then
    // right) under the same rule, without the per-window clipping.
    private static void MaxPool2x2Plane<T>(ReadOnlySpan<T> x, Span<T> y, Span<long> idx, int w, int oh_, int ow_)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool vectors = typeof(T) == typeof(float) && Avx2.IsSupported && VectorPaths.Enabled;
        for (int oh = 0; oh < oh_; oh++)
        {
            int r0 = 2 * oh * w, r1 = r0 + w;
            var top = x.Slice(r0, 2 * ow_);
            var bottom = x.Slice(r1, 2 * ow_);
            var yr = y.Slice(oh * ow_, ow_);
            var ir = idx.Slice(oh * ow_, ow_);
            int start = vectors ? MaxPool2x2RowVector(MemoryMarshal.Cast<T, float>(top), MemoryMarshal.Cast<T, float>(bottom),
                                                      MemoryMarshal.Cast<T, float>(yr), ir, r0, w) : 0;
            for (int ow = start; ow < ow_; ow++)
            {
                int c = 2 * ow;
                T best = top[c];
                int at = r0 + c;
                // The first tap always replaces −∞ unless it is −∞ itself, which leaves the same value and index.
                T v = top[c + 1];
                if (v > best || T.IsNaN(v)) { best = v; at = r0 + c + 1; }
                v = bottom[c];
                if (v > best || T.IsNaN(v)) { best = v; at = r1 + c; }
                v = bottom[c + 1];
                if (v > best || T.IsNaN(v)) { best = v; at = r1 + c + 1; }
                yr[ow] = best;
                ir[ow] = at;
            }
        }
    }

    // One output row of MaxPool2x2Plane in vector blocks of 8 windows (or 4 for rows of 4 to 7), branch-free: each later
    // tap replaces the best so far when it is greater or NaN, exactly as the scalar loop decides, and the index follows
    // the tap taken (top row starts at r0, bottom row at r0 + w). A row that is not a whole number of blocks ends with
    // a block moved back to overlap the one before it (its windows get the same values again). Returns the outputs
    // done: all of the row, or 0 for rows under 4 windows.
    private static unsafe int MaxPool2x2RowVector(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, Span<float> y, Span<long> idx, int r0, int w)
    {
        int n = y.Length;
        if (n < 4) return 0;
        fixed (float* t = top, b = bottom, yp = y)
        fixed (long* ip = idx)
        {
            if (n >= 8)
            {
                int ow = 0;
                for (; ow + 8 <= n; ow += 8) Block8(t, b, yp, ip, r0, w, ow);
                if (ow < n) Block8(t, b, yp, ip, r0, w, n - 8);
            }
            else
            {
                Block4(t, b, yp, ip, r0, w, 0);
                if (n > 4) Block4(t, b, yp, ip, r0, w, n - 4);
            }
        }
        return n;

        static void Block8(float* t, float* b, float* yp, long* ip, int r0, int w, int ow)
        {
            // The 16 inputs of each row under the 8 windows, split into even (left) and odd (right) columns.
            Conv.DepthwiseConv<float>.SplitEvenOdd(Avx.LoadVector256(t + 2 * ow), Avx.LoadVector256(t + 2 * ow + 8), out var te, out var to);
            Conv.DepthwiseConv<float>.SplitEvenOdd(Avx.LoadVector256(b + 2 * ow), Avx.LoadVector256(b + 2 * ow + 8), out var be, out var bo);
            var best = te;
            var off = Vector256<int>.Zero;
            var one = Vector256.Create(1);
            var down = Vector256.Create(w);
            Take(ref best, ref off, to, one);
            Take(ref best, ref off, be, down);
            Take(ref best, ref off, bo, down + one);
            best.Store(yp + ow);
            StoreIndices(Vector256.Create(r0 + 2 * ow) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14) + off, ip + ow);
        }

        static void Block4(float* t, float* b, float* yp, long* ip, int r0, int w, int ow)
        {
            var t0 = Sse.LoadVector128(t + 2 * ow);
            var t1 = Sse.LoadVector128(t + 2 * ow + 4);
            var b0 = Sse.LoadVector128(b + 2 * ow);
            var b1 = Sse.LoadVector128(b + 2 * ow + 4);
            var best = Sse.Shuffle(t0, t1, 0b10_00_10_00);
            var off = Vector128<int>.Zero;
            var one = Vector128.Create(1);
            var down = Vector128.Create(w);
            Take4(ref best, ref off, Sse.Shuffle(t0, t1, 0b11_01_11_01), one);
            Take4(ref best, ref off, Sse.Shuffle(b0, b1, 0b10_00_10_00), down);
            Take4(ref best, ref off, Sse.Shuffle(b0, b1, 0b11_01_11_01), down + one);
            best.Store(yp + ow);
            Avx2.ConvertToVector256Int64(Vector128.Create(r0 + 2 * ow) + Vector128.Create(0, 2, 4, 6) + off).Store(ip + ow);
        }

        static void Take4(ref Vector128<float> best, ref Vector128<int> off, Vector128<float> v, Vector128<int> at)
        {
            var take = Vector128.GreaterThan(v, best) | ~Vector128.Equals(v, v);
            best = Vector128.ConditionalSelect(take, v, best);
            off = Vector128.ConditionalSelect(take.AsInt32(), at, off);
        }
    }

    // The scalar pooling rule on 8 lanes: where tap v is greater than the best so far, or NaN, it becomes the best and
    // `at` (its index, or index offset) replaces `found`.
    private static void Take(ref Vector256<float> best, ref Vector256<int> found, Vector256<float> v, Vector256<int> at)
    {
        var take = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
        best = Vector256.ConditionalSelect(take, v, best);
        found = Vector256.ConditionalSelect(take.AsInt32(), at, found);
    }

    // Eight int32 indices widened into dst[0 … 7].
    private static unsafe void StoreIndices(Vector256<int> at, long* dst)
    {
        Avx2.ConvertToVector256Int64(at.GetLower()).Store(dst);
        Avx2.ConvertToVector256Int64(at.GetUpper()).Store(dst + 4);
    }

    // For each output position along one axis: the first input coordinate and the range of taps inside the input.
    private static (int start, int lo, int hi)[] Taps(int outSize, int stride, int pad, int taps, int dilation, int size)
    {
        var t = new (int, int, int)[outSize];
        for (int i = 0; i < outSize; i++)
        {
            int s = i * stride - pad;
            var (lo, hi) = ValidTaps(s, taps, dilation, size);
            t[i] = (s, lo, hi);
        }
        return t;
    }

    /// <summary>
    /// Gradient of <see cref="MaxPool2d"/>: dx (overwritten, zeroed first) receives dy at the recorded flat
    /// indices, adding where windows overlap; index −1 (a window wholly in padding) contributes nothing.
    /// </summary>
    public void MaxPool2dBackward(Tensor dy, Tensor indices, Tensor dx, Conv2dGeometry g)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(dx);
        const string name = "max_pool2d_backward";
        CheckPoolShapes(name, dx, dy, g);
        if (indices.DType != DType.Int64 || !ShapeUtil.Equal(indices.Shape, dy.Shape) || !Dense(indices))
            throw new ShapeMismatchException($"{name}: indices must be contiguous int64 of shape {ShapeUtil.Format(dy.Shape)}, got {indices.DType.Name()} {ShapeUtil.Format(indices.Shape)}");
        switch (dy.DType)
        {
            case DType.Float32: MaxPoolBackwardTyped<float>(dy, indices, dx, g); break;
            case DType.Float64: MaxPoolBackwardTyped<double>(dy, indices, dx, g); break;
            default: throw Missing(name, dy.DType);
        }
    }

    private static void MaxPoolBackwardTyped<T>(Tensor dy, Tensor indices, Tensor dx, Conv2dGeometry g) where T : unmanaged, INumber<T>
    {
        var gd = dy.Data<T>();
        var id = indices.Data<long>();
        var xd = dx.Data<T>();
        int go = dy.Offset, io = indices.Offset, xo = dx.Offset;
        int hw = g.H * g.W, ohw = g.OutH * g.OutW;
        int planes = g.N * g.C;
        Work.For(planes, Work.ChunkFor(hw + ohw), (long)planes * (hw + ohw), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                var plane = new Span<T>(xd, xo + p * hw, hw);
                plane.Clear();
                for (int k = 0; k < ohw; k++)
                {
                    long at = id[io + p * ohw + k];
                    if (at < 0) continue;
                    if (at >= hw) throw new CortadoException($"max_pool2d_backward: index {at} at position {p * ohw + k} is out of range for a {g.H}x{g.W} plane");
                    plane[(int)at] += gd[go + p * ohw + k];
                }
            }
        });
    }

    /// <summary>
    /// Average pooling of contiguous x [N, C, H, W] into y [N, C, OutH, OutW] (torch avg_pool2d): each output
    /// is the sum over its window's positions inside the input divided by the window size clipped to the
    /// padded bounds (<paramref name="countIncludePad"/>) or by the number of positions inside the input.
    /// float32/float64; dilation must be 1.
    /// </summary>
    public void AvgPool2d(Tensor x, Tensor y, Conv2dGeometry g, bool countIncludePad)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        const string name = "avg_pool2d";
        CheckPoolShapes(name, x, y, g);
        if (g.DilationH != 1 || g.DilationW != 1) throw new ShapeMismatchException($"{name}: dilation must be 1, got ({g.DilationH}, {g.DilationW})");
        switch (x.DType)
        {
            case DType.Float32: AvgPoolTyped<float>(x, y, g, countIncludePad, backward: false); break;
            case DType.Float64: AvgPoolTyped<double>(x, y, g, countIncludePad, backward: false); break;
            default: throw Missing(name, x.DType);
        }
    }

    /// <summary>Gradient of <see cref="AvgPool2d"/>: dx (overwritten) gets dy / divisor added at every input position of each window.</summary>
    public void AvgPool2dBackward(Tensor dy, Tensor dx, Conv2dGeometry g, bool countIncludePad)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(dx);
        const string name = "avg_pool2d_backward";
        CheckPoolShapes(name, dx, dy, g);
        if (g.DilationH != 1 || g.DilationW != 1) throw new ShapeMismatchException($"{name}: dilation must be 1, got ({g.DilationH}, {g.DilationW})");
        switch (dy.DType)
        {
            case DType.Float32: AvgPoolTyped<float>(dx, dy, g, countIncludePad, backward: true); break;
            case DType.Float64: AvgPoolTyped<double>(dx, dy, g, countIncludePad, backward: true); break;
            default: throw Missing(name, dy.DType);
        }
    }

    // Forward: y = window sums / divisor. Backward (x is dx, y is dy): dx = 0, then dy / divisor spread over each window.
    private static void AvgPoolTyped<T>(Tensor x, Tensor y, Conv2dGeometry g, bool countIncludePad, bool backward) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xd = x.Data<T>();
        var yd = y.Data<T>();
        int xo = x.Offset, yo = y.Offset;
        int h = g.H, w = g.W, oh = g.OutH, ow = g.OutW;
        int planes = g.N * g.C;
        long perPlane = (long)oh * ow * g.KH * g.KW + (long)h * w;
        Work.For(planes, Work.ChunkFor(perPlane), perPlane * planes, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int xb = xo + p * h * w, yb = yo + p * oh * ow;
                if (backward) new Span<T>(xd, xb, h * w).Clear();
                for (int i = 0; i < oh; i++)
                {
                    int hs = i * g.StrideH - g.PadH;
                    int he = Math.Min(hs + g.KH, h + g.PadH);
                    int h0 = Math.Max(hs, 0), h1 = Math.Min(he, h);
                    for (int j = 0; j < ow; j++)
                    {
                        int ws = j * g.StrideW - g.PadW;
                        int we = Math.Min(ws + g.KW, w + g.PadW);
                        int w0 = Math.Max(ws, 0), w1 = Math.Min(we, w);
                        int count = countIncludePad ? (he - hs) * (we - ws) : Math.Max(0, h1 - h0) * Math.Max(0, w1 - w0);
                        T div = T.CreateTruncating(count);
                        if (backward)
                        {
                            T v = yd[yb + i * ow + j] / div;
                            for (int r = h0; r < h1; r++)
                                for (int c = w0; c < w1; c++) xd[xb + r * w + c] += v;
                        }
                        else
                        {
                            T s = T.Zero;
                            for (int r = h0; r < h1; r++)
                                for (int c = w0; c < w1; c++) s += xd[xb + r * w + c];
                            yd[yb + i * ow + j] = s / div;
                        }
                    }
                }
            }
        });
    }

    // x is the [N, C, H, W] side and y the [N, C, OutH, OutW] side of a pooling op; both contiguous, one float dtype.
    private static void CheckPoolShapes(string name, Tensor x, Tensor y, Conv2dGeometry g)
    {
        if (g.KH < 1 || g.KW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ShapeMismatchException($"{name}: kernel, stride and dilation must be ≥ 1 and padding ≥ 0, got {g}");
        int[] xs = [g.N, g.C, g.H, g.W], ys = [g.N, g.C, g.OutH, g.OutW];
        if (!ShapeUtil.Equal(x.Shape, xs)) throw new ShapeMismatchException($"{name}: input shape {ShapeUtil.Format(x.Shape)} should be {ShapeUtil.Format(xs)}");
        if (!ShapeUtil.Equal(y.Shape, ys)) throw new ShapeMismatchException($"{name}: output shape {ShapeUtil.Format(y.Shape)} should be {ShapeUtil.Format(ys)}");
        if (x.DType != y.DType) throw new DTypeMismatchException($"{name}: input is {x.DType.Name()} but output is {y.DType.Name()}");
        if (!Dense(x) || !Dense(y)) throw new ArgumentException($"{name}: tensors must be contiguous");
    }
}
