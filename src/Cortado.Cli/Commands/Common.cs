// Options and helpers shared by the train, eval and demo commands.
using System.CommandLine;
using System.Text.Json;
using Cortado.Threading;

namespace Cortado.Cli.Commands;

internal static class Common
{
    public static Option<string> Dataset() => new("--dataset") { Description = "data set (fashion-mnist)", DefaultValueFactory = _ => "fashion-mnist" };

    public static Option<string?> DataDir() => new("--data-dir") { Description = "directory with the data set files (default: the installed data set, else the embedded sample)" };

    public static Option<int?> Threads() => new("--threads") { Description = "kernel threads (default: CORTADO_THREADS or the core count)" };

    public static Option<bool> Json() => new("--json") { Description = "print one JSON object as the last line of stdout" };

    public static void ApplyThreads(int? threads)
    {
        if (threads is int t)
        {
            if (t < 1) throw new ArgumentException($"--threads must be at least 1, got {t}");
            CortadoThreads.Count = t;
        }
    }

    /// <summary>The --bucket-mb option and its value in bytes, checked.</summary>
    public static Option<double> BucketMb(string description) => new("--bucket-mb") { Description = description, DefaultValueFactory = _ => 25 };

    public static long BucketBytes(double megabytes) =>
        megabytes > 0 ? (long)(megabytes * (1 << 20)) : throw new ArgumentException($"--bucket-mb must be positive, got {megabytes}");

    /// <summary>The --final-bucket-mb option (DdpOptions.FinalBucketBytes) and its value in bytes, checked.</summary>
    public static Option<double> FinalBucketMb() =>
        new("--final-bucket-mb") { Description = "distributed: largest size in MB of the last bucket, the first layers' gradients, which nothing overlaps (0: no limit of its own)", DefaultValueFactory = _ => 1 };

    public static long FinalBucketBytes(double megabytes) =>
        megabytes >= 0 ? (long)(megabytes * (1 << 20)) : throw new ArgumentException($"--final-bucket-mb must be 0 or more, got {megabytes}");

    /// <summary>The --no-optimize, --disable-pass and --no-arena options of commands that create an inference session.</summary>
    public static (Option<bool> noOptimize, Option<string[]> disablePass, Option<bool> noArena) Optimization() =>
    (
        new("--no-optimize") { Description = "run the graph as imported, without optimization passes" },
        new("--disable-pass") { Description = $"skip this optimization pass (repeatable): {string.Join(", ", Cortado.Graph.Passes.GraphOptimizer.PassNames)}", AllowMultipleArgumentsPerToken = true },
        new("--no-arena") { Description = "allocate every tensor of every run instead of reusing a memory arena planned per input shapes" }
    );

    public static Cortado.Graph.SessionOptions SessionOptions(ParseResult p, (Option<bool> noOptimize, Option<string[]> disablePass, Option<bool> noArena) o)
    {
        var off = p.GetValue(o.disablePass) ?? [];
        foreach (var name in off)
            if (!Cortado.Graph.Passes.GraphOptimizer.PassNames.Contains(name))
                throw new ArgumentException($"--disable-pass: unknown pass '{name}' (passes: {string.Join(", ", Cortado.Graph.Passes.GraphOptimizer.PassNames)})");
        return new Cortado.Graph.SessionOptions { Optimize = !p.GetValue(o.noOptimize), DisabledPasses = off, UseArena = !p.GetValue(o.noArena) };
    }

    public static string ToJson(object o) => JsonSerializer.Serialize(o, new JsonSerializerOptions { WriteIndented = false });
}
