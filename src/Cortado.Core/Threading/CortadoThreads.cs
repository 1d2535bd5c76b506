// The process-wide worker pool that kernels split their work over.
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Cortado.Bench.Gemm")]

namespace Cortado.Threading;

/// <summary>
/// One process-wide pool of worker threads used by every kernel. Its size comes from the
/// <c>CORTADO_THREADS</c> environment variable, else the processor count, and can be set with
/// <see cref="Count"/>. Idle workers block on a semaphore (they sleep, they do not spin). Kernels split
/// work into chunks whose boundaries do not depend on the thread count, so results are identical for
/// any count.
/// </summary>
public static class CortadoThreads
{
    private static int _count = ReadDefault();
    private static WorkerPool? _pool;
    private static readonly object Gate = new();

    [ThreadStatic] private static bool _insideWorker;

    /// <summary>
    /// Whether a caller that has run out of items polls up to 50 µs for the workers' last ones before it blocks
    /// (waking a blocked thread costs tens of microseconds on small VMs). The results are the same either way;
    /// benchmarks switch it.
    /// </summary>
    internal static bool CallerSpins = true;

    private static int ReadDefault()
    {
        var s = Environment.GetEnvironmentVariable("CORTADO_THREADS");
        if (!string.IsNullOrWhiteSpace(s) && int.TryParse(s, out int n) && n > 0) return n;
        return Math.Max(1, Environment.ProcessorCount);
    }

    /// <summary>Number of threads kernels use (the caller's thread counts as one).</summary>
    public static int Count
    {
        get => _count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (Gate)
            {
                if (value == _count) return;
                _pool?.Dispose();
                _pool = null;
                _count = value;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, count), spread over the pool; returns when all
    /// are done. Nested calls from inside a worker run serially. Exceptions are rethrown on the caller.
    /// </summary>
    public static void ParallelFor(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0) return;
        int threads = _count;
        if (count == 1 || threads == 1 || _insideWorker)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        // Count may have been lowered by another thread since it was read above: decide under the lock.
        WorkerPool? pool;
        lock (Gate) pool = _count > 1 ? _pool ??= new WorkerPool(_count - 1) : null;
        if (pool == null)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        pool.Run(count, body);
    }

    /// <summary>Splits [0, total) into ranges of <paramref name="minChunk"/> items (the last may be shorter) and runs them in parallel.</summary>
    public static void ParallelRanges(int total, int minChunk, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (total <= 0) return;
        int chunk = Math.Max(minChunk, 1);
        int n = (total + chunk - 1) / chunk;
        ParallelFor(n, i => body(i * chunk, Math.Min(total, (i + 1) * chunk)));
    }

    private sealed class Job(int count, Action<int> body)
    {
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public int Next;
        public int Pending = count;
        public Exception? Error;
        public readonly ManualResetEventSlim Done = new(false);

        // Claims indices until none are left; a worker that arrives late finds Next >= Count and leaves.
        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < Count)
            {
                try { Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                if (Interlocked.Decrement(ref Pending) == 0) Done.Set();
            }
        }
    }

    private sealed class WorkerPool : IDisposable
    {
        // After a job a worker keeps polling for the next one this long before it blocks: kernels come
        // back to back during training, and waking a blocked thread costs tens of microseconds on small
        // VMs — longer than many kernels. An idle pool still goes to sleep within this window.
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5000; // 200 µs
        private static readonly long CallerSpinTicks = System.Diagnostics.Stopwatch.Frequency / 20000; // 50 µs

        private readonly Thread[] _threads;
        private readonly SemaphoreSlim _wake = new(0);
        private readonly object _jobGate = new();
        private Job? _job;
        private int _sleeping;
        private volatile bool _stop;

        public WorkerPool(int workers)
        {
            _threads = new Thread[workers];
            for (int i = 0; i < workers; i++)
            {
                _threads[i] = new Thread(Loop) { IsBackground = true, Name = $"cortado-worker-{i}" };
                _threads[i].Start();
            }
        }

        public void Run(int count, Action<int> body)
        {
            lock (_jobGate)
            {
                var job = new Job(count, body);
                Volatile.Write(ref _job, job);
                int sleeping = Volatile.Read(ref _sleeping);
                if (sleeping > 0) _wake.Release(Math.Min(sleeping, count - 1));
                bool wasInside = _insideWorker;
                _insideWorker = true;
                try { job.Work(); }
                finally { _insideWorker = wasInside; }
                if (CallerSpins && !job.Done.IsSet)
                {
                    long until = System.Diagnostics.Stopwatch.GetTimestamp() + CallerSpinTicks;
                    while (!job.Done.IsSet && System.Diagnostics.Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
                }
                job.Done.Wait();
                if (job.Error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(job.Error).Throw();
            }
        }

        private void Loop()
        {
            _insideWorker = true;
            Job? last = null;
            while (!_stop)
            {
                var job = Volatile.Read(ref _job);
                if (job != null && !ReferenceEquals(job, last))
                {
                    last = job;
                    job.Work();
                    continue;
                }
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                bool found = false;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
                {
                    var j = Volatile.Read(ref _job);
                    if (j != null && !ReferenceEquals(j, last))
                    {
                        found = true;
                        break;
                    }
                    Thread.SpinWait(30);
                }
                if (found) continue;
                Interlocked.Increment(ref _sleeping);
                // A job published between the last poll and the increment is not missed for good: the
                // caller runs every item it can claim itself, so at worst this worker skips one job.
                _wake.Wait();
                Interlocked.Decrement(ref _sleeping);
            }
        }

        public void Dispose()
        {
            _stop = true;
            if (_threads.Length > 0) _wake.Release(_threads.Length);
        }
    }
}
