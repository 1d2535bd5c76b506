// Constant folding: nodes whose inputs are all constants run once, at load, and become initializers.
namespace Cortado.Graph.Passes;

/// <summary>
/// Runs every node whose inputs are all constants (initializers that are not graph inputs, or nothing at all, as
/// for <c>Constant</c>) with its ordinary kernel and stores the outputs as initializers, so the node disappears
/// from the plan. Random ops and nodes with subgraphs are never folded; a node whose outputs are not all tensors,
/// whose result would exceed <see cref="MaxElements"/> elements, or whose kernel fails is left in place (it then
/// reports its error at run time, naming the node).
/// </summary>
public sealed class ConstantFolding : IGraphPass
{
    private static readonly HashSet<string> NeverFold =
    [
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout",
    ];

    /// <summary>Largest folded output, in elements (a folded tensor stays in memory for the session's lifetime).</summary>
    public long MaxElements { get; init; } = 1L << 24;

    /// <inheritdoc/>
    public string Name => "constant-folding";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var uses = new GraphUses(graph);
        int folded = 0;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (NeverFold.Contains(node.OpType) || node.Subgraphs.Any() || node.Outputs.All(o => o.Length == 0)) continue;
            if (!Kernels.OnnxKernels.IsSupported(node.Domain, node.OpType)) continue;
            var ins = new object?[node.Inputs.Count];
            bool allConstant = true;
            for (int k = 0; k < ins.Length && allConstant; k++)
            {
                if (node.Inputs[k].Length == 0) continue;
                if (uses.Constant(node.Inputs[k]) is Tensor t) ins[k] = t;
                else allConstant = false;
            }
            if (!allConstant) continue;
            var outs = TryRun(node, ins);
            if (outs is null) continue;
            for (int o = 0; o < node.Outputs.Count; o++)
                if (node.Outputs[o].Length > 0)
                {
                    graph.Initializers[node.Outputs[o]] = (Tensor)outs[o]!;
                    graph.ValueInfos.Remove(node.Outputs[o]);
                }
            graph.Nodes.RemoveAt(i--);
            folded++;
        }
        return folded;
    }

    private object?[]? TryRun(Node node, object?[] ins)
    {
        try
        {
            var ctx = new KernelContext(node, ins,
                (_, _, _) => throw new InvalidOperationException("constant folding does not run subgraphs"), _ => null);
            var outs = Kernels.OnnxKernels.Resolve(node)(ctx);
            for (int o = 0; o < node.Outputs.Count; o++)
            {
                if (node.Outputs[o].Length == 0) continue;
                if (o >= outs.Length || outs[o] is not Tensor t || t.Numel > MaxElements) return null;
                // Kernels may return views of their inputs; an initializer owns compact storage.
                outs[o] = t.Clone();
            }
            return outs;
        }
        catch (Exception e) when (e is CortadoException or ArgumentException or IndexOutOfRangeException or InvalidOperationException
                                      or InvalidCastException or OverflowException or OutOfMemoryException)
        {
            return null;
        }
    }
}
