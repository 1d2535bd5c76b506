// The MPI process group: rank and size, collectives run by one communication thread, and fault detection.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Cortado.Diagnostics;

namespace Cortado.Distributed;

/// <summary>How a collective combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum over the ranks.</summary>
    Sum,
    /// <summary>Element-wise sum divided by the number of ranks.</summary>
    Average,
    /// <summary>Element-wise maximum over the ranks.</summary>
    Max,
}

/// <summary>Settings of a <see cref="ProcessGroup"/>.</summary>
public sealed record DistributedOptions
{
    /// <summary>
    /// How long a peer may stay silent (no heartbeat) or keep the others waiting in a collective before it is
    /// declared failed. Default 60 s; CORTADO_FAULT_TIMEOUT (seconds) overrides the default.
    /// </summary>
    public TimeSpan FaultTimeout { get; init; } = DefaultFaultTimeout();

    /// <summary>
    /// When a peer fails: true (the default for command-line jobs) prints an error naming the rank and ends
    /// this process with exit code 1, even if it is busy computing; false makes every pending and later
    /// collective throw <see cref="RankFailureException"/> instead.
    /// </summary>
    public bool ExitOnFault { get; init; } = true;

    /// <summary>
    /// Allreduces between ranks of one machine through memory they share (an MPI-3 shared window; across
    /// machines, the slices are allreduced with MPI between machines); false sends every allreduce through
    /// Open MPI's <c>MPI_Iallreduce</c>. Default true; CORTADO_SHM_ALLREDUCE=0 turns it off.
    /// </summary>
    public bool SharedMemoryAllReduce { get; init; } = Environment.GetEnvironmentVariable("CORTADO_SHM_ALLREDUCE") != "0";

    /// <summary>
    /// Bytes of shared window per rank: a larger allreduce passes through it in rounds of this size.
    /// Default 16 MiB; CORTADO_SHM_BYTES overrides the default.
    /// </summary>
    public long SharedMemoryBytes { get; init; } =
        long.TryParse(Environment.GetEnvironmentVariable("CORTADO_SHM_BYTES"), out long b) && b > 0 ? b : 16L << 20;

    /// <summary>
    /// Treats each group of this many consecutive ranks as one machine for the shared-memory allreduce, so
    /// that the path between machines can be exercised on one; null (the default) uses the real machines.
    /// CORTADO_RANKS_PER_MACHINE sets it.
    /// </summary>
    public int? RanksPerMachine { get; init; } =
        int.TryParse(Environment.GetEnvironmentVariable("CORTADO_RANKS_PER_MACHINE"), out int n) && n > 0 ? n : null;

    private static TimeSpan DefaultFaultTimeout()
    {
        var s = Environment.GetEnvironmentVariable("CORTADO_FAULT_TIMEOUT");
        return s != null && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0
            ? TimeSpan.FromSeconds(v) : TimeSpan.FromSeconds(60);
    }
}

/// <summary>
/// The processes of one MPI job (Horovod's and torch.distributed's process group) over Open MPI.
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> One communication thread initialises MPI and makes every MPI call
/// (MPI_THREAD_FUNNELED): callers enqueue collectives and get a <see cref="CommWork"/> back, so
/// gradients are reduced while the caller's thread goes on with the backward pass. The thread drives
/// Open MPI's progress by testing outstanding requests: while the callers compute, with pauses of 100 µs
/// that grow to 1 ms while nothing starts or completes; without pause while a caller is blocked in
/// <see cref="CommWork.Wait"/> (its core is idle then). It sleeps when nothing is outstanding.</para>
/// <para><b>Allreduce.</b> Between ranks of one machine an allreduce goes through a shared-memory window
/// (<see cref="DistributedOptions.SharedMemoryAllReduce"/>; across machines, hierarchically with MPI), which the
/// communication thread advances between its other duties; other collectives, and allreduces when it is off or
/// does not apply, are Open MPI's non-blocking calls. <see cref="AllReduceTransport"/> says which.</para>
/// <para><b>Faults.</b> Every rank sends a heartbeat carrying the number of collectives it has joined to
/// every other rank about ten times per <see cref="DistributedOptions.FaultTimeout"/>. A peer is declared
/// failed when nothing was heard from it for the timeout (it died or is frozen), or when a collective has
/// waited the timeout for a peer that has not joined it (it hangs elsewhere). Under <c>cortado launch</c>
/// the job runs with Open MPI's recovery mode, so a dead rank does not take the survivors down before
/// they can name it.</para>
/// <para><b>Buffers.</b> Tensors passed to collectives must be contiguous float32, float64 or int64 and
/// are pinned until the collective completes; do not touch them before <see cref="CommWork.Wait"/>.</para>
/// </remarks>
public sealed unsafe class ProcessGroup : IDisposable
{
    private const int HeartbeatTag = 7301;
    private const int MinPollMicros = 100, MaxPollMicros = 1000, WaitPollMicros = 30;
    private static readonly TimeSpan SpinLimit = TimeSpan.FromMilliseconds(20);
    private static ProcessGroup? _world;
    private static readonly object WorldGate = new();

