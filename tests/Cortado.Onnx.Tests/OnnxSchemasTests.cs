// The embedded ONNX schema data holds what the ONNX specification says of a few ops (facts taken from the spec's operator pages).
using Xunit;

namespace Cortado.Onnx.Tests;

public class OnnxSchemasTests
{
    [Fact]
    public void SchemasComeFromOnnx112UpToOpset17()
    {
        Assert.Equal("1.12.0", OnnxSchemas.OnnxPackageVersion);
        Assert.Equal(17, OnnxSchemas.MaxOpset);
        Assert.All(OnnxSchemas.Ops.Where(o => o.Domain == "ai.onnx"), o => Assert.All(OnnxSchemas.Versions(o.Domain, o.OpType), v => Assert.True(v.SinceVersion <= 17)));
        Assert.Contains(("ai.onnx.preview.training", "Adam"), OnnxSchemas.Ops);
    }

    [Fact]
    public void VersionsAreTheSinceVersionsOldestFirst()
    {
        Assert.Equal([1, 6, 7, 13, 14], OnnxSchemas.Versions("ai.onnx", "Add").Select(v => v.SinceVersion));
        Assert.Equal([1, 6, 7, 13, 14], OnnxSchemas.Versions("", "Add").Select(v => v.SinceVersion));
        Assert.Equal(7, OnnxSchemas.At("", "Add", 12)!.SinceVersion);
        Assert.Null(OnnxSchemas.At("", "Trilu", 13)); // Trilu appeared at opset 14
        Assert.Empty(OnnxSchemas.Versions("com.cortado", "FusedConv"));
        var scatter = OnnxSchemas.Versions("", "Scatter");
        Assert.Equal([(9, false), (11, true)], scatter.Select(v => (v.SinceVersion, v.Deprecated)));
    }

    [Fact]
    public void FormalParametersAndTypeConstraintsUseCortadoNames()
    {
        var gather = OnnxSchemas.At("", "Gather", 13)!;
        Assert.Equal(["data", "indices"], gather.Inputs.Select(i => i.Name));
        Assert.Equal(["T", "Tind"], gather.Inputs.Select(i => i.Type));
        Assert.Equal(["int32", "int64"], gather.TypeConstraints["Tind"]);
        Assert.Contains("bfloat16", gather.TypeConstraints["T"]);
        Assert.Contains("bool", gather.TypeConstraints["T"]);

        var clip = OnnxSchemas.At("", "Clip", 13)!;
        Assert.Equal([OnnxParamOption.Single, OnnxParamOption.Optional, OnnxParamOption.Optional], clip.Inputs.Select(i => i.Option));
        var concat = OnnxSchemas.At("", "Concat", 13)!;
        Assert.Equal(OnnxParamOption.Variadic, concat.Inputs.Single().Option);

        var shape = OnnxSchemas.At("", "Shape", 15)!;
        Assert.Equal("T1", shape.Outputs.Single().Type);
        Assert.Equal(["int64"], shape.TypeConstraints["T1"]);
        var reshape = OnnxSchemas.At("", "Reshape", 14)!;
        Assert.Equal("int64", reshape.Inputs[1].Type); // a concrete type, not a type parameter

        var at = OnnxSchemas.At("", "SequenceAt", 11)!;
        Assert.Contains("seq(float32)", at.TypeConstraints["S"]);
        Assert.Contains("float64", at.TypeConstraints["T"]);
        var opt = OnnxSchemas.At("", "Optional", 15)!;
        Assert.Contains("optional(seq(int64))", opt.TypeConstraints["O"]);
    }
}
