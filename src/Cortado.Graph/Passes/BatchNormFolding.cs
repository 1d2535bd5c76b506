// Conv/Gemm + BatchNormalization folding: an inference-mode batch norm after a convolution or Gemm is merged into
// that node's weights and bias.
namespace Cortado.Graph.Passes;

/// <summary>
/// Folds <c>BatchNormalization</c> (inference mode, one output) into the <c>Conv</c> or <c>Gemm</c> that feeds it
/// when the weights, the bias and the four statistics are constants and nothing else reads the Conv/Gemm output.
/// With a = γ/√(σ²+ε): W′ = W·a per output channel and b′ = (b − μ)·a + β, computed in float64 and stored in the
/// weights' dtype. The result equals the unfused graph up to float rounding.
/// </summary>
public sealed class BatchNormFolding : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "batchnorm-folding";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int folded = 0;
        // Who reads what, rebuilt only after a rewrite changed it.
        GraphUses? uses = null;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var bn = graph.Nodes[i];
            if (bn.OpType != "BatchNormalization" || bn.Domain is not ("" or "ai.onnx") || bn.GetInt("training_mode", 0) != 0) continue;
            if (bn.Outputs.Skip(1).Any(o => o.Length > 0) || bn.Inputs.Count < 5) continue;
            uses ??= new GraphUses(graph);
            var stats = bn.Inputs.Skip(1).Take(4).Select(uses.Constant).ToArray();
            if (stats.Any(s => s is null || s.Rank != 1)) continue;
            var producer = uses.Producer(bn.Inputs[0]);
            if (producer is null || !uses.OnlyReadBy(bn.Inputs[0], bn)) continue;
            double eps = bn.GetFloat("epsilon", 1e-5f);
            bool done = producer.OpType switch
            {
                "Conv" when producer.Domain is "" or "ai.onnx" => FoldIntoConv(graph, uses, producer, stats!, eps),
                "Gemm" when producer.Domain is "" or "ai.onnx" => FoldIntoGemm(graph, uses, producer, stats!, eps),
                _ => false,
            };
            if (!done) continue;
            // The producer now writes the batch norm's output name; the batch norm goes.
            graph.ValueInfos.Remove(producer.Outputs[0]);
            producer.Outputs[0] = bn.Outputs[0];
            graph.Nodes.RemoveAt(i);
            i = graph.Nodes.IndexOf(producer);
            folded++;
            uses = null;
        }
        return folded;
    }

    // a = γ/√(σ²+ε) and the shift β − μ·a, per channel.
    private static (double[] a, double[] shift) Affine(Tensor?[] s, double eps)
    {
        var (gamma, beta, mean, var) = (D(s[0]!), D(s[1]!), D(s[2]!), D(s[3]!));
        int c = gamma.Length;
        if (beta.Length != c || mean.Length != c || var.Length != c) return ([], []);
        var a = new double[c];
        var shift = new double[c];
        for (int k = 0; k < c; k++)
        {
            a[k] = gamma[k] / Math.Sqrt(var[k] + eps);
            shift[k] = beta[k] - mean[k] * a[k];
        }
        return (a, shift);
    }

    private static bool FoldIntoConv(Graph g, GraphUses uses, Node conv, Tensor?[] stats, double eps)
    {
        var w = uses.Constant(conv.Inputs.ElementAtOrDefault(1) ?? "");
        if (w is null || !w.DType.IsFloating() || w.Rank < 3) return false;
        Tensor? b = null;
        if (conv.HasInput(2) && (b = uses.Constant(conv.Inputs[2])) is null) return false;
        var (a, shift) = Affine(stats, eps);
        int cout = w.Shape[0];
        if (a.Length != cout || (b != null && b.Numel != cout)) return false;
        var wd = D(w);
        int per = wd.Length / cout;
        for (int o = 0; o < cout; o++) for (int k = 0; k < per; k++) wd[o * per + k] *= a[o];
        var bd = b is null ? new double[cout] : D(b);
        for (int o = 0; o < cout; o++) bd[o] = bd[o] * a[o] + shift[o];
        SetWeights(g, conv, 1, Tensor.FromArray(wd, w.Dims).Cast(w.DType));
        SetWeights(g, conv, 2, Tensor.FromArray(bd, cout).Cast(w.DType));
        return true;
    }

    private static bool FoldIntoGemm(Graph g, GraphUses uses, Node gemm, Tensor?[] stats, double eps)
    {
        var w = uses.Constant(gemm.Inputs.ElementAtOrDefault(1) ?? "");
        if (w is null || !w.DType.IsFloating() || w.Rank != 2) return false;
        Tensor? c = null;
        if (gemm.HasInput(2) && (c = uses.Constant(gemm.Inputs[2])) is null) return false;
        bool transB = gemm.GetInt("transB", 0) != 0;
        int n = transB ? w.Shape[0] : w.Shape[1], k = transB ? w.Shape[1] : w.Shape[0];
        var (a, shift) = Affine(stats, eps);
        if (a.Length != n) return false;
        double alpha = gemm.GetFloat("alpha", 1f), beta = gemm.GetFloat("beta", 1f);
        // Y = alpha·A·B + beta·C, so BN(Y) = alpha·A·(B·a) + (beta·C·a + shift): scale B's output columns.
        var wd = D(w);
        for (int r = 0; r < k; r++)
            for (int j = 0; j < n; j++)
                wd[transB ? j * k + r : r * n + j] *= a[j];
        // The new C broadcasts like the old one, widened to at least [n] per output column.
        int[] cShape = c is null ? [n] : c.Rank == 2 ? [c.Shape[0], n] : [n];
        if (c != null && !(c.Rank <= 2 && (c.Rank == 0 || c.Shape[^1] is 1 || c.Shape[^1] == n))) return false;
        var cb = c is null ? Tensor.Zeros([n], DType.Float64) : c.Cast(DType.Float64).Mul(beta).Expand(cShape).Contiguous();
        var cd = cb.ToArray<double>();
        for (int e = 0; e < cd.Length; e++) cd[e] = cd[e] * a[e % n] + shift[e % n];
        SetWeights(g, gemm, 1, Tensor.FromArray(wd, w.Dims).Cast(w.DType));
        SetWeights(g, gemm, 2, Tensor.FromArray(cd, cShape).Cast(w.DType));
        gemm.Attributes["beta"] = AttrValue.Of(1f);
        if (alpha != 1) gemm.Attributes["alpha"] = AttrValue.Of((float)alpha);
        return true;
    }

    // New initializers get fresh names: the old ones may be shared with other nodes.
    private static void SetWeights(Graph g, Node n, int input, Tensor value)
    {
        string name = Names.Fresh(g, (n.Name.Length > 0 ? n.Name : n.OpType) + (input == 1 ? "_folded_weight" : "_folded_bias"));
        g.Initializers[name] = value;
        while (n.Inputs.Count <= input) n.Inputs.Add("");
        n.Inputs[input] = name;
    }

    private static double[] D(Tensor t) => t.Contiguous().ToArray<double>();
}
