// StepCollector: a gen0 collection at a step boundary once enough was allocated, none below the threshold.
using Cortado.Memory;
using Xunit;

namespace Cortado.Core.Tests;

[Collection("StepCollector")] // the threshold is process-wide
public class StepCollectorTests
{
    private static byte[][] Allocate(int count, int bytes)
    {
        var a = new byte[count][];
        for (int i = 0; i < count; i++) a[i] = new byte[bytes];
        return a;
    }

    [Fact]
    public void CollectsOnceTheThresholdIsAllocatedAndNotBefore()
    {
        long saved = StepCollector.ThresholdBytes;
        try
        {
            StepCollector.ThresholdBytes = 8L << 20;
            GC.KeepAlive(Allocate(40, 1 << 20)); // 40 MiB since any earlier boundary
            long gen0 = GC.CollectionCount(0), runs = StepCollector.Collections;
            Assert.True(StepCollector.StepBoundary());
            Assert.True(GC.CollectionCount(0) > gen0);
            Assert.Equal(runs + 1, StepCollector.Collections);
            // Below the threshold a boundary does nothing (a threshold no test reaches, since tests in
            // other classes allocate at the same time).
            StepCollector.ThresholdBytes = 1L << 40;
            Assert.False(StepCollector.StepBoundary());
            Assert.Equal(runs + 1, StepCollector.Collections);
            // Allocating past the threshold again collects again.
            StepCollector.ThresholdBytes = 8L << 20;
            GC.KeepAlive(Allocate(16, 1 << 20));
            Assert.True(StepCollector.StepBoundary());
        }
        finally
        {
            StepCollector.ThresholdBytes = saved;
        }
    }

    [Fact]
    public void ACallerMayCollectSoonerButNotWhenItIsOff()
    {
        long saved = StepCollector.ThresholdBytes;
        try
        {
            // An inference run's boundary collects at 4 MiB though steps use a threshold no test reaches.
            StepCollector.ThresholdBytes = 1L << 40;
            GC.KeepAlive(Allocate(8, 1 << 20));
            long runs = StepCollector.Collections;
            Assert.False(StepCollector.StepBoundary());
            Assert.True(StepCollector.StepBoundary(4L << 20));
            Assert.Equal(runs + 1, StepCollector.Collections);
            // A larger bound than the threshold does not delay it, and 0 as the threshold still turns it off.
            StepCollector.ThresholdBytes = 4L << 20;
            GC.KeepAlive(Allocate(8, 1 << 20));
            Assert.True(StepCollector.StepBoundary(1L << 40));
            StepCollector.ThresholdBytes = 0;
            GC.KeepAlive(Allocate(8, 1 << 20));
            Assert.False(StepCollector.StepBoundary(1));
        }
        finally
        {
            StepCollector.ThresholdBytes = saved;
        }
    }

    [Fact]
    public void ZeroThresholdTurnsItOff()
    {
        long saved = StepCollector.ThresholdBytes;
        try
        {
            StepCollector.ThresholdBytes = 0;
            GC.KeepAlive(Allocate(40, 1 << 20));
            long runs = StepCollector.Collections;
            Assert.False(StepCollector.StepBoundary());
            Assert.Equal(runs, StepCollector.Collections);
            Assert.Throws<ArgumentOutOfRangeException>(() => StepCollector.ThresholdBytes = -1);
        }
        finally
        {
            StepCollector.ThresholdBytes = saved;
        }
    }
}
