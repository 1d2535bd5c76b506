// The Open MPI C library (libmpi.so.40), loaded at run time: entry points and the predefined handles.
using System.Runtime.InteropServices;

namespace Cortado.Distributed;

/// <summary>Element types that collectives carry.</summary>
public enum MpiType
{
    /// <summary>32-bit floats (MPI_FLOAT).</summary>
    Float32,
    /// <summary>64-bit floats (MPI_DOUBLE).</summary>
    Float64,
    /// <summary>64-bit integers (MPI_INT64_T).</summary>
    Int64,
}

/// <summary>
/// Open MPI's C interface, bound through function pointers looked up in the shared library. Open MPI's
/// handles (communicators, datatypes, operations, requests) are pointers, and its predefined handles are
/// the addresses of exported globals (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>), so
/// they are read with <see cref="NativeLibrary.GetExport"/>. This binding is for Open MPI 4.x and 5.x;
/// MPICH uses integer handles and is not supported.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    /// <summary>Library names tried in order (when CORTADO_MPI_LIBRARY is set, only that path is tried).</summary>
    public static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];

    public const int ThreadFunneled = 1;
    public const int Success = 0;
    public const int CommTypeShared = 0; // OMPI_COMM_TYPE_SHARED
    public static readonly nint InPlace = 1; // MPI_IN_PLACE in Open MPI

    private static MpiLibrary? _loaded;
    private static readonly object Gate = new();

    public readonly string Path;
    public readonly nint CommWorld, Float, Double, Int64, OpSum, OpMax, OpMin, InfoNull, RequestNull, ErrorsReturn;

    public readonly delegate* unmanaged<int*, nint, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, nint*, int> CommDup;
    public readonly delegate* unmanaged<nint, int, int, nint, nint*, int> CommSplitType;
    public readonly delegate* unmanaged<nint*, int> CommFree;
    public readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, nint*, int> Iallreduce;
    public readonly delegate* unmanaged<nint, int, nint, int, nint, nint*, int> Ibcast;
    public readonly delegate* unmanaged<nint, int, nint, nint, int, nint, nint, nint*, int> Iallgather;
    public readonly delegate* unmanaged<nint, nint*, int> Ibarrier;
    public readonly delegate* unmanaged<nint, int, nint, int, int, nint, nint*, int> Isend;
    public readonly delegate* unmanaged<nint, int, nint, int, int, nint, nint*, int> Irecv;
    public readonly delegate* unmanaged<nint*, int*, nint, int> Test;
    public readonly delegate* unmanaged<nint*, int> Cancel;
    public readonly delegate* unmanaged<nint*, int> RequestFree;
    public readonly delegate* unmanaged<nint, int, int, nint*, int> CommSplit;
    public readonly delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<nint, int, nint, nint, void*, nint*, int> WinAllocateShared;
    public readonly delegate* unmanaged<nint, int, nint*, int*, void*, int> WinSharedQuery;
    public readonly delegate* unmanaged<nint*, int> WinFree;

    private MpiLibrary(string path, nint h)
    {
        Path = path;
        CommWorld = Sym(h, "ompi_mpi_comm_world");
        Float = Sym(h, "ompi_mpi_float");
        Double = Sym(h, "ompi_mpi_double");
        Int64 = Sym(h, "ompi_mpi_int64_t");
        OpSum = Sym(h, "ompi_mpi_op_sum");
        OpMax = Sym(h, "ompi_mpi_op_max");
        OpMin = Sym(h, "ompi_mpi_op_min");
        InfoNull = Sym(h, "ompi_mpi_info_null");
        RequestNull = Sym(h, "ompi_request_null");
        ErrorsReturn = Sym(h, "ompi_mpi_errors_return");
        InitThread = (delegate* unmanaged<int*, nint, int, int*, int>)Sym(h, "MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Sym(h, "MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Sym(h, "MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Sym(h, "MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Sym(h, "MPI_Abort");
        CommRank = (delegate* unmanaged<nint, int*, int>)Sym(h, "MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Sym(h, "MPI_Comm_size");
        CommDup = (delegate* unmanaged<nint, nint*, int>)Sym(h, "MPI_Comm_dup");
        CommSplitType = (delegate* unmanaged<nint, int, int, nint, nint*, int>)Sym(h, "MPI_Comm_split_type");
        CommFree = (delegate* unmanaged<nint*, int>)Sym(h, "MPI_Comm_free");
        Iallreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, nint*, int>)Sym(h, "MPI_Iallreduce");
        Ibcast = (delegate* unmanaged<nint, int, nint, int, nint, nint*, int>)Sym(h, "MPI_Ibcast");
        Iallgather = (delegate* unmanaged<nint, int, nint, nint, int, nint, nint, nint*, int>)Sym(h, "MPI_Iallgather");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Sym(h, "MPI_Ibarrier");
        Isend = (delegate* unmanaged<nint, int, nint, int, int, nint, nint*, int>)Sym(h, "MPI_Isend");
        Irecv = (delegate* unmanaged<nint, int, nint, int, int, nint, nint*, int>)Sym(h, "MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, nint, int>)Sym(h, "MPI_Test");
        Cancel = (delegate* unmanaged<nint*, int>)Sym(h, "MPI_Cancel");
        RequestFree = (delegate* unmanaged<nint*, int>)Sym(h, "MPI_Request_free");
        CommSplit = (delegate* unmanaged<nint, int, int, nint*, int>)Sym(h, "MPI_Comm_split");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Sym(h, "MPI_Comm_set_errhandler");
        Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Sym(h, "MPI_Allreduce");
        WinAllocateShared = (delegate* unmanaged<nint, int, nint, nint, void*, nint*, int>)Sym(h, "MPI_Win_allocate_shared");
        WinSharedQuery = (delegate* unmanaged<nint, int, nint*, int*, void*, int>)Sym(h, "MPI_Win_shared_query");
        WinFree = (delegate* unmanaged<nint*, int>)Sym(h, "MPI_Win_free");
    }

    private static nint Sym(nint handle, string name)
    {
        if (!NativeLibrary.TryGetExport(handle, name, out var p))
            throw new MpiNotFoundException($"the MPI library lacks '{name}': Cortado needs Open MPI 4 or 5 (libmpi.so.40); MPICH and other MPIs are not supported");
        return p;
    }

    /// <summary>Loads the library once per process; throws <see cref="MpiNotFoundException"/> naming what was tried.</summary>
    public static MpiLibrary Load()
    {
        lock (Gate)
        {
            if (_loaded != null) return _loaded;
            var tried = new List<string>();
            var env = Environment.GetEnvironmentVariable("CORTADO_MPI_LIBRARY");
            var names = string.IsNullOrEmpty(env) ? Candidates : [env];
            foreach (var name in names)
            {
                tried.Add(name);
                if (NativeLibrary.TryLoad(name, out var h)) return _loaded = new MpiLibrary(name, h);
            }
            throw new MpiNotFoundException(
                $"Open MPI's library was not found (tried {string.Join(", ", tried)}). Install it with " +
                "'apt-get install openmpi-bin libopenmpi-dev', or set CORTADO_MPI_LIBRARY to the path of libmpi.so.40");
        }
    }

    public nint DataType(MpiType t) => t switch
    {
        MpiType.Float32 => Float,
        MpiType.Float64 => Double,
        MpiType.Int64 => Int64,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Throws a <see cref="DistributedException"/> naming the call when an MPI function failed.</summary>
    public static void Check(int code, string call)
    {
        if (code != Success) throw new DistributedException($"{call} failed with MPI error code {code}");
    }
}
