// ONNX → IR import: older opset forms become the canonical node forms, and the imported graph runs correctly.
using Cortado.Graph;
using Cortado.Onnx;
using Google.Protobuf;
using Onnx;
using Xunit;
using static Cortado.Onnx.Tests.OnnxProtoBuilder;

namespace Cortado.Onnx.Tests;

public class ImporterTests
{
    private static ModelProto Model(int opset, GraphProto g)
    {
        var m = new ModelProto { IrVersion = 6, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        OnnxModel.Validate(m, "test");
        return m;
    }

    [Fact]
    public void Opset11AttributesBecomeConstantInputs()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Value("x", 1, 2, 3));
        g.Node.Add(Node("ReduceSum", ["x"], ["s"], Ints("axes", 1), Int("keepdims", 0)));
        g.Node.Add(Node("Unsqueeze", ["s"], ["u"], Ints("axes", 0)));
        g.Node.Add(Node("Split", ["x"], ["a", "b"], Int("axis", 1), Ints("split", 1, 2)));
        g.Output.Add(Value("u", 1, 1, 2));
        g.Output.Add(Value("a", 1, 2, 1));
        g.Output.Add(Value("b", 1, 2, 2));
        var graph = OnnxImporter.Import(Model(11, g));

        var reduce = graph.Nodes.Single(n => n.OpType == "ReduceSum");
        Assert.False(reduce.Has("axes"));
        Assert.Equal([1L], graph.Initializers[reduce.Inputs[1]].ToArray<long>());
        var split = graph.Nodes.Single(n => n.OpType == "Split");
        Assert.Equal([1L, 2L], graph.Initializers[split.Inputs[1]].ToArray<long>());
        Assert.All(graph.Nodes, n => Assert.Equal(11, n.Version));

        float[] x = [1, 2, 3, 4, 5, 6];
        var outs = new InferenceSession(graph).Run(new Dictionary<string, Tensor> { ["x"] = new(new Storage<float>(x), 2, 3) });
        Assert.Equal([1, 2], outs["u"].Dims);
        Assert.Equal([6f, 15f], outs["u"].ToArray<float>());
        Assert.Equal([1f, 4f], outs["a"].ToArray<float>());
        Assert.Equal([2f, 3f, 5f, 6f], outs["b"].ToArray<float>());
    }

    [Fact]
    public void UpsampleBecomesNearestResize()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Value("x", 1, 1, 1, 2, 2));
        var scales = new TensorProto { Name = "scales", DataType = 1 };
        scales.Dims.Add(4);
        scales.FloatData.AddRange([1f, 1f, 2f, 3f]);
        g.Initializer.Add(scales);
        g.Node.Add(Node("Upsample", ["x", "scales"], ["y"], new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("nearest") }));
        g.Output.Add(Value("y", 1, 1, 1, 4, 6));
        var graph = OnnxImporter.Import(Model(9, g));
        var node = Assert.Single(graph.Nodes);
        Assert.Equal("Resize", node.OpType);
        Assert.Equal("asymmetric", node.GetString("coordinate_transformation_mode", ""));
        var y = new InferenceSession(graph).Run(new Dictionary<string, Tensor> { ["x"] = new(new Storage<float>([1, 2, 3, 4]), 1, 1, 2, 2) })["y"];
        Assert.Equal([1, 1, 4, 6], y.Dims);
        // Nearest upsampling repeats each pixel 2× down and 3× across.
        Assert.Equal([1f, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4], y.ToArray<float>());
    }

    [Fact]
    public void SymbolicDimsAndSequenceTypesAreImported()
    {
        var g = new GraphProto { Name = "g" };
        var x = Value("x", 1, 3);
        x.Type.TensorType.Shape.Dim.Insert(0, new TensorShapeProto.Types.Dimension { DimParam = "N" });
        g.Input.Add(x);
        g.Node.Add(Node("SequenceConstruct", ["x", "x"], ["s"]));
        g.Node.Add(Node("ConcatFromSequence", ["s"], ["y"], Int("axis", 0), Int("new_axis", 1)));
        g.Output.Add(new ValueInfoProto { Name = "s", Type = new TypeProto { SequenceType = new TypeProto.Types.Sequence { ElemType = x.Type } } });
        g.Output.Add(Value("y", 1, 2, 1, 3));
        var graph = OnnxImporter.Import(Model(13, g));
        Assert.Equal("[N, 3]", SymDim.Format(graph.Inputs[0].Shape));
        Assert.Equal(ValueKind.Sequence, graph.Outputs[0].Kind);
        var outs = new InferenceSession(graph).RunValues(new Dictionary<string, object> { ["x"] = new Tensor(new Storage<float>([1, 2, 3]), 1, 3) });
        Assert.Equal(2, Assert.IsType<TensorSequence>(outs["s"]).Items.Count);
        var y = Assert.IsType<Tensor>(outs["y"]);
        Assert.Equal([2, 1, 3], y.Dims);
        Assert.Equal([1f, 2, 3, 1, 2, 3], y.ToArray<float>());
    }
}
