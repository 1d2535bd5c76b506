// Dead-node elimination: nodes none of whose outputs reach a graph output are removed, with unused initializers.
namespace Cortado.Graph.Passes;

/// <summary>
/// Removes the nodes whose outputs no graph output depends on (directly, through other nodes, or through a subgraph
/// reading them by name), then the initializers nothing reads any more (overridable ones, listed as graph inputs,
/// stay). ONNX ops have no side effects, so this never changes what the graph computes.
/// </summary>
public sealed class DeadNodeElimination : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "dead-node-elimination";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var live = new HashSet<string>(graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[graph.Nodes.Count];
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var n = graph.Nodes[i];
            if (!n.Outputs.Any(o => o.Length > 0 && live.Contains(o))) continue;
            keep[i] = true;
            foreach (var r in GraphValidator.ReadNames(n)) live.Add(r);
        }
        int removed = 0;
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            if (keep[i]) continue;
            foreach (var o in graph.Nodes[i].Outputs) graph.ValueInfos.Remove(o);
            graph.Nodes.RemoveAt(i);
            removed++;
        }
        var inputs = new HashSet<string>(graph.Inputs.Select(x => x.Name), StringComparer.Ordinal);
        foreach (var name in graph.Initializers.Keys.ToList())
            if (!live.Contains(name) && !inputs.Contains(name))
            {
                graph.Initializers.Remove(name);
                removed++;
            }
        return removed;
    }
}
