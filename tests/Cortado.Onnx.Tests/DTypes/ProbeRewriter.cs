// Probes from the ONNX node tests, and copies of them whose values of one type parameter are rewritten to another dtype.
using Cortado.Graph;
using Onnx;

namespace Cortado.Onnx.Tests.DTypes;

/// <summary>
/// What an op does with the values of a type parameter, which decides the element maps c under which the op commutes
/// (op(c(x)) = c(op(x))), so that a node test's expected output, mapped by c, is the expected output of the rewritten test.
/// </summary>
internal enum Sem
{
    /// <summary>Arithmetic: only exact rewrites (values held by both dtypes, kept as they are) or float rounding within a tolerance.</summary>
    Arith,
    /// <summary>Values are moved, copied or selected by position (or only the shape is read): any map commutes.</summary>
    Move,
    /// <summary>Values are compared: strictly increasing maps commute.</summary>
    Order,
    /// <summary>Compared with zero too (Relu): strictly increasing maps with c(0) = 0.</summary>
    OrderZero,
    /// <summary>Sign-symmetric (Abs, Neg, NonZero): strictly increasing odd maps; for unsigned targets a map of |x|.</summary>
    Odd,
}

internal static class ProbeRewriter
{
    /// <summary>Attributes that set a type parameter's dtype by ONNX type code.</summary>
    public static IEnumerable<(string Param, string Attr)> TypeAttributes(string op) => op switch
    {
        "Cast" => [("T2", "to")],
        "EyeLike" => [("T2", "dtype")],
        "RandomUniform" or "RandomNormal" => [("T", "dtype")],
        "RandomUniformLike" or "RandomNormalLike" or "Bernoulli" => [("T2", "dtype")],
        "SequenceEmpty" => [("S", "dtype")],
        "HannWindow" or "HammingWindow" or "BlackmanWindow" => [("T2", "output_datatype")],
        "MelWeightMatrix" => [("T3", "output_datatype")],
        "LayerNormalization" => [("U", "stash_type")],
        _ => [],
    };

    /// <summary>
    /// The type parameters that must change together with <paramref name="param"/>: a sequence and its tensors, an optional
    /// and its value, an output whose type follows an input when no attribute sets it.
    /// </summary>
    public static string[] Tied(NodeProto node, string param)
    {
        bool Has(string attr) => node.Attribute.Any(a => a.Name == attr);
        string[][] groups = node.OpType switch
        {
            "SequenceInsert" or "SequenceAt" or "SequenceConstruct" or "SplitToSequence" or "ConcatFromSequence" => [["S", "T"]],
            "Optional" or "OptionalGetElement" => [["V", "O"]],
            "EyeLike" when !Has("dtype") => [["T1", "T2"]],
            "Bernoulli" or "RandomUniformLike" or "RandomNormalLike" when !Has("dtype") => [["T1", "T2"]],
            // onnx 1.12 binds X and grid to T1 and Y to T2; the op's definition (and later schema revisions) has Y follow X.
            "GridSample" => [["T1", "T2"]],
            _ => [],
        };
        return groups.FirstOrDefault(g => g.Contains(param)) ?? [param];
    }

