// ONNX → Cortado graph IR: converts a checked ModelProto, rewriting older opset forms into the newest one.
using Cortado.Graph;
using Onnx;
using IrGraph = Cortado.Graph.Graph;

namespace Cortado.Onnx;

/// <summary>
/// Imports ONNX models (IR version ≤ 8, default-domain opset ≤ 17) into <see cref="IrGraph"/>. Nodes are normalized to
/// one form per op so kernels need not know every opset: attributes that later opsets turned into inputs become
/// constant inputs (Reduce* axes before opset 13/18, Split's split and Squeeze/Unsqueeze's axes before 13, Clip's
/// min/max before 11, Pad's pads/value before 11, Slice's starts/ends/axes before 10, TopK's k before 10, Dropout's
/// ratio before 12), and Upsample (and Resize-10) become Resize with the coordinate mapping they implied.
/// Semantic differences that remain (Softmax's 2-D coercion before 13) are left to kernels through <see cref="Node.Version"/>.
/// </summary>
public static class OnnxImporter
{
    /// <summary>
    /// Loads, checks and imports the model at <paramref name="path"/>. The parsed file is this call's own, so each
    /// initializer's bytes are released once its tensor is made: the process then holds the weights about once, not
    /// twice, at its peak.
    /// </summary>
    public static IrGraph Load(string path) => Import(OnnxModel.LoadForImport(path), Path.GetDirectoryName(Path.GetFullPath(path)), release: true);

    /// <summary>Imports an already loaded and validated model; <paramref name="modelDirectory"/> resolves external tensor data.</summary>
    public static IrGraph Import(ModelProto model, string? modelDirectory = null) => Import(model, modelDirectory, release: false);

    /// <summary>Bytes of initializer data converted between collections when the importer releases what it converted.</summary>
    private const long CollectEveryBytes = 64L << 20;

    private static IrGraph Import(ModelProto model, string? modelDirectory, bool release)
    {
        ArgumentNullException.ThrowIfNull(model);
        var opsets = new Dictionary<string, int>();
        foreach (var o in model.OpsetImport) opsets[OnnxModel.IsDefaultDomain(o.Domain) ? "" : o.Domain] = (int)o.Version;
        if (!opsets.ContainsKey("")) opsets[""] = 1;
        var g = ImportGraph(model.Graph, opsets, modelDirectory, release);
        GraphValidator.Sort(g);
        GraphValidator.Validate(g);
        return g;
    }

    private static IrGraph ImportGraph(GraphProto gp, Dictionary<string, int> opsets, string? dir, bool release = false)
    {
        var g = new IrGraph { Name = gp.Name };
        foreach (var (k, v) in opsets) g.Opsets[k] = v;
        long converted = 0;
        foreach (var init in gp.Initializer)
        {
            var t = OnnxTensors.ToTensor(init, dir);
            g.Initializers[init.Name] = t;
            if (!release) continue;
            init.RawData = Google.Protobuf.ByteString.Empty;
            init.FloatData.Clear();
            init.DoubleData.Clear();
            init.Int32Data.Clear();
            init.Int64Data.Clear();
            init.Uint64Data.Clear();
            converted += (long)t.Numel * t.DType.SizeOf();
            if (converted >= CollectEveryBytes)
            {
                GC.Collect();
                converted = 0;
            }
        }
        foreach (var i in gp.Input) g.Inputs.Add(Info(i));
        foreach (var o in gp.Output) g.Outputs.Add(Info(o));
        foreach (var v in gp.ValueInfo) g.ValueInfos[v.Name] = Info(v);
        int counter = 0;
        foreach (var np in gp.Node)
        {
            string domain = OnnxModel.IsDefaultDomain(np.Domain) ? "" : np.Domain;
            int version = opsets.TryGetValue(domain, out int ver) ? ver : 1;
            var attrs = new Dictionary<string, AttrValue>();
            foreach (var a in np.Attribute) attrs[a.Name] = Attr(np, a, opsets, dir);
            var inputs = np.Input.ToList();
            var node = Normalize(g, np.OpType, domain, version, inputs, np.Output.ToList(), np.Name, attrs, ref counter);
            g.Nodes.Add(node);
        }
        return g;
    }

