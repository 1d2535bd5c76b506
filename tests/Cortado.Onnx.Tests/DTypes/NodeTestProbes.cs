// The single-node ONNX backend tests of the shared corpus (../shared/onnx-node-tests/node), loaded as dtype probes.
using Cortado.Graph;
using Onnx;

namespace Cortado.Onnx.Tests.DTypes;

/// <summary>The single-node ONNX backend tests of the shared corpus, as probes.</summary>
internal static class NodeTestProbes
{
    private static readonly Lazy<Dictionary<string, List<string>>> ByOp = new(Index);

    /// <summary>The corpus folder, or null with the reason.</summary>
    public static string? Root(out string reason) => NodeTests.Root(out reason);

    private static Dictionary<string, List<string>> Index()
    {
        var r = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var root = Root(out _);
        if (root is null) return r;
        foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, "model.onnx");
            if (!File.Exists(file)) continue;
            var m = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
            if (m.Graph.Node.Count != 1) continue;
            var n = m.Graph.Node[0];
            string key = (n.Domain is "" or "ai.onnx" ? "ai.onnx" : n.Domain) + ":" + n.OpType;
            if (!r.TryGetValue(key, out var list)) r[key] = list = [];
            list.Add(dir);
        }
        return r;
    }

    /// <summary>Probes of the single-node tests of an op (tests whose data Cortado cannot load are left out).</summary>
    public static IEnumerable<Probe> For(string domain, string op)
    {
        if (!ByOp.Value.TryGetValue(domain + ":" + op, out var dirs)) yield break;
        foreach (var dir in dirs)
            if (Load(dir) is Probe p) yield return p;
    }

    private static Probe? Load(string dir)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        var set = Path.Combine(dir, "test_data_set_0");
        var g = model.Graph;
        var initNames = g.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = g.Input.Where(i => !initNames.Contains(i.Name)).ToList();
        var feeds = new Dictionary<string, object>(StringComparer.Ordinal);
        var expected = new Dictionary<string, object>(StringComparer.Ordinal);
        try
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                var f = Path.Combine(set, $"input_{i}.pb");
                if (File.Exists(f)) feeds[inputs[i].Name] = OnnxValues.Load(f, Kind(inputs[i].Type));
            }
            for (int i = 0; i < g.Output.Count; i++)
            {
                var f = Path.Combine(set, $"output_{i}.pb");
                if (File.Exists(f)) expected[g.Output[i].Name] = OnnxValues.Load(f, Kind(g.Output[i].Type));
            }
        }
        catch (CortadoException)
        {
            return null; // element types Cortado does not hold (uint16, string …)
        }
        var (rtol, atol) = OnnxConformance.Tolerances(dir);
        var p = new Probe(Path.GetFileName(dir), model, feeds, expected, rtol, atol);
        // Tests of sampling ops are judged by distribution, as the conformance runner does; they are not rewritten.
        try
        {
            if (RandomCheck.For(OnnxImporter.Import(model)) is not null) p = p with { ConformanceDir = dir };
        }
        catch (CortadoException) { }
        return p;
    }

    private static ValueKind Kind(TypeProto t) =>
        t.SequenceType is not null ? ValueKind.Sequence : t.OptionalType is not null ? ValueKind.Optional : ValueKind.Tensor;
}
