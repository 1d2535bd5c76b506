// `cortado conformance` and `cortado run` on node tests from the ONNX corpus, as a user runs them.
using System.Text.Json;
using Cortado.Onnx;
using Xunit;
using Xunit.Abstractions;

namespace Cortado.Cli.Tests;

public class EngineCommandTests(ITestOutputHelper output)
{
    private static string? Corpus()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cortado.sln"))) dir = dir.Parent;
        for (var up = dir?.Parent; up is not null; up = up.Parent)
        {
            var node = Path.Combine(up.FullName, "shared", "onnx-node-tests", "node");
            if (Directory.Exists(node)) return node;
        }
        return null;
    }

    [Fact]
    public void ConformanceJsonReportsEachTestAndSummary()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        var r = CliRunner.Run("conformance", root, "--filter", "^test_(relu|conv_with_strides_padding|gemm_default_no_bias)$", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(4, lines.Length);
        foreach (var line in lines[..3])
        {
            var j = JsonDocument.Parse(line).RootElement;
            Assert.True(j.GetProperty("pass").GetBoolean(), line);
        }
        var sum = JsonDocument.Parse(lines[3]).RootElement;
        Assert.Equal(3, sum.GetProperty("passed").GetInt32());
        Assert.Equal(0, sum.GetProperty("failed").GetInt32());
        Assert.Equal(3, sum.GetProperty("total").GetInt32());
    }

    [Fact]
    public void ConformanceReportsUnsupportedOpWithoutCrashing()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        var r = CliRunner.Run("conformance", root, "--filter", "^test_(strnormalizer_nostopwords_nochangecase|relu)$", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        var sum = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.Equal(2, sum.GetProperty("total").GetInt32());
        Assert.Equal(1, sum.GetProperty("passed").GetInt32());
        Assert.Contains(lines, l => l.Contains("unsupported op StringNormalizer", StringComparison.Ordinal));
    }

    [Fact]
    public void ConformanceSaysWhenARandomOpWasCheckedByDistribution()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        var r = CliRunner.Run("conformance", root, "--filter", "^test_(bernoulli|training_dropout_mask)$", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(3, lines.Length);
        foreach (var line in lines[..2])
        {
            var j = JsonDocument.Parse(line).RootElement;
            Assert.True(j.GetProperty("pass").GetBoolean(), line);
            Assert.StartsWith("random op checked by distribution:", j.GetProperty("why").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RunWritesOutputsMatchingReference()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        var test = Path.Combine(root, "test_conv_with_strides_padding");
        var outDir = CliRunner.TempDir();
        var r = CliRunner.Run("run", Path.Combine(test, "model.onnx"),
            "--input", "x=" + Path.Combine(test, "test_data_set_0", "input_0.pb"),
            "--input", "W=" + Path.Combine(test, "test_data_set_0", "input_1.pb"),
            "--output", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var got = OnnxTensors.Load(Path.Combine(outDir, "y.pb"));
        var expected = OnnxTensors.Load(Path.Combine(test, "test_data_set_0", "output_0.pb"));
        Assert.Null(OnnxConformance.Compare(got, expected));
    }

    [Fact]
    public void RunNamesAMissingInput()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        var r = CliRunner.Run("run", Path.Combine(root, "test_relu", "model.onnx"), "--output", CliRunner.TempDir());
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'x'", r.Stderr);
    }

    [Fact]
    public void BenchModelPrintsOneJsonLinePerBatchSize()
    {
        var root = Corpus();
        if (root is null) { output.WriteLine("skipped: shared/onnx-node-tests/node not found beside the repository"); return; }
        // A model with a fixed input shape: --batch cannot change fixed dims, so every line runs the declared shape.
        var model = Path.Combine(root, "test_conv_with_strides_padding", "model.onnx");
        var r = CliRunner.Run("bench", "model", model, "--batch", "1,2", "--threads", "1", "--runs", "5", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        for (int i = 0; i < 2; i++)
        {
            var j = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal("test_conv_with_strides_padding", j.GetProperty("model").GetString());
            Assert.Equal(i + 1, j.GetProperty("batch").GetInt32());
            Assert.Equal(1, j.GetProperty("threads").GetInt32());
            double p50 = j.GetProperty("p50_ms").GetDouble(), p90 = j.GetProperty("p90_ms").GetDouble(), p99 = j.GetProperty("p99_ms").GetDouble();
            Assert.True(p50 > 0 && p50 <= p90 && p90 <= p99, lines[i]);
            Assert.True(j.GetProperty("items_per_s").GetDouble() > 0, lines[i]);
            Assert.True(j.GetProperty("load_ms").GetDouble() > 0, lines[i]);
            Assert.True(j.GetProperty("peak_rss_bytes").GetInt64() > 1 << 20, lines[i]);
            Assert.True(j.GetProperty("arena_bytes").GetInt64() >= 0, lines[i]);
        }

        var bad = CliRunner.Run("bench", "model", model, "--disable-pass", "no-such-pass");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("unknown pass 'no-such-pass'", bad.Stderr + bad.Stdout);
    }
}
