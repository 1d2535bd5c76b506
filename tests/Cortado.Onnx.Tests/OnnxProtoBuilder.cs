// Small builders for ONNX protobuf messages that tests assemble by hand.
using Onnx;

namespace Cortado.Onnx.Tests;

internal static class OnnxProtoBuilder
{
    /// <summary>A tensor value of element type <paramref name="elemType"/> (TensorProto.DataType) and fixed dims.</summary>
    public static ValueInfoProto Value(string name, int elemType, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    /// <summary>An unnamed node.</summary>
    public static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attrs) => Named("", op, inputs, outputs, attrs);

    /// <summary>A node called <paramref name="name"/>.</summary>
    public static NodeProto Named(string name, string op, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { Name = name, OpType = op };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    /// <summary>A float32 initializer holding <paramref name="values"/>.</summary>
    public static TensorProto FloatTensor(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
}
