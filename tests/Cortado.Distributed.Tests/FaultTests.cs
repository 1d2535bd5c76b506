// A rank that dies or freezes: the survivor names it within the fault timeout, and training resumes from the checkpoint.
using System.Diagnostics;
using Cortado.TestKit;
using Xunit;

namespace Cortado.Distributed.Tests;

public class FaultTests
{
    private const double TimeoutSeconds = 4;

    // Starts the worker's allreduce loop on two ranks, waits until both run, and hands rank 1's pid to the fault.
    private static (ChildResult result, double secondsAfterFault) LoopWithFault(Action<int> fault, string statusDir, string sharedMemory = "1")
    {
        var marker = Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string>
        {
            ["CORTADO_TEST_MARKER"] = marker,
            ["CORTADO_FAULT_TIMEOUT"] = TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [LaunchStatus.DirectoryVariable] = statusDir,
            ["CORTADO_SHM_ALLREDUCE"] = sharedMemory,
        };
        var p = Mpi.StartMpirun(2, env, Mpi.Worker, "loop");
        var stdout = new System.Text.StringBuilder();
        var stderr = p.StandardError.ReadToEndAsync();
        int looping = 0;
        var deadline = Stopwatch.StartNew();
        while (looping < 2)
        {
            var line = p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the job ended before both ranks ran: " + stdout + stderr.Result);
            stdout.AppendLine(line);
            if (line.Contains("looping", StringComparison.Ordinal)) looping++;
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException("the ranks did not start");
        }
        Thread.Sleep(500);
        var ranks = Mpi.FindRanks(marker);
        Assert.True(ranks.ContainsKey(1), "rank 1's process was not found");
        var clock = Stopwatch.StartNew();
        fault(ranks[1]);
        var rest = p.StandardOutput.ReadToEndAsync();
        // The survivor must stop by itself; a frozen rank is then cleaned up so that mpirun can end.
        var survivorGone = Stopwatch.StartNew();
        while (Mpi.FindRanks(marker).ContainsKey(0) && survivorGone.Elapsed < TimeSpan.FromSeconds(TimeoutSeconds + 30)) Thread.Sleep(100);
        double seconds = clock.Elapsed.TotalSeconds;
        foreach (var pid in Mpi.FindRanks(marker).Values) Mpi.Signal(pid, "KILL");
        if (!p.WaitForExit(TimeSpan.FromMinutes(1))) p.Kill(true);
        p.WaitForExit();
        return (new ChildResult(p.ExitCode, stdout + rest.Result, stderr.Result), seconds);
    }

    // With the shared-memory allreduce (1) the survivor waits on the dead rank's counters; with MPI's (0), on its request.
    [MpiTheory]
    [InlineData("1")]
    [InlineData("0")]
    public void AKilledRankIsNamedByTheSurvivorWithinTheTimeout(string sharedMemory)
    {
        var status = Mpi.TempDir();
        var (r, seconds) = LoopWithFault(pid => Mpi.Signal(pid, "KILL"), status, sharedMemory);
        Assert.Contains("rank 1 stopped answering", r.Stderr);
        Assert.InRange(seconds, TimeoutSeconds - 0.5, TimeoutSeconds + 10);
        // The survivor reported failure; the killed rank reported nothing, which the launcher names.
        Assert.Equal("1", File.ReadAllText(Path.Combine(status, "rank-0")));
        var launch = MpiLauncher.Collect(2, r.ExitCode, status, multiHost: false);
        Assert.NotEqual(0, launch.ExitCode);
        Assert.Contains(launch.Problems, p => p.StartsWith("rank 1 ended without reporting", StringComparison.Ordinal));
    }

    [MpiFact]
    public void AFrozenRankIsNamedByTheSurvivorWithinTheTimeout()
    {
        var status = Mpi.TempDir();
        var (r, seconds) = LoopWithFault(pid => Mpi.Signal(pid, "STOP"), status);
        Assert.Contains("rank 1 stopped answering", r.Stderr);
        Assert.InRange(seconds, TimeoutSeconds - 0.5, TimeoutSeconds + 10);
        Assert.Equal("1", File.ReadAllText(Path.Combine(status, "rank-0")));
    }
}
