// `cortado bench train`: the JSON line per workload and the sanity of its figures.
using System.Text.Json;
using Xunit;

namespace Cortado.Cli.Tests;

public class BenchTrainTests
{
    [Fact]
    public void LenetPrintsOneSaneJsonLine()
    {
        var r = CliRunner.Run("bench", "train", "--workload", "lenet", "--steps", "2", "--json");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        var j = JsonDocument.Parse(line).RootElement;
        Assert.Equal(["workload", "threads", "step_ms", "p90_ms", "items_per_s"], j.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("lenet", j.GetProperty("workload").GetString());
        Assert.Equal(1, j.GetProperty("threads").GetInt32()); // CliRunner sets CORTADO_THREADS=1
        double step = j.GetProperty("step_ms").GetDouble(), p90 = j.GetProperty("p90_ms").GetDouble(), rate = j.GetProperty("items_per_s").GetDouble();
        Assert.InRange(step, 0.1, 60_000);
        Assert.True(p90 >= step, $"p90 {p90} ms below the median {step} ms");
        // items/s is the batch of 64 over the median step time (both rounded in the output).
        Assert.InRange(rate, 64 / (step / 1000) * 0.99, 64 / (step / 1000) * 1.01);
    }

    [Fact]
    public void AlternatingAllReducesOutsideAJobIsAnError()
    {
        var r = CliRunner.Run("bench", "train", "--workload", "lenet", "--steps", "1", "--alternate-allreduce");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--alternate-allreduce compares transports between ranks: run it under cortado launch", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownWorkloadIsAnError()
    {
        var r = CliRunner.Run("bench", "train", "--workload", "lenet,vgg", "--steps", "1");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("unknown workload 'vgg'", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("", r.Stdout.Trim()); // checked before any workload runs
    }
}
