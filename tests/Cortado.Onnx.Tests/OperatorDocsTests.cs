// docs/operators.md must equal what the kernel registry generates, so the list cannot go stale.
using Cortado.Onnx;
using Xunit;

namespace Cortado.Onnx.Tests;

public class OperatorDocsTests
{
    [Fact]
    public void OperatorsMarkdownMatchesTheRegistry()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cortado.sln"))) dir = dir.Parent;
        Assert.True(dir is not null, "repository root (Cortado.sln) not found above " + AppContext.BaseDirectory);
        var file = Path.Combine(dir!.FullName, "docs", "operators.md");
        string actual = File.Exists(file) ? File.ReadAllText(file).ReplaceLineEndings("\n") : "";
        Assert.True(actual == OperatorDocs.Markdown(), $"docs/operators.md is out of date with the kernel registry; regenerate it with: {OperatorDocs.RegenerateCommand}");
    }

    [Fact]
    public void OperatorsMarkdownListsRegisteredOpsWithOpsetsAndDTypes()
    {
        var md = OperatorDocs.Markdown();
        // Opsets are the since-versions of the ONNX spec; dtypes are the kernel's declared ones (floats, ints, all abbreviated).
        Assert.Contains("| Bernoulli | ai.onnx | 15 | T1: float32, float64, float16; T2: all | Random |", md, StringComparison.Ordinal);
        Assert.Contains("| Conv | ai.onnx | 1, 11 | float32, float64, float16 | Conv |", md, StringComparison.Ordinal);
        Assert.Contains("| Add | ai.onnx | 1, 6, 7, 13, 14 | floats, ints | Elementwise |", md, StringComparison.Ordinal);
        Assert.Contains("| Gather | ai.onnx | 1, 11, 13 | T: all; Tind: int32, int64 | Shape |", md, StringComparison.Ordinal);
        Assert.Contains("| Scatter | ai.onnx | 9; deprecated at 11 |", md, StringComparison.Ordinal);
        Assert.Contains("| Adam | ai.onnx.preview.training | 1 | T1, T3: float32, float64 | Training |", md, StringComparison.Ordinal);
        Assert.Contains("| FusedConv | com.cortado | Cortado's own | float32, float64 | Fused |", md, StringComparison.Ordinal);
        Assert.DoesNotContain("| Bogus |", md, StringComparison.Ordinal);
        // Dtypes the spec allows and the table leaves out are listed after the table.
        Assert.Contains("- Erf: T: ints", md, StringComparison.Ordinal);
    }
}
