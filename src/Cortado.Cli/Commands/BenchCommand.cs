// `cortado bench`: measurements that are programs rather than tests (training step time, memory over a long run).
using System.CommandLine;
using System.Diagnostics;
using Cortado.Diagnostics;
using Cortado.Distributed;
using Cortado.NN;
using Cortado.Threading;
using Cortado.Zoo;

namespace Cortado.Cli.Commands;

internal static class BenchCommand
{
    private sealed record TrainJson(string workload, int threads, double step_ms, double p90_ms, double items_per_s);
    private sealed record DistributedTrainJson(string workload, int ranks, int threads, double step_ms, double p90_ms, double items_per_s,
                                               double communication_ms_per_step, double hidden_share, string allreduce);

    private sealed record AlternatingTrainJson(string workload, int ranks, int threads, string allreduce, double step_ms, double p90_ms, double items_per_s);

    private sealed record MemoryJson(string workload, int early_steps, long early_peak_working_set, int steps, long peak_working_set, double ratio, double step_ms);

    public static Command Create()
    {
        var bench = new Command("bench", "benchmarks");
        bench.Subcommands.Add(Memory());
        bench.Subcommands.Add(Train());
        bench.Subcommands.Add(BenchModelCommand.Create());
        return bench;
    }

    // LeNet training on fixed random batches: the process's peak working set after the early steps and
    // after all of them. Flat memory means the ratio stays near 1.
    private static Command Memory()
    {
        var steps = new Option<int>("--steps") { Description = "training steps", DefaultValueFactory = _ => 2000 };
        var early = new Option<int>("--early") { Description = "steps after which the first reading is taken", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "batch size", DefaultValueFactory = _ => 64 };
        var threads = Common.Threads();
        var json = Common.Json();
        var cmd = new Command("memory", "peak working set of a long LeNet training run, early and late") { steps, early, batch, threads, json };
        cmd.SetAction(p =>
        {
            Common.ApplyThreads(p.GetValue(threads));
            int n = p.GetValue(steps), e = p.GetValue(early), b = p.GetValue(batch);
            if (e < 1 || n <= e) throw new ArgumentException($"--early must be at least 1 and below --steps ({e} vs {n})");
            var gen = new Generator(0);
            var net = new LeNet(gen: gen);
            var opt = new SGD(net.Parameters(), 0.01, momentum: 0.9);
            var inputs = Enumerable.Range(0, 8).Select(_ => Tensor.Randn([b, 1, 28, 28], gen)).ToArray();
            var targets = Enumerable.Range(0, 8).Select(_ => Tensor.RandInt(0, 10, [b], gen)).ToArray();
            long earlyPeak = 0;
            var proc = Process.GetCurrentProcess();
            var sw = Stopwatch.StartNew();
            for (int i = 1; i <= n; i++)
            {
                opt.ZeroGrad();
                Functional.CrossEntropy(net.Forward(inputs[i % 8]), targets[i % 8]).Backward();
                opt.Step();
                if (i % e == 0 && Environment.GetEnvironmentVariable("CORTADO_BENCH_TRACE") == "1")
                {
                    proc.Refresh();
                    Console.Error.WriteLine($"step {i}: peak {proc.PeakWorkingSet64 / 1048576.0:F1} MiB, working set {proc.WorkingSet64 / 1048576.0:F1} MiB, GC heap {GC.GetTotalMemory(false) / 1048576.0:F1} MiB, gen0 {GC.CollectionCount(0)} gen2 {GC.CollectionCount(2)}, allocated {GC.GetTotalAllocatedBytes() / 1048576.0 / i:F2} MiB/step, step-boundary collections {Cortado.Memory.StepCollector.Collections}");
                }
                if (i == e)
                {
                    proc.Refresh();
                    earlyPeak = proc.PeakWorkingSet64;
                }
            }
            proc.Refresh();
            long peak = proc.PeakWorkingSet64;
            var r = new MemoryJson("lenet", e, earlyPeak, n, peak, Math.Round((double)peak / earlyPeak, 4), Math.Round(sw.Elapsed.TotalMilliseconds / n, 3));
            Console.Error.WriteLine($"peak working set after {e} steps: {earlyPeak / 1048576.0:F1} MiB; after {n} steps: {peak / 1048576.0:F1} MiB (ratio {r.ratio:F3}); {r.step_ms:F2} ms/step");
            if (p.GetValue(json)) Console.WriteLine(Common.ToJson(r));
            return 0;
        });
        return cmd;
    }

