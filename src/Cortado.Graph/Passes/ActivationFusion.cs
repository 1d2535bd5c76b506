// Activation fusion: Conv, Gemm, FusedConv or FusedMatMul followed by an element-wise activation become one fused node.
namespace Cortado.Graph.Passes;

/// <summary>
/// Rewrites <c>Act(Conv(…))</c>, <c>Act(Gemm(…))</c>, <c>Act(FusedConv(…))</c> (a residual fused by
/// <see cref="ResidualFusion"/>) and <c>Act(FusedMatMul(…))</c> into
/// <c>com.cortado.FusedConv</c>, <c>FusedGemm</c> or <c>FusedMatMul</c> with the activation as an attribute, when
/// nothing else reads the pre-activation value. The fused kernel applies the activation in place on the freshly
/// computed output, so one tensor and one pass over it are saved per fused pair. Activations: Relu, LeakyRelu,
/// Sigmoid, Tanh, HardSigmoid, HardSwish and Clip with constant bounds (ReLU6).
/// </summary>
public sealed class ActivationFusion : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "activation-fusion";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int fused = 0;
        // Who reads what, rebuilt only after a rewrite changed it.
        GraphUses? uses = null;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var act = graph.Nodes[i];
            if (act.Domain is not ("" or "ai.onnx") || !act.HasInput(0) || act.Outputs.Count != 1) continue;
            uses ??= new GraphUses(graph);
            var p = uses.Producer(act.Inputs[0]);
            if (p is null || p.Outputs.Count != 1 || !uses.OnlyReadBy(act.Inputs[0], act)) continue;
            bool fusable = (p.OpType, p.Domain) is ("Conv", "" or "ai.onnx") or ("Gemm", "" or "ai.onnx") or ("FusedMatMul", FusedOps.Domain)
                or ("FusedConv", FusedOps.Domain);
            if (!fusable || p.Has(FusedOps.ActivationAttr)) continue;
            var dt = graph.TypeOf(p.Inputs[0])?.DType ?? uses.Constant(p.Inputs.ElementAtOrDefault(1) ?? "")?.DType;
            if (dt is not (DType.Float32 or DType.Float64)) continue;
            float[]? args = Activation(act, uses);
            if (args is null) continue;
            var attrs = new Dictionary<string, AttrValue>(p.Attributes)
            {
                [FusedOps.ActivationAttr] = AttrValue.Of(act.OpType),
                [FusedOps.ActivationParamsAttr] = AttrValue.Of(args),
            };
            string op = p.OpType.StartsWith("Fused", StringComparison.Ordinal) ? p.OpType : "Fused" + p.OpType;
            var node = new Node(op, p.Inputs, act.Outputs, p.Name, FusedOps.Domain, 1, attrs);
            graph.ValueInfos.Remove(p.Outputs[0]);
            int at = graph.Nodes.IndexOf(p);
            graph.Nodes[at] = node;
            graph.Nodes.Remove(act);
            i = at;
            fused++;
            uses = null;
        }
        return fused;
    }

    // The activation's parameters in FusedOps' convention, or null when the node is not a fusable activation.
    private static float[]? Activation(Node act, GraphUses uses)
    {
        switch (act.OpType)
        {
            case "Relu" or "Sigmoid" or "Tanh" or "HardSwish":
                return act.Inputs.Count == 1 ? [] : null;
            case "LeakyRelu":
                return [act.GetFloat("alpha", 0.01f)];
            case "HardSigmoid":
                return [act.GetFloat("alpha", 0.2f), act.GetFloat("beta", 0.5f)];
            case "Clip":
            {
                float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
                if (act.HasInput(1)) { if (uses.Constant(act.Inputs[1]) is { Numel: 1 } t) lo = (float)t.Item(); else return null; }
                if (act.HasInput(2)) { if (uses.Constant(act.Inputs[2]) is { Numel: 1 } t) hi = (float)t.Item(); else return null; }
                return [lo, hi];
            }
            default:
                return null;
        }
    }
}
