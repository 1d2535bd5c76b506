// Generates docs/operators.md, the list of ONNX ops the inference engine runs, from the kernel registry, its dtype table and the ONNX schemas.
using System.Text;
using Cortado.Graph.Kernels;

namespace Cortado.Onnx;

/// <summary>
/// The operator list as Markdown, built from <see cref="OnnxKernels.Registry"/>, <see cref="OnnxKernels.AcceptedTypes"/>
/// and <see cref="OnnxSchemas"/> so it cannot drift from the engine: regenerate with
/// <c>./cortado operators --markdown --output docs/operators.md</c> (a test fails when the file is stale).
/// </summary>
public static class OperatorDocs
{
    /// <summary>The command that rewrites docs/operators.md.</summary>
    public const string RegenerateCommand = "./cortado operators --markdown --output docs/operators.md";

    private static readonly DType[] Order =
        [DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int8, DType.UInt8, DType.Int32, DType.Int64, DType.Bool];

    private static readonly DType[] Floats = [DType.Float32, DType.Float64, DType.Float16, DType.BFloat16];

    private static readonly DType[] Ints = [DType.Int8, DType.UInt8, DType.Int32, DType.Int64];

    /// <summary>The Markdown text of docs/operators.md ("\n" line ends).</summary>
    public static string Markdown()
    {
        var ops = OnnxKernels.Registry;
        var sb = new StringBuilder();
        sb.Append("# ONNX operators\n\n");
        sb.Append("<!-- Generated from the kernel registry (OnnxKernels.Registry), its dtype table (OnnxKernels.AcceptedTypes) and the\n");
        sb.Append($"     ONNX schemas (data/onnx-schemas.json, from onnx {OnnxSchemas.OnnxPackageVersion}); do not edit. Regenerate with:\n     ")
          .Append(RegenerateCommand).Append(" -->\n\n");
        string onnx = OnnxSchemas.OnnxPackageVersion;
        sb.Append($"The inference engine has kernels for {ops.Count} ops. The columns:\n\n");
        sb.Append("- **Opsets**: the opset versions that introduced a form of the op (its since-versions in the ONNX specification, up\n");
        sb.Append($"  to opset {OnnxModel.MaxOpset}, the highest a model may import for the default domain), oldest first: the first is the opset\n");
        sb.Append("  the op appeared in, and a model importing opset N uses the newest form at or below N. Kernels implement the newest\n");
        sb.Append("  form. The importer rewrites older forms into it where an attribute became an input or an op was replaced\n");
        sb.Append("  (Upsample and Resize-10 become Resize), and kernels read the node's version where the meaning changed (Softmax's\n");
        sb.Append("  2-D coercion before 13, Scan-8): docs/architecture.md, \"Inference engine\", lists both. Ops of\n");
        sb.Append("  ai.onnx.preview.training run at the version the model imports; those of com.cortado are Cortado's own (its fusion\n");
        sb.Append("  passes create them) and belong to no ONNX opset.\n");
        sb.Append("- **Dtypes**: the element types Cortado's kernel accepts, per type parameter of the op as its ONNX schema names it\n");
        sb.Append("  (T, T1, Tind …; named only when the op has several). A dtype is listed where the op's newest form allows it and\n");
        sb.Append("  the kernel, run at it through the importer and the inference session, matched a reference (`OperatorDTypeTests`:\n");
        sb.Append("  the ONNX node tests, copies of them rewritten to other dtypes, and probes with references of their own).\n");
        sb.Append("  *floats* = float32, float64, float16, bfloat16; *ints* = int8, uint8, int32, int64; *all* = floats, ints and bool\n");
        sb.Append($"  (the onnx {onnx} schemas leave bfloat16 out of many ops). For parameters that type sequences or optionals (S, O)\n");
        sb.Append("  the dtypes are those of the tensors inside. A parameter the specification fixes to one dtype Cortado holds\n");
        sb.Append("  (Shape's int64 output) is not shown.\n");
        sb.Append("- **Family**: the `src/Cortado.Graph/Kernels/OnnxKernels.<Family>.cs` file that registers the kernel.\n\n");
        sb.Append("Cortado holds float32, float64, float16, bfloat16, int8, uint8, int32, int64 and bool; a model using another element\n");
        sb.Append("type (uint16/32/64, int16, string, complex) fails at import with a message naming the type. float16, bfloat16, int8\n");
        sb.Append("and uint8 are storage types: ops compute them in float32 (or float64, or int64) and round the result back. Kernels\n");
        sb.Append("written as float64 loops hold int64 values exactly only up to 2^53 in magnitude. A dtype that the op's newest form\n");
        sb.Append("allows but the table leaves out (listed after it) is not supported: the kernel may reject it or compute it unchecked.\n\n");
        sb.Append("| Op | Domain | Opsets | Dtypes | Family |\n|---|---|---|---|---|\n");
        var missing = new List<string>();
        foreach (var (domain, op, family) in ops)
        {
            string dom = domain.Length == 0 ? "ai.onnx" : domain;
            var declared = OnnxKernels.AcceptedTypes(dom, op);
            sb.Append($"| {op} | {dom} | {Opsets(dom, op)} | {DTypes(dom, op, declared)} | {family} |\n");
            if (Unsupported(dom, op, declared) is string u) missing.Add($"- {op}: {u}\n");
        }
        sb.Append("\nDtypes that the newest form of an op allows, that Cortado holds, and that the table leaves out:\n\n");
        foreach (var m in missing) sb.Append(m);
        return sb.ToString();
    }