    // One training step of each reference workload, built exactly as workload() in
    // ../shared/peers/torch_ref.py: zero_grad, forward, cross-entropy, backward, optimizer step.
    private static Command Train()
    {
        var workload = new Option<string>("--workload") { Description = "comma list of lenet, resnet18, lstm", DefaultValueFactory = _ => "lenet,resnet18,lstm" };
        var steps = new Option<int?>("--steps") { Description = "timed steps (default 30 for lenet, 8 otherwise), after 3 warm-up steps" };
        var threads = Common.Threads();
        var json = Common.Json();
        var bucketMb = Common.BucketMb("under cortado launch: gradient bucket size in MB");
        var finalBucketMb = Common.FinalBucketMb();
        var timelinePath = new Option<string?>("--timeline") { Description = "under cortado launch: write a Chrome trace per rank (PATH-rank-N.json)" };
        var alternate = new Option<bool>("--alternate-allreduce")
        {
            Description = "under cortado launch, ranks on one machine: alternate steps between the shared-memory allreduce and MPI's, and print one line for each",
        };
        var cmd = new Command("train", "median training-step time of the reference workloads (lenet, resnet18, lstm)") { workload, steps, threads, json, bucketMb, finalBucketMb, timelinePath, alternate };
        cmd.SetAction(p =>
        {
            Common.ApplyThreads(p.GetValue(threads));
            var names = p.GetValue(workload)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var name in names)
                if (name is not ("lenet" or "resnet18" or "lstm"))
                    throw new ArgumentException($"unknown workload '{name}'; known workloads: lenet, resnet18, lstm");
            if (p.GetValue(steps) is < 1) throw new ArgumentException($"--steps must be at least 1, got {p.GetValue(steps)}");
            if (p.GetValue(alternate) && ProcessGroup.LaunchedJobSize is not > 1)
                throw new ArgumentException("--alternate-allreduce compares transports between ranks: run it under cortado launch -n 2 or more");
            var ddpOptions = new DdpOptions { BucketBytes = Common.BucketBytes(p.GetValue(bucketMb)), FinalBucketBytes = Common.FinalBucketBytes(p.GetValue(finalBucketMb)) };
            // Under `cortado launch` (or mpirun) every rank trains its own batch with data-parallel DDP; the figures
            // are global: the slowest rank's step time and the items of all ranks per second.
            var group = ProcessGroup.LaunchedJobSize > 1 ? ProcessGroup.Init() : null;
            foreach (var name in names)
            {
                var (step, items, ddp) = Workload(name, group, ddpOptions);
                int n = p.GetValue(steps) ?? (name == "lenet" ? 30 : 8);
                using var timeline = group != null ? new Timeline(p.GetValue(timelinePath) is string tl ? $"{tl}-{name}" : null, group.Rank) : null;
                var (median, p90) = MedianTime(step, n, warmup: 3);
                if (group == null)
                {
                    var r = new TrainJson(name, CortadoThreads.Count, Math.Round(median * 1000, 2), Math.Round(p90 * 1000, 2), Math.Round(items / median, 1));
                    if (p.GetValue(json)) Console.WriteLine(Common.ToJson(r));
                    else Console.WriteLine($"{name,-9} {r.threads} threads: {r.step_ms,9:F2} ms/step (p90 {r.p90_ms:F2} ms), {r.items_per_s:F1} items/s");
                    continue;
                }
                if (p.GetValue(alternate))
                {
                    // Both transports in the same minutes: the host's noise falls on both alike.
                    var times = AlternatingTime(step, group, n, warmup: 3);
                    var all = Tensor.FromArray(times);
                    group.AllReduce(all, Distributed.ReduceOp.Max);
                    ddp!.Dispose();
                    if (!group.IsMain) continue;
                    for (int k = 0; k < 2; k++)
                    {
                        var (med, tail) = (all.AsSpan<double>()[2 * k], all.AsSpan<double>()[2 * k + 1]);
                        var a = new AlternatingTrainJson(name, group.Size, CortadoThreads.Count, k == 0 ? "shared memory" : "MPI",
                            Math.Round(med * 1000, 2), Math.Round(tail * 1000, 2), Math.Round(items * group.Size / med, 1));
                        if (p.GetValue(json)) Console.WriteLine(Common.ToJson(a));
                        else Console.WriteLine($"{name,-9} {a.ranks} ranks × {a.threads} threads, allreduce by {a.allreduce}: {a.step_ms,9:F2} ms/step, {a.items_per_s:F1} items/s");
                    }
                    continue;
                }
                var (comm, hidden) = timeline!.Summarize();
                var slowest = Tensor.FromArray(new[] { median, p90 });
                group.AllReduce(slowest, Distributed.ReduceOp.Max);
                (median, p90) = (slowest.AsSpan<double>()[0], slowest.AsSpan<double>()[1]);
                ddp!.Dispose();
                if (!group.IsMain) continue;
                var d = new DistributedTrainJson(name, group.Size, CortadoThreads.Count, Math.Round(median * 1000, 2), Math.Round(p90 * 1000, 2),
                    Math.Round(items * group.Size / median, 1), Math.Round(comm.TotalMilliseconds / (n + 3), 2),
                    Math.Round(comm > TimeSpan.Zero ? hidden / comm : 0, 3), group.AllReduceTransport);
                if (p.GetValue(json)) Console.WriteLine(Common.ToJson(d));
                else Console.WriteLine($"{name,-9} {d.ranks} ranks × {d.threads} threads: {d.step_ms,9:F2} ms/step, {d.items_per_s:F1} items/s, " +
                                       $"communication {d.communication_ms_per_step:F1} ms/step ({d.hidden_share:P0} hidden by overlap), allreduce by {d.allreduce}");
            }
            return 0;
        });
        return cmd;
    }

    // torch_ref.py's median_time: warm-up runs, then the median and 90th percentile of the timed runs.
    private static (double median, double p90) MedianTime(Action step, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++) step();
        var ts = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            step();
            ts[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return MedianAndP90(ts);
    }

    // Sorts the times in place: their median and 90th percentile, as torch_ref.py takes them.
    private static (double median, double p90) MedianAndP90(double[] ts)
    {
        Array.Sort(ts);
        return (ts[ts.Length / 2], ts[Math.Min(ts.Length - 1, (int)(ts.Length * 0.9))]);
    }

    // Steps alternate between the shared-memory allreduce and MPI's (both ranks switch between the same steps):
    // [median, p90] of the shared-memory steps, then of the MPI steps, each over `runs` steps.
    private static double[] AlternatingTime(Action step, ProcessGroup group, int runs, int warmup)
    {
        if (!group.AllReduceOverSharedMemory)
            throw new ArgumentException($"--alternate-allreduce needs the shared-memory allreduce, and this job's allreduce is by {group.AllReduceTransport}");
        var ts = new[] { new double[runs], new double[runs] };
        try
        {
            for (int i = 0; i < 2 * (warmup + runs); i++)
            {
                group.AllReduceOverSharedMemory = i % 2 == 0;
                long t0 = Stopwatch.GetTimestamp();
                step();
                if (i >= 2 * warmup) ts[i % 2][i / 2 - warmup] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
        }
        finally
        {
            group.AllReduceOverSharedMemory = true;
        }
        var (shmMedian, shmP90) = MedianAndP90(ts[0]);
        var (mpiMedian, mpiP90) = MedianAndP90(ts[1]);
        return [shmMedian, shmP90, mpiMedian, mpiP90];
    }

    private static (Action step, int items, DistributedDataParallel? ddp) Workload(string name, ProcessGroup? group, DdpOptions ddpOptions)
    {
        var gen = new Generator(0);
        Module m;
        Tensor x, y;
        Optimizer opt;
        int items;
        switch (name)
        {
            case "lenet":
                m = new LeNet(gen: gen);
                x = Tensor.Randn([64, 1, 28, 28], gen);
                y = Tensor.RandInt(0, 10, [64], gen);
                opt = new SGD(m.Parameters(), 0.01, momentum: 0.9);
                items = 64;
                break;
            case "resnet18":
                m = ResNet.ResNet18(3, 10, gen);
                x = Tensor.Randn([16, 3, 64, 64], gen);
                y = Tensor.RandInt(0, 10, [16], gen);
                opt = new SGD(m.Parameters(), 0.01, momentum: 0.9);
                items = 16;
                break;
            default:
                m = new LstmLanguageModel(10000, 256, 256, 2, gen);
                x = Tensor.RandInt(0, 10000, [32, 35], gen);
                y = Tensor.RandInt(0, 10000, [32 * 35], gen);
                opt = new Adam(m.Parameters(), 1e-3);
                items = 32 * 35;
                break;
        }
        var ddp = group != null ? new DistributedDataParallel(m, group, ddpOptions) : null;
        return (() =>
        {
            opt.ZeroGrad();
            Tensor loss;
            using (Tracing.Span("forward", "compute")) loss = Functional.CrossEntropy(m.Forward(x), y);
            using (Tracing.Span("backward", "compute")) loss.Backward();
            using (Tracing.Span("optimizer", "compute")) opt.Step();
        }, items, ddp);
    }
}
