// ONNX convolution and pooling: 2-D convolution on the backend's kernel, other ranks and transposed convolution as loops.
using Cortado.Backends;
using static Cortado.Graph.Kernels.Ref;

namespace Cortado.Graph.Kernels;

public static partial class OnnxKernels
{
    /// <summary>Window geometry of a convolution or pool over the spatial dims: kernel, strides, dilations, pads, output sizes.</summary>
    private sealed record Window(int[] In, int[] K, int[] S, int[] D, int[] PadBegin, int[] PadEnd, int[] Out);

    private static Window MakeWindow(Node n, int[] inSpatial, int[] kernel, bool ceil = false)
    {
        int r = inSpatial.Length;
        var s = WindowInts(n, "strides", r, 1, 1);
        var d = WindowInts(n, "dilations", r, 1, 1);
        var pads = WindowInts(n, "pads", 2 * r, 0, 0);
        for (int i = 0; i < r; i++)
            if (kernel[i] < 1) throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): kernel size {kernel[i]} along spatial axis {i} must be at least 1");
        var pb = pads.Take(r).ToArray();
        var pe = pads.Skip(r).ToArray();
        string auto = n.GetString("auto_pad", "NOTSET");
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            long extent = (long)d[i] * (kernel[i] - 1) + 1;
            if (extent > 1 << 28)
                throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): the dilated kernel spans {extent} elements along spatial axis {i}");
            int ext = (int)extent;
            if (auto is "SAME_UPPER" or "SAME_LOWER")
            {
                o[i] = (inSpatial[i] + s[i] - 1) / s[i];
                int total = Math.Max(0, (o[i] - 1) * s[i] + ext - inSpatial[i]);
                if (auto == "SAME_UPPER") { pb[i] = total / 2; pe[i] = total - pb[i]; }
                else { pe[i] = total / 2; pb[i] = total - pe[i]; }
            }
            else
            {
                if (auto == "VALID") { pb[i] = 0; pe[i] = 0; }
                int span = inSpatial[i] + pb[i] + pe[i] - ext;
                o[i] = ceil ? (int)Math.Ceiling(span / (double)s[i]) + 1 : span / s[i] + 1;
                // A last window that would start inside the end padding only is dropped (as ONNX Runtime and PyTorch do).
                if (ceil && (o[i] - 1) * s[i] >= inSpatial[i] + pb[i]) o[i]--;
            }
        }
        long count = 1;
        for (int i = 0; i < r; i++)
        {
            if (o[i] < 1)
                throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): the window (kernel {kernel[i]}, dilation {d[i]}) does not fit spatial axis {i} of size {inSpatial[i]} with pads {pb[i]}+{pe[i]}");
            count *= o[i];
            if (count > int.MaxValue)
                throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): output spatial size [{string.Join(", ", o.Take(i + 1))}…] exceeds {int.MaxValue} elements");
        }
        return new Window(inSpatial, kernel, s, d, pb, pe, o);
    }

    // A window attribute of `length` values, each at least `min` and small enough that sums of sizes stay
    // in int range; `fill` when absent.
    private static int[] WindowInts(Node n, string name, int length, int min, int fill)
    {
        var v = n.GetInts(name);
        if (v == null) return Enumerable.Repeat(fill, length).ToArray();
        if (v.Length != length)
            throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): attribute '{name}' has {v.Length} values, expected {length}");
        const long Max = 1 << 24;
        foreach (var x in v)
            if (x < min || x > Max)
                throw new GraphValidationException($"node '{n.Name}' ({n.OpType}): attribute '{name}' value {x} is outside {min} … {Max}");
        return v.Select(x => (int)x).ToArray();
    }

    private static void RegisterConv(Dictionary<string, KernelFn> t)
    {
        t["Conv"] = c => [Conv(c.Node, c.In(0), c.In(1), c.Opt(2))];
        t["ConvTranspose"] = c => [ConvTranspose(c.Node, c.In(0), c.In(1), c.Opt(2))];
        t["MaxPool"] = c =>
        {
            var (y, idx) = Pool(c.Node, c.In(0), "max", c.WantsOutput(1));
            return [y, idx];
        };
        t["AveragePool"] = c => [Pool(c.Node, c.In(0), "avg", false).y];
        t["LpPool"] = c => [Pool(c.Node, c.In(0), "lp", false).y];
        t["GlobalAveragePool"] = c => [GlobalPool(c.In(0), "avg", 2)];
        t["GlobalMaxPool"] = c => [GlobalPool(c.In(0), "max", 2)];
        t["GlobalLpPool"] = c => [GlobalPool(c.In(0), "lp", c.Node.GetInt("p", 2))];
        t["MaxUnpool"] = c =>
        {
            var (x, ind) = (c.In(0), L(c.In(1)));
            int r = x.Rank - 2;
            var w = MakeWindow(c.Node, x.Dims.Skip(2).ToArray(), c.Node.GetInts("kernel_shape")!.Select(v => (int)v).ToArray());
            // Indices count positions in the tensor that was pooled (the default output); an explicit larger
            // output_shape keeps those coordinates.
            var dflt = Enumerable.Range(0, r).Select(i => (x.Shape[i + 2] - 1) * w.S[i] + w.K[i] - w.PadBegin[i] - w.PadEnd[i]).ToArray();
            var outSpatial = c.Opt(2) is Tensor os ? L(os).Skip(2).Select(v => (int)v).ToArray() : dflt;
            var shape = x.Dims.Take(2).Concat(outSpatial).ToArray();
            var xd = D(x);
            var y = new double[Numel(shape)];
            int dSize = Numel(dflt), oSize = Numel(outSpatial);
            var oSt = Strides(outSpatial);
            var pos = new int[r];
            for (int i = 0; i < xd.Length; i++)
            {
                long nc = ind[i] / dSize;
                Unravel((int)(ind[i] % dSize), dflt, pos);
                int off = 0;
                for (int d = 0; d < r; d++) off += pos[d] * oSt[d];
                y[nc * oSize + off] = xd[i];
            }
            return [FromD(y, shape, x.DType)];
        };
    }

    // Conv, with a fused activation applied by the backend as it writes the output (or after, on the reference path).
    // y = act(conv(x, w) + bias + residual); the residual (FusedConv's input 3) has y's shape.
    private static Tensor Conv(Node n, Tensor x, Tensor w, Tensor? bias, Activation activation = default, Tensor? residual = null)
    {
        int r = x.Rank - 2;
        var kernel = n.GetInts("kernel_shape")?.Select(v => (int)v).ToArray() ?? w.Dims.Skip(2).ToArray();
        var win = MakeWindow(n, x.Dims.Skip(2).ToArray(), kernel);
        int groups = (int)n.GetInt("group", 1);
        if (r == 2 && x.DType is DType.Float32 or DType.Float64 && w.DType == x.DType)
        {
            // The backend's 2-D convolution takes symmetric padding; other padding is applied to the input first.
            bool sym = win.PadBegin[0] == win.PadEnd[0] && win.PadBegin[1] == win.PadEnd[1];
            var xin = x;
            var (ph, pw) = (win.PadBegin[0], win.PadBegin[1]);
            if (!sym)
            {
                var shape = x.Dims;
                shape[2] += win.PadBegin[0] + win.PadEnd[0];
                shape[3] += win.PadBegin[1] + win.PadEnd[1];
                var (pb0, pb1) = (win.PadBegin[0], win.PadBegin[1]);
                xin = GatherFill(x, shape, AxisMap(x.Dims, shape, (d, i) => d < 2 ? i : (i - (d == 2 ? pb0 : pb1)) is var p && p >= 0 && p < x.Shape[d] ? p : -1), 0);
                (ph, pw) = (0, 0);
            }
            if (residual is not null && residual.DType != x.DType)
                throw new DTypeMismatchException($"{n.Describe()}: the residual is {residual.DType.Name()}, the input {x.DType.Name()}");
            return xin.Contiguous().Conv2d(w.Contiguous(), bias, (win.S[0], win.S[1]), (ph, pw), (win.D[0], win.D[1]), groups, activation,
                                           residual?.Contiguous());
        }
        var y = ConvRef(x, w, bias, win, groups);
        if (residual is not null)
        {
            if (!ShapeUtil.Equal(residual.Shape, y.Shape))
                throw new ShapeMismatchException($"{n.Describe()}: the residual has shape {ShapeUtil.Format(residual.Shape)}, the output {ShapeUtil.Format(y.Shape)}");
            y = y.Add(residual.Cast(y.DType));
        }
        return Activate(n, y, activation);
    }

    // Direct convolution over any number of spatial dims, in float64.
    private static Tensor ConvRef(Tensor x, Tensor w, Tensor? bias, Window win, int groups)
    {
        int n = x.Shape[0], cin = x.Shape[1], cout = w.Shape[0], cg = cin / groups, mg = cout / groups;
        var xd = D(x); var wd = D(w); var bd = bias is null ? null : D(bias);
        int inSize = Numel(win.In), outSize = Numel(win.Out), kSize = Numel(win.K);
        int r = win.In.Length;
        var y = new double[n * cout * outSize];
        var kIdx = new int[r]; var oIdx = new int[r];
        var inSt = Strides(win.In);
        // Offsets of every kernel tap, per spatial dim.
        var taps = new int[kSize][];
        for (int k = 0; k < kSize; k++) { Unravel(k, win.K, kIdx); taps[k] = (int[])kIdx.Clone(); }
        CortadoThreadsFor(n * cout, job =>
        {
            int b = job / cout, m = job % cout, g = m / mg;
            var oi = new int[r];
            for (int o = 0; o < outSize; o++)
            {
                Unravel(o, win.Out, oi);
                double acc = bd?[m] ?? 0;
                for (int k = 0; k < kSize; k++)
                {
                    int off = 0;
                    bool ok = true;
                    for (int d = 0; d < r; d++)
                    {
                        int p = oi[d] * win.S[d] - win.PadBegin[d] + taps[k][d] * win.D[d];
                        if (p < 0 || p >= win.In[d]) { ok = false; break; }
                        off += p * inSt[d];
                    }
                    if (!ok) continue;
                    for (int ci = 0; ci < cg; ci++)
                        acc += xd[(b * cin + g * cg + ci) * inSize + off] * wd[(m * cg + ci) * kSize + k];
                }
                y[(b * cout + m) * outSize + o] = acc;
            }
        });
        return FromD(y, [n, cout, .. win.Out], x.DType);
    }

    private static void CortadoThreadsFor(int count, Action<int> body) => Cortado.Threading.CortadoThreads.ParallelFor(count, body);

    private static Tensor ConvTranspose(Node node, Tensor x, Tensor w, Tensor? bias)
    {
        int r = x.Rank - 2;
        int groups = (int)node.GetInt("group", 1);
        var inSp = x.Dims.Skip(2).ToArray();
        var k = node.GetInts("kernel_shape")?.Select(v => (int)v).ToArray() ?? w.Dims.Skip(2).ToArray();
        var s = node.GetInts("strides")?.Select(v => (int)v).ToArray() ?? Enumerable.Repeat(1, r).ToArray();
        var d = node.GetInts("dilations")?.Select(v => (int)v).ToArray() ?? Enumerable.Repeat(1, r).ToArray();
        var op = node.GetInts("output_padding")?.Select(v => (int)v).ToArray() ?? new int[r];
        var pads = node.GetInts("pads")?.Select(v => (int)v).ToArray() ?? new int[2 * r];
        var pb = pads.Take(r).ToArray(); var pe = pads.Skip(r).ToArray();
        string auto = node.GetString("auto_pad", "NOTSET");
        var outShape = node.GetInts("output_shape")?.Select(v => (int)v).ToArray();
        if (outShape is { Length: > 0 } && outShape.Length > r) outShape = outShape.Skip(outShape.Length - r).ToArray();
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int full = s[i] * (inSp[i] - 1) + op[i] + (k[i] - 1) * d[i] + 1;
            if (outShape is { Length: > 0 } || auto is "SAME_UPPER" or "SAME_LOWER")
            {
                o[i] = outShape is { Length: > 0 } ? outShape[i] : inSp[i] * s[i];
                int total = Math.Max(0, full - o[i]);
                if (auto == "SAME_UPPER") { pb[i] = total / 2; pe[i] = total - pb[i]; }
                else { pe[i] = total / 2; pb[i] = total - pe[i]; }
            }
            else o[i] = full - pb[i] - pe[i];
        }
        int n = x.Shape[0], cin = x.Shape[1], mg = w.Shape[1], cout = mg * groups, cg = cin / groups;
        if (r == 2 && x.DType is DType.Float32 or DType.Float64 && w.DType == x.DType
            && Enumerable.Range(0, 2).All(i => pb[i] >= 0 && pe[i] >= 0 && o[i] + pb[i] <= s[i] * (inSp[i] - 1) + (k[i] - 1) * d[i] + 1 + s[i] - 1))
        {
            // A transposed convolution is the input-gradient of a convolution: run the backend's kernel into the
            // uncropped output (every tap written), then cut the padding away.
            var full = Enumerable.Range(0, 2).Select(i => Math.Max(s[i] * (inSp[i] - 1) + (k[i] - 1) * d[i] + 1, o[i] + pb[i])).ToArray();
            var g = new Backends.Conv2dGeometry(n, cout, full[0], full[1], cin, k[0], k[1], s[0], s[1], 0, 0, d[0], d[1], groups);
            if (g.OutH == inSp[0] && g.OutW == inSp[1])
            {
                var dx = Tensor.Empty(x.DType, n, cout, full[0], full[1]);
                Backends.Backend.Current.Conv2dBackwardInput(x.Contiguous(), w.Contiguous(), dx, g);
                var cropped = dx.Slice(2, pb[0], pb[0] + o[0]).Slice(3, pb[1], pb[1] + o[1]);
                if (bias is not null) cropped = cropped.Add(Reshape(bias.Cast(x.DType), [1, cout, 1, 1]));
                return cropped.Contiguous();
            }
        }
        var xd = D(x); var wd = D(w); var bd = bias is null ? null : D(bias);
        int inSize = Numel(inSp), outSize = Numel(o), kSize = Numel(k);
        var oSt = Strides(o);
        var y = new double[n * cout * outSize];
        CortadoThreadsFor(n * cout, job =>
        {
            int b = job / cout, m = job % cout, g = m / mg, mm = m % mg;
            var ii = new int[r]; var ki = new int[r];
            var yo = (b * cout + m) * outSize;
            if (bd is not null) for (int q = 0; q < outSize; q++) y[yo + q] = bd[m];
            for (int ci = 0; ci < cg; ci++)
            {
                int cx = g * cg + ci;
                for (int i = 0; i < inSize; i++)
                {
                    double xv = xd[(b * cin + cx) * inSize + i];
                    if (xv == 0) continue;
                    Unravel(i, inSp, ii);
                    for (int kk = 0; kk < kSize; kk++)
                    {
                        Unravel(kk, k, ki);
                        int off = 0;
                        bool ok = true;
                        for (int dd = 0; dd < r; dd++)
                        {
                            int p = ii[dd] * s[dd] + ki[dd] * d[dd] - pb[dd];
                            if (p < 0 || p >= o[dd]) { ok = false; break; }
                            off += p * oSt[dd];
                        }
                        if (ok) y[yo + off] += xv * wd[(cx * mg + mm) * kSize + kk];
                    }
                }
            }
        });
        return FromD(y, [n, cout, .. o], x.DType);
    }

    private static (Tensor y, Tensor? indices) Pool(Node node, Tensor x, string kind, bool wantIndices)
    {
        var k = node.GetInts("kernel_shape")!.Select(v => (int)v).ToArray();
        var win = MakeWindow(node, x.Dims.Skip(2).ToArray(), k, node.GetInt("ceil_mode", 0) != 0);
        bool includePad = node.GetInt("count_include_pad", 0) != 0;
        // The backend's 2-D pooling serves the common case: float, symmetric padding of at most half the kernel,
        // no ceil-mode remainder, no indices; dilation only for max pooling.
        if (k.Length == 2 && kind != "lp" && !wantIndices && x.DType is DType.Float32 or DType.Float64
            && win.PadBegin[0] == win.PadEnd[0] && win.PadBegin[1] == win.PadEnd[1]
            && 2 * win.PadBegin[0] <= k[0] && 2 * win.PadBegin[1] <= k[1]
            && (kind == "max" || (win.D[0] == 1 && win.D[1] == 1))
            && Enumerable.Range(0, 2).All(i => win.Out[i] == (win.In[i] + 2 * win.PadBegin[i] - win.D[i] * (k[i] - 1) - 1) / win.S[i] + 1))
        {
            var xc = x.Contiguous();
            var pooled = kind == "max"
                ? xc.MaxPool2d((k[0], k[1]), (win.S[0], win.S[1]), (win.PadBegin[0], win.PadBegin[1]), (win.D[0], win.D[1]))
                : xc.AvgPool2d((k[0], k[1]), (win.S[0], win.S[1]), (win.PadBegin[0], win.PadBegin[1]), includePad);
            return (pooled, null);
        }
        double p = node.GetInt("p", 2);
        bool colMajor = node.GetInt("storage_order", 0) != 0;
        int r = k.Length, nc = x.Shape[0] * x.Shape[1];
        int inSize = Numel(win.In), outSize = Numel(win.Out), kSize = Numel(k);
        var xd = D(x);
        var y = new double[nc * outSize];
        var ind = wantIndices ? new long[nc * outSize] : null;
        var inSt = Strides(win.In);
        CortadoThreadsFor(nc, job =>
        {
            var oi = new int[r]; var ki = new int[r];
            int xo = job * inSize;
            for (int o = 0; o < outSize; o++)
            {
                Unravel(o, win.Out, oi);
                double acc = kind == "max" ? double.NegativeInfinity : 0;
                int count = 0, padCount = 0, best = -1;
                for (int kk = 0; kk < kSize; kk++)
                {
                    Unravel(kk, k, ki);
                    int off = 0;
                    bool inside = true, inPadded = true;
                    for (int d = 0; d < r; d++)
                    {
                        int q = oi[d] * win.S[d] - win.PadBegin[d] + ki[d] * win.D[d];
                        if (q < 0 || q >= win.In[d]) inside = false;
                        if (q < -win.PadBegin[d] || q >= win.In[d] + win.PadEnd[d]) inPadded = false;
                        off += q * inSt[d];
                    }
                    if (inPadded) padCount++;
                    if (!inside) continue;
                    double v = xd[xo + off];
                    count++;
                    if (kind == "max") { if (best < 0 || v > acc) { acc = v; best = off; } }
                    else if (kind == "avg") acc += v;
                    else acc += Math.Pow(Math.Abs(v), p);
                }
                y[job * outSize + o] = kind switch
                {
                    "avg" => acc / (includePad ? padCount : Math.Max(count, 1)),
                    "lp" => Math.Pow(acc, 1 / p),
                    _ => acc,
                };
                if (ind is not null)
                {
                    long flat = best;
                    if (colMajor && best >= 0)
                    {
                        // Column-major index within the image: reverse the order of the spatial dims.
                        var bi = new int[r];
                        Unravel(best, win.In, bi);
                        flat = 0;
                        long mul = 1;
                        for (int d = 0; d < r; d++) { flat += bi[d] * mul; mul *= win.In[d]; }
                    }
                    ind[job * outSize + o] = (long)job * inSize + flat;
                }
            }
        });
        var shape = new[] { x.Shape[0], x.Shape[1] }.Concat(win.Out).ToArray();
        return (FromD(y, shape, x.DType), ind is null ? null : FromL(ind, shape));
    }

    private static Tensor GlobalPool(Tensor x, string kind, long p)
    {
        if (kind != "lp" && x.DType is DType.Float32 or DType.Float64)
        {
            var axes = Enumerable.Range(2, x.Rank - 2).ToArray();
            return kind == "avg" ? x.Mean(axes, keepDim: true) : x.Max(axes, keepDim: true);
        }
        int nc = x.Shape[0] * x.Shape[1], inner = Prod(x.Dims, 2, x.Rank);
        var xd = D(x);
        var y = new double[nc];
        for (int i = 0; i < nc; i++)
        {
            double acc = kind == "max" ? double.NegativeInfinity : 0;
            for (int j = 0; j < inner; j++)
            {
                double v = xd[i * inner + j];
                acc = kind switch { "max" => Math.Max(acc, v), "avg" => acc + v, _ => acc + Math.Pow(Math.Abs(v), p) };
            }
            y[i] = kind switch { "avg" => acc / inner, "lp" => Math.Pow(acc, 1.0 / p), _ => acc };
        }
        var shape = x.Dims;
        for (int d = 2; d < shape.Length; d++) shape[d] = 1;
        return FromD(y, shape, x.DType);
    }
}
