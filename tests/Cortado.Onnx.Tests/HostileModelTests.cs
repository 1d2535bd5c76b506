// Malformed and hostile ONNX files built in the test: each must be rejected with OnnxFormatException naming the problem.
using System.Diagnostics;
using Google.Protobuf;
using Onnx;
using Xunit;
using static Cortado.Onnx.Tests.OnnxProtoBuilder;

namespace Cortado.Onnx.Tests;

public sealed class HostileModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cortado-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // x → Relu → h; h + W → y, with W a 2×2 initializer.
    private static ModelProto Valid()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Value("x", 1, 2, 2));
        g.Output.Add(Value("y", 1, 2, 2));
        g.Initializer.Add(FloatTensor("W", [1, 2, 3, 4], 2, 2));
        g.Node.Add(Named("relu", "Relu", ["x"], ["h"]));
        g.Node.Add(Named("add", "Add", ["h", "W"], ["y"]));
        var m = new ModelProto { IrVersion = 8, ProducerName = "hostile-test", ProducerVersion = "1", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    private static OnnxFormatException Rejects(ModelProto m, string? dir = null) =>
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(m.ToByteArray(), "hostile.onnx", dir));

    [Fact]
    public void ValidModelLoadsFromFileAndSummarises()
    {
        var path = Path.Combine(_dir, "ok.onnx");
        File.WriteAllBytes(path, Valid().ToByteArray());
        var info = OnnxModel.Summarize(OnnxModel.Load(path));
        Assert.Equal(8, info.IrVersion);
        Assert.Equal(17, info.DefaultOpset);
        Assert.Equal("hostile-test 1", info.Producer);
        Assert.Equal([new("Add", 1), new("Relu", 1)], info.Ops);
        Assert.Equal(4, info.Parameters);
        Assert.Equal(2, info.Nodes);
        Assert.Equal("x", Assert.Single(info.Inputs).Name);
    }

    [Fact]
    public void SymbolicDimsAndHistogramOrder()
    {
        var m = Valid();
        m.Graph.Input[0].Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        m.Graph.Node.Add(Named("relu2", "Relu", ["y"], ["z"]));
        m.Graph.Output[0].Name = "z";
        var info = OnnxModel.Summarize(OnnxModel.Parse(m.ToByteArray(), "m"));
        Assert.Equal(["batch", "2"], info.Inputs[0].Shape!);
        Assert.Equal([new("Relu", 2), new("Add", 1)], info.Ops);
    }

    [Fact]
    public void MissingEmptyAndGarbageFiles()
    {
        var missing = Path.Combine(_dir, "nope.onnx");
        Assert.Contains("nope.onnx", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(missing)).Message, StringComparison.Ordinal);
        var empty = Path.Combine(_dir, "empty.onnx");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty.onnx", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(empty)).Message, StringComparison.Ordinal);
        var garbage = Path.Combine(_dir, "garbage.onnx");
        File.WriteAllBytes(garbage, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        Assert.Contains("garbage.onnx", Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(garbage)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncationAtEveryLengthIsTypedOrLoads()
    {
        var bytes = Valid().ToByteArray();
        int rejected = 0;
        for (int len = 0; len < bytes.Length; len++)
        {
            try { OnnxModel.Parse(bytes[..len], "truncated.onnx"); }
            catch (OnnxFormatException) { rejected++; }
        }
        // A cut inside the graph field always breaks the length-delimited message, so nearly every prefix fails.
        Assert.True(rejected > bytes.Length * 9 / 10, $"{rejected} of {bytes.Length} truncations rejected");
    }

    [Fact]
    public void RandomByteFlipsOnlyRaiseTypedErrors()
    {
        var bytes = Valid().ToByteArray();
        var rng = new Random(12345);
        int loaded = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < 1000; k++)
        {
            var b = (byte[])bytes.Clone();
            int flips = 1 + rng.Next(4);
            for (int f = 0; f < flips; f++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
            try
            {
                var m = OnnxModel.Parse(b, "flipped.onnx");
                OnnxModel.Summarize(m);
                foreach (var t in m.Graph.Initializer)
                {
                    try { OnnxTensors.ToTensor(t, null); }
                    catch (OnnxFormatException) { }
                }
                loaded++;
            }
            catch (OnnxFormatException) { rejected++; }
        }
        Assert.Equal(1000, loaded + rejected);
        Assert.True(rejected > 0 && loaded > 0, $"loaded {loaded}, rejected {rejected}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"1000 mutations took {sw.Elapsed}");
    }

    [Fact]
    public void AnAttributeDeclaredWithoutItsValueNamesNodeAndAttribute()
    {
        var m = Valid();
        m.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph });
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Import(OnnxModel.Parse(m.ToByteArray(), "m.onnx")));
        Assert.Contains("'relu'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'body'", e.Message, StringComparison.Ordinal);
        Assert.Contains("no value", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("strides", new long[] { 0, 1 }, "'strides' value 0")]
    [InlineData("strides", new long[] { 1 }, "'strides' has 1 values, expected 2")]
    [InlineData("pads", new long[] { 0, 0, -1, 0 }, "'pads' value -1")]
    [InlineData("dilations", new long[] { 1L << 40, 1 }, "'dilations' value 1099511627776")]
    [InlineData("kernel_shape", new long[] { 9, 2 }, "does not fit spatial axis 0 of size 4")]
    public void PoolingWindowErrorsNameTheNode(string attribute, long[] values, string expected)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Value("x", 1, 1, 1, 4, 4));
        g.Output.Add(Value("y", 1, 1, 1, 2, 2));
        var pool = Named("pool", "MaxPool", ["x"], ["y"]);
        var kernel = new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 2, 2 } };
        if (attribute == "kernel_shape") kernel.Ints.Clear();
        else
        {
            var a = new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.Ints };
            a.Ints.AddRange(values);
            pool.Attribute.Add(a);
        }
        if (attribute == "kernel_shape") kernel.Ints.AddRange(values);
        pool.Attribute.Add(kernel);
        g.Node.Add(pool);
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var e = Assert.ThrowsAny<CortadoException>(() =>
        {
            var session = new Cortado.Graph.InferenceSession(OnnxImporter.Import(OnnxModel.Parse(m.ToByteArray(), "pool.onnx")));
            session.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([1, 1, 4, 4]) });
        });
        Assert.Contains("'pool'", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedVersionsAndMissingGraph()
    {
        var m = Valid();
        m.IrVersion = 9;
        var e = Rejects(m);
        Assert.Contains("IR version 9", e.Message, StringComparison.Ordinal);
        Assert.Contains("8", e.Message, StringComparison.Ordinal);
        m = Valid();
        m.OpsetImport[0].Version = 18;
        e = Rejects(m);
        Assert.Contains("opset 18", e.Message, StringComparison.Ordinal);
        Assert.Contains("17", e.Message, StringComparison.Ordinal);
        m = Valid();
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 99 });
        OnnxModel.Parse(m.ToByteArray(), "custom-domain.onnx"); // other domains are not limited
        m = Valid();
        m.Graph = null;
        Assert.Contains("no graph", Rejects(m).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GraphStructureErrorsNameTheNode()
    {
        var m = Valid();
        m.Graph.Node[1].Input[0] = "ghost";
        var e = Rejects(m);
        Assert.Contains("'add'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'ghost'", e.Message, StringComparison.Ordinal);

        m = Valid();
        m.Graph.Node.Add(Named("dup", "Relu", ["x"], ["h"]));
        e = Rejects(m);
        Assert.Contains("'h'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'relu'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'dup'", e.Message, StringComparison.Ordinal);

        // relu reads y, which add produces from relu's output: a two-node cycle.
        m = Valid();
        m.Graph.Node[0].Input[0] = "y";
        e = Rejects(m);
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains("'relu'", StringComparison.Ordinal) || e.Message.Contains("'add'", StringComparison.Ordinal), e.Message);

        m = Valid();
        m.Graph.Output[0].Name = "nowhere";
        Assert.Contains("'nowhere'", Rejects(m).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitializerDimsAndLengthsAreChecked()
    {
        var m = Valid();
        m.Graph.Initializer[0].Dims[0] = -2;
        Assert.Contains("negative", Rejects(m).Message, StringComparison.Ordinal);

        m = Valid();
        m.Graph.Initializer[0].Dims.Clear();
        m.Graph.Initializer[0].Dims.AddRange([1L << 40, 1L << 40]);
        var e = Rejects(m);
        Assert.Contains("'W'", e.Message, StringComparison.Ordinal);
        Assert.Contains("overflow", e.Message, StringComparison.Ordinal);

        m = Valid();
        m.Graph.Initializer[0].Dims.Clear();
        m.Graph.Initializer[0].Dims.AddRange([1L << 30, 1L << 20]);
        Assert.Contains("need", Rejects(m).Message, StringComparison.Ordinal);

        m = Valid();
        var w = m.Graph.Initializer[0];
        w.FloatData.Clear();
        w.RawData = ByteString.CopyFrom(new byte[15]);
        e = Rejects(m);
        Assert.Contains("raw_data holds 15 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("16", e.Message, StringComparison.Ordinal);
    }

    private ModelProto WithExternal(string location, long offset = 0, long length = -1)
    {
        var m = Valid();
        var w = m.Graph.Initializer[0];
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset != 0) w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length >= 0) w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return m;
    }

    [Fact]
    public void ExternalDataInsideTheDirectoryIsRead()
    {
        var bytes = new byte[8 + 16];
        var values = new float[] { 1.5f, -2, 3.25f, 1e-3f };
        Buffer.BlockCopy(values, 0, bytes, 8, 16);
        Directory.CreateDirectory(Path.Combine(_dir, "weights"));
        File.WriteAllBytes(Path.Combine(_dir, "weights", "w.bin"), bytes);
        var path = Path.Combine(_dir, "ext.onnx");
        File.WriteAllBytes(path, WithExternal("weights/w.bin", offset: 8, length: 16).ToByteArray());
        var m = OnnxModel.Load(path);
        var t = OnnxTensors.ToTensor(m.Graph.Initializer[0], _dir);
        Assert.Equal([2, 2], t.Dims);
        Assert.Equal(values, t.ToArray<float>());
    }

    [Fact]
    public void ExternalDataEscapesAndBadRangesAreRejected()
    {
        File.WriteAllBytes(Path.Combine(_dir, "w.bin"), new byte[16]);
        Assert.Contains("'..'", Rejects(WithExternal("../../etc/passwd"), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("absolute", Rejects(WithExternal("/etc/passwd"), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Rejects(WithExternal("missing.bin"), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("beyond", Rejects(WithExternal("w.bin", offset: 64), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("beyond", Rejects(WithExternal("w.bin", offset: 8, length: 16), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("need 16", Rejects(WithExternal("w.bin", length: 12), _dir).Message, StringComparison.Ordinal);
        Assert.Contains("directory", Rejects(WithExternal("w.bin"), dir: null).Message, StringComparison.Ordinal);

        // A symbolic link inside the directory that points outside it.
        var outside = Directory.CreateTempSubdirectory("cortado-onnx-outside-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(outside, "secret.bin"), new byte[16]);
            File.CreateSymbolicLink(Path.Combine(_dir, "link.bin"), Path.Combine(outside, "secret.bin"));
            Directory.CreateSymbolicLink(Path.Combine(_dir, "linkdir"), outside);
            Assert.Contains("outside", Rejects(WithExternal("link.bin"), _dir).Message, StringComparison.Ordinal);
            Assert.Contains("outside", Rejects(WithExternal("linkdir/secret.bin"), _dir).Message, StringComparison.Ordinal);
        }
        finally { Directory.Delete(outside, recursive: true); }
    }
}