    private readonly MpiLibrary _mpi;
    private readonly Thread _thread;
    private readonly Queue<CommWork> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<CommWork> _active = [];
    private readonly ManualResetEventSlim _ready = new();
    private Exception? _initError;
    private volatile bool _stopping;
    private volatile RankFailureException? _failure;
    private nint _comm, _hbComm;
    private NodeAllReduce? _node;
    private volatile bool _useNode;
    private long _submitted;
    private int _waiters;
    private int _mpiInFlight; // collectives in _active that wait on an MPI request (they need polling to progress)

    // Heartbeat state, touched only by the communication thread.
    private long[][] _hbSend = [], _hbRecv = [];
    private GCHandle[] _hbPins = [];
    private nint[] _hbSendReq = [], _hbRecvReq = [];
    private long[] _lastHeard = [], _peerJoined = [];
    private bool[] _peerFinished = [], _sentFinal = [];
    private long _lastBeat;

    /// <summary>This process's rank, 0 … <see cref="Size"/>−1.</summary>
    public int Rank { get; private set; }

    /// <summary>Number of processes in the job.</summary>
    public int Size { get; private set; }

    /// <summary>Rank among the processes on this machine.</summary>
    public int LocalRank { get; private set; }

    /// <summary>Processes on this machine.</summary>
    public int LocalSize { get; private set; }

    /// <summary>
    /// How allreduces travel: "shared memory (N ranks per machine)", with ", MPI between M machines" when
    /// there are several, or "MPI" (Open MPI's <c>MPI_Iallreduce</c>) with the reason.
    /// </summary>
    public string AllReduceTransport { get; private set; } = "MPI";

    /// <summary>
    /// True while allreduces go through the shared-memory window (the default wherever it exists). Setting it
    /// switches later allreduces between the window and Open MPI's <c>MPI_Iallreduce</c>, e.g. to compare the two
    /// within one run; every rank must switch between the same two collectives. Setting true where the window
    /// does not exist (see <see cref="AllReduceTransport"/>) throws.
    /// </summary>
    public bool AllReduceOverSharedMemory
    {
        get => _useNode;
        set
        {
            if (value && _node == null) throw new InvalidOperationException($"this group has no shared-memory allreduce: {AllReduceTransport}");
            _useNode = value;
        }
    }

    /// <summary>The settings this group runs with.</summary>
    public DistributedOptions Options { get; }

    /// <summary>The loaded MPI library's file name.</summary>
    public string Library => _mpi.Path;

    /// <summary>True on rank 0, the rank that writes checkpoints, logs and progress.</summary>
    public bool IsMain => Rank == 0;

    /// <summary>The failure that stopped this group, or null while all peers answer.</summary>
    public RankFailureException? Failure => _failure;

