// ONNX dense and normalization ops: MatMul, Gemm, Einsum, softmax family, batch/instance/layer norm, LRN, dropout.
using static Cortado.Graph.Kernels.Ref;

using Cortado.Backends;

namespace Cortado.Graph.Kernels;

public static partial class OnnxKernels
{
    private static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.DType is DType.Float32 or DType.Float64 && b.DType == a.DType) return a.MatMul(b);
        if (a.DType is DType.Float16 or DType.BFloat16) return a.Cast(DType.Float32).MatMul(b.Cast(DType.Float32)).Cast(a.DType);
        // Integer matmul: exact in float64 for the magnitudes ONNX models use, then back to the input type.
        return a.Cast(DType.Float64).MatMul(b.Cast(DType.Float64)).Cast(a.DType);
    }

    // ONNX Gemm, then the fused activation of a FusedGemm (inside the GEMM when it runs as Linear).
    private static Tensor Gemm(KernelContext c, Activation act = default)
    {
        var n = c.Node;
        var a = c.In(0); var b = c.In(1);
        bool transA = n.GetInt("transA", 0) != 0, transB = n.GetInt("transB", 0) != 0;
        double alpha = n.GetFloat("alpha", 1f), beta = n.GetFloat("beta", 1f);
        var bias = c.Opt(2);
        // A linear layer's form (B as [N, K], C a row of N): one GEMM onto the bias, as eager Linear runs it.
        if (!transA && transB && alpha == 1 && beta == 1 && a.Rank == 2 && b.Rank == 2 && a.DType is DType.Float32 or DType.Float64
            && b.DType == a.DType && (bias is null || (bias.DType == a.DType && bias.Rank == 1 && bias.Shape[0] == b.Shape[0])))
            return a.Linear(b, bias, act);
        if (transA) a = a.Transpose(0, 1);
        if (transB) b = b.Transpose(0, 1);
        var y = MatMul(a, b);
        if (alpha != 1) y = y.Mul(alpha);
        if (bias is Tensor cc && beta != 0) y = y.Add(beta == 1 ? cc.Cast(y.DType) : cc.Cast(y.DType).Mul(beta));
        return Activate(n, y, act);
    }

    private static void RegisterNN(Dictionary<string, KernelFn> t)
    {
        t["MatMul"] = c => [MatMul(c.In(0), c.In(1))];
        t["Gemm"] = c => [Gemm(c)];
        t["Einsum"] = c => [Einsum(c.Node.GetString("equation", ""), c.Tensors)];
        t["Softmax"] = c => [SoftmaxLike(c, "softmax")];
        t["LogSoftmax"] = c => [SoftmaxLike(c, "log")];
        t["Hardmax"] = c => [SoftmaxLike(c, "hard")];
        t["BatchNormalization"] = c =>
        {
            var x = c.In(0);
            var (scale, bias, mean, var) = (D(c.In(1)), D(c.In(2)), D(c.In(3)), D(c.In(4)));
            double eps = c.Node.GetFloat("epsilon", 1e-5f), mom = c.Node.GetFloat("momentum", 0.9f);
            bool training = c.Node.GetInt("training_mode", 0) != 0;
            if (!training && x.DType is DType.Float32 or DType.Float64 && x.Rank >= 2)
            {
                // Inference folds to one multiply-add per channel: y = x·a + b, a = γ/√(σ²+ε), b = β − μ·a.
                int chs = x.Shape[1];
                var a = new double[chs]; var b = new double[chs];
                for (int k = 0; k < chs; k++) { a[k] = scale[k] / Math.Sqrt(var[k] + eps); b[k] = bias[k] - mean[k] * a[k]; }
                var cshape = new int[x.Rank];
                Array.Fill(cshape, 1);
                cshape[1] = chs;
                return [x.Mul(FromD(a, cshape, x.DType)).Add(FromD(b, cshape, x.DType))];
            }
            int n = x.Shape[0], ch = x.Shape[1], inner = Prod(x.Dims, 2, x.Rank);
            var xd = D(x);
            double[] useMean = mean, useVar = var;
            if (training)
            {
                useMean = new double[ch]; useVar = new double[ch];
                for (int k = 0; k < ch; k++)
                {
                    double s = 0, s2 = 0;
                    for (int b = 0; b < n; b++) for (int i = 0; i < inner; i++) s += xd[(b * ch + k) * inner + i];
                    double m = s / (n * inner);
                    for (int b = 0; b < n; b++) for (int i = 0; i < inner; i++) { double dv = xd[(b * ch + k) * inner + i] - m; s2 += dv * dv; }
                    useMean[k] = m; useVar[k] = s2 / (n * inner);
                }
            }
            var y = new double[xd.Length];
            for (int b = 0; b < n; b++)
                for (int k = 0; k < ch; k++)
                {
                    double inv = scale[k] / Math.Sqrt(useVar[k] + eps);
                    for (int i = 0; i < inner; i++) { int p = (b * ch + k) * inner + i; y[p] = (xd[p] - useMean[k]) * inv + bias[k]; }
                }
            var yt = FromD(y, x.Dims, x.DType);
            if (!training) return [yt];
            var rm = mean.Select((m, k) => m * mom + useMean[k] * (1 - mom)).ToArray();
            var rv = var.Select((v, k) => v * mom + useVar[k] * (1 - mom)).ToArray();
            return [yt, FromD(rm, [ch], c.In(3).DType), FromD(rv, [ch], c.In(4).DType)];
        };
        t["InstanceNormalization"] = c =>
        {
            var x = c.In(0);
            var (scale, bias) = (D(c.In(1)), D(c.In(2)));
            double eps = c.Node.GetFloat("epsilon", 1e-5f);
            int n = x.Shape[0], ch = x.Shape[1], inner = Prod(x.Dims, 2, x.Rank);
            var xd = D(x);
            var y = new double[xd.Length];
            for (int b = 0; b < n * ch; b++)
            {
                double s = 0, s2 = 0;
                for (int i = 0; i < inner; i++) s += xd[b * inner + i];
                double m = s / inner;
                for (int i = 0; i < inner; i++) { double dv = xd[b * inner + i] - m; s2 += dv * dv; }
                double inv = 1 / Math.Sqrt(s2 / inner + eps);
                int k = b % ch;
                for (int i = 0; i < inner; i++) y[b * inner + i] = (xd[b * inner + i] - m) * inv * scale[k] + bias[k];
            }
            return [FromD(y, x.Dims, x.DType)];
        };
        t["LayerNormalization"] = c =>
        {
            var x = c.In(0);
            int axis = Axis(c.Node.GetInt("axis", -1), x.Rank);
            double eps = c.Node.GetFloat("epsilon", 1e-5f);
            var stashType = c.Node.Has("stash_type") ? OnnxType(c.Node.GetInt("stash_type", 1)) : DType.Float32;
            if (x.DType is DType.Float32 or DType.Float64 && x.Numel > 0)
            {
                // Composed from the backend's reductions and element-wise kernels, in the stash type (float32 by default).
                var axes = Enumerable.Range(axis, x.Rank - axis).ToArray();
                var xs = x.Cast(stashType);
                var mu = xs.Mean(axes, keepDim: true);
                var centered = xs.Sub(mu);
                var invStd = centered.Square().Mean(axes, keepDim: true).Add(eps).Rsqrt();
                var yn = centered.Mul(invStd).Cast(x.DType).Mul(c.In(1).Cast(x.DType));
                if (c.Opt(2) is Tensor beta) yn = yn.Add(beta.Cast(x.DType));
                return [yn, mu, invStd];
            }
            int outer = Prod(x.Dims, 0, axis), inner = Prod(x.Dims, axis, x.Rank);
            var xd = D(x);
            var sShape = x.Dims.Skip(axis).ToArray();
            var sIdx = BroadcastIndex(c.In(1).Dims, sShape);
            var scale = D(c.In(1));
            double[]? bias = c.Opt(2) is Tensor bt ? D(bt) : null;
            int[]? bIdx = c.Opt(2) is Tensor bt2 ? BroadcastIndex(bt2.Dims, sShape) : null;
            var y = new double[xd.Length];
            var mean = new double[outer]; var inv = new double[outer];
            for (int o = 0; o < outer; o++)
            {
                double s = 0, s2 = 0;
                for (int i = 0; i < inner; i++) s += xd[o * inner + i];
                double m = s / inner;
                for (int i = 0; i < inner; i++) { double dv = xd[o * inner + i] - m; s2 += dv * dv; }
                double iv = 1 / Math.Sqrt(s2 / inner + eps);
                mean[o] = m; inv[o] = iv;
                for (int i = 0; i < inner; i++)
                    y[o * inner + i] = (xd[o * inner + i] - m) * iv * scale[sIdx[i]] + (bias is null ? 0 : bias[bIdx![i]]);
            }
            var statShape = x.Dims.Select((d, i) => i < axis ? d : 1).ToArray();
            return [FromD(y, x.Dims, x.DType), FromD(mean, statShape, stashType), FromD(inv, statShape, stashType)];
        };
        t["LRN"] = c =>
        {
            var x = c.In(0);
            int size = (int)c.Node.GetInt("size", 1);
            double alpha = c.Node.GetFloat("alpha", 1e-4f), beta = c.Node.GetFloat("beta", 0.75f), bias = c.Node.GetFloat("bias", 1f);
            int n = x.Shape[0], ch = x.Shape[1], inner = Prod(x.Dims, 2, x.Rank);
            var xd = D(x);
            var y = new double[xd.Length];
            int lo = (size - 1) / 2, hi = size - 1 - lo;
            for (int b = 0; b < n; b++)
                for (int k = 0; k < ch; k++)
                    for (int i = 0; i < inner; i++)
                    {
                        double sq = 0;
                        for (int j = Math.Max(0, k - lo); j <= Math.Min(ch - 1, k + hi); j++) { double v = xd[(b * ch + j) * inner + i]; sq += v * v; }
                        int p = (b * ch + k) * inner + i;
                        y[p] = xd[p] / Math.Pow(bias + alpha / size * sq, beta);
                    }
            return [FromD(y, x.Dims, x.DType)];
        };
        t["LpNormalization"] = c =>
        {
            var x = c.In(0);
            int axis = Axis(c.Node.GetInt("axis", -1), x.Rank);
            long p = c.Node.GetInt("p", 2);
            int outer = Prod(x.Dims, 0, axis), len = x.Shape[axis], inner = Prod(x.Dims, axis + 1, x.Rank);
            var xd = D(x);
            var y = new double[xd.Length];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    double s = 0;
                    for (int j = 0; j < len; j++) { double v = Math.Abs(xd[(o * len + j) * inner + i]); s += p == 1 ? v : v * v; }
                    double norm = p == 1 ? s : Math.Sqrt(s);
                    for (int j = 0; j < len; j++) { int q = (o * len + j) * inner + i; y[q] = norm == 0 ? 0 : xd[q] / norm; }
                }
            return [FromD(y, x.Dims, x.DType)];
        };
        t["MeanVarianceNormalization"] = c =>
        {
            var x = c.In(0);
            var axes = (c.Node.GetInts("axes") ?? [0, 2, 3]).Select(a => Axis(a, x.Rank)).ToArray();
            var mean = ReduceRef(x, axes, true, 0, (a, v) => a + v, (a, n) => a / n);
            var centered = x.Cast(DType.Float64).Sub(mean.Cast(DType.Float64));
            var var = ReduceRef(centered.Mul(centered), axes, true, 0, (a, v) => a + v, (a, n) => a / n);
            return [centered.Div(var.Sqrt().Add(1e-9)).Cast(x.DType)];
        };
        t["Dropout"] = c =>
        {
            var x = c.In(0);
            double ratio = c.Opt(1) is Tensor rt ? rt.Item() : c.Node.GetFloat("ratio", 0.5f);
            bool training = c.Opt(2) is Tensor tm && tm.Item() != 0;
            if (training && ratio > 0)
            {
                var (y, mask) = DropoutTrain(c.Node, x, ratio);
                return [y, c.WantsOutput(1) ? mask : null];
            }
            return [x, c.WantsOutput(1) ? Tensor.Full(x.Dims, 1, DType.Bool) : null];
        };
    }

    private static Tensor SoftmaxLike(KernelContext c, string kind)
    {
        var x = c.In(0);
        bool legacy = c.Node.Version < 13;
        int axis = Axis(c.Node.GetInt("axis", legacy ? 1 : -1), x.Rank);
        var shape = x.Dims;
        // Before opset 13 the input is coerced to 2-D [prod(dims < axis), prod(dims ≥ axis)] and normalized over the second.
        int outer = Prod(shape, 0, axis), len = legacy ? Prod(shape, axis, shape.Length) : shape[axis], inner = legacy ? 1 : Prod(shape, axis + 1, shape.Length);
        if (kind != "hard" && x.DType is DType.Float32 or DType.Float64)
        {
            var v = Reshape(x, [outer, len, inner]);
            var y = kind == "log" ? v.LogSoftmax(1) : v.Softmax(1);
            return Reshape(y, shape);
        }
        var xd = D(x);
        var r = new double[xd.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double mx = double.NegativeInfinity;
                int arg = 0;
                for (int j = 0; j < len; j++) { double v = xd[(o * len + j) * inner + i]; if (v > mx) { mx = v; arg = j; } }
                if (kind == "hard") { r[(o * len + arg) * inner + i] = 1; continue; }
                double s = 0;
                for (int j = 0; j < len; j++) s += Math.Exp(xd[(o * len + j) * inner + i] - mx);
                for (int j = 0; j < len; j++)
                {
                    int q = (o * len + j) * inner + i;
                    r[q] = kind == "log" ? xd[q] - mx - Math.Log(s) : Math.Exp(xd[q] - mx) / s;
                }
            }
        return FromD(r, shape, x.DType);
    }

    // Einsum by direct summation over all labels (explicit or implicit output, with ellipsis).
    private static Tensor Einsum(string equation, Tensor[] xs)
    {
        var eq = equation.Replace(" ", "", StringComparison.Ordinal);
        var parts = eq.Split("->");
        var ins = parts[0].Split(',');
        // Expand "..." to fresh labels per operand (aligned from the right).
        int ell = 0;
        for (int i = 0; i < ins.Length; i++)
            if (ins[i].Contains("...", StringComparison.Ordinal)) ell = Math.Max(ell, xs[i].Rank - (ins[i].Length - 3));
        string ellLabels = new(Enumerable.Range(0, ell).Select(i => (char)('A' + i)).ToArray());
        for (int i = 0; i < ins.Length; i++)
            if (ins[i].Contains("...", StringComparison.Ordinal))
            {
                int k = xs[i].Rank - (ins[i].Length - 3);
                ins[i] = ins[i].Replace("...", ellLabels[(ell - k)..], StringComparison.Ordinal);
            }
        string output;
        if (parts.Length > 1) output = parts[1].Replace("...", ellLabels, StringComparison.Ordinal);
        else
        {
            var counts = ins.SelectMany(s => s).GroupBy(ch => ch).Where(g => g.Count() == 1 && !char.IsUpper(g.Key)).Select(g => g.Key).Order();
            output = ellLabels + new string(counts.ToArray());
        }
        var labels = ins.SelectMany(s => s).Concat(output).Distinct().ToArray();
        var size = new Dictionary<char, int>();
        for (int i = 0; i < ins.Length; i++)
            for (int j = 0; j < ins[i].Length; j++)
            {
                int d = xs[i].Shape[j];
                if (!size.TryGetValue(ins[i][j], out int e) || e == 1) size[ins[i][j]] = d;
            }
        var dims = labels.Select(l => size[l]).ToArray();
        var datas = xs.Select(D).ToArray();
        var outShape = output.Select(l => size[l]).ToArray();
        var outSt = Strides(outShape);
        var opSt = xs.Select((x, i) => { var st = Strides(x.Dims); return labels.Select(l => { int s = 0; for (int j = 0; j < ins[i].Length; j++) if (ins[i][j] == l && x.Shape[j] != 1) s += st[j]; return s; }).ToArray(); }).ToArray();
        var oMap = labels.Select(l => { int p = output.IndexOf(l, StringComparison.Ordinal); return p < 0 ? 0 : outSt[p]; }).ToArray();
        var y = new double[Numel(outShape)];
        int total = Numel(dims);
        var idx = new int[dims.Length];
        for (int f = 0; f < total; f++)
        {
            Unravel(f, dims, idx);
            double prod = 1;
            for (int i = 0; i < xs.Length; i++)
            {
                int off = 0;
                for (int l = 0; l < idx.Length; l++) off += idx[l] * opSt[i][l];
                prod *= datas[i][off];
            }
            int o = 0;
            for (int l = 0; l < idx.Length; l++) o += idx[l] * oMap[l];
            y[o] += prod;
        }
        return FromD(y, outShape, xs[0].DType);
    }
}
