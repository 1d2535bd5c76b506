// Allreduce among the ranks of one machine through an MPI-3 shared-memory window; across machines, an MPI allreduce per slice.
using System.Numerics;
using System.Numerics.Tensors;

namespace Cortado.Distributed;

/// <summary>
/// The allreduce of a <see cref="ProcessGroup"/> whose ranks share a machine: a reduce-scatter and an
/// all-gather through memory that every local rank maps (<c>MPI_Win_allocate_shared</c>), with a handful of
/// flag handshakes per collective instead of Open MPI's fragment-by-fragment pipeline.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> Each local rank owns one segment of the window: four counters, each on its own
/// cache line, then <see cref="Capacity"/> bytes of data. A tensor is reduced in rounds of up to
/// Capacity bytes; each round's range is cut into one aligned chunk per local rank, and local rank q
/// reduces chunk q.</para>
/// <para><b>One round</b> (g counts rounds since the group started, on every rank alike):
/// <list type="number">
/// <item>wait until every peer has consumed round g−1 (its reads of this segment are over), copy the
/// chunks the peers reduce into this segment, and publish <c>Published = g</c>;</item>
/// <item>when every peer has published g, sum chunk q of every local rank in local-rank order
/// (((x₀ + x₁) + x₂) + …) into this segment; across machines, allreduce that slice with the ranks of the same
/// local rank (<c>MPI_Iallreduce</c>); divide for an average; publish <c>Reduced = g</c>;</item>
/// <item>when every peer has reduced g, copy their chunks of the result into the tensor and publish
/// <c>Consumed = g</c>.</item>
/// </list>
/// Counters are written with release and read with acquire semantics after a full fence, so the data a
/// counter announces is visible before the counter. On one machine the sum order is fixed, so the result
/// does not depend on timing. Nothing here blocks: the communication thread calls <see cref="Advance"/>
/// between its other duties (heartbeats, MPI progress), so fault detection keeps working while a
/// collective waits for a peer.</para>
/// <para>Every rank must issue the same collectives in the same order with the same sizes, as MPI requires;
/// a mismatch (element count, dtype or operation) is detected in the first round and reported naming
/// both sides.</para>
/// </remarks>
internal sealed unsafe class NodeAllReduce : IDisposable
{
    private const int Line = 64;
    private const int PublishedAt = 0, ReducedAt = Line, ConsumedAt = 2 * Line, DescriptorAt = 3 * Line;
    private const int ControlBytes = 4 * Line;
    private const int ChunkAlign = 16; // chunk boundaries in elements: whole 64-byte lines for float32

    private enum Phase { Fill, Sum, Cross, Share }

    private readonly MpiLibrary _mpi;
    private nint _win, _local, _cross;
    private readonly byte*[] _segments;
    private readonly int _me, _worldSize;
    private long _rounds;

    // The collective in progress (works advance strictly one at a time, in issue order).
    private CommWork? _work;
    private Phase _phase;
    private long _roundOfWork; // rounds of this collective finished; its offset is this times the round's elements
    private nint _crossRequest;
    private byte* _pinned;

    private NodeAllReduce(MpiLibrary mpi, nint win, nint local, nint cross, byte*[] segments, int me, int worldSize, long capacity)
    {
        _mpi = mpi;
        _win = win;
        _local = local;
        _cross = cross;
        _segments = segments;
        _me = me;
        _worldSize = worldSize;
        Capacity = capacity;
    }

    /// <summary>Ranks on this machine that share the window.</summary>
    public int LocalSize => _segments.Length;

    /// <summary>Machines (ranks per local rank) that each slice is allreduced over with MPI; 1 on one machine.</summary>
    public int Machines => _worldSize / _segments.Length;

    /// <summary>Data bytes per rank and round.</summary>
    public long Capacity { get; }

