// Memory planning: the arena layout of a run's tensors, from a recorded run's allocations and the plan's lifetimes.
namespace Cortado.Graph;

/// <summary>
/// The arena layout of one run of a graph at given input shapes (TensorRT's dynamic tensor memory, ONNX Runtime's
/// memory pattern). A first run records every tensor the steps allocate on the running thread, in order; each
/// allocation becomes a block that lives from the step that made it to the last step reading any value over it
/// (values that are views of a block, such as a Reshape's output, extend its life). Blocks whose lifetimes overlap
/// never share bytes; offsets are assigned greedily, largest block first, each at the lowest offset free for its
/// whole lifetime, aligned to <see cref="Alignment"/> bytes, with one arena per element type. Blocks that reach a
/// graph output or a sequence are left out: the caller owns those. Graph inputs and constants are never part of it.
/// Later runs at the same shapes take their tensors from the arena (<see cref="InferenceSession"/>).
/// </summary>
public sealed class MemoryPlan
{
    /// <summary>Alignment of every offset, in bytes.</summary>
    public const int Alignment = 64;

    private MemoryPlan() { }

    /// <summary>Size of the arenas together: per element type, the end of the highest placed block.</summary>
    public long ArenaBytes { get; private init; }

    /// <summary>Size of the arena of each element type, in bytes.</summary>
    public IReadOnlyDictionary<DType, long> ArenaBytesByDType { get; private init; } = new Dictionary<DType, long>();

    /// <summary>Most bytes of planned blocks alive at once (the lower bound any layout needs).</summary>
    public long PeakLiveBytes { get; private init; }

    /// <summary>Bytes of all planned blocks together (what a run allocates without reuse).</summary>
    public long TotalBytes { get; private init; }

    /// <summary>Number of allocations the recorded run made that are not in the arena (graph outputs, sequences).</summary>
    public int UnplannedAllocations { get; private init; }

    /// <summary>
    /// Offset (within the arena of its element type) and size in bytes of the block of each value that owns one, by
    /// value name. Temporaries that no value names are planned too but not listed.
    /// </summary>
    public IReadOnlyDictionary<string, (long Offset, long Bytes)> Offsets { get; private init; } = new Dictionary<string, (long, long)>();

    /// <summary>Per step of the main graph, its allocations in order: element type, length, element offset (-1: not in the arena).</summary>
    internal (DType DType, int Length, long Offset)[][] StepBlocks { get; private init; } = [];

    /// <summary>Per slot, the element range of the block its value must lie in when it is in the arena (null: it must not be).</summary>
    internal (DType DType, long Start, long End)?[] SlotRanges { get; private init; } = [];

    /// <summary>One allocation of a recorded run.</summary>
    internal sealed class Block(DType dtype, int length, int step)
    {
        public DType DType { get; } = dtype;
        public int Length { get; } = length;
        public int First { get; } = step;
        public int Last { get; set; } = step;
        public bool Excluded { get; set; }
        public string? Owner { get; set; }
        public long Bytes => ((long)Length * DType.SizeOf() + Alignment - 1) / Alignment * Alignment;
    }

    /// <summary>
    /// Lays out the blocks of a recorded run: <paramref name="steps"/> lists each step's allocations as block indices
    /// into <paramref name="blocks"/>; <paramref name="slotBlocks"/> gives the block each slot's value lies in (-1 none).
    /// </summary>
    internal static MemoryPlan Build(IReadOnlyList<Block> blocks, IReadOnlyList<IReadOnlyList<int>> steps, int[] slotBlocks)
    {
        var offsets = new long[blocks.Count];
        Array.Fill(offsets, -1);
        var arenas = new Dictionary<DType, long>();
        foreach (var group in Enumerable.Range(0, blocks.Count).Where(b => !blocks[b].Excluded && blocks[b].Length > 0).GroupBy(b => blocks[b].DType))
        {
            // Largest first; ties by earlier start, then by allocation order, so the layout is reproducible.
            var order = group.OrderByDescending(b => blocks[b].Bytes).ThenBy(b => blocks[b].First).ThenBy(b => b).ToList();
            var placed = new List<(int first, int last, long offset, long size)>();
            long arena = 0;
            foreach (int b in order)
            {
                var v = blocks[b];
                long at = 0;
                foreach (var c in placed.Where(p => p.first <= v.Last && v.First <= p.last).OrderBy(p => p.offset))
                {
                    if (at + v.Bytes <= c.offset) break;
                    at = Math.Max(at, c.offset + c.size);
                }
                placed.Add((v.First, v.Last, at, v.Bytes));
                offsets[b] = at;
                arena = Math.Max(arena, at + v.Bytes);
            }
            arenas[group.Key] = arena;
        }
        var planned = Enumerable.Range(0, blocks.Count).Where(b => offsets[b] >= 0).ToList();
        long peak = 0;
        for (int t = 0; t < steps.Count; t++)
            peak = Math.Max(peak, planned.Where(b => blocks[b].First <= t && t <= blocks[b].Last).Sum(b => blocks[b].Bytes));
        var named = new Dictionary<string, (long, long)>();
        foreach (int b in planned) if (blocks[b].Owner is string owner) named[owner] = (offsets[b], blocks[b].Bytes);
        var ranges = new (DType, long, long)?[slotBlocks.Length];
        for (int s = 0; s < slotBlocks.Length; s++)
            if (slotBlocks[s] is int b && b >= 0 && offsets[b] >= 0)
            {
                long start = offsets[b] / blocks[b].DType.SizeOf();
                ranges[s] = (blocks[b].DType, start, start + blocks[b].Length);
            }
        return new MemoryPlan
        {
            ArenaBytes = arenas.Values.Sum(),
            ArenaBytesByDType = arenas,
            PeakLiveBytes = peak,
            TotalBytes = planned.Sum(b => blocks[b].Bytes),
            UnplannedAllocations = blocks.Count - planned.Count,
            Offsets = named,
            StepBlocks = steps.Select(list => list.Select(b => (blocks[b].DType, blocks[b].Length,
                offsets[b] < 0 ? -1L : offsets[b] / blocks[b].DType.SizeOf())).ToArray()).ToArray(),
            SlotRanges = ranges,
        };
    }
}
