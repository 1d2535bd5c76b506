// Optimization passes: the contract every pass implements, and the use-def view of a graph they rewrite with.
namespace Cortado.Graph.Passes;

/// <summary>
/// A graph rewrite that keeps the graph's outputs the same (up to float rounding where it says so). Passes rewrite
/// the main graph in place; If/Loop/Scan bodies are left as they are, and values a body reads from the main graph
/// are never renamed or removed.
/// </summary>
public interface IGraphPass
{
    /// <summary>The name that switches the pass off (e.g. "constant-folding").</summary>
    string Name { get; }

    /// <summary>Rewrites <paramref name="graph"/>; returns the number of rewrites made (0 when nothing matched).</summary>
    int Run(Graph graph);
}

/// <summary>
/// Who produces and who reads each value of a graph, computed once per pass. A value is <see cref="IsPinned"/> when
/// something outside the main graph's node inputs sees it: it is a graph output or a subgraph reads it by name.
/// </summary>
internal sealed class GraphUses
{
    private readonly Dictionary<string, Node> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> _readers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pinned = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inputs = new(StringComparer.Ordinal);

    public GraphUses(Graph g)
    {
        Graph = g;
        foreach (var i in g.Inputs) _inputs.Add(i.Name);
        foreach (var o in g.Outputs) _pinned.Add(o.Name);
        foreach (var n in g.Nodes)
        {
            foreach (var o in n.Outputs) if (o.Length > 0) _producer[o] = n;
            foreach (var i in n.Inputs)
            {
                if (i.Length == 0) continue;
                if (!_readers.TryGetValue(i, out var list)) _readers[i] = list = [];
                if (!list.Contains(n)) list.Add(n);
            }
            foreach (var sub in n.Subgraphs) _pinned.UnionWith(GraphValidator.OuterReads(sub));
        }
    }

    public Graph Graph { get; }

    /// <summary>The node that writes <paramref name="value"/>, or null (graph input, initializer, unknown).</summary>
    public Node? Producer(string value) => _producer.GetValueOrDefault(value);

    /// <summary>The nodes that read <paramref name="value"/> as an input.</summary>
    public IReadOnlyList<Node> Readers(string value) => _readers.TryGetValue(value, out var l) ? l : [];

    /// <summary>True when a graph output or a subgraph sees <paramref name="value"/>.</summary>
    public bool IsPinned(string value) => _pinned.Contains(value);

    /// <summary>
    /// The tensor of <paramref name="value"/> when it is a constant: an initializer a caller cannot override (not also
    /// a graph input). Null otherwise.
    /// </summary>
    public Tensor? Constant(string value) =>
        value.Length > 0 && !_inputs.Contains(value) && Graph.Initializers.TryGetValue(value, out var t) ? t : null;

    /// <summary>True when <paramref name="value"/> is read by exactly <paramref name="reader"/> and nothing else sees it.</summary>
    public bool OnlyReadBy(string value, Node reader) =>
        !IsPinned(value) && Readers(value) is [var only] && ReferenceEquals(only, reader) && reader.Inputs.Count(i => i == value) == 1;

    /// <summary>Makes every reader of <paramref name="from"/> read <paramref name="to"/> instead.</summary>
    public void Redirect(string from, string to)
    {
        foreach (var r in Readers(from))
            for (int i = 0; i < r.Inputs.Count; i++)
                if (r.Inputs[i] == from) r.Inputs[i] = to;
    }
}

/// <summary>Fresh value names that do not collide with the graph's.</summary>
internal static class Names
{
    public static string Fresh(Graph g, string stem)
    {
        var used = new HashSet<string>(g.Initializers.Keys, StringComparer.Ordinal);
        foreach (var n in g.Nodes) used.UnionWith(n.Outputs);
        foreach (var i in g.Inputs) used.Add(i.Name);
        if (!used.Contains(stem)) return stem;
        for (int k = 1; ; k++) if (!used.Contains($"{stem}_{k}")) return $"{stem}_{k}";
    }
}
