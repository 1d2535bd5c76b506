// Mutation fuzzing of the whole path a model file takes: parse, import, plan a session, run it. Thousands of
// mutated models must each load and run, or fail with a typed Cortado error: never another exception, a
// hang or a runaway allocation. CORTADO_FUZZ_CASES and CORTADO_FUZZ_SEED run more or other cases.
using Cortado.Graph;
using Google.Protobuf;
using Onnx;
using Xunit;
using static Cortado.Onnx.Tests.OnnxProtoBuilder;
using IrGraph = Cortado.Graph.Graph;

namespace Cortado.Onnx.Tests;

public sealed class ModelFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cortado-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ---- seed models -----------------------------------------------------------------------------

    // A float32 initializer of uniform values in [-1, 1).
    private static TensorProto Floats(string name, Random rng, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        for (long i = 0; i < n; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        return FloatTensor(name, values, dims);
    }

    private static TensorProto Int64s(string name, long[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static ModelProto Wrap(GraphProto g)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "fuzz", ProducerVersion = "1", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    // Conv → BatchNormalization → Relu → MaxPool → Flatten → Gemm → Softmax.
    private static ModelProto Cnn(Random rng)
    {
        var g = new GraphProto { Name = "cnn" };
        g.Input.Add(Value("x", 1, 1, 1, 6, 6));
        g.Output.Add(Value("y", 1, 1, 3));
        g.Initializer.Add(Floats("w", rng, 2, 1, 3, 3));
        g.Initializer.Add(Floats("b", rng, 2));
        g.Initializer.Add(Floats("scale", rng, 2));
        g.Initializer.Add(Floats("shift", rng, 2));
        g.Initializer.Add(Floats("mean", rng, 2));
        var variance = Floats("var", rng, 2);
        for (int i = 0; i < variance.FloatData.Count; i++) variance.FloatData[i] = 1 + Math.Abs(variance.FloatData[i]);
        g.Initializer.Add(variance);
        g.Initializer.Add(Floats("w2", rng, 3, 18));
        g.Initializer.Add(Floats("b2", rng, 3));
        g.Node.Add(Named("conv", "Conv", ["x", "w", "b"], ["c"], Ints("pads", 1, 1, 1, 1), Ints("kernel_shape", 3, 3)));
        g.Node.Add(Named("bn", "BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["n"], Float("epsilon", 1e-5f)));
        g.Node.Add(Named("relu", "Relu", ["n"], ["r"]));
        g.Node.Add(Named("pool", "MaxPool", ["r"], ["p"], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
        g.Node.Add(Named("flat", "Flatten", ["p"], ["f"], Int("axis", 1)));
        g.Node.Add(Named("fc", "Gemm", ["f", "w2", "b2"], ["z"], Int("transB", 1)));
        g.Node.Add(Named("soft", "Softmax", ["z"], ["y"], Int("axis", -1)));
        return Wrap(g);
    }

    // Transpose → Reshape → Slice → Concat → Gather → ReduceSum → Unsqueeze → Expand → Cast.
    private static ModelProto ShapeOps(Random rng)
    {
        _ = rng;
        var g = new GraphProto { Name = "shape-ops" };
        g.Input.Add(Value("x", 1, 2, 3, 4));
        g.Output.Add(Value("y", 7));
        g.Initializer.Add(Int64s("shape", [2, 12], 2));
        g.Initializer.Add(Int64s("starts", [0, 2], 2));
        g.Initializer.Add(Int64s("ends", [2, 10], 2));
        g.Initializer.Add(Int64s("axes", [0, 1], 2));
        g.Initializer.Add(Int64s("idx", [1, 0, 1], 3));
        g.Initializer.Add(Int64s("raxes", [1], 1));
        g.Initializer.Add(Int64s("uaxes", [0], 1));
        g.Initializer.Add(Int64s("eshape", [2, 3], 2));
        g.Node.Add(Named("tr", "Transpose", ["x"], ["t"], Ints("perm", 0, 2, 1)));
        g.Node.Add(Named("rs", "Reshape", ["t", "shape"], ["r"]));
        g.Node.Add(Named("sl", "Slice", ["r", "starts", "ends", "axes"], ["s"]));
        g.Node.Add(Named("cat", "Concat", ["s", "s"], ["c"], Int("axis", 1)));
        g.Node.Add(Named("ga", "Gather", ["c", "idx"], ["ga"], Int("axis", 0)));
        g.Node.Add(Named("sum", "ReduceSum", ["ga", "raxes"], ["rs1"], Int("keepdims", 0)));
        g.Node.Add(Named("un", "Unsqueeze", ["rs1", "uaxes"], ["u"]));
        g.Node.Add(Named("ex", "Expand", ["u", "eshape"], ["e"]));
        g.Node.Add(Named("cast", "Cast", ["e"], ["y"], Int("to", (long)TensorProto.Types.DataType.Double)));
        return Wrap(g);
    }

    // MatMul by a weight in raw_data large enough to be read from the file directly (8 KiB), Relu, then MatMul by
    // a small raw weight that stays inline.
    private static ModelProto RawMlp(Random rng)
    {
        var g = new GraphProto { Name = "raw" };
        g.Input.Add(Value("x", 1, 1, 32));
        g.Output.Add(Value("y", 1, 1, 4));
        foreach (var (name, rows, cols) in new[] { ("w", 32, 64), ("w2", 64, 4) })
        {
            var values = Floats(name, rng, rows, cols).FloatData.ToArray();
            var t = new TensorProto { Name = name, DataType = 1, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
            t.Dims.AddRange([rows, cols]);
            g.Initializer.Add(t);
        }
        g.Node.Add(Named("mm", "MatMul", ["x", "w"], ["h"]));
        g.Node.Add(Named("relu", "Relu", ["h"], ["r"]));
        g.Node.Add(Named("mm2", "MatMul", ["r", "w2"], ["y"]));
        return Wrap(g);
    }

    // MatMul → Add → Tanh → Mul, Clip with min/max inputs, then If on a constant condition.
    private static ModelProto Dense(Random rng)
    {
        var g = new GraphProto { Name = "dense" };
        g.Input.Add(Value("x", 1, 2, 4));
        g.Output.Add(Value("y", 1, 2, 3));
        g.Initializer.Add(Floats("w", rng, 4, 3));
        g.Initializer.Add(Floats("b", rng, 3));
        g.Initializer.Add(new TensorProto { Name = "lo", DataType = 1, FloatData = { -0.5f } });
        g.Initializer.Add(new TensorProto { Name = "hi", DataType = 1, FloatData = { 0.5f } });
        g.Initializer.Add(new TensorProto { Name = "cond", DataType = (int)TensorProto.Types.DataType.Bool, Int32Data = { 1 } });
        g.Node.Add(Named("mm", "MatMul", ["x", "w"], ["m"]));
        g.Node.Add(Named("add", "Add", ["m", "b"], ["a"]));
        g.Node.Add(Named("tanh", "Tanh", ["a"], ["t"]));
        g.Node.Add(Named("mul", "Mul", ["t", "a"], ["p"]));
        g.Node.Add(Named("clip", "Clip", ["p", "lo", "hi"], ["c"]));
        var thenG = new GraphProto { Name = "then" };
        thenG.Output.Add(Value("tout", 1, 2, 3));
        thenG.Node.Add(Named("id", "Identity", ["c"], ["tout"]));
        var elseG = new GraphProto { Name = "else" };
        elseG.Output.Add(Value("eout", 1, 2, 3));
        elseG.Node.Add(Named("neg", "Neg", ["c"], ["eout"]));
        g.Node.Add(Named("if", "If", ["cond"], ["y"],
            new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = thenG },
            new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = elseG }));
        return Wrap(g);
    }

    // ---- mutations -------------------------------------------------------------------------------

    private static readonly string[] OpNames =
    [
        "Relu", "Add", "Conv", "Gemm", "MatMul", "Reshape", "Transpose", "Slice", "Concat", "Gather", "Softmax",
        "MaxPool", "AveragePool", "BatchNormalization", "Flatten", "Cast", "Expand", "Tile", "Pad", "Resize",
        "Split", "Squeeze", "Unsqueeze", "ReduceMean", "TopK", "Where", "If", "Loop", "Scan", "Identity",
        "ConstantOfShape", "Range", "OneHot", "Einsum", "NotAnOp", "",
    ];

    private static readonly long[] OddValues = [0, 1, -1, 2, 3, -2, 7, 64, 1 << 20, int.MaxValue, (long)int.MaxValue + 1, 1L << 40, long.MaxValue, long.MinValue];

    private static long Odd(Random rng) => OddValues[rng.Next(OddValues.Length)];

    private static string Mutate(ModelProto m, Random rng)
    {
        var g = m.Graph;
        if (g.Node.Count == 0) return "no-op"; // every node removed by an earlier step
        switch (rng.Next(16))
        {
            case 0:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                n.OpType = OpNames[rng.Next(OpNames.Length)];
                return $"node '{n.Name}' op → '{n.OpType}'";
            }
            case 1:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                if (n.Input.Count > 0 && rng.Next(2) == 0) n.Input.RemoveAt(rng.Next(n.Input.Count));
                else n.Input.Add(rng.Next(3) == 0 || g.Initializer.Count == 0 ? "" : g.Initializer[rng.Next(g.Initializer.Count)].Name);
                return $"node '{n.Name}' inputs → [{string.Join(", ", n.Input)}]";
            }
            case 2:
            {
                // Rewire an input to another value: possibly a later node's output (a cycle or wrong order).
                var n = g.Node[rng.Next(g.Node.Count)];
                var other = g.Node[rng.Next(g.Node.Count)];
                if (n.Input.Count == 0 || other.Output.Count == 0) return "no-op";
                n.Input[rng.Next(n.Input.Count)] = rng.Next(4) == 0 ? "ghost" : other.Output[0];
                return $"node '{n.Name}' inputs → [{string.Join(", ", n.Input)}]";
            }
            case 3:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                if (n.Attribute.Count == 0 || rng.Next(3) == 0)
                {
                    var names = new[] { "axis", "perm", "pads", "strides", "kernel_shape", "group", "dilations", "to", "keepdims", "transA", "epsilon", "alpha" };
                    var a = rng.Next(2) == 0 ? Int(names[rng.Next(names.Length)], Odd(rng)) : Ints(names[rng.Next(names.Length)], Odd(rng), Odd(rng));
                    n.Attribute.Add(a);
                    return $"node '{n.Name}' gains attribute {a.Name}";
                }
                var at = n.Attribute[rng.Next(n.Attribute.Count)];
                switch (rng.Next(4))
                {
                    case 0: at.I = Odd(rng); break;
                    case 1: at.Ints.Clear(); for (int i = rng.Next(6); i > 0; i--) at.Ints.Add(Odd(rng)); break;
                    case 2: at.Type = (AttributeProto.Types.AttributeType)rng.Next(15); break;
                    default: at.F = (float)(rng.Next(3) switch { 0 => double.NaN, 1 => -1e30, _ => 0 }); break;
                }
                return $"node '{n.Name}' attribute {at.Name} → {at.Type} i={at.I} ints=[{string.Join(", ", at.Ints)}] f={at.F}";
            }
            case 4:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                if (t.Dims.Count > 0 && rng.Next(3) > 0) t.Dims[rng.Next(t.Dims.Count)] = Odd(rng);
                else t.Dims.Add(Odd(rng));
                return $"initializer '{t.Name}' dims → [{string.Join(", ", t.Dims)}]";
            }
            case 5:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                t.DataType = rng.Next(25);
                return $"initializer '{t.Name}' data type → {t.DataType}";
            }
            case 6:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                var raw = new byte[rng.Next(3) == 0 ? rng.Next(64) : rng.Next(4096)];
                rng.NextBytes(raw);
                t.FloatData.Clear();
                t.Int64Data.Clear();
                t.Int32Data.Clear();
                t.RawData = ByteString.CopyFrom(raw);
                return $"initializer '{t.Name}' raw data of {raw.Length} bytes";
            }
            case 7:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                t.DataLocation = TensorProto.Types.DataLocation.External;
                string[] paths = ["../../etc/passwd", "/etc/hostname", "missing.bin", "", "sub/../../x.bin", "weights.bin"];
                t.ExternalData.Clear();
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = paths[rng.Next(paths.Length)] });
                if (rng.Next(2) == 0) t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = Odd(rng).ToString(System.Globalization.CultureInfo.InvariantCulture) });
                if (rng.Next(2) == 0) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = Odd(rng).ToString(System.Globalization.CultureInfo.InvariantCulture) });
                return $"initializer '{t.Name}' external at {string.Join(", ", t.ExternalData.Select(e => e.Key + "=" + e.Value))}";
            }
            case 8:
            {
                var vi = g.Input[rng.Next(g.Input.Count)];
                var dims = vi.Type.TensorType.Shape.Dim;
                if (dims.Count > 0 && rng.Next(4) > 0) dims[rng.Next(dims.Count)] = new TensorShapeProto.Types.Dimension { DimValue = Odd(rng) };
                else if (rng.Next(2) == 0) dims.Add(new TensorShapeProto.Types.Dimension { DimValue = Odd(rng) });
                else if (dims.Count > 0) dims.RemoveAt(rng.Next(dims.Count));
                return $"input '{vi.Name}' dims → [{string.Join(", ", dims.Select(d => d.DimValue))}]";
            }
            case 9:
            {
                var vi = g.Input[rng.Next(g.Input.Count)];
                vi.Type.TensorType.ElemType = rng.Next(25);
                return $"input '{vi.Name}' element type → {vi.Type.TensorType.ElemType}";
            }
            case 10:
            {
                int i = rng.Next(g.Node.Count), j = rng.Next(g.Node.Count);
                (g.Node[i], g.Node[j]) = (g.Node[j].Clone(), g.Node[i].Clone());
                return $"nodes {i} and {j} swapped";
            }
            case 11:
            {
                int i = rng.Next(g.Node.Count);
                if (rng.Next(2) == 0) g.Node.RemoveAt(i);
                else g.Node.Add(g.Node[i].Clone());
                return $"node {i} removed or duplicated";
            }
            case 12:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                g.Initializer.Remove(t);
                return $"initializer '{t.Name}' removed";
            }
            case 13:
            {
                m.OpsetImport[0].Version = rng.Next(-1, 20);
                m.IrVersion = rng.Next(0, 10);
                return $"opset {m.OpsetImport[0].Version}, IR {m.IrVersion}";
            }
            case 14:
            {
                if (g.Initializer.Count == 0) return "no-op";
                var t = g.Initializer[rng.Next(g.Initializer.Count)];
                // Element data disagreeing with the dims: too few or too many values.
                if (t.FloatData.Count > 0) { if (rng.Next(2) == 0) t.FloatData.RemoveAt(0); else t.FloatData.Add(1); }
                else if (t.Int64Data.Count > 0) { if (rng.Next(2) == 0) t.Int64Data.RemoveAt(0); else t.Int64Data.Add(Odd(rng)); }
                else t.Int32Data.Add(7);
                return $"initializer '{t.Name}' element count changed";
            }
            default:
            {
                var n = g.Node[rng.Next(g.Node.Count)];
                var a = n.Attribute.FirstOrDefault(x => x.G != null);
                if (a == null) return "no-op";
                var sub = a.G;
                if (sub.Node.Count > 0) sub.Node[0].OpType = OpNames[rng.Next(OpNames.Length)];
                if (rng.Next(2) == 0) sub.Output.Clear();
                return $"subgraph of '{n.Name}' mutated";
            }
        }
    }

    private static byte[] MutateBytes(byte[] bytes, Random rng, out string what)
    {
        var b = new List<byte>(bytes);
        switch (rng.Next(4))
        {
            case 0:
                for (int f = 1 + rng.Next(4); f > 0; f--) b[rng.Next(b.Count)] ^= (byte)(1 << rng.Next(8));
                what = "bit flips";
                break;
            case 1:
                b.RemoveRange(rng.Next(b.Count), b.Count - rng.Next(b.Count) > 0 ? 1 : 0);
                b = b.Take(rng.Next(b.Count + 1)).ToList();
                what = $"truncated to {b.Count} bytes";
                break;
            case 2:
                byte[] odd = [0x00, 0xFF, 0x7F, 0x80, 0x01];
                for (int f = 1 + rng.Next(3); f > 0; f--) b[rng.Next(b.Count)] = odd[rng.Next(odd.Length)];
                what = "bytes overwritten";
                break;
            default:
                int at = rng.Next(b.Count), len = 1 + rng.Next(Math.Min(64, b.Count - at));
                b.InsertRange(rng.Next(b.Count), b.GetRange(at, len));
                what = $"{len} bytes duplicated";
                break;
        }
        return [.. b];
    }

    // ---- the pipeline ----------------------------------------------------------------------------

    private static Dictionary<string, Tensor> Inputs(IrGraph graph, Random rng)
    {
        var inputs = new Dictionary<string, Tensor>();
        foreach (var vi in graph.RequiredInputs)
        {
            if (vi.DType is not { } dt || vi.Shape == null || vi.Shape.Any(d => d.Value is not (>= 0 and <= 64))) return [];
            long numel = vi.Shape.Aggregate(1L, (a, d) => a * d.Value!.Value);
            if (numel > 4096) return [];
            var dims = vi.Shape.Select(d => (int)d.Value!.Value).ToArray();
            inputs[vi.Name] = Tensor.Randn(dims, new Generator(rng.Next())).Cast(dt);
        }
        return inputs;
    }

    // Parse, import, plan and (when the inputs are small and fully shaped) run. Returns "ok", the typed
    // error's type, or throws what is not a Cortado error. viaFile loads the bytes as a model file (OnnxImporter.Load,
    // which reads large raw weights straight from the file) instead of parsing them from memory.
    private string Pipeline(byte[] bytes, Random rng, bool viaFile)
    {
        try
        {
            IrGraph graph;
            if (viaFile)
            {
                string path = Path.Combine(_dir, "fuzz.onnx");
                File.WriteAllBytes(path, bytes);
                graph = OnnxImporter.Load(path);
            }
            else graph = OnnxImporter.Import(OnnxModel.Parse(bytes, "fuzz.onnx", _dir), _dir);
            var session = new InferenceSession(graph);
            var inputs = Inputs(graph, rng);
            if (inputs.Count > 0 || !graph.RequiredInputs.Any()) session.Run(inputs);
            return "ok";
        }
        catch (CortadoException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            return e.GetType().Name;
        }
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ThousandsOfMutatedModelsLoadRunOrFailTyped()
    {
        int cases = int.Parse(Environment.GetEnvironmentVariable("CORTADO_FUZZ_CASES") ?? "5000");
        var master = new Random(int.Parse(Environment.GetEnvironmentVariable("CORTADO_FUZZ_SEED") ?? "20261122"));
        Func<Random, ModelProto>[] seeds = [Cnn, ShapeOps, Dense, RawMlp];
        // The seeds themselves load and run, from memory and from a file.
        foreach (var seed in seeds)
            foreach (bool viaFile in new[] { false, true })
                Assert.Equal("ok", Pipeline(seed(new Random(1)).ToByteArray(), new Random(1), viaFile));

        var outcomes = new Dictionary<string, int>();
        var failures = new List<string>();
        for (int k = 0; k < cases && failures.Count < 10; k++)
        {
            int caseSeed = master.Next();
            var rng = new Random(caseSeed);
            var model = seeds[rng.Next(seeds.Length)](rng);
            var steps = new List<string>();
            for (int s = 1 + rng.Next(3); s > 0; s--) steps.Add(Mutate(model, rng));
            var bytes = model.ToByteArray();
            if (rng.Next(4) == 0)
            {
                bytes = MutateBytes(bytes, rng, out var what);
                steps.Add(what);
            }
            string outcome = "";
            Exception? error = null;
            long allocated = 0;
            var worker = new Thread(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { outcome = Pipeline(bytes, rng, viaFile: k % 2 == 1); }
                catch (Exception e) { error = e; }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }, 64 << 20) { IsBackground = true };
            worker.Start();
            string label = $"case {k} (seed {caseSeed}: {string.Join("; ", steps)})";
            if (!worker.Join(TimeSpan.FromSeconds(20)))
            {
                failures.Add($"{label}: still running after 20 s");
                continue;
            }
            if (error != null) failures.Add($"{label}: {error.GetType().Name}: {error.Message}\n{error.StackTrace?.Split('\n').FirstOrDefault()}");
            // A mutated model may legitimately declare large tensors (pads of a million make a 600 MB
            // convolution output); what must never happen is an allocation no declared size bounds.
            else if (allocated > 4L << 30) failures.Add($"{label}: allocated {allocated >> 20} MiB");
            else outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        Console.WriteLine("fuzz outcomes: " + string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} mutated models failed badly:\n" + string.Join("\n", failures));
        // Both kinds of outcome occur: the mutations are neither all harmless nor all rejected.
        Assert.True(outcomes.GetValueOrDefault("ok") > cases / 50, "too few mutated models still ran: " + string.Join(", ", outcomes));
        Assert.True(outcomes.Where(o => o.Key != "ok").Sum(o => o.Value) > cases / 2, "too few mutated models were rejected");
    }
}
