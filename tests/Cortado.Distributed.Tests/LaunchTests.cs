// cortado launch and cortado train --distributed: hostfiles, a missing MPI library, a killed rank and resuming.
using System.Diagnostics;
using System.Text.Json;
using Cortado.TestKit;
using Xunit;

namespace Cortado.Distributed.Tests;

public class LaunchTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Theory]
    [InlineData("node1 slots=2\nnode2 slots=x\n", "line 2", "positive whole number")]
    [InlineData("# only a comment\n\n", "names no hosts", "")]
    [InlineData("node1 cpus=4\n", "line 1", "unknown setting 'cpus'")]
    [InlineData("slots=2\n", "line 1", "is not a host name")]
    [InlineData("node1 slots=4 max_slots=2\n", "line 1", "less than slots")]
    [InlineData("node1 4\n", "line 1", "not a key=value")]
    public void AMalformedHostfileIsNamedWithItsLine(string text, string where, string what)
    {
        var f = Path.Combine(Mpi.TempDir(), "hosts");
        File.WriteAllText(f, text);
        var e = Assert.Throws<DistributedException>(() => MpiLauncher.ParseHostfile(f));
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void AWellFormedHostfileIsRead()
    {
        var f = Path.Combine(Mpi.TempDir(), "hosts");
        File.WriteAllText(f, "# cluster\nnode1 slots=2 max_slots=4\nnode-2.local   # no slots\n");
        var hosts = MpiLauncher.ParseHostfile(f);
        Assert.Equal([new HostEntry("node1", 2, 4), new HostEntry("node-2.local", null, null)], hosts);
        Assert.Throws<DistributedException>(() => MpiLauncher.ParseHostfile(f + ".missing"));
    }

    [Fact]
    public void LaunchRejectsABadHostfileBeforeStartingAnything()
    {
        var f = Path.Combine(Mpi.TempDir(), "hosts");
        File.WriteAllText(f, "node1 slots=two\n");
        var r = Mpi.RunDotnet(Limit, null, Mpi.Cortado, "launch", "-n", "2", "--hostfile", f, "--", "info");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"error: hostfile '{f}', line 1: 'slots=two' needs a positive whole number", r.Stderr);
    }

    [Fact]
    public void AMissingMpiLibraryIsNamed()
    {
        var env = new Dictionary<string, string> { ["CORTADO_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40" };
        var r = Mpi.RunDotnet(Limit, env, Mpi.Cortado, "train", "--distributed", "--epochs", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error: Open MPI's library was not found (tried /nonexistent/libmpi.so.40)", r.Stderr);
        Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", r.Stderr);
    }

    [Theory]
    [InlineData(2, null, 2, false, true, "--map-by slot:PE=1 --bind-to core")] // the cores shared out: one each
    [InlineData(2, 1, 16, false, true, "--map-by slot:PE=1 --bind-to core")]
    [InlineData(2, 4, 16, false, true, "--map-by slot:PE=4 --bind-to core")]
    [InlineData(2, 2, 2, false, true, "--bind-to none")] // four threads on two cores
    [InlineData(3, null, 2, false, true, "--bind-to none")] // more ranks than cores
    [InlineData(4, 3, 12, false, true, "--map-by slot:PE=3 --bind-to core")]
    [InlineData(2, null, 8, true, true, "--bind-to none")] // a hostfile: the other machines' cores are not known
    [InlineData(2, 1, 2, false, false, "--bind-to none")] // --bind-to none
    public void RanksAreBoundToTheirOwnCoresOnlyWhereTheirThreadsFit(int ranks, int? threads, int cores, bool multiHost, bool bind, string expected) =>
        Assert.Equal(expected, string.Join(' ', MpiLauncher.Placement(ranks, threads, cores, multiHost, bind)));

    [Theory]
    [InlineData("bench train --workload resnet18 --threads 1 --json", 1)]
    [InlineData("train --threads=3", 3)]
    [InlineData("bench gemm --threads 1,2 --n 256", 2)]
    [InlineData("bench train --threads two", null)]
    [InlineData("bench train --threads 0", null)]
    [InlineData("bench train --threads", null)]
    [InlineData("train --epochs 1", null)]
    public void TheCommandsThreadCountIsRead(string command, int? expected) =>
        Assert.Equal(expected, MpiLauncher.ThreadsOption(command.Split(' ')));

    [MpiFact]
    public void TwoRanksOnOneMachineRunOnDisjointCores()
    {
        int cores = Environment.ProcessorCount;
        var r = ChildProcess.Wait(Mpi.StartMpirun(2, new Dictionary<string, string>(), Mpi.Worker, "placement"), Limit);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var ranks = r.Stdout.Split('\n').Where(l => l.StartsWith("PLACEMENT ", StringComparison.Ordinal))
            .Select(l => l.Split(' ').Skip(1).Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1])).ToList();
        Assert.Equal(2, ranks.Count);
        // Each rank's share: CORTADO_THREADS when the test process has it, else the cores shared out.
        int share = int.TryParse(Environment.GetEnvironmentVariable("CORTADO_THREADS"), out int t) && t > 0 ? t : cores / 2;
        if (share < 1 || 2 * share > cores)
        {
            // Unbound: each rank may run on every core.
            Assert.All(ranks, p => Assert.Equal(cores.ToString(System.Globalization.CultureInfo.InvariantCulture), p["count"]));
            return;
        }
        Assert.All(ranks, p => Assert.Equal(share.ToString(System.Globalization.CultureInfo.InvariantCulture), p["count"]));
        var sets = ranks.Select(p => CpuList(p["cpus"])).ToList();
        Assert.All(sets, s => Assert.Equal(share, s.Count));
        Assert.Empty(sets[0].Intersect(sets[1]));
    }

    // "0-2,5" → {0, 1, 2, 5}
    private static HashSet<int> CpuList(string list) =>
        [.. list.Split(',').SelectMany(part => part.Split('-') is [var a, var b] ? Enumerable.Range(int.Parse(a), int.Parse(b) - int.Parse(a) + 1) : [int.Parse(part)])];

    [MpiFact]
    public void BenchTrainCanAlternateTheTwoAllReduceTransports()
    {
        var r = Mpi.RunDotnet(Limit, null, Mpi.Cortado, "launch", "-n", "2", "--", "bench", "train", "--workload", "lenet", "--threads", "1",
                              "--steps", "3", "--alternate-allreduce", "--json");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).ToArray();
        Assert.Equal(2, lines.Length);
        var transports = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(new[] { "shared memory", "MPI" }, transports.Select(j => j.GetProperty("allreduce").GetString() ?? "").ToArray());
        foreach (var j in transports)
        {
            Assert.Equal(2, j.GetProperty("ranks").GetInt32());
            Assert.InRange(j.GetProperty("step_ms").GetDouble(), 0.1, 60_000);
        }
    }

    [Fact]
    public void LaunchWithoutMpirunSaysSo()
    {
        var env = new Dictionary<string, string> { ["PATH"] = Mpi.TempDir() };
        var r = Mpi.RunDotnet(Limit, env, Mpi.Cortado, "launch", "-n", "2", "--", "info");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error: mpirun was not found on the PATH: install Open MPI", r.Stderr);
    }

    [Fact]
    public void TheLauncherNamesRanksThatFailedOrVanished()
    {
        var dir = Mpi.TempDir();
        File.WriteAllText(Path.Combine(dir, "rank-0"), "0");
        File.WriteAllText(Path.Combine(dir, "rank-1"), "3");
        var r = MpiLauncher.Collect(3, 0, dir, multiHost: false);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal(["rank 1 exited with code 3", "rank 2 ended without reporting an exit status (killed by a signal, or it crashed)"], r.Problems);
        Assert.Equal(0, MpiLauncher.Collect(2, 0, MakeAllOk(), multiHost: false).ExitCode);

        static string MakeAllOk()
        {
            var d = Mpi.TempDir();
            File.WriteAllText(Path.Combine(d, "rank-0"), "0");
            File.WriteAllText(Path.Combine(d, "rank-1"), "0");
            return d;
        }
    }

    [MpiFact]
    public void TrainingSurvivesAKilledRankByResumingFromTheCheckpointWithFewerRanks()
    {
        var data = SmallFashion.Directory;
        var outDir = Mpi.TempDir();
        var marker = Guid.NewGuid().ToString("N");
        var psi = ChildProcess.Dotnet([Mpi.Cortado, "launch", "-n", "2", "--", "train", "--data-dir", data, "--epochs", "40", "--batch-size", "32",
                                       "--workers", "0", "--fault-timeout", "4", "--out", outDir, "--json"],
                                      new Dictionary<string, string> { ["CORTADO_TEST_MARKER"] = marker });
        var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var checkpoint = Path.Combine(outDir, "checkpoint.safetensors");
        var wait = Stopwatch.StartNew();
        while (!File.Exists(checkpoint) && !p.HasExited && wait.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(50);
        if (!File.Exists(checkpoint)) Assert.Fail("no checkpoint appeared: " + stderr.Result);
        var ranks = Mpi.FindRanks(marker);
        if (!ranks.ContainsKey(1)) Assert.Fail($"rank 1 not found (found ranks {string.Join(", ", ranks.Keys)}; launch exited: {p.HasExited})");
        var clock = Stopwatch.StartNew();
        Mpi.Signal(ranks[1], "KILL");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(40)), "the launch did not end after a rank was killed");
        double seconds = clock.Elapsed.TotalSeconds;
        Assert.NotEqual(0, p.ExitCode);
        var err = stderr.Result;
        Assert.True(err.Contains("error: rank 1 stopped answering", StringComparison.Ordinal), "the survivor did not name rank 1:\n" + err);
        Assert.True(err.Contains("launch: rank 1 ended without reporting an exit status", StringComparison.Ordinal), "the launcher did not name rank 1:\n" + err);
        Assert.InRange(seconds, 3.5, 20);
        Assert.DoesNotContain("\"ranks\"", stdout.Result); // the run did not finish

        // Resume on one rank from the last whole epoch and finish the run.
        var r = Mpi.RunDotnet(Limit, null, Mpi.Cortado, "train", "--data-dir", data, "--epochs", "40", "--batch-size", "32", "--workers", "0",
                              "--out", outDir, "--resume", checkpoint, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches("resuming from .* at epoch ([2-9]|[1-3][0-9]|40),", r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal(40, json.RootElement.GetProperty("epochs").GetInt32());
        Assert.InRange(json.RootElement.GetProperty("test_accuracy").GetDouble(), 0.5, 1.0);
    }
}
