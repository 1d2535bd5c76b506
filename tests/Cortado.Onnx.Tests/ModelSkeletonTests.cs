// Loading a model file reads each large weight once, straight from the file into its tensor, and gives the same
// graph, the same bits and the same errors as parsing the whole file.
using System.Runtime.InteropServices;
using Cortado.Graph;
using Google.Protobuf;
using Onnx;
using Xunit;
using static Cortado.Onnx.Tests.OnnxProtoBuilder;
using IrGraph = Cortado.Graph.Graph;

namespace Cortado.Onnx.Tests;

public sealed class ModelSkeletonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cortado-skeleton-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TensorProto Raw<T>(string name, TensorProto.Types.DataType type, T[] values, params long[] dims) where T : unmanaged
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static float[] Uniform(int n, Random rng) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    // x[1,256] → MatMul w1 (256×512, raw, 512 KiB) → Add b1 (raw, 2 KiB: stays inline) → Relu → Reshape by an int64
    // shape (raw, inline) → MatMul w2 (512×10, raw float64 cast to float32, 40 KiB) → Add b2 (float_data) → y[1,10].
    private static ModelProto Mlp(Random rng)
    {
        var g = new GraphProto { Name = "mlp" };
        g.Input.Add(Value("x", 1, 1, 256));
        g.Output.Add(Value("y", 1, 1, 10));
        g.Initializer.Add(Raw("w1", TensorProto.Types.DataType.Float, Uniform(256 * 512, rng), 256, 512));
        g.Initializer.Add(Raw("b1", TensorProto.Types.DataType.Float, Uniform(512, rng), 512));
        g.Initializer.Add(Raw("shape", TensorProto.Types.DataType.Int64, new long[] { 1, 512 }, 2));
        g.Initializer.Add(Raw("w2", TensorProto.Types.DataType.Double, Uniform(512 * 10, rng).Select(v => (double)v).ToArray(), 512, 10));
        g.Initializer.Add(FloatTensor("b2", Uniform(10, rng), 10));
        g.Node.Add(Named("mm1", "MatMul", ["x", "w1"], ["h"]));
        g.Node.Add(Named("add1", "Add", ["h", "b1"], ["hb"]));
        g.Node.Add(Named("relu", "Relu", ["hb"], ["r"]));
        g.Node.Add(Named("reshape", "Reshape", ["r", "shape"], ["rs"]));
        g.Node.Add(Named("cast", "Cast", ["w2"], ["w2f"], Int("to", 1)));
        g.Node.Add(Named("mm2", "MatMul", ["rs", "w2f"], ["o"]));
        g.Node.Add(Named("add2", "Add", ["o", "b2"], ["y"]));
        var m = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    private string Write(ModelProto m, string name = "model.onnx")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, m.ToByteArray());
        return path;
    }

    [Fact]
    public void LargeWeightsAreReadOnceAndGiveTheParsedFilesBits()
    {
        var model = Mlp(new Random(3));
        string path = Write(model);
        long weightBytes = model.Graph.Initializer.Sum(t => (long)t.RawData.Length);

        // Warm up the code paths, so what is measured below is the load's own allocation.
        OnnxImporter.Load(path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var loaded = OnnxImporter.Load(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var parsed = OnnxImporter.Import(OnnxModel.Load(path), _dir);

        // Parsing the whole file allocates the weights at least twice (protobuf byte strings, then tensors).
        Assert.True(allocated < weightBytes * 5 / 4, $"loading allocated {allocated} bytes for {weightBytes} bytes of weights");
        Assert.Equal(parsed.Initializers.Keys.Order(), loaded.Initializers.Keys.Order());
        foreach (var (name, want) in parsed.Initializers)
        {
            var got = loaded.Initializers[name];
            Assert.Equal(want.DType, got.DType);
            Assert.Equal(want.Shape, got.Shape);
            Assert.True(want.AsBytes().SequenceEqual(got.AsBytes()), $"initializer '{name}' differs");
        }
        Assert.Equal(parsed.Nodes.Select(n => n.OpType), loaded.Nodes.Select(n => n.OpType));

        var x = new Dictionary<string, Tensor> { ["x"] = Tensor.Randn([1, 256], new Generator(5)) };
        var want2 = new InferenceSession(parsed).Run(x)["y"].ToArray<float>();
        var got2 = new InferenceSession(loaded).Run(x)["y"].ToArray<float>();
        Assert.Equal(want2, got2);
    }

    [Fact]
    public void ARawDataLengthThatDoesNotMatchTheDimsIsReportedAsSuch()
    {
        var model = Mlp(new Random(4));
        var w1 = model.Graph.Initializer.Single(t => t.Name == "w1");
        w1.RawData = ByteString.CopyFrom(w1.RawData.Span[..^4]);
        string path = Write(model);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path));
        Assert.Contains("'w1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("raw_data holds 524284 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileCutInsideAWeightIsReportedAsMalformed()
    {
        var bytes = Mlp(new Random(5)).ToByteArray();
        string path = Path.Combine(_dir, "cut.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path));
        Assert.Contains("cut.onnx", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FilesWhoseNameCannotBeALocationStillLoad()
    {
        // A file name with a colon is refused as an external-data location, and a link to a file in another directory
        // resolves outside the model's directory: the self-references fail their checks and the file is parsed whole.
        var model = Mlp(new Random(7));
        var want = OnnxImporter.Import(OnnxModel.Load(Write(model)), _dir);
        string colon = Write(model, "odd:name.onnx");
        var elsewhere = Directory.CreateTempSubdirectory("cortado-skeleton-target-").FullName;
        try
        {
            string target = Path.Combine(elsewhere, "real.onnx");
            File.WriteAllBytes(target, model.ToByteArray());
            string link = Path.Combine(_dir, "link.onnx");
            File.CreateSymbolicLink(link, target);
            foreach (var path in new[] { colon, link })
            {
                var got = OnnxImporter.Load(path);
                foreach (var (name, t) in want.Initializers)
                    Assert.True(t.AsBytes().SequenceEqual(got.Initializers[name].AsBytes()), $"{Path.GetFileName(path)}: initializer '{name}' differs");
            }
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void AWeightThatAlsoHasTypedValuesIsLeftToTheParser()
    {
        // raw_data and float_data both present: whatever the parser makes of it, loading by file must agree.
        var model = Mlp(new Random(6));
        model.Graph.Initializer.Single(t => t.Name == "w1").FloatData.Add(1f);
        string path = Write(model);
        string Outcome(Func<IrGraph> load)
        {
            try { load(); return "ok"; }
            catch (OnnxFormatException e) { return e.Message; }
        }
        Assert.Equal(Outcome(() => OnnxImporter.Import(OnnxModel.Load(path), _dir)), Outcome(() => OnnxImporter.Load(path)));
    }
}
