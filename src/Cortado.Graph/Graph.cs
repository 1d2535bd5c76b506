// The graph IR: nodes in topological order over named values, with inputs, outputs and initializers.
namespace Cortado.Graph;

/// <summary>
/// A computation graph in single static assignment form: every value name is produced exactly once, by a graph
/// input, an initializer, or one node output. <see cref="Nodes"/> are kept in topological order (the importer and
/// <see cref="GraphValidator"/> guarantee it). A subgraph (If/Loop/Scan body) may read values of the enclosing
/// graphs by name. Initializers that are also listed in <see cref="Inputs"/> are defaults a caller may override.
/// </summary>
public sealed class Graph
{
    /// <summary>Graph name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Nodes in topological order.</summary>
    public List<Node> Nodes { get; } = [];
    /// <summary>Graph inputs (what a caller feeds, plus overridable initializers).</summary>
    public List<ValueInfo> Inputs { get; } = [];
    /// <summary>Graph outputs.</summary>
    public List<ValueInfo> Outputs { get; } = [];
    /// <summary>Constant tensors by name (weights).</summary>
    public Dictionary<string, Tensor> Initializers { get; } = [];
    /// <summary>Known or inferred types of intermediate values.</summary>
    public Dictionary<string, ValueInfo> ValueInfos { get; } = [];
    /// <summary>Opset version per domain ("" is the default ONNX domain).</summary>
    public Dictionary<string, int> Opsets { get; } = [];

    /// <summary>Inputs a caller must (or may) feed: graph inputs that are not initializers.</summary>
    public IEnumerable<ValueInfo> RequiredInputs => Inputs.Where(i => !Initializers.ContainsKey(i.Name));

    /// <summary>The static type of a value: from inputs, outputs, value infos or initializers; null when unknown.</summary>
    public ValueInfo? TypeOf(string name)
    {
        if (ValueInfos.TryGetValue(name, out var v)) return v;
        foreach (var i in Inputs) if (i.Name == name) return i;
        if (Initializers.TryGetValue(name, out var t)) return ValueInfo.Fixed(name, t.DType, t.Dims.Select(d => (long)d).ToArray());
        foreach (var o in Outputs) if (o.Name == name) return o;
        return null;
    }

    /// <summary>
    /// A copy whose node list, nodes, inputs, outputs, initializer and value-info tables can be rewritten without
    /// touching this graph. Tensors and subgraphs are shared (passes replace tensors rather than modify them).
    /// </summary>
    public Graph Clone()
    {
        var g = new Graph { Name = Name };
        foreach (var n in Nodes) g.Nodes.Add(new Node(n.OpType, n.Inputs, n.Outputs, n.Name, n.Domain, n.Version, n.Attributes));
        g.Inputs.AddRange(Inputs);
        g.Outputs.AddRange(Outputs);
        foreach (var (k, v) in Initializers) g.Initializers[k] = v;
        foreach (var (k, v) in ValueInfos) g.ValueInfos[k] = v;
        foreach (var (k, v) in Opsets) g.Opsets[k] = v;
        return g;
    }

    /// <summary>Every op type used, with subgraphs, as "domain.Op" or "Op".</summary>
    public IEnumerable<Node> AllNodes() => Nodes.SelectMany(n => n.Subgraphs.SelectMany(g => g.AllNodes()).Prepend(n));
}
