// The pass pipeline: which passes run, in which order, and what each changed.
namespace Cortado.Graph.Passes;

/// <summary>What <see cref="GraphOptimizer.Optimize"/> did: node counts before and after, and rewrites per pass.</summary>
public sealed record OptimizationReport(int NodesBefore, int NodesAfter, IReadOnlyDictionary<string, int> Rewrites)
{
    /// <summary>"172 → 121 nodes (constant-folding 12, …)".</summary>
    public override string ToString() =>
        $"{NodesBefore} → {NodesAfter} nodes ({string.Join(", ", Rewrites.Where(r => r.Value > 0).Select(r => $"{r.Key} {r.Value}"))})";
}

/// <summary>
/// Runs the optimization passes over a graph in rounds until none changes anything (at most
/// <see cref="MaxRounds"/>). Order within a round: constant-folding, identity-elimination, shape-simplification,
/// batchnorm-folding, matmul-add-fusion, residual-fusion, activation-fusion, dead-node-elimination. Any pass can be switched off by
/// its name.
/// </summary>
public static class GraphOptimizer
{
    /// <summary>Most rounds over the pass list.</summary>
    public const int MaxRounds = 4;

    /// <summary>A fresh instance of every pass, in pipeline order.</summary>
    public static IReadOnlyList<IGraphPass> CreatePasses() =>
    [
        new ConstantFolding(), new IdentityElimination(), new ShapeSimplification(), new BatchNormFolding(),
        new MatMulAddFusion(), new ResidualFusion(), new ActivationFusion(), new DeadNodeElimination(),
    ];

    /// <summary>The names of all passes, in pipeline order.</summary>
    public static IReadOnlyList<string> PassNames { get; } = CreatePasses().Select(p => p.Name).ToArray();

    /// <summary>
    /// Optimizes <paramref name="graph"/> in place with every pass not named in <paramref name="disabled"/>. Throws
    /// <see cref="ArgumentException"/> naming the known passes when a disabled name is not one of them.
    /// </summary>
    public static OptimizationReport Optimize(Graph graph, IEnumerable<string>? disabled = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var off = new HashSet<string>(disabled ?? [], StringComparer.Ordinal);
        foreach (var name in off)
            if (!PassNames.Contains(name))
                throw new ArgumentException($"unknown optimization pass '{name}' (passes: {string.Join(", ", PassNames)})", nameof(disabled));
        var passes = CreatePasses().Where(p => !off.Contains(p.Name)).ToList();
        var rewrites = PassNames.ToDictionary(n => n, _ => 0);
        int before = graph.Nodes.Count;
        for (int round = 0; round < MaxRounds; round++)
        {
            int changed = 0;
            foreach (var p in passes)
            {
                int k;
                try
                {
                    k = p.Run(graph);
                }
                catch (Exception e) when (e is not CortadoException and not OutOfMemoryException)
                {
                    throw new CortadoException($"optimization pass '{p.Name}' failed on graph '{graph.Name}': {e.GetType().Name}: {e.Message} " +
                        $"(switch it off with --disable-pass {p.Name}, or SessionOptions.DisabledPasses)", e);
                }
                rewrites[p.Name] += k;
                changed += k;
            }
            if (changed == 0) break;
        }
        return new OptimizationReport(before, graph.Nodes.Count, rewrites);
    }
}
