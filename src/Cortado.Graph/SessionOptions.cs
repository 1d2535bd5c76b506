// How an InferenceSession prepares its graph.
namespace Cortado.Graph;

/// <summary>Settings of an <see cref="InferenceSession"/>.</summary>
public sealed record SessionOptions
{
    /// <summary>Run the optimization passes (<see cref="Passes.GraphOptimizer"/>) on the session's copy of the graph. Default true.</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Names of passes not to run (see <see cref="Passes.GraphOptimizer.PassNames"/>).</summary>
    public IReadOnlyCollection<string> DisabledPasses { get; init; } = [];

    /// <summary>
    /// Take the tensors of a run from a memory arena planned per input shapes (<see cref="MemoryPlan"/>): the first
    /// run at new shapes records its allocations, later runs at those shapes reuse the arena's bytes instead of
    /// allocating. Default true.
    /// </summary>
    public bool UseArena { get; init; } = true;

    /// <summary>Time every step of the main graph into <see cref="InferenceSession.Profile"/>. Default false.</summary>
    public bool Profile { get; init; }
}
