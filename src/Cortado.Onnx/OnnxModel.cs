// Loading .onnx files: bounded protobuf parsing followed by structural checks of the graph and its tensors.
using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace Cortado.Onnx;

/// <summary>Reads ONNX model files into the generated <see cref="ModelProto"/> and checks them before anything uses them.</summary>
public static class OnnxModel
{
    /// <summary>Largest model file accepted (2 GiB, protobuf's own limit for one message).</summary>
    public const long MaxFileBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Highest IR version understood.</summary>
    public const long MaxIrVersion = 8;

    /// <summary>Highest opset of the default domain (ai.onnx) understood.</summary>
    public const long MaxOpset = 17;

    /// <summary>Deepest message nesting the parser follows (subgraphs nest three levels per graph).</summary>
    public const int RecursionLimit = 100;

    /// <summary>
    /// Reads and checks the model at <paramref name="path"/>. External tensor data is resolved relative to the file's
    /// directory and must stay inside it. Throws <see cref="OnnxFormatException"/> naming the file (and the node or tensor)
    /// for a missing, oversized, truncated, malformed, cyclic or unsupported model.
    /// </summary>
    public static ModelProto Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new OnnxFormatException($"ONNX model '{path}' does not exist");
        if (info.Length > MaxFileBytes)
            throw new OnnxFormatException($"ONNX model '{path}' is {info.Length} bytes, larger than the {MaxFileBytes}-byte limit");
        if (info.Length == 0) throw new OnnxFormatException($"ONNX model '{path}' is empty");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var model = ParseMessage<ModelProto>(fs, path);
        Validate(model, path, info.DirectoryName);
        return model;
    }

    /// <summary>
    /// As <see cref="Load"/>, for a caller that converts the model's tensors and then drops the proto (the importer):
    /// the main graph's large initializers come back as external data that points into the model file itself
    /// (<see cref="ModelSkeleton"/>), so their bytes are read once, straight into the tensors, instead of being held as
    /// protobuf byte strings first. Files the rewrite does not handle are loaded as <see cref="Load"/> does.
    /// </summary>
    internal static ModelProto LoadForImport(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists || info.Length > MaxFileBytes || info.Length == 0) return Load(path);
        byte[]? skeleton;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            skeleton = ModelSkeleton.TryBuild(handle, info.Length, info.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Load(path); }
        if (skeleton is null) return Load(path);
        try
        {
            using var ms = new MemoryStream(skeleton, writable: false);
            var model = ParseMessage<ModelProto>(ms, path);
            Validate(model, path, info.DirectoryName);
            return model;
        }
        catch (OnnxFormatException)
        {
            // Report the problem as the file itself shows it (and load it that way if the rewrite was the problem).
            return Load(path);
        }
    }

    /// <summary>
    /// Parses and checks a model held in memory; <paramref name="source"/> names it in errors and
    /// <paramref name="modelDirectory"/> (when given) is where external tensor data is looked up.
    /// </summary>
    public static ModelProto Parse(byte[] bytes, string source, string? modelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0) throw new OnnxFormatException($"ONNX model '{source}' is empty");
        using var ms = new MemoryStream(bytes, writable: false);
        var model = ParseMessage<ModelProto>(ms, source);
        Validate(model, source, modelDirectory);
        return model;
    }

    // Parses one message from a stream with a size and nesting limit; protobuf errors become OnnxFormatException.
    internal static T ParseMessage<T>(Stream stream, string source) where T : IMessage<T>, new()
    {
        var msg = new T();
        try
        {
            var input = CodedInputStream.CreateWithLimits(stream, int.MaxValue, RecursionLimit);
            msg.MergeFrom(input);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException($"'{source}' is not a valid ONNX protobuf file: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new OnnxFormatException($"'{source}' could not be read: {e.Message}", e);
        }
        return msg;
    }

    /// <summary>
    /// Checks an already parsed model: IR version and default-domain opset within what is supported, a graph present,
    /// every value produced once, every node input defined, no cycles, and every tensor's data matching its dims.
    /// </summary>
    public static void Validate(ModelProto model, string source, string? modelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.HasIrVersion || model.IrVersion < 1)
            throw new OnnxFormatException($"ONNX model '{source}' declares no IR version");
        if (model.IrVersion > MaxIrVersion)
            throw new OnnxFormatException($"ONNX model '{source}' has IR version {model.IrVersion}; the highest supported is {MaxIrVersion}");
        foreach (var op in model.OpsetImport)
        {
            if (IsDefaultDomain(op.Domain) && op.Version > MaxOpset)
                throw new OnnxFormatException($"ONNX model '{source}' imports opset {op.Version} of the default domain; the highest supported is {MaxOpset}");
        }
        if (model.Graph is null) throw new OnnxFormatException($"ONNX model '{source}' has no graph");
        ValidateGraph(model.Graph, source, modelDirectory, outer: null, depth: 0);
    }

    /// <summary>True for the default operator domain, spelled "" or "ai.onnx".</summary>
    public static bool IsDefaultDomain(string domain) => domain.Length == 0 || domain == "ai.onnx";

    internal static string Describe(NodeProto node, int index) =>
        node.Name.Length > 0 ? $"node '{node.Name}' ({node.OpType})" : $"node #{index} ({node.OpType})";

    private static void ValidateGraph(GraphProto g, string source, string? dir, HashSet<string>? outer, int depth)
    {
        string graphName = g.Name.Length > 0 ? $"graph '{g.Name}'" : "graph";
        // Names defined without a node: graph inputs and initializers (and, for subgraphs, the enclosing scopes).
        var defined = new HashSet<string>(StringComparer.Ordinal);
        var initNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in g.Initializer)
        {
            string where = $"ONNX model '{source}', {graphName}, initializer '{init.Name}'";
            if (init.Name.Length == 0) throw new OnnxFormatException($"ONNX model '{source}', {graphName}: an initializer has no name");
            if (!initNames.Add(init.Name)) throw new OnnxFormatException($"{where}: name used by two initializers");
            TensorChecks.CheckData(init, where, dir);
            defined.Add(init.Name);
        }
        foreach (var sp in g.SparseInitializer)
        {
            var name = sp.Values?.Name ?? "";
            string where = $"ONNX model '{source}', {graphName}, sparse initializer '{name}'";
            if (sp.Values is null || sp.Indices is null) throw new OnnxFormatException($"{where}: values or indices missing");
            TensorChecks.CheckData(sp.Values, where + " values", dir);
            TensorChecks.CheckData(sp.Indices, where + " indices", dir);
            defined.Add(name);
        }
        foreach (var input in g.Input) defined.Add(input.Name);

        // Producer of every node output; a value may be produced once (single static assignment).
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < g.Node.Count; i++)
        {
            var node = g.Node[i];
            foreach (var output in node.Output)
            {
                if (output.Length == 0) continue; // an omitted optional output
                if (producer.TryGetValue(output, out int other))
                    throw new OnnxFormatException($"ONNX model '{source}', {graphName}: value '{output}' is produced by both {Describe(g.Node[other], other)} and {Describe(node, i)}");
                if (defined.Contains(output))
                    throw new OnnxFormatException($"ONNX model '{source}', {graphName}: {Describe(node, i)} produces '{output}', which is already a graph input or initializer");
                producer[output] = i;
            }
        }

        // Every input must be defined somewhere; dependencies between nodes are collected for the cycle check.
        var preds = new List<int>[g.Node.Count];
        for (int i = 0; i < g.Node.Count; i++)
        {
            var node = g.Node[i];
            preds[i] = [];
            foreach (var input in node.Input)
            {
                if (input.Length == 0) continue; // an omitted optional input
                if (producer.TryGetValue(input, out int p)) preds[i].Add(p);
                else if (!defined.Contains(input) && (outer is null || !outer.Contains(input)))
                    throw new OnnxFormatException($"ONNX model '{source}', {graphName}: {Describe(node, i)} reads '{input}', which is neither a graph input, an initializer, nor produced by a node");
            }
        }
        CheckAcyclic(g, preds, source, graphName);

        foreach (var output in g.Output)
        {
            if (!producer.ContainsKey(output.Name) && !defined.Contains(output.Name) && (outer is null || !outer.Contains(output.Name)))
                throw new OnnxFormatException($"ONNX model '{source}', {graphName}: graph output '{output.Name}' is not produced by any node");
        }

        // Tensors held in attributes (Constant values) and subgraphs (If, Loop, Scan bodies), which see this scope.
        HashSet<string>? scope = null;
        for (int i = 0; i < g.Node.Count; i++)
        {
            var node = g.Node[i];
            foreach (var attr in node.Attribute)
            {
                string where = $"ONNX model '{source}', {graphName}, {Describe(node, i)}, attribute '{attr.Name}'";
                if (attr.T is not null) TensorChecks.CheckData(attr.T, where, dir);
                foreach (var t in attr.Tensors) TensorChecks.CheckData(t, where, dir);
                if (attr.G is null && attr.Graphs.Count == 0) continue;
                if (depth >= 16) throw new OnnxFormatException($"{where}: subgraphs nested more than 16 deep");
                if (scope is null)
                {
                    scope = new HashSet<string>(defined, StringComparer.Ordinal);
                    scope.UnionWith(producer.Keys);
                    if (outer is not null) scope.UnionWith(outer);
                }
                if (attr.G is not null) ValidateGraph(attr.G, source, dir, scope, depth + 1);
                foreach (var sub in attr.Graphs) ValidateGraph(sub, source, dir, scope, depth + 1);
            }
        }
    }

    // Kahn's algorithm; when nodes remain, walking their remaining predecessors must revisit a node, which lies on a cycle.
    private static void CheckAcyclic(GraphProto g, List<int>[] preds, string source, string graphName)
    {
        int n = preds.Length;
        var pending = new int[n];
        var succs = new List<int>[n];
        for (int i = 0; i < n; i++) succs[i] = [];
        for (int i = 0; i < n; i++)
        {
            foreach (int p in preds[i]) { pending[i]++; succs[p].Add(i); }
        }
        var ready = new Queue<int>();
        for (int i = 0; i < n; i++) if (pending[i] == 0) ready.Enqueue(i);
        int done = 0;
        while (ready.Count > 0)
        {
            int i = ready.Dequeue();
            done++;
            foreach (int s in succs[i]) if (--pending[s] == 0) ready.Enqueue(s);
        }
        if (done == n) return;
        int cur = Array.FindIndex(pending, c => c > 0);
        var seen = new HashSet<int>();
        while (seen.Add(cur)) cur = preds[cur].First(p => pending[p] > 0);
        throw new OnnxFormatException($"ONNX model '{source}', {graphName}: the nodes form a cycle through {Describe(g.Node[cur], cur)}");
    }
    /// <summary>
    /// Summarises a (validated) model: signature with symbolic dims kept as their names, opsets, producer, op histogram,
    /// parameter count and node count. Element counts are computed in 64 bits and saturate rather than overflow.
    /// </summary>
    public static OnnxModelInfo Summarize(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var g = model.Graph ?? new GraphProto();
        var initNames = new HashSet<string>(g.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var inputs = g.Input.Where(v => !initNames.Contains(v.Name)).Select(ValueInfo).ToList();
        var outputs = g.Output.Select(ValueInfo).ToList();
        var opsets = model.OpsetImport.Select(o => new OnnxOpsetInfo(o.Domain, o.Version)).ToList();
        var ops = g.Node
            .GroupBy(n => IsDefaultDomain(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}", StringComparer.Ordinal)
            .Select(grp => new KeyValuePair<string, int>(grp.Key, grp.Count()))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToList();
        long parameters = 0;
        foreach (var t in g.Initializer)
        {
            long n = 1;
            foreach (long d in t.Dims) n = d <= 0 ? 0 : (n > long.MaxValue / d ? long.MaxValue : n * d);
            parameters = parameters > long.MaxValue - n ? long.MaxValue : parameters + n;
        }
        string producer = $"{model.ProducerName} {model.ProducerVersion}".Trim();
        return new OnnxModelInfo(model.IrVersion, opsets, producer, inputs, outputs, ops, parameters, g.Node.Count);
    }

    private static OnnxValueInfo ValueInfo(ValueInfoProto v)
    {
        var type = v.Type;
        if (type is null) return new OnnxValueInfo(v.Name, "unknown", null);
        switch (type.ValueCase)
        {
            case TypeProto.ValueOneofCase.TensorType:
                return new OnnxValueInfo(v.Name, OnnxDataTypes.Name(type.TensorType.ElemType), Dims(type.TensorType.Shape));
            case TypeProto.ValueOneofCase.SparseTensorType:
                return new OnnxValueInfo(v.Name, "sparse " + OnnxDataTypes.Name(type.SparseTensorType.ElemType), Dims(type.SparseTensorType.Shape));
            case TypeProto.ValueOneofCase.SequenceType: return new OnnxValueInfo(v.Name, "sequence", null);
            case TypeProto.ValueOneofCase.MapType: return new OnnxValueInfo(v.Name, "map", null);
            case TypeProto.ValueOneofCase.OptionalType: return new OnnxValueInfo(v.Name, "optional", null);
            default: return new OnnxValueInfo(v.Name, "unknown", null);
        }
    }

    private static List<string>? Dims(TensorShapeProto? shape) => shape?.Dim.Select(d => d.ValueCase switch
    {
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(CultureInfo.InvariantCulture),
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
        _ => "?",
    }).ToList();
}
