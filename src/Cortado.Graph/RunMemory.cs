// Where the tensors of one run of the main graph come from: recorded on a first run, taken from the arena after.
using Cortado.Memory;

namespace Cortado.Graph;

/// <summary>Allocation hooks of one run of the main graph; the executor calls them around each step.</summary>
internal abstract class RunMemory : ITensorAllocator
{
    /// <summary>Step <paramref name="index"/> is about to run.</summary>
    public abstract void BeginStep(int index);

    /// <summary>Step <paramref name="step"/> returned <paramref name="results"/>; may replace values it must not keep.</summary>
    public abstract void EndStep(PlanStep step, object?[] results);

    public bool TryAllocate(DType dtype, int length, out Storage storage, out int offset) =>
        TryAllocate(dtype, length, out storage, out offset, zeroed: true);

    public abstract bool TryAllocate(DType dtype, int length, out Storage storage, out int offset, bool zeroed);

    /// <summary>Tensors held by a graph value: the tensor itself, or those of a sequence or optional.</summary>
    protected static IEnumerable<Tensor> TensorsOf(object? value) => value switch
    {
        Tensor t => [t],
        TensorSequence s => s.Items,
        OptionalValue { Value: var inner } => TensorsOf(inner),
        _ => [],
    };
}

/// <summary>
/// Records a run: every tensor a step allocates gets a fresh array and becomes a <see cref="MemoryPlan.Block"/>; the
/// values each step writes extend the lives of the blocks they lie in. <see cref="Finish"/> lays the blocks out.
/// </summary>
internal sealed class RecordingMemory(ExecutionPlan plan) : RunMemory
{
    private readonly List<MemoryPlan.Block> _blocks = [];
    private readonly List<List<int>> _steps = [];
    // Weak keys: the recorder must not keep the run's arrays alive after the executor has dropped them.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Storage, System.Runtime.CompilerServices.StrongBox<int>> _byStorage = new();
    private readonly int[] _slotBlocks = Enumerable.Repeat(-1, plan.SlotNames.Count).ToArray();
    private int _step = -1;

    /// <summary>
    /// Bytes the process may allocate between the recorder's collections. A recorded run's tensors are fresh arrays
    /// that die as the run goes; collecting as it goes (and first, when loading the model left garbage behind) keeps
    /// the process's peak while recording near what is alive, not everything the run allocated.
    /// </summary>
    public const long CollectEveryBytes = 16L << 20;

    private static long s_allocatedAtCollect = long.MinValue / 2;

    private static void CollectIfDue(long threshold)
    {
        if (GC.GetTotalAllocatedBytes() - Interlocked.Read(ref s_allocatedAtCollect) <= threshold) return;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Interlocked.Exchange(ref s_allocatedAtCollect, GC.GetTotalAllocatedBytes());
    }

    public override void BeginStep(int index)
    {
        _step = index;
        while (_steps.Count <= index) _steps.Add([]);
        CollectIfDue(CollectEveryBytes);
    }

    public override bool TryAllocate(DType dtype, int length, out Storage storage, out int offset, bool zeroed)
    {
        storage = Storage.Allocate(dtype, length, zeroed);
        offset = 0;
        if (_step < 0) return true;
        _byStorage.Add(storage, new(_blocks.Count));
        _steps[_step].Add(_blocks.Count);
        _blocks.Add(new MemoryPlan.Block(dtype, length, _step));
        return true;
    }

    public override void EndStep(PlanStep step, object?[] results)
    {
        int steps = plan.Steps.Count;
        for (int o = 0; o < step.Outputs.Length && o < results.Length; o++)
        {
            int s = step.Outputs[o];
            if (s < 0) continue;
            foreach (var t in TensorsOf(results[o]))
            {
                if (!_byStorage.TryGetValue(t.Storage, out var box)) continue;
                int b = box.Value;
                var block = _blocks[b];
                // A block that reaches the caller (a graph output) or hides in a sequence stays off the arena.
                if (results[o] is not Tensor || plan.LastRead[s] >= steps) block.Excluded = true;
                else
                {
                    block.Last = Math.Max(block.Last, plan.LastRead[s]);
                    _slotBlocks[s] = b;
                    block.Owner ??= block.First == step.Index ? plan.SlotNames[s] : null;
                }
            }
        }
    }

    public MemoryPlan Finish()
    {
        // The last stretch of dead intermediates goes before the arena is allocated on top.
        CollectIfDue(CollectEveryBytes / 4);
        return MemoryPlan.Build(_blocks, _steps, _slotBlocks);
    }
}

/// <summary>
/// Serves a run from the arena of a <see cref="MemoryPlan"/>: the k-th allocation of a step gets its planned block
/// when its element type and length are the recorded ones. From the first allocation that differs (a data-dependent
/// step) the rest of the step allocates fresh arrays. After each step, a value that lies in the arena but outside the
/// block planned for it (or that must not be in the arena at all) is copied out, so no value outlives its bytes.
/// </summary>
internal sealed class ArenaMemory(MemoryPlan plan, IReadOnlyDictionary<DType, Storage> arenas) : RunMemory
{
    private (DType DType, int Length, long Offset)[] _blocks = [];
    private int _next;

    public override void BeginStep(int index)
    {
        _blocks = index < plan.StepBlocks.Length ? plan.StepBlocks[index] : [];
        _next = 0;
    }

    public override bool TryAllocate(DType dtype, int length, out Storage storage, out int offset, bool zeroed)
    {
        storage = null!;
        offset = 0;
        if (_next >= _blocks.Length) return false;
        var (dt, len, at) = _blocks[_next];
        if (dt != dtype || len != length)
        {
            _next = _blocks.Length;
            return false;
        }
        _next++;
        if (at < 0) return false;
        storage = arenas[dtype];
        offset = (int)at;
        if (zeroed) Array.Clear(storage.Array, offset, length);
        return true;
    }

    public override void EndStep(PlanStep step, object?[] results)
    {
        for (int o = 0; o < step.Outputs.Length && o < results.Length; o++)
        {
            int s = step.Outputs[o];
            if (s >= 0 && results[o] is { } value) results[o] = Detach(value, plan.SlotRanges[s]);
        }
    }

    // The value itself, or a copy of it where it lies in the arena outside `range` (tensors inside a sequence or an
    // optional have no block of their own, so any of them in the arena is copied).
    private object Detach(object value, (DType DType, long Start, long End)? range) => value switch
    {
        Tensor t when InArena(t) && !Within(t, range) => CopyOut(t),
        TensorSequence seq when seq.Items.Any(InArena) =>
            new TensorSequence(seq.Items.Select(i => (Tensor)Detach(i, null)).ToList(), seq.ElementType),
        OptionalValue { Value: { } inner } opt => Detach(inner, null) is var d && !ReferenceEquals(d, inner) ? new OptionalValue(d) : opt,
        _ => value,
    };

    private bool InArena(Tensor t) => arenas.TryGetValue(t.DType, out var a) && ReferenceEquals(a, t.Storage);

    // True when every element t can address lies in the planned range.
    private static bool Within(Tensor t, (DType DType, long Start, long End)? range)
    {
        if (range is not { } r || r.DType != t.DType) return false;
        if (t.Numel == 0) return true;
        long lo = t.Offset, hi = t.Offset;
        for (int d = 0; d < t.Rank; d++)
        {
            long span = (long)(t.Shape[d] - 1) * t.Strides[d];
            if (span < 0) lo += span; else hi += span;
        }
        return lo >= r.Start && hi < r.End;
    }

    private static Tensor CopyOut(Tensor t)
    {
        using (TensorAllocator.Use(null)) return t.Clone();
    }
}