    /// <summary>
    /// Sets up the shared window, collectively over <paramref name="comm"/>; null (and the reason) where it
    /// does not apply: every rank alone on its machine, machines with different numbers of ranks, or a window
    /// that could not be allocated. Every rank reaches the same answer. <paramref name="ranksPerMachine"/>,
    /// when given, groups consecutive ranks as if each group were a machine.
    /// </summary>
    public static NodeAllReduce? TryCreate(MpiLibrary mpi, nint comm, int rank, int worldSize, long capacity, int? ranksPerMachine, out string why)
    {
        nint local;
        if (ranksPerMachine is int per and > 0)
            MpiLibrary.Check(mpi.CommSplit(comm, rank / per, rank, &local), "MPI_Comm_split");
        else
            MpiLibrary.Check(mpi.CommSplitType(comm, MpiLibrary.CommTypeShared, rank, mpi.InfoNull, &local), "MPI_Comm_split_type");
        int me, localSize;
        MpiLibrary.Check(mpi.CommRank(local, &me), "MPI_Comm_rank");
        MpiLibrary.Check(mpi.CommSize(local, &localSize), "MPI_Comm_size");

        // The largest and smallest number of ranks per machine (the smallest negated, so one MAX gives both).
        long* agree = stackalloc long[2] { localSize, -localSize };
        MpiLibrary.Check(mpi.Allreduce(MpiLibrary.InPlace, (nint)agree, 2, mpi.Int64, mpi.OpMax, comm), "MPI_Allreduce");
        if (agree[0] == 1 || agree[0] != -agree[1])
        {
            why = agree[0] == 1 ? "every rank is alone on its machine" : $"machines hold between {-agree[1]} and {agree[0]} ranks";
            MpiLibrary.Check(mpi.CommFree(&local), "MPI_Comm_free");
            return null;
        }

        // A failed allocation is answered, not fatal: the group then falls back to MPI's allreduce.
        MpiLibrary.Check(mpi.CommSetErrhandler(local, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        capacity = Math.Max(capacity / Line * Line, localSize * ChunkAlign * sizeof(double));
        nint win = 0;
        byte* mine = null;
        int code = mpi.WinAllocateShared((nint)(ControlBytes + capacity), 1, mpi.InfoNull, local, &mine, &win);
        var segments = new byte*[localSize];
        if (code == MpiLibrary.Success)
        {
            for (int q = 0; q < localSize; q++)
            {
                nint size;
                int unit;
                byte* p = null;
                if (mpi.WinSharedQuery(win, q, &size, &unit, &p) != MpiLibrary.Success || size < ControlBytes + capacity) { code = -1; break; }
                segments[q] = p;
            }
        }
        if (code == MpiLibrary.Success) new Span<byte>(mine, ControlBytes).Clear();
        long* ok = stackalloc long[1] { code == MpiLibrary.Success ? 1 : 0 };
        // Also the barrier after which every rank's counters read zero.
        MpiLibrary.Check(mpi.Allreduce(MpiLibrary.InPlace, (nint)ok, 1, mpi.Int64, mpi.OpMin, comm), "MPI_Allreduce");
        if (ok[0] == 0)
        {
            why = "the shared-memory window could not be allocated";
            return null; // the window, where it exists, stays allocated: freeing it is collective and a peer may lack it
        }

        nint cross = 0;
        int machines = worldSize / localSize;
        if (machines > 1)
            MpiLibrary.Check(mpi.CommSplit(comm, me, rank, &cross), "MPI_Comm_split");
        why = "";
        return new NodeAllReduce(mpi, win, local, cross, segments, me, worldSize, capacity);
    }

    /// <summary>
    /// Moves <paramref name="w"/> (an allreduce, the oldest one in flight) as far as it goes without waiting
    /// for a peer; true when anything moved. <see cref="CommWork.ReducedInPlace"/> turns true when it is done.
    /// </summary>
    public bool Advance(CommWork w)
    {
        if (!ReferenceEquals(_work, w))
        {
            _work = w;
            _phase = Phase.Fill;
            _roundOfWork = 0;
            _pinned = _cross != 0 ? (byte*)w.Pin(w.Tensor!) : null;
        }
        bool moved = w.Type switch
        {
            MpiType.Float32 => Step<float>(w),
            MpiType.Float64 => Step<double>(w),
            _ => Step<long>(w),
        };
        if (w.ReducedInPlace) _work = null;
        return moved;
    }

    private bool Step<T>(CommWork w) where T : unmanaged, INumber<T>
    {
        var x = w.Tensor!.AsSpan<T>();
        long n = x.Length;
        int perRound = (int)(Capacity / sizeof(T));
        bool moved = false;
        // An empty tensor still takes one (empty) round, so that its descriptor is compared like any other.
        long roundsOfWork = Math.Max(1, (n + perRound - 1) / perRound);
        while (_roundOfWork < roundsOfWork)
        {
            long offset = _roundOfWork * perRound;
            int m = (int)Math.Min(perRound, n - offset);
            long g = _rounds + 1;
            switch (_phase)
            {
                case Phase.Fill:
                {
                    if (!PeersReached(ConsumedAt, g - 1)) return moved;
                    var mine = Data<T>(_me, m);
                    for (int q = 0; q < LocalSize; q++)
                    {
                        if (q == _me) continue;
                        var (lo, len) = Chunk(q, m);
                        x.Slice((int)(offset + lo), len).CopyTo(mine.Slice(lo, len));
                    }
                    long* d = (long*)(_segments[_me] + DescriptorAt);
                    d[0] = n;
                    d[1] = (long)w.Type * 8 + (long)w.Op;
                    Publish(PublishedAt, g);
                    _phase = Phase.Sum;
                    moved = true;
                    break;
                }
                case Phase.Sum:
                {
                    if (!PeersReached(PublishedAt, g)) return moved;
                    CheckDescriptors(w);
                    var (lo, len) = Chunk(_me, m);
                    var own = x.Slice((int)(offset + lo), len);
                    var acc = Data<T>(_me, m).Slice(lo, len);
                    // The average's division waits for the machines' sum when there are several machines.
                    bool divideHere = w.Op == ReduceOp.Average && _cross == 0;
                    if (w.Op == ReduceOp.Max)
                    {
                        TensorPrimitives.Max(Source(0, own, m, lo), Source(1, own, m, lo), acc);
                        for (int q = 2; q < LocalSize; q++) TensorPrimitives.Max(acc, Source(q, own, m, lo), acc);
                    }
                    else if (divideHere && LocalSize == 2 && BitOperations.IsPow2(_worldSize) && typeof(T) != typeof(long))
                    {
                        // (x₀ + x₁) · 2⁻ᵏ is exactly (x₀ + x₁) / 2ᵏ: one pass instead of two.
                        TensorPrimitives.AddMultiply(Source(0, own, m, lo), Source(1, own, m, lo), T.One / T.CreateTruncating(_worldSize), acc);
                        divideHere = false;
                    }
                    else
                    {
                        TensorPrimitives.Add(Source(0, own, m, lo), Source(1, own, m, lo), acc);
                        for (int q = 2; q < LocalSize; q++) TensorPrimitives.Add(acc, Source(q, own, m, lo), acc);
                    }
                    if (divideHere) TensorPrimitives.Divide(acc, T.CreateTruncating(_worldSize), acc);
                    acc.CopyTo(own);
                    moved = true;
                    if (_cross != 0)
                    {
                        nint req;
                        MpiLibrary.Check(_mpi.Iallreduce(MpiLibrary.InPlace, (nint)(_pinned + (offset + lo) * sizeof(T)), len,
                            _mpi.DataType(w.Type), w.Op == ReduceOp.Max ? _mpi.OpMax : _mpi.OpSum, _cross, &req), "MPI_Iallreduce");
                        _crossRequest = req;
                        _phase = Phase.Cross;
                        break;
                    }
                    Publish(ReducedAt, g);
                    _phase = Phase.Share;
                    break;
                }
                case Phase.Cross:
                {
                    int flag;
                    fixed (nint* r = &_crossRequest) MpiLibrary.Check(_mpi.Test(r, &flag, 0), "MPI_Test");
                    if (flag == 0) return moved;
                    var (lo, len) = Chunk(_me, m);
                    var own = x.Slice((int)(offset + lo), len);
                    if (w.Op == ReduceOp.Average) TensorPrimitives.Divide(own, T.CreateTruncating(_worldSize), own);
                    own.CopyTo(Data<T>(_me, m).Slice(lo, len));
                    Publish(ReducedAt, g);
                    _phase = Phase.Share;
                    moved = true;
                    break;
                }
                case Phase.Share:
                {
                    if (!PeersReached(ReducedAt, g)) return moved;
                    for (int q = 0; q < LocalSize; q++)
                    {
                        if (q == _me) continue;
                        var (lo, len) = Chunk(q, m);
                        Data<T>(q, m).Slice(lo, len).CopyTo(x.Slice((int)(offset + lo), len));
                    }
                    Publish(ConsumedAt, g);
                    _rounds = g;
                    _roundOfWork++;
                    _phase = Phase.Fill;
                    moved = true;
                    break;
                }
            }
        }
        w.ReducedInPlace = true;
        return true;
    }

    /// <summary>Local rank q's chunk of a round of <paramref name="m"/> elements: whole lines, the last chunks possibly short or empty.</summary>
    private (int lo, int len) Chunk(int q, int m)
    {
        int per = ((m + LocalSize - 1) / LocalSize + ChunkAlign - 1) / ChunkAlign * ChunkAlign;
        int lo = Math.Min(m, q * per);
        return (lo, Math.Min(m, lo + per) - lo);
    }

    /// <summary>Local rank q's values of this rank's chunk: its own in the tensor, the peers' in their segments.</summary>
    private ReadOnlySpan<T> Source<T>(int q, Span<T> own, int m, int lo) where T : unmanaged =>
        q == _me ? own : Data<T>(q, m).Slice(lo, own.Length);

    private Span<T> Data<T>(int q, int m) where T : unmanaged => new(_segments[q] + ControlBytes, m);

    private void Publish(int counter, long value)
    {
        // A full fence first: the data (written with ordinary or streaming stores) is visible before the counter.
        Interlocked.MemoryBarrier();
        Volatile.Write(ref *(long*)(_segments[_me] + counter), value);
    }

    private bool PeersReached(int counter, long value)
    {
        for (int q = 0; q < LocalSize; q++)
            if (q != _me && Volatile.Read(ref *(long*)(_segments[q] + counter)) < value) return false;
        return true;
    }

    private void CheckDescriptors(CommWork w)
    {
        long* mine = (long*)(_segments[_me] + DescriptorAt);
        for (int q = 0; q < LocalSize; q++)
        {
            long* theirs = (long*)(_segments[q] + DescriptorAt);
            if (q == _me || (theirs[0] == mine[0] && theirs[1] == mine[1])) continue;
            throw new DistributedException(
                $"allreduce '{w.Name}' (collective #{w.Seq}) differs between ranks: this rank reduces {Describe(mine)}, local rank {q} " +
                $"reduces {Describe(theirs)}; every rank must issue the same collectives in the same order");
        }
    }

    private static string Describe(long* d) => $"{d[0]} elements of {(MpiType)(d[1] / 8)} with {(ReduceOp)(d[1] % 8)}";

    /// <summary>Frees the window and communicators; collective, so only after every rank has finished its collectives.</summary>
    public void Dispose()
    {
        if (_win != 0)
        {
            nint win = _win;
            MpiLibrary.Check(_mpi.WinFree(&win), "MPI_Win_free");
            _win = 0;
        }
        if (_cross != 0) fixed (nint* c = &_cross) MpiLibrary.Check(_mpi.CommFree(c), "MPI_Comm_free");
        if (_local != 0) fixed (nint* c = &_local) MpiLibrary.Check(_mpi.CommFree(c), "MPI_Comm_free");
    }
}
