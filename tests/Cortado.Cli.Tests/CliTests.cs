// End-to-end tests of the cortado tool: train, eval, resume, determinism and error handling.
using System.Globalization;
using System.Text.Json;
using Cortado.IO;
using Cortado.NN;
using Cortado.TestKit;
using Cortado.Zoo;
using Xunit;

namespace Cortado.Cli.Tests;

public class CliTests
{
    private static JsonElement Json(CliResult r)
    {
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        return JsonDocument.Parse(r.LastLine).RootElement;
    }

    private static CliResult Train(string outDir, string model = "lenet", int epochs = 2, params string[] extra) =>
        CliRunner.Run(["train", "--model", model, "--dataset", "fashion-mnist", "--data-dir", SmallFashion.Directory,
                       "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "32", "--seed", "3",
                       "--out", outDir, "--json", .. extra]);

    [Fact]
    public void TrainPrintsTheJsonSummaryAndEvalReproducesIt()
    {
        var dir = CliRunner.TempDir();
        var j = Json(Train(dir, epochs: 4));
        foreach (var key in new[] { "model", "dataset", "epochs", "train_items", "test_accuracy", "test_loss", "items_per_s", "seconds", "checkpoint" })
            Assert.True(j.TryGetProperty(key, out _), $"missing '{key}' in {j}");
        Assert.Equal("lenet", j.GetProperty("model").GetString());
        Assert.Equal(512, j.GetProperty("train_items").GetInt32());
        var acc = j.GetProperty("test_accuracy").GetDouble();
        Assert.InRange(acc, 0.3, 1.0); // 10 classes: chance is 0.1; 4 epochs on 512 images learn well above it
        var ckpt = j.GetProperty("checkpoint").GetString()!;
        Assert.True(File.Exists(ckpt));

        var e = Json(CliRunner.Run("eval", "--checkpoint", ckpt, "--data-dir", SmallFashion.Directory, "--json"));
        Assert.Equal(acc, e.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(j.GetProperty("test_loss").GetDouble(), e.GetProperty("test_loss").GetDouble(), 5);
        Assert.Equal(256, e.GetProperty("items").GetInt32());
    }

    [Fact]
    public void TrainingTwiceGivesIdenticalResults()
    {
        var a = Json(Train(CliRunner.TempDir(), epochs: 1));
        var b = Json(Train(CliRunner.TempDir(), epochs: 1));
        Assert.Equal(a.GetProperty("test_accuracy").GetDouble(), b.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(a.GetProperty("test_loss").GetDouble(), b.GetProperty("test_loss").GetDouble());
        var wa = SafeTensors.Load(a.GetProperty("checkpoint").GetString()!).Tensors;
        var wb = SafeTensors.Load(b.GetProperty("checkpoint").GetString()!).Tensors;
        foreach (var (k, v) in wa) Assert.True(v.AsBytes().SequenceEqual(wb[k].AsBytes()), $"{k} differs between identical runs");
    }

    [Fact]
    public void ResumingMidTrainingEndsWithBitIdenticalWeights()
    {
        var straightDir = CliRunner.TempDir();
        var straight = Json(Train(straightDir, epochs: 3, extra: ["--keep-epochs"]));
        var afterOne = Path.Combine(straightDir, "epoch-1.safetensors");
        Assert.True(File.Exists(afterOne));
        var resumed = Json(Train(CliRunner.TempDir(), epochs: 3, extra: ["--resume", afterOne]));
        var a = SafeTensors.Load(straight.GetProperty("checkpoint").GetString()!).Tensors;
        var b = SafeTensors.Load(resumed.GetProperty("checkpoint").GetString()!).Tensors;
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        foreach (var (k, v) in a)
            Assert.True(v.AsBytes().SequenceEqual(b[k].AsBytes()), $"{k} differs between the straight and the resumed run");
        Assert.Equal(straight.GetProperty("test_accuracy").GetDouble(), resumed.GetProperty("test_accuracy").GetDouble());
        // The epoch-1 checkpoint really is an earlier state, not the final one.
        var early = SafeTensors.Load(afterOne).Tensors;
        Assert.False(early["model.c1.weight"].AsBytes().SequenceEqual(a["model.c1.weight"].AsBytes()));
    }

    private static void AssertCleanError(CliResult r, params string[] mentions)
    {
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("error: ", r.Stderr.Split('\n').Last(l => l.Length > 0), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        foreach (var m in mentions) Assert.Contains(m, r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDataDirectoryIsAOneLineError()
    {
        var missing = Path.Combine(CliRunner.TempDir(), "nowhere");
        AssertCleanError(CliRunner.Run("train", "--data-dir", missing, "--epochs", "1"), missing);
    }

    [Fact]
    public void CorruptCheckpointIsNamedAndThePreviousCheckpointSurvives()
    {
        var dir = CliRunner.TempDir();
        var good = Json(Train(dir, epochs: 1)).GetProperty("checkpoint").GetString()!;
        var before = File.ReadAllBytes(good);
        var bad = Path.Combine(dir, "truncated.safetensors");
        File.WriteAllBytes(bad, before[..(before.Length / 2)]);
        AssertCleanError(CliRunner.Run("eval", "--checkpoint", bad, "--data-dir", SmallFashion.Directory), "truncated.safetensors");
        AssertCleanError(Train(dir, epochs: 2, extra: ["--resume", bad]), "truncated.safetensors");
        Assert.Equal(before, File.ReadAllBytes(good));
    }

    [Fact]
    public void CheckpointOfAnotherModelIsRejected()
    {
        var dir = CliRunner.TempDir();
        var mlp = Json(Train(dir, model: "mlp", epochs: 1)).GetProperty("checkpoint").GetString()!;
        AssertCleanError(Train(CliRunner.TempDir(), epochs: 2, extra: ["--resume", mlp]), "mlp");

        // A file that claims to hold LeNet but has MLP weights fails strict loading, naming the file and the names.
        var fake = Path.Combine(dir, "fake-lenet.safetensors");
        var ck = Checkpoint.Load(mlp);
        new Checkpoint { ModelState = ck.ModelState, Info = new Dictionary<string, string> { ["model"] = "lenet" } }.Save(fake);
        AssertCleanError(CliRunner.Run("eval", "--checkpoint", fake, "--data-dir", SmallFashion.Directory), "fake-lenet.safetensors", "c1.weight");
    }

    [Fact]
    public void BadArgumentsAreReported()
    {
        AssertCleanError(CliRunner.Run("train", "--model", "nosuchnet", "--data-dir", SmallFashion.Directory), "nosuchnet");
        AssertCleanError(CliRunner.Run("train", "--epochs", "0", "--data-dir", SmallFashion.Directory), "--epochs");
    }
}

public class MemoryTests
{
    [Theory]
    [Trait("Category", "Slow")]
    [InlineData(1)]
    [InlineData(2)]
    public void LongTrainingRunKeepsMemoryFlat(int threads)
    {
        var r = CliRunner.Run(TimeSpan.FromMinutes(10), "bench", "memory", "--steps", "2000", "--early", "200", "--threads", threads.ToString(CultureInfo.InvariantCulture), "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var j = System.Text.Json.JsonDocument.Parse(r.LastLine).RootElement;
        long early = j.GetProperty("early_peak_working_set").GetInt64();
        long late = j.GetProperty("peak_working_set").GetInt64();
        Console.WriteLine($"{threads} thread(s): peak working set {early} bytes after 200 steps, {late} after 2000");
        Assert.True(late <= early * 1.10, $"peak working set grew from {early} to {late} bytes between step 200 and 2000 ({threads} threads)");
    }
}
