// Open MPI settings Cortado chooses before MPI starts, unless the user has chosen them.
using System.Runtime.InteropServices;

namespace Cortado.Distributed;

/// <summary>
/// MCA parameters set in this process's environment before <c>MPI_Init_thread</c>, each only when the
/// user's environment does not set it already (an <c>OMPI_MCA_…</c> variable or <c>mpirun --mca</c>,
/// which arrives the same way).
/// </summary>
internal static partial class MpiTuning
{
    /// <summary>
    /// The algorithm of Open MPI's non-blocking allreduce (libnbc). On its own, libnbc takes a binomial
    /// tree for every in-place allreduce, and DDP's buckets are in place. Each step of the tree then moves
    /// and sums the whole buffer. The ring algorithm reduce-scatters and all-gathers slices instead: a
    /// 45 MB float32 allreduce on 2 ranks took 24 ms and 23 ms of CPU, against 57 ms and 43 ms for the
    /// binomial tree (docs/benchmarks.md).
    /// </summary>
    public static readonly (string Name, string Value)[] Defaults =
    [
        ("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1"),
    ];

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    /// <summary>The variable's value in the C environment, which Open MPI reads; null when unset.</summary>
    internal static string? NativeValue(string name) =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? Marshal.PtrToStringUTF8(GetEnv(name)) : null;

    /// <summary>Sets each default the environment does not already set; returns the names it set.</summary>
    public static List<string> Apply()
    {
        var set = new List<string>();
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())) return set;
        foreach (var (name, value) in Defaults)
        {
            if (Environment.GetEnvironmentVariable(name) != null) continue;
            // Open MPI reads the C environment: Environment.SetEnvironmentVariable would not reach it.
            if (SetEnv(name, value, 0) == 0) set.Add(name);
        }
        return set;
    }
}
