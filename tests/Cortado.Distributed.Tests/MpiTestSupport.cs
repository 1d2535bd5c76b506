// Running the worker and the cortado tool under mpirun from tests, and skipping when Open MPI is absent.
using System.Diagnostics;
using Cortado.TestKit;
using Xunit;

namespace Cortado.Distributed.Tests;

/// <summary>
/// A test that needs Open MPI. It is skipped, with the reason, when mpirun or libmpi is missing — unless
/// CORTADO_REQUIRE_MPI=1 (set by ./test.sh, which installs Open MPI), where it runs and fails instead.
/// </summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpi.MissingReason is string why && Environment.GetEnvironmentVariable("CORTADO_REQUIRE_MPI") != "1") Skip = why;
    }
}

/// <summary>A theory that needs Open MPI, skipped or required as <see cref="MpiFactAttribute"/>.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (Mpi.MissingReason is string why && Environment.GetEnvironmentVariable("CORTADO_REQUIRE_MPI") != "1") Skip = why;
    }
}

internal static class Mpi
{
    public static string? MissingReason
    {
        get
        {
            try
            {
                MpiLauncher.FindMpirun();
            }
            catch (DistributedException e)
            {
                return "Open MPI is not installed here (" + e.Message + "); ./test.sh installs it";
            }
            return System.Runtime.InteropServices.NativeLibrary.TryLoad("libmpi.so.40", out _) ? null : "libmpi.so.40 is not installed; ./test.sh installs it";
        }
    }

    public static string Worker => Path.Combine(AppContext.BaseDirectory, "Cortado.Distributed.Worker.dll");

    public static string Cortado => Path.Combine(AppContext.BaseDirectory, "cortado.dll");

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "cortado-distributed-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Starts <c>mpirun -n <paramref name="ranks"/></c> on dotnet with <paramref name="program"/>, as cortado launch would.</summary>
    public static Process StartMpirun(int ranks, IReadOnlyDictionary<string, string> env, params string[] program)
    {
        var psi = new ProcessStartInfo(MpiLauncher.FindMpirun()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in MpiLauncher.BuildArguments(ranks, null, ["dotnet", .. program])) psi.ArgumentList.Add(a);
        MpiLauncher.PrepareEnvironment(psi);
        psi.Environment["CORTADO_THREADS"] = "1";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    public static ChildResult RunMpi(int ranks, TimeSpan timeout, params string[] program) =>
        ChildProcess.Wait(StartMpirun(ranks, new Dictionary<string, string>(), program), timeout);

    /// <summary>Runs a program on dotnet without mpirun.</summary>
    public static ChildResult RunDotnet(TimeSpan timeout, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        ChildProcess.Run(ChildProcess.Dotnet(args, env), timeout);

    /// <summary>Process ids of the ranks started with <paramref name="marker"/> in their environment, by rank.</summary>
    public static Dictionary<int, int> FindRanks(string marker)
    {
        var found = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string env;
            try
            {
                env = File.ReadAllText(Path.Combine(dir, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var vars = env.Split('\0');
            if (!vars.Contains("CORTADO_TEST_MARKER=" + marker)) continue;
            var rankVar = vars.FirstOrDefault(v => v.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
            if (rankVar == null) continue;
            try
            {
                if (!Process.GetProcessById(pid).ProcessName.StartsWith("dotnet", StringComparison.Ordinal)) continue;
            }
            catch (ArgumentException)
            {
                continue;
            }
            found[int.Parse(rankVar[21..], System.Globalization.CultureInfo.InvariantCulture)] = pid;
        }
        return found;
    }

    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
