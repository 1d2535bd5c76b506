// A collective in flight: the pinned buffers, its MPI request, and a handle to wait on.
using System.Runtime.InteropServices;

namespace Cortado.Distributed;

internal enum CommKind { AllReduce, Broadcast, AllGather, Barrier }

/// <summary>
/// A collective submitted to a <see cref="ProcessGroup"/> (torch.distributed's <c>Work</c>). The tensors it
/// carries stay pinned and must not be read or written until <see cref="Wait"/> returns.
/// </summary>
public sealed class CommWork
{
    private readonly ManualResetEventSlim _done = new();
    private readonly List<GCHandle> _pins = [];
    private Exception? _error;
    private ProcessGroup? _group;

    internal CommWork(CommKind kind, string name, Tensor? tensor, Tensor? output, MpiType type, ReduceOp op, int root)
    {
        Kind = kind;
        Name = name;
        Tensor = tensor;
        Output = output;
        Type = type;
        Op = op;
        Root = root;
    }

    internal CommKind Kind { get; }
    internal Tensor? Tensor { get; }
    internal Tensor? Output { get; }
    internal MpiType Type { get; }
    internal ReduceOp Op { get; }
    internal int Root { get; }
    internal nint Request;
    // Reduced through the machine's shared window (NodeAllReduce) rather than by an MPI request; set true once done, average included.
    internal bool OnNode, ReducedInPlace;
    internal long Seq, Queued, Started;

    /// <summary>What the collective is (e.g. "allreduce bucket 3"), as shown in timelines and errors.</summary>
    public string Name { get; }

    /// <summary>True once the collective has finished (or failed).</summary>
    public bool IsCompleted => _done.IsSet;

    /// <summary>Blocks until the collective has finished; throws <see cref="RankFailureException"/> when a peer failed.</summary>
    public void Wait()
    {
        if (!_done.IsSet)
        {
            // While a caller is blocked here its core is free: the communication thread polls MPI without pausing.
            _group?.WaiterArrived();
            try { _done.Wait(); }
            finally { _group?.WaiterLeft(); }
        }
        if (_error != null) throw _error is RankFailureException r ? new RankFailureException(r.Rank, r.Message) : new DistributedException(_error.Message, _error);
    }

    internal void Attach(ProcessGroup group) => _group = group;

    internal nint Pin(Tensor t)
    {
        var array = t.Storage.Array;
        var h = GCHandle.Alloc(array, GCHandleType.Pinned);
        _pins.Add(h);
        return h.AddrOfPinnedObject() + (nint)(t.Offset * t.DType.SizeOf());
    }

    internal void Finish(int worldSize)
    {
        Unpin();
        if (Op == ReduceOp.Average && Tensor != null && worldSize > 1 && !ReducedInPlace) AverageInPlace(Tensor, worldSize);
        _done.Set();
    }

    internal void Fault(Exception e)
    {
        // The buffers stay pinned: MPI may still write into them.
        _error = e;
        _done.Set();
    }

    private void Unpin()
    {
        foreach (var h in _pins) h.Free();
        _pins.Clear();
    }

    private static void AverageInPlace(Tensor t, int n)
    {
        switch (t.DType)
        {
            case DType.Float32:
            {
                var s = t.AsSpan<float>();
                System.Numerics.Tensors.TensorPrimitives.Divide(s, (float)n, s);
                break;
            }
            case DType.Float64:
            {
                var s = t.AsSpan<double>();
                System.Numerics.Tensors.TensorPrimitives.Divide(s, n, s);
                break;
            }
            default:
            {
                var s = t.AsSpan<long>();
                for (int i = 0; i < s.Length; i++) s[i] /= n;
                break;
            }
        }
    }
}
