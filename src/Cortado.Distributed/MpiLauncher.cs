// Starts a program on N ranks through Open MPI's mpirun: hostfile checks, root-safe settings, per-rank exit status.
using System.Diagnostics;
using System.Globalization;

namespace Cortado.Distributed;

/// <summary>One line of an Open MPI hostfile: a host and its slot counts.</summary>
public sealed record HostEntry(string Host, int? Slots, int? MaxSlots);

/// <summary>The outcome of a launched job: the exit code to report and a line per rank that failed.</summary>
public sealed record LaunchResult(int ExitCode, int MpirunExitCode, IReadOnlyList<string> Problems);

/// <summary>
/// Wraps Open MPI's <c>mpirun</c> (what <c>cortado launch</c> runs). It checks the hostfile itself so that a
/// malformed one gives a clear error instead of mpirun's, adds the settings Open MPI needs to run as root,
/// runs the job in Open MPI's recovery mode (a dead rank does not kill the survivors before they can report
/// it), and collects each rank's exit status so that a rank killed by a signal is named.
/// </summary>
public static class MpiLauncher
{
    /// <summary>Reads and checks an Open MPI hostfile (<c>host [slots=N] [max_slots=N]</c> per line, # comments).</summary>
    /// <exception cref="DistributedException">The file is missing, empty, or a line is malformed; the message names the line.</exception>
    public static IReadOnlyList<HostEntry> ParseHostfile(string path)
    {
        if (!File.Exists(path)) throw new DistributedException($"hostfile '{path}' does not exist");
        var hosts = new List<HostEntry>();
        var lines = File.ReadAllLines(path);
        for (int n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) line = line[..hash];
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            string Where() => $"hostfile '{path}', line {n + 1}";
            var host = parts[0];
            if (host.Contains('=', StringComparison.Ordinal) || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '[' or ']'))
                throw new DistributedException($"{Where()}: '{host}' is not a host name (expected 'host [slots=N] [max_slots=N]')");
            int? slots = null, maxSlots = null;
            foreach (var kv in parts.Skip(1))
            {
                int eq = kv.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new DistributedException($"{Where()}: '{kv}' is not a key=value setting (expected slots=N or max_slots=N)");
                var key = kv[..eq];
                if (!int.TryParse(kv[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
                    throw new DistributedException($"{Where()}: '{kv}' needs a positive whole number");
                switch (key)
                {
                    case "slots": slots = value; break;
                    case "max_slots" or "max-slots": maxSlots = value; break;
                    default: throw new DistributedException($"{Where()}: unknown setting '{key}' (expected slots or max_slots)");
                }
            }
            if (slots != null && maxSlots != null && maxSlots < slots)
                throw new DistributedException($"{Where()}: max_slots={maxSlots} is less than slots={slots}");
            hosts.Add(new HostEntry(host, slots, maxSlots));
        }
        if (hosts.Count == 0) throw new DistributedException($"hostfile '{path}' names no hosts");
        return hosts;
    }

    /// <summary>The full path of <c>mpirun</c> on the PATH.</summary>
    /// <exception cref="DistributedException">mpirun is not installed.</exception>
    public static string FindMpirun()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "mpirun");
            if (File.Exists(p)) return p;
        }
        throw new DistributedException("mpirun was not found on the PATH: install Open MPI ('apt-get install openmpi-bin libopenmpi-dev')");
    }

    /// <summary>
    /// The mpirun arguments that start <paramref name="command"/> on <paramref name="ranks"/> ranks.
    /// <paramref name="threadsPerRank"/> is how many kernel threads each rank runs (null: CORTADO_THREADS, else this
    /// machine's cores shared out evenly); <paramref name="bind"/> false never binds ranks to cores (see <see cref="Placement"/>).
    /// </summary>
    public static List<string> BuildArguments(int ranks, string? hostfile, IReadOnlyList<string> command, bool forwardStatusDirectory = false,
        int? threadsPerRank = null, bool bind = true)
    {
        if (ranks < 1) throw new DistributedException($"the number of ranks must be at least 1, got {ranks}");
        if (command.Count == 0) throw new DistributedException("no command to launch: put it after '--'");
        if (threadsPerRank == null && int.TryParse(Environment.GetEnvironmentVariable("CORTADO_THREADS"), NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0)
            threadsPerRank = t;
        var args = new List<string> { "-n", ranks.ToString(CultureInfo.InvariantCulture), "--enable-recovery" };
        args.AddRange(Placement(ranks, threadsPerRank, Environment.ProcessorCount, multiHost: hostfile != null, bind));
        if (hostfile != null)
        {
            ParseHostfile(hostfile);
            args.AddRange(["--hostfile", hostfile]);
        }
        else
        {
            // One machine: allow more ranks than cores rather than refusing the job.
            args.Add("--oversubscribe");
        }
        // Forward Cortado's settings to every rank (mpirun forwards only what -x names to remote hosts).
        if (forwardStatusDirectory) args.AddRange(["-x", LaunchStatus.DirectoryVariable]);
        foreach (var name in new[] { "CORTADO_THREADS", "CORTADO_FAULT_TIMEOUT", "CORTADO_MPI_LIBRARY" })
            if (Environment.GetEnvironmentVariable(name) != null) args.AddRange(["-x", name]);
        args.AddRange(command);
        return args;
    }

    /// <summary>
    /// How mpirun places the ranks. On one machine whose <paramref name="cores"/> hold every rank's threads
    /// (<paramref name="threadsPerRank"/>, or the cores shared out evenly when null), each rank is bound to its own
    /// cores (<c>--map-by slot:PE=T --bind-to core</c>), and a rank's default thread count is then its share. A rank's
    /// communication thread then takes turns with its own compute threads only, not with a peer's, so the work
    /// of the allreduce slows every rank alike instead of whichever rank the scheduler picks: resnet18 on 2 ranks ×
    /// 1 thread was faster bound than unbound in 20 of 26 interleaved rounds on 2026-12-07 (docs/benchmarks.md).
    /// Otherwise (more threads than cores, several machines whose cores are not known here, or
    /// <paramref name="bind"/> false) the ranks are not bound (<c>--bind-to none</c>).
    /// </summary>
    public static string[] Placement(int ranks, int? threadsPerRank, int cores, bool multiHost, bool bind)
    {
        int perRank = threadsPerRank ?? cores / Math.Max(1, ranks);
        if (!bind || multiHost || perRank < 1 || (long)ranks * perRank > cores) return ["--bind-to", "none"];
        return ["--map-by", "slot:PE=" + perRank.ToString(CultureInfo.InvariantCulture), "--bind-to", "core"];
    }

    /// <summary>
    /// The kernel threads a cortado command asks for with <c>--threads N</c> (or <c>--threads=N</c>; of a list such as
    /// <c>1,2</c>, the largest); null when it does not say or the value is not a list of positive numbers.
    /// </summary>
    public static int? ThreadsOption(IReadOnlyList<string> command)
    {
        for (int i = 0; i < command.Count; i++)
        {
            string? value = command[i] == "--threads" && i + 1 < command.Count ? command[i + 1]
                : command[i].StartsWith("--threads=", StringComparison.Ordinal) ? command[i]["--threads=".Length..] : null;
            if (value == null) continue;
            int most = 0;
            foreach (var part in value.Split(','))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1) return null;
                most = Math.Max(most, n);
            }
            return most;
        }
        return null;
    }

    /// <summary>
    /// Prepares mpirun's environment: the variables Open MPI requires before it runs as root (containers, CI
    /// machines), and TERM=dumb — the ranks' output reaches the terminal through mpirun's pipes, and a rank that
    /// believes it has a terminal would write terminal-mode escape codes into it.
    /// </summary>
    public static void PrepareEnvironment(ProcessStartInfo psi)
    {
        ArgumentNullException.ThrowIfNull(psi);
        psi.Environment["TERM"] = "dumb";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
    }

    /// <summary>
    /// Runs <paramref name="command"/> on <paramref name="ranks"/> ranks and waits; standard output and error
    /// pass through. The result's exit code is non-zero when mpirun or any rank failed, or a rank ended
    /// without reporting a status (killed by a signal).
    /// </summary>
    public static LaunchResult Run(int ranks, string? hostfile, IReadOnlyList<string> command, bool bind = true)
    {
        var mpirun = FindMpirun();
        var statusDir = Directory.CreateTempSubdirectory("cortado-launch-");
        try
        {
            var psi = new ProcessStartInfo(mpirun) { UseShellExecute = false };
            psi.Environment[LaunchStatus.DirectoryVariable] = statusDir.FullName;
            foreach (var a in BuildArguments(ranks, hostfile, command, forwardStatusDirectory: true, ThreadsOption(command), bind)) psi.ArgumentList.Add(a);
            PrepareEnvironment(psi);
            using var p = Process.Start(psi) ?? throw new DistributedException($"could not start {mpirun}");
            p.WaitForExit();
            return Collect(ranks, p.ExitCode, statusDir.FullName, multiHost: hostfile != null);
        }
        finally
        {
            try { statusDir.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Combines mpirun's exit code with the ranks' reported statuses.</summary>
    internal static LaunchResult Collect(int ranks, int mpirunCode, string statusDir, bool multiHost)
    {
        var problems = new List<string>();
        int code = mpirunCode;
        for (int r = 0; r < ranks; r++)
        {
            var f = Path.Combine(statusDir, $"rank-{r}");
            if (File.Exists(f) && int.TryParse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture, out int rc))
            {
                if (rc != 0)
                {
                    problems.Add($"rank {r} exited with code {rc}");
                    if (code == 0) code = rc;
                }
            }
            else if (!multiHost)
            {
                // Status files are written on each rank's machine; only on one machine can a missing one be judged.
                problems.Add($"rank {r} ended without reporting an exit status (killed by a signal, or it crashed)");
                if (code == 0) code = 1;
            }
        }
        return new LaunchResult(code, mpirunCode, problems);
    }
}