    private static ValueInfo Info(ValueInfoProto v)
    {
        var type = v.Type;
        var kind = ValueKind.Tensor;
        // Sequences and optionals: record the kind and describe the (innermost) tensor element.
        while (type is not null && type.TensorType is null)
        {
            if (type.SequenceType is { } st) { kind = kind == ValueKind.Tensor ? ValueKind.Sequence : kind; type = st.ElemType; }
            else if (type.OptionalType is { } ot) { kind = kind == ValueKind.Tensor ? ValueKind.Optional : kind; type = ot.ElemType; }
            else break;
        }
        if (type?.TensorType is not { } tt) return new ValueInfo(v.Name, null, null, kind);
        DType? dt = OnnxDataTypes.ToDType(tt.ElemType);
        IReadOnlyList<SymDim>? shape = tt.Shape is null ? null : tt.Shape.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => SymDim.Of(d.DimValue),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => SymDim.Sym(d.DimParam),
            _ => SymDim.Unknown,
        }).ToArray();
        return new ValueInfo(v.Name, dt, shape, kind);
    }

    private static AttrValue Attr(NodeProto np, AttributeProto a, Dictionary<string, int> opsets, string? dir)
    {
        // A declared type whose value field is missing (a hand-edited or damaged file).
        T Present<T>(T? value) where T : class =>
            value ?? throw new OnnxFormatException($"node '{np.Name}' ({np.OpType}): attribute '{a.Name}' is declared {a.Type} but carries no value");
        return a.Type switch
        {
            AttributeProto.Types.AttributeType.Float => AttrValue.Of(a.F),
            AttributeProto.Types.AttributeType.Int => AttrValue.Of(a.I),
            AttributeProto.Types.AttributeType.String => AttrValue.Of(a.S.ToStringUtf8()),
            AttributeProto.Types.AttributeType.Tensor => AttrValue.Of(OnnxTensors.ToTensor(Present(a.T), dir)),
            AttributeProto.Types.AttributeType.Graph => AttrValue.Of(ImportGraph(Present(a.G), opsets, dir)),
            AttributeProto.Types.AttributeType.Floats => AttrValue.Of(a.Floats.ToArray()),
            AttributeProto.Types.AttributeType.Ints => AttrValue.Of(a.Ints.ToArray()),
            AttributeProto.Types.AttributeType.Strings => AttrValue.Of(a.Strings.Select(s => s.ToStringUtf8()).ToArray()),
            AttributeProto.Types.AttributeType.Tensors => AttrValue.Of(a.Tensors.Select(t => OnnxTensors.ToTensor(t, dir)).ToArray()),
            AttributeProto.Types.AttributeType.Graphs => AttrValue.Of(a.Graphs.Select(s => ImportGraph(s, opsets, dir)).ToArray()),
            // A type attribute (Optional's 'type') is kept as its kind: "tensor", "sequence" or "optional".
            AttributeProto.Types.AttributeType.TypeProto => AttrValue.Of(a.Tp?.SequenceType is not null ? "sequence" : a.Tp?.OptionalType is not null ? "optional" : "tensor"),
            _ => throw new OnnxFormatException($"node '{np.Name}' ({np.OpType}): attribute '{a.Name}' has type {a.Type}, which is not supported"),
        };
    }

    private static readonly HashSet<string> ReduceOps =
        ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];

    // Rewrites one node into the newest form of its op (see the class summary).
    private static Node Normalize(IrGraph g, string op, string domain, int version, List<string> inputs, List<string> outputs, string name,
        Dictionary<string, AttrValue> attrs, ref int counter)
    {
        if (domain.Length > 0) return new Node(op, inputs, outputs, name, domain, version, attrs);
        int id = counter++;
        string Const(string what, Tensor t)
        {
            string n = $"{(outputs.Count > 0 ? outputs[0] : name)}__{what}_{id}";
            g.Initializers[n] = t;
            return n;
        }
        string Ints(string what, IReadOnlyList<long> v) => Const(what, new Tensor(new Storage<long>(v.ToArray()), v.Count));
        string Float(string what, float v) => Const(what, new Tensor(new Storage<float>([v])));
        void Take(string attr, int slot, Func<AttrValue, string> make)
        {
            if (!attrs.Remove(attr, out var a)) return;
            while (inputs.Count <= slot) inputs.Add("");
            inputs[slot] = make(a);
        }

        if (ReduceOps.Contains(op) && (op == "ReduceSum" ? version < 13 : version < 18))
            Take("axes", 1, a => Ints("axes", a.Ints));
        switch (op)
        {
            case "Split" when version < 13:
                Take("split", 1, a => Ints("split", a.Ints));
                break;
            case "Squeeze" or "Unsqueeze" when version < 13:
                Take("axes", 1, a => Ints("axes", a.Ints));
                break;
            case "Clip" when version < 11:
                Take("min", 1, a => Float("min", a.F));
                Take("max", 2, a => Float("max", a.F));
                break;
            case "Pad" when version < 11:
                if (attrs.Remove("paddings", out var old)) attrs["pads"] = old;
                Take("pads", 1, a => Ints("pads", a.Ints));
                Take("value", 2, a => Float("value", a.F));
                break;
            case "Slice" when version < 10:
                Take("starts", 1, a => Ints("starts", a.Ints));
                Take("ends", 2, a => Ints("ends", a.Ints));
                Take("axes", 3, a => Ints("axes", a.Ints));
                break;
            case "TopK" when version < 10:
                Take("k", 1, a => Ints("k", [a.I]));
                break;
            case "Dropout" when version < 12:
                Take("ratio", 1, a => Float("ratio", a.F));
                break;
            case "Upsample":
            case "Resize" when version < 11:
            {
                // Upsample and Resize-10 map output to input coordinates as x_out / scale, nearest rounding down.
                Take("scales", 1, a => Const("scales", new Tensor(new Storage<float>(a.Floats.ToArray()), a.Floats.Count)));
                attrs["coordinate_transformation_mode"] = AttrValue.Of("asymmetric");
                if (!attrs.ContainsKey("nearest_mode")) attrs["nearest_mode"] = AttrValue.Of("floor");
                var mode = attrs.TryGetValue("mode", out var m) ? m.S : "nearest";
                if (mode is "bilinear" or "trilinear") attrs["mode"] = AttrValue.Of("linear");
                string scales = inputs.Count > 1 ? inputs[1] : "";
                inputs = [inputs[0], "", scales];
                op = "Resize";
                break;
            }
        }
        return new Node(op, inputs, outputs, name, domain, version, attrs);
    }
}
