// Residual fusion: a convolution whose output goes straight into an Add with a tensor of the same shape (a skip
// connection) becomes one fused node that adds that tensor as it writes its output.
namespace Cortado.Graph.Passes;

/// <summary>
/// Rewrites <c>Add(Conv(x, W, B), R)</c> (either operand order) into <c>com.cortado.FusedConv(x, W, B, R)</c> when
/// nothing else reads the convolution's output, the convolution has no fused activation yet, and R provably has the
/// output's shape (no broadcasting). The kernel adds R to each block of the output as it finishes it, so the Add's
/// pass over memory and its output tensor are saved; an activation after the Add (ResNet's ReLU) is then fused by
/// <see cref="ActivationFusion"/>, giving <c>act(conv + bias + R)</c> in one node. The arithmetic is the Add's: the
/// finished convolution output plus R, so outputs keep their bits.
/// </summary>
public sealed class ResidualFusion : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "residual-fusion";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int fused = 0;
        GraphUses? uses = null;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var add = graph.Nodes[i];
            if (add.OpType != "Add" || add.Domain is not ("" or "ai.onnx") || add.Inputs.Count != 2 || add.Outputs.Count != 1) continue;
            if (add.Inputs[0] == add.Inputs[1]) continue;
            uses ??= new GraphUses(graph);
            for (int side = 0; side < 2; side++)
            {
                string z = add.Inputs[side], r = add.Inputs[1 - side];
                var p = uses.Producer(z);
                if (p is null || !IsPlainConv(p) || p.Outputs.Count != 1 || !uses.OnlyReadBy(z, add)) continue;
                var dt = graph.TypeOf(p.Inputs[0])?.DType ?? uses.Constant(p.Inputs[1])?.DType;
                if (dt is not (DType.Float32 or DType.Float64) || graph.TypeOf(r)?.DType != dt) continue;
                if (!SameShape(graph.TypeOf(z)?.Shape, graph.TypeOf(r)?.Shape)) continue;
                var attrs = new Dictionary<string, AttrValue>(p.Attributes);
                string bias = p.Inputs.Count > 2 ? p.Inputs[2] : "";
                var node = new Node("FusedConv", [p.Inputs[0], p.Inputs[1], bias, r], add.Outputs, p.Name, FusedOps.Domain, 1, attrs);
                graph.ValueInfos.Remove(z);
                int at = graph.Nodes.IndexOf(p);
                // The fused node reads R, so it runs where the Add ran (R is ready there; the conv's inputs were ready
                // before it).
                graph.Nodes.RemoveAt(at);
                int addAt = graph.Nodes.IndexOf(add);
                graph.Nodes[addAt] = node;
                i = addAt;
                fused++;
                uses = null;
                break;
            }
        }
        return fused;
    }

    // An ONNX Conv, or a FusedConv without an activation or residual yet, with two spatial dims at most known later.
    private static bool IsPlainConv(Node p) =>
        (p.OpType, p.Domain) is ("Conv", "" or "ai.onnx") && p.Inputs.Count <= 3
        || (p.OpType, p.Domain) is ("FusedConv", FusedOps.Domain) && !p.Has(FusedOps.ActivationAttr) && p.Inputs.Count <= 3;

    // True when both shapes are known and equal dim by dim: the same size, or the same named symbol.
    private static bool SameShape(IReadOnlyList<SymDim>? a, IReadOnlyList<SymDim>? b)
    {
        if (a is null || b is null || a.Count != b.Count) return false;
        for (int d = 0; d < a.Count; d++)
        {
            if (a[d].Value is long x && b[d].Value is long y) { if (x != y) return false; }
            else if (a[d].Symbol is not { } s || s != b[d].Symbol) return false;
        }
        return true;
    }
}
