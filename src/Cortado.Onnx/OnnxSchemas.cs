// The ONNX operator schemas (versions, formal inputs and outputs, type constraints) embedded from data/onnx-schemas.json.
using System.Text.Json;

namespace Cortado.Onnx;

/// <summary>How often a formal input or output of an ONNX op may occur.</summary>
public enum OnnxParamOption
{
    /// <summary>Exactly once.</summary>
    Single,
    /// <summary>Once or not at all (an empty name omits it).</summary>
    Optional,
    /// <summary>Any number of times; only the last formal parameter is variadic.</summary>
    Variadic,
}

/// <summary>
/// One formal input or output: <paramref name="Type"/> is a type parameter of the schema ("T", "Tind") or a concrete
/// type written with Cortado's element names ("int64", "seq(float32)").
/// </summary>
public sealed record OnnxFormalParameter(string Name, string Type, OnnxParamOption Option);

/// <summary>
/// One version of an ONNX op: the form introduced at opset <paramref name="SinceVersion"/>, its formal inputs and outputs,
/// and for each type parameter the types it allows ("float32", "int64", "seq(float32)" …).
/// </summary>
public sealed record OnnxOpSchema(
    string Domain,
    string OpType,
    int SinceVersion,
    bool Deprecated,
    IReadOnlyList<OnnxFormalParameter> Inputs,
    IReadOnlyList<OnnxFormalParameter> Outputs,
    IReadOnlyDictionary<string, IReadOnlyList<string>> TypeConstraints);

/// <summary>
/// The ONNX specification's operator schemas for the default domain (up to opset <see cref="MaxOpset"/>) and
/// ai.onnx.preview.training, as recorded by <c>scripts/onnx_schemas.py</c> from the onnx Python package
/// (<see cref="OnnxPackageVersion"/>) into <c>data/onnx-schemas.json</c>, which this assembly embeds.
/// Domains are named as in the file: "ai.onnx" for the default domain ("" is accepted too).
/// </summary>
public static class OnnxSchemas
{
    private const string Resource = "Cortado.Onnx.OnnxSchemas.json";

    private static readonly Lazy<(string Version, int MaxOpset, Dictionary<string, IReadOnlyList<OnnxOpSchema>> Ops)> Data = new(Read);

    /// <summary>Version of the onnx package the schemas were taken from.</summary>
    public static string OnnxPackageVersion => Data.Value.Version;

    /// <summary>Highest opset of the default domain the file covers.</summary>
    public static int MaxOpset => Data.Value.MaxOpset;

    /// <summary>
    /// Every version of <paramref name="opType"/> in <paramref name="domain"/>, oldest first; empty when the specification
    /// does not define the op (Cortado's own ops, or ops newer than the recorded opsets).
    /// </summary>
    public static IReadOnlyList<OnnxOpSchema> Versions(string domain, string opType) =>
        Data.Value.Ops.TryGetValue(Key(domain, opType), out var v) ? v : [];

    /// <summary>The form of the op in effect at <paramref name="opset"/> (the newest with since-version ≤ opset), or null.</summary>
    public static OnnxOpSchema? At(string domain, string opType, int opset) =>
        Versions(domain, opType).LastOrDefault(s => s.SinceVersion <= opset);

    /// <summary>Every recorded op as (domain, op type).</summary>
    public static IEnumerable<(string Domain, string OpType)> Ops =>
        Data.Value.Ops.Values.Select(v => (v[0].Domain, v[0].OpType));

    private static string Key(string domain, string op) => (domain is "" ? "ai.onnx" : domain) + ":" + op;

    private static (string, int, Dictionary<string, IReadOnlyList<OnnxOpSchema>>) Read()
    {
        using var stream = typeof(OnnxSchemas).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"embedded resource {Resource} is missing from {typeof(OnnxSchemas).Assembly.GetName().Name}");
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement;
        var ops = new Dictionary<string, IReadOnlyList<OnnxOpSchema>>(StringComparer.Ordinal);
        foreach (var domain in root.GetProperty("domains").EnumerateObject())
            foreach (var op in domain.Value.EnumerateObject())
            {
                var versions = op.Value.EnumerateArray().Select(v => new OnnxOpSchema(
                    domain.Name,
                    op.Name,
                    v.GetProperty("since").GetInt32(),
                    v.TryGetProperty("deprecated", out var dep) && dep.GetBoolean(),
                    Formal(v.GetProperty("inputs")),
                    Formal(v.GetProperty("outputs")),
                    v.GetProperty("types").EnumerateObject().ToDictionary(
                        c => c.Name, c => (IReadOnlyList<string>)c.Value.EnumerateArray().Select(t => t.GetString()!).ToArray(), StringComparer.Ordinal)))
                    .OrderBy(s => s.SinceVersion).ToArray();
                ops[domain.Name + ":" + op.Name] = versions;
            }
        return (root.GetProperty("onnx").GetString()!, root.GetProperty("max_opset").GetInt32(), ops);
    }

    private static OnnxFormalParameter[] Formal(JsonElement list) =>
        list.EnumerateArray().Select(p =>
        {
            var a = p.EnumerateArray().Select(x => x.GetString()!).ToArray();
            var option = a[2] switch { "?" => OnnxParamOption.Optional, "*" => OnnxParamOption.Variadic, _ => OnnxParamOption.Single };
            return new OnnxFormalParameter(a[0], a[1], option);
        }).ToArray();
}
