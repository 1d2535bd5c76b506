// Memory planning: where each intermediate of a run would sit in one arena, from the plan's lifetimes and the
// sizes a run produced.
namespace Cortado.Graph;

/// <summary>
/// An arena layout for the intermediates of one run of a graph (TensorRT's dynamic tensor memory): each value that a
/// step creates gets an offset, and values whose lifetimes [<see cref="ExecutionPlan.FirstWrite"/>,
/// <see cref="ExecutionPlan.LastRead"/>] overlap never share bytes. Offsets are assigned greedily, largest value
/// first, each at the lowest offset free for its whole lifetime (aligned to 64 bytes). Graph inputs, constants and
/// graph outputs are not part of it (the caller owns them), nor are views that share an existing tensor's storage.
/// </summary>
public sealed class MemoryPlan
{
    /// <summary>Alignment of every offset, in bytes.</summary>
    public const int Alignment = 64;

    private MemoryPlan(long arena, long peak, long total, IReadOnlyDictionary<string, (long Offset, long Bytes)> offsets)
    {
        ArenaBytes = arena;
        PeakLiveBytes = peak;
        TotalBytes = total;
        Offsets = offsets;
    }

    /// <summary>Size of the arena: the end of the highest placed value.</summary>
    public long ArenaBytes { get; }

    /// <summary>Most bytes of intermediates alive at once (the lower bound any layout needs).</summary>
    public long PeakLiveBytes { get; }

    /// <summary>Bytes of all intermediates together (what a run allocates without reuse).</summary>
    public long TotalBytes { get; }

    /// <summary>Each planned value's offset and size in bytes, by value name.</summary>
    public IReadOnlyDictionary<string, (long Offset, long Bytes)> Offsets { get; }

    /// <summary>
    /// Plans the arena of <paramref name="plan"/> for values of the given sizes in bytes (by slot; 0 for slots that
    /// are not planned: inputs, constants, outputs, views).
    /// </summary>
    public static MemoryPlan Build(ExecutionPlan plan, IReadOnlyList<long> bytes)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(bytes);
        int steps = plan.Steps.Count;
        var values = new List<(int slot, int first, int last, long size)>();
        foreach (int s in Enumerable.Range(0, plan.SlotNames.Count))
        {
            if (bytes[s] <= 0 || plan.FirstWrite[s] < 0 || plan.LastRead[s] >= steps) continue;
            int first = plan.FirstWrite[s], last = Math.Max(first, plan.LastRead[s]);
            values.Add((s, first, last, (bytes[s] + Alignment - 1) / Alignment * Alignment));
        }
        // Largest first; ties by earlier start, so the layout does not depend on dictionary order.
        values.Sort((a, b) => a.size != b.size ? b.size.CompareTo(a.size) : a.first != b.first ? a.first.CompareTo(b.first) : a.slot.CompareTo(b.slot));
        var placed = new List<(int first, int last, long offset, long size)>();
        var offsets = new Dictionary<string, (long, long)>();
        long arena = 0;
        foreach (var v in values)
        {
            var clashes = placed.Where(p => p.first <= v.last && v.first <= p.last).OrderBy(p => p.offset).ToList();
            long at = 0;
            foreach (var c in clashes)
            {
                if (at + v.size <= c.offset) break;
                at = Math.Max(at, c.offset + c.size);
            }
            placed.Add((v.first, v.last, at, v.size));
            offsets[plan.SlotNames[v.slot]] = (at, v.size);
            arena = Math.Max(arena, at + v.size);
        }
        long peak = 0;
        for (int t = 0; t < steps; t++)
            peak = Math.Max(peak, values.Where(v => v.first <= t && t <= v.last).Sum(v => v.size));
        return new MemoryPlan(arena, peak, values.Sum(v => v.size), offsets);
    }
}