    // Since-versions up to the recorded opset ("1, 6, 13, 14"); a deprecated form ends the list with the opset that deprecated the op.
    private static string Opsets(string domain, string op)
    {
        var versions = OnnxSchemas.Versions(domain, op);
        if (versions.Count == 0)
            return domain == Graph.Passes.FusedOps.Domain ? "Cortado's own" : $"not in the ONNX {OnnxSchemas.OnnxPackageVersion} schemas";
        var live = versions.Where(v => !v.Deprecated).Select(v => v.SinceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var dep = versions.FirstOrDefault(v => v.Deprecated);
        return string.Join(", ", live) + (dep is null ? "" : $"; deprecated at {dep.SinceVersion}");
    }

    private static string DTypes(string domain, string op, IReadOnlyList<KernelTypeParam> declared)
    {
        if (declared.Count == 0) return "— (no type parameters)";
        var schema = OnnxSchemas.Versions(domain, op);
        // A parameter the specification fixes to a single Cortado dtype says nothing about the kernel.
        var shown = declared.Where(p => schema.Count == 0 || SpecTypes(domain, op, p.Name).Count > 1).ToList();
        if (shown.Count == 0) shown = [declared[0]];
        if (shown.Count == 1) return Names(shown[0].DTypes);
        // Parameters with the same dtypes share one entry ("S, T: …").
        return string.Join("; ", shown.GroupBy(p => Names(p.DTypes)).Select(g => $"{string.Join(", ", g.Select(p => p.Name))}: {g.Key}"));
    }

    private static string? Unsupported(string domain, string op, IReadOnlyList<KernelTypeParam> declared)
    {
        var parts = new List<string>();
        foreach (var p in declared)
        {
            var left = SpecTypes(domain, op, p.Name).Where(t => !p.DTypes.Contains(t)).ToList();
            if (left.Count > 0) parts.Add($"{p.Name}: {Names(left)}");
        }
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    // The Cortado dtypes a type parameter allows in the op's newest recorded form (element types for sequences and optionals).
    private static HashSet<DType> SpecTypes(string domain, string op, string param) =>
        (OnnxSchemas.Versions(domain, op).LastOrDefault()?.TypeConstraints.GetValueOrDefault(param) ?? [])
            .Select(ElementType).OfType<DType>().ToHashSet();

    private static DType? ElementType(string type)
    {
        while (type.EndsWith(')') && type.IndexOf('(', StringComparison.Ordinal) is int p and > 0) type = type[(p + 1)..^1];
        return Order.Cast<DType?>().FirstOrDefault(d => d!.Value.Name() == type);
    }

    // "all", "all but bfloat16", or the dtypes in canonical order with "floats" and "ints" for complete groups.
    private static string Names(IReadOnlyCollection<DType> types)
    {
        if (Order.All(types.Contains)) return "all";
        if (types.Count == Order.Length - 1 && !types.Contains(DType.BFloat16)) return "all but bfloat16";
        var parts = new List<string>();
        if (Floats.All(types.Contains)) parts.Add("floats");
        else parts.AddRange(Floats.Where(types.Contains).Select(t => t.Name()));
        if (Ints.All(types.Contains)) parts.Add("ints");
        else parts.AddRange(Ints.Where(types.Contains).Select(t => t.Name()));
        if (types.Contains(DType.Bool)) parts.Add("bool");
        return string.Join(", ", parts);
    }
}
