// Garbage collection at training-step boundaries, where almost nothing a step allocated is still alive.
namespace Cortado.Memory;

/// <summary>
/// Runs a young-generation (gen0) collection at a step boundary once a threshold of bytes has been
/// allocated since the last one. Training allocates activation and gradient arrays every step and drops
/// them all by the next; left to itself the GC collects whenever its budget runs out, usually in the
/// middle of a step, and then promotes the step's live activations to gen1, so the heap and the
/// working set swing with where in the step each collection lands. Collecting between steps finds
/// only parameters, optimizer state and the batch alive: the collection is cheap and the peak working
/// set of a LeNet run fell from about 195 MiB to about 105 MiB and stayed flat
/// (<c>cortado bench memory</c>, docs/benchmarks.md).
/// <c>Optimizer.ZeroGrad</c> in Cortado.NN calls <see cref="StepBoundary()"/>; a custom loop
/// that never calls it can call <see cref="StepBoundary()"/> itself. The threshold comes from
/// <c>CORTADO_STEP_GC_MB</c> (default 16; 0 turns this off) or <see cref="ThresholdBytes"/>.
/// </summary>
public static class StepCollector
{
    private static long _threshold = ReadDefault();
    private static long _allocatedAtLast;

    private static long ReadDefault()
    {
        var s = Environment.GetEnvironmentVariable("CORTADO_STEP_GC_MB");
        if (!string.IsNullOrWhiteSpace(s) && long.TryParse(s, out long mb) && mb >= 0) return mb << 20;
        // 16 MiB: at 32 MiB the runtime's own gen0 collections still landed mid-step on the 2026-12-07 host (docs/benchmarks.md).
        return 16L << 20;
    }

    /// <summary>Bytes allocated (by all threads) since the last collection that make <see cref="StepBoundary()"/> collect; 0 turns collection off.</summary>
    public static long ThresholdBytes
    {
        get => Volatile.Read(ref _threshold);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _threshold, value);
        }
    }

    /// <summary>Number of collections <see cref="StepBoundary()"/> has run in this process.</summary>
    public static long Collections => Interlocked.Read(ref _collections);

    private static long _collections;

    /// <summary>
    /// Marks a step boundary: collects gen0 when at least <see cref="ThresholdBytes"/> have been
    /// allocated since the last collection made here. Returns whether it collected.
    /// </summary>
    public static bool StepBoundary() => StepBoundary(long.MaxValue);

    /// <summary>
    /// As <see cref="StepBoundary()"/>, collecting once the smaller of <see cref="ThresholdBytes"/> and
    /// <paramref name="atMostBytes"/> has been allocated (a caller whose steps leave little alive and allocate little,
    /// as an inference run does, collects sooner); nothing when <see cref="ThresholdBytes"/> is 0.
    /// </summary>
    public static bool StepBoundary(long atMostBytes)
    {
        long threshold = ThresholdBytes;
        if (threshold == 0) return false;
        threshold = Math.Min(threshold, Math.Max(1, atMostBytes));
        long now = GC.GetTotalAllocatedBytes(false);
        long last = Interlocked.Read(ref _allocatedAtLast);
        if (now - last < threshold) return false;
        // Two threads at a boundary at once: one of them collects.
        if (Interlocked.CompareExchange(ref _allocatedAtLast, now, last) != last) return false;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        Interlocked.Increment(ref _collections);
        return true;
    }
}