    private ProcessGroup(MpiLibrary mpi, DistributedOptions options)
    {
        _mpi = mpi;
        Options = options;
        _thread = new Thread(CommLoop) { IsBackground = true, Name = "cortado-mpi" };
        _thread.Start();
        // MPI initialisation waits for every rank: one that failed before joining would hold the others here forever.
        if (!_ready.Wait(options.FaultTimeout))
            throw new DistributedException($"MPI initialisation did not complete within {options.FaultTimeout.TotalSeconds:0.#} s: another rank probably failed before joining the job");
        if (_initError != null) throw _initError;
    }

    /// <summary>The process group of this job, once <see cref="Init"/> has run; null before.</summary>
    public static ProcessGroup? World => _world;

    /// <summary>
    /// The number of ranks of the job when this process was started by Open MPI's <c>mpirun</c> (or
    /// <c>cortado launch</c>), read from the environment Open MPI sets; null outside a job.
    /// </summary>
    public static int? LaunchedJobSize =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out int n) ? n : null;

    /// <summary>
    /// Initialises MPI once per process and returns the world group. Outside <c>mpirun</c> this is a
    /// one-rank job. Throws <see cref="MpiNotFoundException"/> when Open MPI is not installed.
    /// </summary>
    public static ProcessGroup Init(DistributedOptions? options = null)
    {
        lock (WorldGate)
        {
            if (_world != null) return _world;
            var mpi = MpiLibrary.Load();
            return _world = new ProcessGroup(mpi, options ?? new DistributedOptions());
        }
    }

    /// <summary>Sums (or averages, or takes the maximum of) <paramref name="tensor"/> over all ranks, in place, in the background.</summary>
    public CommWork AllReduceAsync(Tensor tensor, ReduceOp op = ReduceOp.Sum, string? name = null)
    {
        var type = CheckBuffer(tensor, "allreduce");
        return Submit(new CommWork(CommKind.AllReduce, name ?? "allreduce", tensor, null, type, op, 0));
    }

    /// <summary>Sums (or averages, or takes the maximum of) <paramref name="tensor"/> over all ranks, in place.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => AllReduceAsync(tensor, op).Wait();

    /// <summary>Copies <paramref name="tensor"/> from rank <paramref name="root"/> into the same tensor on every rank, in the background.</summary>
    public CommWork BroadcastAsync(Tensor tensor, int root = 0, string? name = null)
    {
        var type = CheckBuffer(tensor, "broadcast");
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), $"broadcast root {root} is outside ranks 0 … {Size - 1}");
        return Submit(new CommWork(CommKind.Broadcast, name ?? "broadcast", tensor, null, type, ReduceOp.Sum, root));
    }

    /// <summary>Copies <paramref name="tensor"/> from rank <paramref name="root"/> into the same tensor on every rank.</summary>
    public void Broadcast(Tensor tensor, int root = 0) => BroadcastAsync(tensor, root).Wait();

    /// <summary>
    /// Gathers every rank's <paramref name="tensor"/> (same shape on all ranks) into <paramref name="output"/>
    /// of shape [Size, …shape], rank order, in the background.
    /// </summary>
    public CommWork AllGatherAsync(Tensor tensor, Tensor output, string? name = null)
    {
        var type = CheckBuffer(tensor, "allgather");
        var outType = CheckBuffer(output, "allgather output");
        if (outType != type) throw new DTypeMismatchException($"allgather: output dtype {output.DType} differs from input dtype {tensor.DType}");
        if (output.Numel != tensor.Numel * Size)
            throw new ShapeMismatchException($"allgather: output of shape {ShapeUtil.Format(output.Shape)} cannot hold {Size} × {ShapeUtil.Format(tensor.Shape)}");
        return Submit(new CommWork(CommKind.AllGather, name ?? "allgather", tensor, output, type, ReduceOp.Sum, 0));
    }

    /// <summary>Every rank's <paramref name="tensor"/> stacked into a new [Size, …shape] tensor, in rank order.</summary>
    public Tensor AllGather(Tensor tensor)
    {
        var output = Tensor.Zeros([Size, .. tensor.Dims], tensor.DType);
        AllGatherAsync(tensor, output).Wait();
        return output;
    }

    /// <summary>Waits until every rank has reached this call.</summary>
    public void Barrier() => Submit(new CommWork(CommKind.Barrier, "barrier", null, null, MpiType.Int64, ReduceOp.Sum, 0)).Wait();

    /// <summary>
    /// Finalises MPI after all queued collectives have finished. After a peer failure MPI is not finalised
    /// (it would wait for the dead rank).
    /// </summary>
    public void Dispose()
    {
        lock (WorldGate)
        {
            if (_stopping) return;
            _stopping = true;
            _wake.Release();
            _thread.Join();
            if (ReferenceEquals(_world, this)) _world = null;
        }
    }

    internal void WaiterArrived() => Interlocked.Increment(ref _waiters);

    internal void WaiterLeft() => Interlocked.Decrement(ref _waiters);

    private MpiType CheckBuffer(Tensor t, string what)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!t.IsContiguous) throw new ShapeMismatchException($"{what}: the tensor must be contiguous (call Contiguous() first); got strides [{string.Join(", ", t.Strides.ToArray())}]");
        return t.DType switch
        {
            DType.Float32 => MpiType.Float32,
            DType.Float64 => MpiType.Float64,
            DType.Int64 => MpiType.Int64,
            _ => throw new DTypeMismatchException($"{what}: collectives carry float32, float64 or int64 tensors, not {t.DType}"),
        };
    }

    private CommWork Submit(CommWork w)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        var f = _failure;
        if (f != null) throw new RankFailureException(f.Rank, f.Message);
        w.Queued = Stopwatch.GetTimestamp();
        w.OnNode = w.Kind == CommKind.AllReduce && _useNode;
        w.Attach(this);
        lock (_queue) _queue.Enqueue(w);
        _wake.Release();
        return w;
    }

    // ---- the communication thread ------------------------------------------------------------------

    private void CommLoop()
    {
        try
        {
            InitMpi();
        }
        catch (Exception e)
        {
            _initError = e as CortadoException ?? new DistributedException($"MPI initialisation failed: {e.Message}", e);
            _ready.Set();
            return;
        }
        _ready.Set();

        try
        {
            int pause = MinPollMicros;
            long lastMove = Stopwatch.GetTimestamp();
            while (true)
            {
                bool moved = StartQueued() | TestActive();
                if (Size > 1) Heartbeat();
                if (_stopping && _active.Count == 0 && QueueEmpty()) break;
                if (_active.Count > 0)
                {
                    // While the callers compute, each poll takes their core for a moment: the pause grows from
                    // 100 µs to 1 ms as long as nothing starts or completes, so a peer that is late to a collective
                    // costs few wake-ups. Once a caller waits for a result its core is idle, and progress is driven
                    // without pause (yielding to any runnable thread) until nothing has moved for SpinLimit.
                    if (moved) lastMove = Stopwatch.GetTimestamp();
                    if (Volatile.Read(ref _waiters) > 0 && Stopwatch.GetElapsedTime(lastMove) < SpinLimit)
                    {
                        // Shared-memory rounds need no driving from here while they wait for a peer: a short sleep
                        // leaves this core idle, where the scheduler can run the peer's threads.
                        if (_mpiInFlight > 0) Thread.Yield();
                        else NativeSleep.Micros(WaitPollMicros);
                        pause = MinPollMicros;
                    }
                    else
                    {
                        pause = moved ? MinPollMicros : Math.Min(2 * pause, MaxPollMicros);
                        NativeSleep.Micros(pause);
                    }
                }
                else _wake.Wait(HeartbeatInterval());
            }
            FinishMpi();
        }
        catch (RankFailureException e)
        {
            Fail(e);
        }
        catch (Exception e)
        {
            Fail(new RankFailureException(Rank, $"rank {Rank}: the communication thread failed: {e.Message}"));
        }
    }

    private void InitMpi()
    {
        int flag;
        MpiLibrary.Check(_mpi.Initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            MpiTuning.Apply();
            int provided;
            MpiLibrary.Check(_mpi.InitThread(null, 0, MpiLibrary.ThreadFunneled, &provided), "MPI_Init_thread");
        }
        int rank, size;
        nint comm, hb, local;
        MpiLibrary.Check(_mpi.CommDup(_mpi.CommWorld, &comm), "MPI_Comm_dup");
        MpiLibrary.Check(_mpi.CommDup(_mpi.CommWorld, &hb), "MPI_Comm_dup");
        _comm = comm;
        _hbComm = hb;
        MpiLibrary.Check(_mpi.CommRank(comm, &rank), "MPI_Comm_rank");
        MpiLibrary.Check(_mpi.CommSize(comm, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        MpiLibrary.Check(_mpi.CommSplitType(comm, MpiLibrary.CommTypeShared, rank, _mpi.InfoNull, &local), "MPI_Comm_split_type");
        MpiLibrary.Check(_mpi.CommRank(local, &rank), "MPI_Comm_rank");
        MpiLibrary.Check(_mpi.CommSize(local, &size), "MPI_Comm_size");
        LocalRank = rank;
        LocalSize = size;
        MpiLibrary.Check(_mpi.CommFree(&local), "MPI_Comm_free");
        if (Size > 1 && Options.SharedMemoryAllReduce)
        {
            _node = NodeAllReduce.TryCreate(_mpi, _comm, Rank, Size, Options.SharedMemoryBytes, Options.RanksPerMachine, out var why);
            _useNode = _node != null;
            AllReduceTransport = _node == null ? $"MPI ({why})"
                : $"shared memory ({_node.LocalSize} ranks per machine)" + (_node.Machines > 1 ? $", MPI between {_node.Machines} machines" : "");
        }
        else AllReduceTransport = Size > 1 ? "MPI (shared memory turned off)" : "MPI";

        int n = Size;
        _hbSend = new long[n][];
        _hbRecv = new long[n][];
        _hbPins = new GCHandle[2 * n];
        _hbSendReq = new nint[n];
        _hbRecvReq = new nint[n];
        _lastHeard = new long[n];
        _peerJoined = new long[n];
        _peerFinished = new bool[n];
        _sentFinal = new bool[n];
        long now = Stopwatch.GetTimestamp();
        for (int p = 0; p < n; p++)
        {
            _hbSend[p] = new long[2];
            _hbRecv[p] = new long[2];
            _hbPins[2 * p] = GCHandle.Alloc(_hbSend[p], GCHandleType.Pinned);
            _hbPins[2 * p + 1] = GCHandle.Alloc(_hbRecv[p], GCHandleType.Pinned);
            _hbSendReq[p] = _mpi.RequestNull;
            _hbRecvReq[p] = _mpi.RequestNull;
            _lastHeard[p] = now;
            if (p != Rank) PostHeartbeatReceive(p);
        }
    }

    private void FinishMpi()
    {
        if (Size > 1)
        {
            // Everyone stops sending heartbeats only after everyone has got here; then the posted receives are cancelled.
            nint req;
            MpiLibrary.Check(_mpi.Ibarrier(_comm, &req), "MPI_Ibarrier");
            long start = Stopwatch.GetTimestamp();
            while (!TestRequest(ref req))
            {
                Heartbeat();
                if (Stopwatch.GetElapsedTime(start) > Options.FaultTimeout)
                    throw new RankFailureException(-1, $"rank {Rank}: the final barrier did not complete within {Options.FaultTimeout.TotalSeconds:0.#} s");
                NativeSleep.Micros(200);
            }
            for (int p = 0; p < Size; p++)
            {
                if (p == Rank) continue;
                while (!TestRequest(ref _hbSendReq[p])) NativeSleep.Micros(100);
                if (!_peerFinished[p] && _hbRecvReq[p] != _mpi.RequestNull)
                {
                    fixed (nint* r = &_hbRecvReq[p]) _mpi.Cancel(r);
                    while (!TestRequest(ref _hbRecvReq[p])) NativeSleep.Micros(100);
                }
            }
        }
        foreach (var h in _hbPins) if (h.IsAllocated) h.Free();
        _node?.Dispose();
        int finalized;
        MpiLibrary.Check(_mpi.Finalized(&finalized), "MPI_Finalized");
        if (finalized == 0) MpiLibrary.Check(_mpi.Finalize(), "MPI_Finalize");
    }

    private bool QueueEmpty()
    {
        lock (_queue) return _queue.Count == 0;
    }

    private TimeSpan HeartbeatInterval() =>
        TimeSpan.FromTicks(Math.Clamp(Options.FaultTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 20, TimeSpan.TicksPerSecond));

    /// <summary>Starts the queued collectives; true when there was one.</summary>
    private bool StartQueued()
    {
        bool any = false;
        while (true)
        {
            CommWork? w;
            lock (_queue) if (!_queue.TryDequeue(out w)) return any;
            any = true;
            w.Seq = ++_submitted;
            w.Started = Stopwatch.GetTimestamp();
            nint req;
            int count;
            if (w.OnNode)
            {
                // Advanced by TestActive, one at a time in issue order, without an MPI request.
                _active.Add(w);
                continue;
            }
            switch (w.Kind)
            {
                case CommKind.AllReduce:
                    count = w.Tensor!.Numel;
                    MpiLibrary.Check(_mpi.Iallreduce(MpiLibrary.InPlace, w.Pin(w.Tensor!), count, _mpi.DataType(w.Type),
                        w.Op == ReduceOp.Max ? _mpi.OpMax : _mpi.OpSum, _comm, &req), "MPI_Iallreduce");
                    break;
                case CommKind.Broadcast:
                    count = w.Tensor!.Numel;
                    MpiLibrary.Check(_mpi.Ibcast(w.Pin(w.Tensor!), count, _mpi.DataType(w.Type), w.Root, _comm, &req), "MPI_Ibcast");
                    break;
                case CommKind.AllGather:
                    count = w.Tensor!.Numel;
                    MpiLibrary.Check(_mpi.Iallgather(w.Pin(w.Tensor!), count, _mpi.DataType(w.Type), w.Pin(w.Output!), count,
                        _mpi.DataType(w.Type), _comm, &req), "MPI_Iallgather");
                    break;
                case CommKind.Barrier:
                    MpiLibrary.Check(_mpi.Ibarrier(_comm, &req), "MPI_Ibarrier");
                    break;
                default:
                    throw new InvalidOperationException(w.Kind.ToString());
            }
            w.Request = req;
            _active.Add(w);
        }
    }

    /// <summary>Tests the collectives in flight and finishes those that completed; true when one did.</summary>
    private bool TestActive()
    {
        bool any = false, nodeBusy = false;
        int mpi = 0;
        for (int i = 0; i < _active.Count; i++)
        {
            var w = _active[i];
            bool done;
            if (w.OnNode)
            {
                // Shared-memory allreduces run strictly one after another: only the oldest moves.
                if (!nodeBusy)
                {
                    any |= _node!.Advance(w);
                    nodeBusy = !w.ReducedInPlace;
                }
                done = w.ReducedInPlace;
            }
            else done = TestRequest(ref w.Request);
            if (done)
            {
                any = true;
                _active.RemoveAt(i--);
                w.Finish(Size);
                var sink = Tracing.Sink;
                sink?.Complete(w.Name, "communication", w.Started, Stopwatch.GetTimestamp(), Environment.CurrentManagedThreadId);
                continue;
            }
            if (!w.OnNode) mpi++;
            // Order matters: MPI collectives complete in issue order, so only the oldest can be overdue first.
            if (Stopwatch.GetElapsedTime(w.Started) > Options.FaultTimeout) throw OverdueCollective(w);
        }
        _mpiInFlight = mpi;
        return any;
    }

    private RankFailureException OverdueCollective(CommWork w)
    {
        for (int p = 0; p < Size; p++)
            if (p != Rank && Volatile.Read(ref _peerJoined[p]) < w.Seq)
                return new RankFailureException(p,
                    $"rank {p} did not join collective #{w.Seq} ({w.Name}) within {Options.FaultTimeout.TotalSeconds:0.#} s (it has joined {_peerJoined[p]}); stopping rank {Rank}");
        // Every peer joined it: one that has gone silent since (it died inside the collective) is the cause.
        long now = Stopwatch.GetTimestamp();
        int silent = -1;
        var longest = TimeSpan.Zero;
        for (int p = 0; p < Size; p++)
        {
            if (p == Rank || _peerFinished[p]) continue;
            var quiet = Stopwatch.GetElapsedTime(_lastHeard[p], now);
            if (quiet > longest) (longest, silent) = (quiet, p);
        }
        if (silent >= 0 && longest > 3 * HeartbeatInterval())
            return new RankFailureException(silent,
                $"rank {silent} stopped answering: no heartbeat for {longest.TotalSeconds:0.#} s while collective #{w.Seq} ({w.Name}) waited {Options.FaultTimeout.TotalSeconds:0.#} s (it died or is frozen); stopping rank {Rank}");
        return new RankFailureException(-1, $"collective #{w.Seq} ({w.Name}) did not complete within {Options.FaultTimeout.TotalSeconds:0.#} s although every rank joined it; stopping rank {Rank}");
    }

    private bool TestRequest(ref nint request)
    {
        if (request == _mpi.RequestNull) return true;
        int flag;
        fixed (nint* r = &request) MpiLibrary.Check(_mpi.Test(r, &flag, 0), "MPI_Test");
        return flag != 0;
    }

    private void PostHeartbeatReceive(int peer)
    {
        nint req;
        MpiLibrary.Check(_mpi.Irecv(_hbPins[2 * peer + 1].AddrOfPinnedObject(), 2, _mpi.Int64, peer, HeartbeatTag, _hbComm, &req), "MPI_Irecv");
        _hbRecvReq[peer] = req;
    }

    private void Heartbeat()
    {
        long now = Stopwatch.GetTimestamp();
        bool beat = Stopwatch.GetElapsedTime(_lastBeat, now) >= HeartbeatInterval();
        // Polled every ~100 µs while collectives run: the queue lock is taken only when a beat is due.
        bool finishing = beat && _stopping && _active.Count == 0 && QueueEmpty();
        for (int p = 0; p < Size; p++)
        {
            if (p == Rank) continue;
            while (!_peerFinished[p] && TestRequest(ref _hbRecvReq[p]))
            {
                _lastHeard[p] = now;
                Volatile.Write(ref _peerJoined[p], _hbRecv[p][0]);
                // A finishing peer sends one last heartbeat and no more: stop listening and watching it.
                if (_hbRecv[p][1] == 1) _peerFinished[p] = true;
                else PostHeartbeatReceive(p);
            }
            if (!_peerFinished[p] && Stopwatch.GetElapsedTime(_lastHeard[p], now) > Options.FaultTimeout)
                throw new RankFailureException(p,
                    $"rank {p} stopped answering: no heartbeat for {Options.FaultTimeout.TotalSeconds:0.#} s (it died or is frozen); stopping rank {Rank}");
            if (beat && !_sentFinal[p] && TestRequest(ref _hbSendReq[p]))
            {
                _hbSend[p][0] = _submitted;
                _hbSend[p][1] = finishing ? 1 : 0;
                _sentFinal[p] = finishing;
                nint req;
                MpiLibrary.Check(_mpi.Isend(_hbPins[2 * p].AddrOfPinnedObject(), 2, _mpi.Int64, p, HeartbeatTag, _hbComm, &req), "MPI_Isend");
                _hbSendReq[p] = req;
            }
        }
        if (beat) _lastBeat = now;
    }

    private void Fail(RankFailureException e)
    {
        _failure = e;
        List<CommWork> pending;
        lock (_queue)
        {
            pending = [.. _active, .. _queue];
            _queue.Clear();
        }
        _active.Clear();
        foreach (var w in pending) w.Fault(e);
        if (Options.ExitOnFault)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.Flush();
            LaunchStatus.Report(Rank, 1);
            // MPI is not finalised: finalising waits for the failed rank.
            Environment.Exit(1);
        }
    }
}
