// Registry of graph kernels for ONNX ops; each op family registers its kernels from its own file.
namespace Cortado.Graph.Kernels;

/// <summary>
/// Kernels for ONNX ops by (domain, op type). Each kernel takes the node's input tensors and computes its outputs
/// with Cortado tensor ops (which run the backend's kernels, the same as eager mode) where Cortado has the op, and
/// with loops of its own in <see cref="Ref"/> style where it does not yet (these are the candidates to move into
/// the backend as the op catalogue grows).
/// </summary>
public static partial class OnnxKernels
{
    private static readonly Dictionary<string, string> Families = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, KernelFn> Table = Build();

    private static Dictionary<string, KernelFn> Build()
    {
        var t = new Dictionary<string, KernelFn>(StringComparer.Ordinal);
        // Each family's kernels are recorded under its name so the operator list can say where an op's kernel lives.
        void Family(string name, Action<Dictionary<string, KernelFn>> register)
        {
            register(t);
            foreach (var k in t.Keys) Families.TryAdd(k, name);
        }
        Family("Elementwise", RegisterElementwise);
        Family("Shape", RegisterShape);
        Family("NN", RegisterNN);
        Family("Conv", RegisterConv);
        Family("Loss", RegisterLoss);
        Family("Quant", RegisterQuant);
        Family("Reduce", RegisterReduce);
        Family("Rnn", RegisterRnn);
        Family("Misc", RegisterMisc);
        Family("Random", RegisterRandom);
        Family("Signal", RegisterSignal);
        Family("Training", RegisterTraining);
        Family("Control", RegisterControl);
        Family("Sequence", RegisterSequence);
        Family("Fused", RegisterFused);
        return t;
    }

    /// <summary>
    /// Every registered kernel as (domain, op type, family): the domain is "" for the default ONNX domain, the family
    /// names the <c>OnnxKernels.*.cs</c> file that registers it. Ordered by domain, then op type (ordinal).
    /// </summary>
    public static IReadOnlyList<(string Domain, string OpType, string Family)> Registry =>
        Table.Keys.Select(k =>
        {
            int colon = k.LastIndexOf(':');
            return (colon < 0 ? "" : k[..colon], colon < 0 ? k : k[(colon + 1)..], Families[k]);
        }).OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2, StringComparer.Ordinal).ToList();

    private static string Key(string domain, string op) => domain is "" or "ai.onnx" ? op : domain + ":" + op;

    /// <summary>True when an op has a kernel.</summary>
    public static bool IsSupported(string domain, string opType) => Table.ContainsKey(Key(domain, opType));

    /// <summary>Op types (of the default domain unless prefixed "domain:") that have kernels.</summary>
    public static IEnumerable<string> SupportedOps => Table.Keys.Order(StringComparer.Ordinal);

    /// <summary>The kernel of <paramref name="node"/>; throws <see cref="UnsupportedOpException"/> naming the op when there is none.</summary>
    public static KernelFn Resolve(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Table.TryGetValue(Key(node.Domain, node.OpType), out var k) ? k
            : throw new UnsupportedOpException($"unsupported op {(node.Domain is "" or "ai.onnx" ? "" : node.Domain + ".")}{node.OpType} ({node.Describe()})");
    }
}