    /// <summary>The semantics of <paramref name="param"/> of the node's op (what the test knows of ONNX, not of Cortado).</summary>
    public static Sem SemanticsOf(NodeProto node, string param)
    {
        string op = node.OpType;
        string Attr(string name, string dflt) => node.Attribute.FirstOrDefault(a => a.Name == name)?.S.ToStringUtf8() ?? dflt;
        switch (op)
        {
            case "Reshape" or "Flatten" or "Transpose" or "Squeeze" or "Unsqueeze" or "Concat" or "Split" or "Slice" or "Gather"
                or "GatherElements" or "GatherND" or "Expand" or "Tile" or "Pad" or "DepthToSpace" or "SpaceToDepth" or "Compress"
                or "Trilu" or "ReverseSequence" or "Where" or "ConstantOfShape" or "Constant" or "Shape" or "Size" or "Identity"
                or "SequenceInsert" or "SequenceAt" or "SequenceConstruct" or "SequenceErase" or "SequenceLength" or "SplitToSequence"
                or "ConcatFromSequence" or "Optional" or "OptionalHasElement" or "OptionalGetElement":
                return Sem.Move;
            case "OneHot": return param == "T3" ? Sem.Move : Sem.Arith;
            case "MaxUnpool": return param == "T1" ? Sem.Move : Sem.Arith;
            case "EyeLike": return param == "T1" ? Sem.Move : Sem.Arith;
            case "Dropout": return param == "T" ? Sem.Move : Sem.Arith;
            case "Scatter" or "ScatterElements" or "ScatterND":
                return param == "T" && Attr("reduction", "none") == "none" ? Sem.Move : Sem.Arith;
            case "Resize":
                return param == "T1" && Attr("mode", "nearest") == "nearest" && Attr("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize"
                    ? Sem.Move : Sem.Arith;
            case "Max" or "Min" or "ArgMax" or "ArgMin" or "TopK" or "ReduceMax" or "ReduceMin" or "MaxPool" or "GlobalMaxPool" or "Unique"
                or "Clip" or "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual":
                return param is "T" ? Sem.Order : Sem.Arith;
            case "Relu": return Sem.OrderZero;
            case "Abs" or "Neg" or "NonZero": return Sem.Odd;
            default: return Sem.Arith;
        }
    }

    /// <summary>
    /// A map of the values a rewrite converts (<paramref name="inputs"/> fed to the op, <paramref name="outputs"/> it
    /// produces) into <paramref name="to"/>, with whether the op then gives the mapped outputs exactly (else within a
    /// tolerance); null when no map suits the op's semantics and these values.
    /// </summary>
    public static Func<double, double>? MapFor(double[] inputs, double[] outputs, DType from, DType to, Sem sem, out bool exact, bool integerRounding = false)
    {
        exact = true;
        var x = inputs.Concat(outputs).ToArray();
        bool held = x.All(v => ProbeValues.Holds(to, v));
        bool fromFloat = ProbeValues.IsFloat(from), toFloat = ProbeValues.IsFloat(to);
        if (sem == Sem.Arith)
        {
            // Exact values held by the target stay as they are (a float target may round the outputs, within a tolerance);
            // float data otherwise rounds, within a tolerance. An integer result that integer arithmetic rounded (Div, Mod)
            // is not a float result.
            exact = !toFloat;
            if (integerRounding && !fromFloat && toFloat) return null;
            if (toFloat ? inputs.All(v => ProbeValues.Holds(to, v)) : held) return v => v;
            // Whole numbers that the target cannot hold are not rounded: such data is chosen for its exact differences.
            bool whole = inputs.Length > 0 && inputs.All(v => v == Math.Floor(v));
            if (fromFloat && toFloat && !whole) return v => ProbeValues.Round(to, v);
            return null;
        }
        if (held && (sem != Sem.Move || to != DType.Bool)) return v => v;
        if (sem == Sem.Move)
        {
            if (toFloat) return v => ProbeValues.Round(to, v);
            if (to == DType.Bool) return v => v != 0 ? 1 : 0;
            // Any map commutes with a movement: scale so that values spread over the integer range; 0 stays 0.
            double lo = ProbeValues.Min(to), hi = ProbeValues.Max(to);
            bool unsigned = lo == 0;
            return v => double.IsNaN(v) ? 0 : Math.Clamp(Math.Round((unsigned ? Math.Abs(v) : v) * 10), lo, hi);
        }
        // Order-type semantics need a strictly increasing map: rounding when it keeps distinct values distinct, else ranks.
        if (x.Any(v => !double.IsFinite(v))) return toFloat && x.Distinct().Count() == x.Select(v => ProbeValues.Round(to, v)).Distinct().Count()
            ? v => ProbeValues.Round(to, v) : null;
        if (toFloat && x.Distinct().Count() == x.Select(v => ProbeValues.Round(to, v)).Distinct().Count()) return v => ProbeValues.Round(to, v);
        if (to == DType.Bool) return null;
        double limit = ProbeValues.ExactIntegers(to);
        bool toUnsigned = to == DType.UInt8;
        if (!toUnsigned || x.All(v => v >= 0) || sem == Sem.Odd)
        {
            // c(x) = sign(x)·(1 + rank of |x| among the distinct non-zero magnitudes): odd, strictly increasing, c(0) = 0.
            // For an unsigned target the sign is dropped (Abs and NonZero see only |x| and x ≠ 0).
            var mags = x.Select(Math.Abs).Where(v => v != 0).Distinct().Order().ToArray();
            if (mags.Length > limit) return null;
            return v => v == 0 ? 0 : (toUnsigned ? 1 : Math.Sign(v)) * (1 + Array.BinarySearch(mags, Math.Abs(v)));
        }
        if (sem != Sem.Order) return null;
        // Unsigned target, negative data, no role for zero: rank among all distinct values from 0.
        var all = x.Distinct().Order().ToArray();
        if (all.Length > limit + 1) return null;
        return v => Array.BinarySearch(all, v);
    }

    /// <summary>
    /// Tolerances for float results of a rewrite to <paramref name="to"/> that rounds inputs: a relative bound of a few
    /// units in the target's last place, and an absolute one of the same fraction of the largest expected magnitude, since
    /// rounding errors of the inputs accumulate in sums to an error of the scale of the sum, not of each element.
    /// </summary>
    public static (double Rtol, double Atol) Tolerance(DType to, double rtol, double atol, double scale)
    {
        double f = to switch { DType.Float16 => 1e-2, DType.BFloat16 => 5e-2, _ => 0 };
        return (Math.Max(rtol, f), Math.Max(atol, f * scale));
    }

    /// <summary>
    /// A copy of <paramref name="p"/> in which every value bound to <paramref name="param"/> (now <paramref name="from"/>)
    /// becomes <paramref name="to"/>, mapped by an element map that commutes with the op; null (with the reason) when
    /// no such map exists for these values.
    /// </summary>
    public static Probe? Rewrite(Probe p, string param, DType from, DType to, out string why)
    {
        why = "";
        var node = p.Node;
        if (OnnxSchemas.Versions(p.Domain, node.OpType).Count == 0) { why = "no schema"; return null; }
        if (node.Attribute.Any(a => a.Type is AttributeProto.Types.AttributeType.Graph or AttributeProto.Types.AttributeType.Graphs))
        { why = "the node has subgraphs"; return null; }
        var tied = Tied(node, param);
        var bound = p.TypedValues().Where(v => tied.Contains(v.Param)).Select(v => v.Value).ToHashSet(StringComparer.Ordinal);
        var g = p.Model.Graph;
        var inits = g.Initializer.Where(i => bound.Contains(i.Name)).ToDictionary(i => i.Name, i => OnnxTensors.ToTensor(i, null));
        var attrTensors = node.Attribute.Where(a => a.Type == AttributeProto.Types.AttributeType.Tensor && AttrTensorParam(node.OpType) == param)
            .ToDictionary(a => a.Name, a => OnnxTensors.ToTensor(a.T, null));
        var inputs = new List<object>();
        foreach (var (n, v) in p.Feeds) if (bound.Contains(n)) inputs.Add(v);
        inputs.AddRange(inits.Values);
        inputs.AddRange(attrTensors.Values);
        var inputValues = inputs.SelectMany(Tensors).SelectMany(ProbeValues.Read).ToArray();
        var outputValues = p.Expected.Where(kv => bound.Contains(kv.Key)).SelectMany(kv => Tensors(kv.Value)).SelectMany(ProbeValues.Read).ToArray();
        var sem = SemanticsOf(node, param);
        var map = MapFor(inputValues, outputValues, from, to, sem, out bool exact, node.OpType is "Div" or "Mod");
        if (map is null) { why = $"no {sem} map of these values into {to.Name()}"; return null; }

        var model = p.Model.Clone();
        var mg = model.Graph;
        foreach (var v in mg.Input.Concat(mg.Output).Concat(mg.ValueInfo))
            if (bound.Contains(v.Name)) SetElementType(v.Type, to);
        foreach (var init in mg.Initializer.ToList())
            if (inits.TryGetValue(init.Name, out var t))
            {
                int at = mg.Initializer.IndexOf(init);
                mg.Initializer[at] = OnnxTensors.FromTensor(Convert(t, map, to), init.Name);
            }
        var mnode = mg.Node[0];
        foreach (var a in mnode.Attribute)
            if (attrTensors.TryGetValue(a.Name, out var t)) a.T = OnnxTensors.FromTensor(Convert(t, map, to), a.T.Name);
        foreach (var (tp, attr) in TypeAttributes(node.OpType))
            if (tied.Contains(tp) && (tp == param || mnode.Attribute.Any(x => x.Name == attr)))
            {
                var a = mnode.Attribute.FirstOrDefault(x => x.Name == attr);
                if (a is null) mnode.Attribute.Add(a = new AttributeProto { Name = attr, Type = AttributeProto.Types.AttributeType.Int });
                a.I = ProbeValues.OnnxCode(to);
            }
        var feeds = p.Feeds.ToDictionary(kv => kv.Key, kv => bound.Contains(kv.Key) ? ConvertValue(kv.Value, map, to) : kv.Value, StringComparer.Ordinal);
        var expected = p.Expected.ToDictionary(kv => kv.Key, kv => bound.Contains(kv.Key) ? ConvertValue(kv.Value, map, to) : kv.Value, StringComparer.Ordinal);
        double scale = expected.Values.SelectMany(Tensors).Where(t => ProbeValues.IsFloat(t.DType))
            .SelectMany(ProbeValues.Read).Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        var (rtol, atol) = exact ? (p.Rtol, p.Atol) : Tolerance(to, p.Rtol, p.Atol, scale);
        return new Probe($"{p.Name} [{param}: {to.Name()}]", model, feeds, expected, rtol, atol);
    }

    // The type parameter of a node's tensor attribute (ConstantOfShape's and Constant's value), if any.
    private static string? AttrTensorParam(string op) => op switch { "ConstantOfShape" => "T2", "Constant" => "T", _ => null };

    private static IEnumerable<Tensor> Tensors(object v) => v switch
    {
        Tensor t => [t],
        TensorSequence s => s.Items,
        OptionalValue o => o.Value is null ? [] : Tensors(o.Value),
        _ => [],
    };

    private static Tensor Convert(Tensor t, Func<double, double> map, DType to) =>
        ProbeValues.Make(to, ProbeValues.Read(t).Select(map).ToArray(), t.Dims);

    private static object ConvertValue(object v, Func<double, double> map, DType to) => v switch
    {
        Tensor t => Convert(t, map, to),
        TensorSequence s => new TensorSequence(s.Items.Select(i => Convert(i, map, to)).ToList(), to),
        OptionalValue o => new OptionalValue(o.Value is null ? null : ConvertValue(o.Value, map, to)),
        _ => v,
    };

    private static void SetElementType(TypeProto? t, DType to)
    {
        while (t is not null)
        {
            if (t.TensorType is { } tt) { tt.ElemType = ProbeValues.OnnxCode(to); return; }
            t = t.SequenceType?.ElemType ?? t.OptionalType?.ElemType;
        }
    }
}
