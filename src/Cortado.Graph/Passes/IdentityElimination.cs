// Identity elimination: nodes that pass their input through unchanged are removed and their readers rewired.
namespace Cortado.Graph.Passes;

/// <summary>
/// Removes <c>Identity</c> nodes and inference-mode <c>Dropout</c> nodes (no mask output read, no training_mode
/// input that could be true): every reader of the output reads the input instead. A node whose output is a graph
/// output or is read by a subgraph stays, so the graph's interface keeps its names.
/// </summary>
public sealed class IdentityElimination : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "identity-elimination";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var uses = new GraphUses(graph);
        int removed = 0;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (!IsPassThrough(node, uses)) continue;
            string from = node.Outputs[0], to = node.Inputs[0];
            if (uses.IsPinned(from)) continue;
            uses.Redirect(from, to);
            graph.ValueInfos.Remove(from);
            graph.Nodes.RemoveAt(i--);
            removed++;
        }
        return removed;
    }

    private static bool IsPassThrough(Node n, GraphUses uses)
    {
        if (n.Domain is not ("" or "ai.onnx") || !n.HasInput(0) || n.Outputs.Count == 0 || n.Outputs[0].Length == 0) return false;
        if (n.OpType == "Identity") return n.Outputs.Count == 1;
        if (n.OpType != "Dropout") return false;
        // The mask output must be unused; training_mode (opset 12+) must be absent or a constant false.
        if (n.Outputs.Count > 1 && n.Outputs[1].Length > 0 && (uses.Readers(n.Outputs[1]).Count > 0 || uses.IsPinned(n.Outputs[1]))) return false;
        if (n.HasInput(2) && (uses.Constant(n.Inputs[2]) is not Tensor mode || mode.Numel != 1 || mode.Item() != 0)) return false;
        // Before opset 7 Dropout had an is_test attribute; training behaviour there is not a pass-through either.
        return !n.Has("is_test") || n.GetInt("is_test", 0) != 0;
    }
}
