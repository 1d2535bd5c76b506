// `cortado bench model MODEL.onnx`: load time, latency percentiles, throughput and memory of an ONNX model per batch size.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Cortado.Graph;
using Cortado.Onnx;

namespace Cortado.Cli.Commands;

internal static class BenchModelCommand
{
    private sealed record ModelJson(string model, int batch, int threads, double load_ms, double p50_ms, double p90_ms, double p99_ms,
                                    double items_per_s, long arena_bytes, long peak_rss_bytes);

    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "ONNX model file (.onnx)" };
        var batches = new Option<string>("--batch") { Description = "comma list of batch sizes (the first input dim when it is symbolic)", DefaultValueFactory = _ => "1,8" };
        var threads = new Option<int>("--threads") { Description = "kernel threads", DefaultValueFactory = _ => 2 };
        var runs = new Option<int>("--runs") { Description = "timed runs per batch size, after the warm-up", DefaultValueFactory = _ => 30 };
        var warmup = new Option<int>("--warmup") { Description = "untimed runs per batch size first", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "one JSON object per batch size" };
        var profile = new Option<bool>("--profile") { Description = "time every node and print, per batch size, the op types and nodes that took longest (to stderr)" };
        var opt = Common.Optimization();
        var cmd = new Command("model", "latency percentiles, throughput and memory of an ONNX model per batch size (trtexec-like)")
            { model, batches, threads, runs, warmup, json, profile, opt.noOptimize, opt.disablePass, opt.noArena };
        cmd.SetAction(p =>
        {
            Common.ApplyThreads(p.GetValue(threads));
            int n = p.GetValue(runs), w = p.GetValue(warmup);
            if (n < 1) throw new ArgumentException($"--runs must be at least 1, got {n}");
            if (w < 0) throw new ArgumentException($"--warmup must not be negative, got {w}");
            var sizes = p.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int b) && b >= 1 ? b
                    : throw new ArgumentException($"--batch: '{s}' is not a positive integer")).ToArray();
            string file = p.GetValue(model)!;
            var options = Common.SessionOptions(p, opt) with { Profile = p.GetValue(profile) };

            var clock = Stopwatch.StartNew();
            var session = new InferenceSession(OnnxImporter.Load(file), options);
            double loadMs = clock.Elapsed.TotalMilliseconds;
            if (!p.GetValue(json) && session.Optimization is { } report) Console.WriteLine($"optimized: {report}");

            string name = Path.GetFileNameWithoutExtension(file) is var stem && stem == "model"
                ? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))) ?? stem : stem;
            foreach (int batch in sizes)
            {
                var feeds = RandomFeeds(session, batch);
                var arena = session.PlanMemory(feeds);
                for (int i = 0; i < w; i++) session.Run(feeds);
                session.Profile?.Reset();
                var ms = new double[n];
                for (int i = 0; i < n; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    session.Run(feeds);
                    ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                Array.Sort(ms);
                double P(double q) => ms[Math.Min(n - 1, (int)Math.Ceiling(q * n) - 1)];
                var r = new ModelJson(name, batch, Cortado.Threading.CortadoThreads.Count, Math.Round(loadMs, 1), Math.Round(P(0.5), 3),
                    Math.Round(P(0.9), 3), Math.Round(P(0.99), 3), Math.Round(batch * 1000 / P(0.5), 1), arena.ArenaBytes, PeakRss());
                if (p.GetValue(json)) Console.WriteLine(Common.ToJson(r));
                else Console.WriteLine($"{name} batch {batch}: p50 {r.p50_ms:F2} ms, p90 {r.p90_ms:F2} ms, p99 {r.p99_ms:F2} ms, {r.items_per_s:F1} items/s; " +
                                       $"arena {arena.ArenaBytes / 1048576.0:F1} MiB (intermediates {arena.TotalBytes / 1048576.0:F1} MiB), peak RSS {r.peak_rss_bytes / 1048576.0:F1} MiB");
                if (session.Profile is { } prof) PrintProfile(prof, name, batch, n);
            }
            return 0;
        });
        return cmd;
    }

    // The op types by total time, then the slowest nodes, in milliseconds per run.
    private static void PrintProfile(SessionProfile profile, string name, int batch, int runs)
    {
        var err = Console.Error;
        var ops = profile.ByOpType();
        double total = ops.Sum(o => o.TotalMs);
        err.WriteLine($"profile of {name} at batch {batch}: {total / runs:F3} ms per run in nodes");
        err.WriteLine($"  {"op",-24} {"nodes",5} {"ms/run",9} {"share",6}");
        foreach (var o in ops)
            err.WriteLine($"  {o.OpType,-24} {o.Nodes,5} {o.TotalMs / runs,9:F3} {100 * o.TotalMs / total,5:F1}%");
        err.WriteLine($"  slowest nodes:");
        int top = int.TryParse(Environment.GetEnvironmentVariable("CORTADO_PROFILE_NODES"), out int k) ? k : 15;
        foreach (var nd in profile.Nodes().OrderByDescending(x => x.TotalMs).Take(top))
            err.WriteLine($"  #{nd.Step,-4} {nd.OpType,-20} {nd.TotalMs / runs,9:F3} ms  {nd.Name}");
    }

    // Inputs of the graph at this batch size: fixed dims as declared, the first symbolic dim = batch, other symbolic
    // dims 1; floats uniform in [-1, 1), integers in [0, 100), as the peers' reference scripts feed them.
    private static Dictionary<string, Tensor> RandomFeeds(InferenceSession session, int batch)
    {
        var gen = new Generator(0);
        var feeds = new Dictionary<string, Tensor>();
        foreach (var info in session.Graph.RequiredInputs)
        {
            var shape = (info.Shape ?? []).Select((d, i) => d.Value is long v ? checked((int)v) : i == 0 ? batch : 1).ToArray();
            var dt = info.DType ?? DType.Float32;
            feeds[info.Name] = dt switch
            {
                DType.Int64 or DType.Int32 => Tensor.RandInt(0, 100, shape, gen).Cast(dt),
                DType.Bool => Tensor.RandInt(0, 2, shape, gen).Cast(DType.Bool),
                _ => Tensor.Rand(shape, gen, -1, 1).Cast(dt),
            };
        }
        return feeds;
    }

    // The process's peak resident set (.NET reads VmHWM from /proc/self/status on Linux).
    private static long PeakRss()
    {
        using var proc = Process.GetCurrentProcess();
        return proc.PeakWorkingSet64;
    }
}
