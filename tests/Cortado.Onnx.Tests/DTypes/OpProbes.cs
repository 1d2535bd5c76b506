// Every probe of one op: its node tests, their dtype rewrites, and the probes built here for what the corpus lacks.
namespace Cortado.Onnx.Tests.DTypes;

/// <summary>A probe with its type-parameter bindings and how it ended.</summary>
internal sealed record ProbeResult(Probe Probe, IReadOnlyDictionary<string, DType> Bindings, Outcome Outcome);

internal static class OpProbes
{
    /// <summary>
    /// The dtypes the op's newest recorded form allows for a type parameter (element types for sequences and optionals).
    /// Older forms allow no dtype that their newest form drops, except that Dropout-10's T1 typed the mask.
    /// </summary>
    public static HashSet<DType> SpecTypes(string domain, string op, string param) =>
        (OnnxSchemas.Versions(domain, op).LastOrDefault()?.TypeConstraints.GetValueOrDefault(param) ?? [])
            .Select(ProbeValues.ElementOf).OfType<DType>().ToHashSet();

    /// <summary>The type parameters of the op's newest recorded form.</summary>
    public static HashSet<string> SpecParams(string domain, string op) =>
        (OnnxSchemas.Versions(domain, op).LastOrDefault()?.TypeConstraints.Keys ?? []).ToHashSet(StringComparer.Ordinal);

    /// <summary>Builds and runs every probe of the op.</summary>
    public static List<ProbeResult> Run(string domain, string op, Action<string>? log = null)
    {
        var results = new List<ProbeResult>();
        var bases = NodeTestProbes.For(domain, op).Concat(ConstructedProbes.For(domain, op)).ToList();
        foreach (var b in bases)
        {
            var bind = b.Bindings(out var why);
            if (bind is null) { log?.Invoke($"{b.Name}: not bound ({why})"); continue; }
            // Probes only of what the specification allows (ops outside it have no schema and keep every probe).
            if (OnnxSchemas.Versions(domain, op).Count > 0 && bind.Any(kv => !SpecTypes(domain, op, kv.Key).Contains(kv.Value))) continue;
            results.Add(new ProbeResult(b, bind, b.Run()));
            if (b.ConformanceDir is not null || b.Check is not null || !b.Rewritable) continue;
            var done = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (param, from) in bind)
                foreach (var to in SpecTypes(domain, op, param).Where(t => t != from).Order())
                {
                    // Tied parameters (a sequence and its tensors) are rewritten once.
                    if (!done.Add(string.Join(",", ProbeRewriter.Tied(b.Node, param).Order(StringComparer.Ordinal)) + ":" + to)) continue;
                    var r = ProbeRewriter.Rewrite(b, param, from, to, out _);
                    if (r is null) continue;
                    var rb = r.Bindings(out _);
                    if (rb is null) continue;
                    results.Add(new ProbeResult(r, rb, r.Run()));
                }
        }
        return results;
    }
}
