// Data-parallel training: identical replicas, gradients averaged in buckets while the backward pass runs.
using System.Numerics.Tensors;
using Cortado.Diagnostics;
using Cortado.NN;

namespace Cortado.Distributed;

/// <summary>Settings of <see cref="DistributedDataParallel"/>.</summary>
public sealed record DdpOptions
{
    /// <summary>Largest gradient bucket in bytes (PyTorch's bucket_cap_mb; default 25 MB). Small tensors share a bucket, so they travel in one message.</summary>
    public long BucketBytes { get; init; } = 25L << 20;

    /// <summary>
    /// Largest final bucket in bytes (default 1 MiB; 0 gives it no special size). The final bucket holds the first
    /// parameters, whose gradients the backward pass produces last: nothing overlaps its allreduce, so it is kept
    /// small and the larger buckets before it finish while the first layers' backward still runs. PyTorch keeps its
    /// first bucket small (1 MiB) so that communication starts early; this is the same idea at the other end.
    /// </summary>
    public long FinalBucketBytes { get; init; } = 1L << 20;

    /// <summary>
    /// Deterministic mode: instead of MPI's allreduce (whose summation order is MPI's choice), the buckets are
    /// all-gathered and summed in rank order. Gradients then equal, bit for bit, those of one process that
    /// accumulates the same shards in rank order (gradient accumulation over W micro-batches) and divides by W.
    /// It moves W times the data of an allreduce. (On one machine the shared-memory allreduce, the default, already
    /// sums in rank order; this mode gives the same bits across machines too.)
    /// </summary>
    public bool Deterministic { get; init; }
}

/// <summary>
/// Distributed data parallelism (PyTorch's <c>DistributedDataParallel</c>, Horovod's
/// <c>DistributedOptimizer</c>): every rank holds a full replica of the module and trains on its own shard
/// of each global batch; after each backward pass the gradients are averaged over the ranks, so every
/// replica takes the same optimizer step.
/// </summary>
/// <remarks>
/// <para>Construction broadcasts rank 0's parameters and buffers to every rank. Parameters are grouped into
/// buckets of up to <see cref="DdpOptions.BucketBytes"/> in reverse registration order (roughly the order
/// the backward pass produces their gradients). When every gradient of a bucket is ready
/// (<see cref="Tensor.GradReady"/>), the bucket is packed and its allreduce starts on the communication
/// thread while the backward pass continues; buckets start in index order on every rank, as MPI requires.
/// When the last bucket has started, the module waits for all of them and writes the averaged gradients
/// back, so the optimizer step that follows sees synchronised gradients with no extra call.</para>
/// <para>Every parameter that requires a gradient must receive one in each backward pass; a pass that
/// leaves some out is reported by the next one (or by <see cref="FinishGradientSync"/>), naming them.
/// Inside <see cref="NoSync"/> gradients only accumulate locally (gradient accumulation).</para>
/// </remarks>
public sealed class DistributedDataParallel : IDisposable
{
    private readonly List<Bucket> _buckets = [];
    private readonly Dictionary<Tensor, (Bucket bucket, int slot)> _where = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string name, Tensor param)> _named;
    private int _nextLaunch;
    private int _noSyncDepth;
    private bool _inPass;

    /// <summary>Wraps <paramref name="module"/>: broadcasts its state from rank 0 and hooks its parameters.</summary>
    public DistributedDataParallel(Module module, ProcessGroup group, DdpOptions? options = null)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        Group = group ?? throw new ArgumentNullException(nameof(group));
        Options = options ?? new DdpOptions();
        if (Options.BucketBytes < 1) throw new ArgumentOutOfRangeException(nameof(options), "the bucket size must be positive");
        _named = [.. module.NamedParameters().Where(p => p.Value.RequiresGrad).Select(p => (p.Key, p.Value))];
        BroadcastState(module, group);

        if (Options.FinalBucketBytes < 0) throw new ArgumentOutOfRangeException(nameof(options), "the final bucket size must not be negative");
        foreach (var (name, p) in _named)
            if (p.DType is not (DType.Float32 or DType.Float64))
                throw new DTypeMismatchException($"parameter '{name}' has dtype {p.DType}; data-parallel gradients are float32 or float64");

        // The first parameters (their gradients come last) make the final bucket, up to FinalBucketBytes and one dtype.
        int final = 0;
        for (long bytes = 0; final < _named.Count; final++)
        {
            var p = _named[final].param;
            bytes += (long)p.Numel * p.DType.SizeOf();
            if (bytes > Math.Min(Options.FinalBucketBytes, Options.BucketBytes) || p.DType != _named[0].param.DType) break;
        }
        // Buckets in reverse registration order; a bucket holds one dtype.
        Bucket? current = null;
        for (int i = _named.Count - 1; i >= 0; i--)
        {
            var (name, p) = _named[i];
            long bytes = (long)p.Numel * p.DType.SizeOf();
            if (current == null || current.DType != p.DType || (current.Bytes > 0 && current.Bytes + bytes > Options.BucketBytes) || i == final - 1)
            {
                current = new Bucket(_buckets.Count, p.DType);
                _buckets.Add(current);
            }
            _where[p] = (current, current.Params.Count);
            current.Add(name, p);
            p.GradReady += OnGradReady;
        }
        foreach (var b in _buckets) b.Allocate(group.Size, Options.Deterministic);
    }

    /// <summary>The wrapped module.</summary>
    public Module Module { get; }

    /// <summary>The ranks this module is replicated over.</summary>
    public ProcessGroup Group { get; }

    /// <summary>The settings.</summary>
    public DdpOptions Options { get; }

    /// <summary>Number of gradient buckets.</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>Parameter names of each bucket, in bucket order (a diagnostic).</summary>
    public IReadOnlyList<IReadOnlyList<string>> BucketNames => [.. _buckets.Select(b => (IReadOnlyList<string>)b.Names)];

    /// <summary>Runs the wrapped module.</summary>
    public Tensor Forward(Tensor input) => Module.Forward(input);

    /// <summary>Copies rank 0's parameters and buffers to every rank (also done at construction).</summary>
    public static void BroadcastState(Module module, ProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        if (group.Size == 1) return;
        var works = new List<CommWork>();
        foreach (var (name, t) in module.NamedParameters().Concat(module.NamedBuffers()))
        {
            if (!t.IsContiguous) throw new DistributedException($"parameter or buffer '{name}' is not contiguous and cannot be broadcast in place");
            if (t.DType is DType.Float32 or DType.Float64 or DType.Int64) works.Add(group.BroadcastAsync(t, 0, "broadcast " + name));
            else throw new DTypeMismatchException($"parameter or buffer '{name}' has dtype {t.DType}; distributed training carries float32, float64 and int64");
        }
        foreach (var w in works) w.Wait();
    }

    /// <summary>A scope in which backward passes only accumulate gradients locally, without communication.</summary>
    public NoSyncScope NoSync()
    {
        _noSyncDepth++;
        return new NoSyncScope(this);
    }

    /// <summary>Ends a <see cref="NoSync"/> scope.</summary>
    public readonly struct NoSyncScope : IDisposable
    {
        private readonly DistributedDataParallel _owner;
        internal NoSyncScope(DistributedDataParallel owner) => _owner = owner;

        /// <summary>Ends the scope.</summary>
        public void Dispose() => _owner._noSyncDepth--;
    }

    private void OnGradReady(Tensor p)
    {
        if (_noSyncDepth > 0) return;
        var (bucket, slot) = _where[p];
        if (!_inPass)
        {
            _inPass = true;
            foreach (var b in _buckets) b.ResetPass();
        }
        // A new pass started while the last one still waits for some gradients: those never came.
        if (bucket.Ready[slot]) throw MissingGradients();
        bucket.Ready[slot] = true;
        bucket.Pending--;
        while (_nextLaunch < _buckets.Count && _buckets[_nextLaunch].Pending == 0)
        {
            Launch(_buckets[_nextLaunch]);
            _nextLaunch++;
        }
        if (_nextLaunch == _buckets.Count) FinishGradientSync();
    }

    private void Launch(Bucket b)
    {
        using (Tracing.Span("pack gradients", "compute")) b.Pack();
        b.Work = Options.Deterministic
            ? Group.AllGatherAsync(b.Flat, b.Gathered!, $"allgather bucket {b.Index}")
            : Group.AllReduceAsync(b.Flat, ReduceOp.Average, $"allreduce bucket {b.Index}");
    }

    /// <summary>
    /// Waits for every bucket of the current backward pass and writes the averaged gradients into the
    /// parameters' <see cref="Tensor.Grad"/>. Called automatically when the last bucket has started; calling
    /// it when some parameters got no gradient throws, naming them.
    /// </summary>
    public void FinishGradientSync()
    {
        if (!_inPass) return;
        if (_nextLaunch < _buckets.Count)
        {
            var error = MissingGradients();
            _inPass = false;
            _nextLaunch = 0;
            throw error;
        }
        using var waiting = Tracing.Span("gradient sync wait", "wait");
        foreach (var b in _buckets)
        {
            b.Work!.Wait();
            using var averaging = Tracing.Span("average gradients", "compute");
            if (Options.Deterministic) b.AverageGathered(Group.Size);
            b.Unpack();
        }
        _inPass = false;
        _nextLaunch = 0;
    }

    private DistributedException MissingGradients()
    {
        var missing = _buckets.SelectMany(b => b.Names.Where((_, i) => !b.Ready[i])).Take(8).ToList();
        return new DistributedException(
            $"these parameters got no gradient in the last backward pass: {string.Join(", ", missing)}. Every parameter that requires a " +
            "gradient must take part in each step of data-parallel training (set RequiresGrad = false on unused ones)");
    }

    /// <summary>Unhooks the parameters.</summary>
    public void Dispose()
    {
        foreach (var (_, p) in _named)
        {
            p.GradReady -= OnGradReady;
            if (p.GradBuffer != null && _where.TryGetValue(p, out var at) && ReferenceEquals(p.GradBuffer, at.bucket.Views[at.slot])) p.GradBuffer = null;
        }
    }

    private sealed class Bucket(int index, DType dtype)
    {
        public readonly int Index = index;
        public readonly DType DType = dtype;
        public readonly List<Tensor> Params = [];
        public readonly List<string> Names = [];
        public readonly List<int> Offsets = [];
        public bool[] Ready = [];
        public int Pending;
        public long Bytes;
        public int Elements;
        public Tensor Flat = null!;
        // Each parameter's slice of Flat: its gradient buffer, so backward writes gradients straight into the bucket.
        public readonly List<Tensor> Views = [];
        public Tensor? Gathered;
        public CommWork? Work;

        public void Add(string name, Tensor p)
        {
            Params.Add(p);
            Names.Add(name);
            Offsets.Add(Elements);
            Elements += p.Numel;
            Bytes += (long)p.Numel * p.DType.SizeOf();
        }

        public void Allocate(int world, bool deterministic)
        {
            Flat = Tensor.Zeros([Elements], DType);
            if (deterministic) Gathered = Tensor.Zeros([world, Elements], DType);
            using (Autograd.NoGradScope())
            {
                for (int i = 0; i < Params.Count; i++)
                {
                    var view = Flat.Slice(0, Offsets[i], Offsets[i] + Params[i].Numel).Reshape(Params[i].Dims);
                    Views.Add(view);
                    // Only a true view into Flat can stand in for the copy into the bucket.
                    if (ReferenceEquals(view.Storage, Flat.Storage) && view.IsContiguous) Params[i].GradBuffer = view;
                }
            }
            Ready = new bool[Params.Count];
            Pending = Params.Count;
        }

        public void ResetPass()
        {
            Array.Clear(Ready);
            Pending = Params.Count;
            Work = null;
        }

        public void Pack()
        {
            for (int i = 0; i < Params.Count; i++)
            {
                var g = Params[i].Grad ?? throw new DistributedException($"parameter '{Names[i]}' was reported ready without a gradient");
                if (ReferenceEquals(g, Views[i])) continue; // backward wrote it into the bucket already
                if (DType == DType.Float32) g.Contiguous().AsSpan<float>().CopyTo(Flat.AsSpan<float>().Slice(Offsets[i], Params[i].Numel));
                else g.Contiguous().AsSpan<double>().CopyTo(Flat.AsSpan<double>().Slice(Offsets[i], Params[i].Numel));
            }
        }

        public void AverageGathered(int world)
        {
            // Rank order: ((g0 + g1) + g2) + … — the order one process accumulating the shards would use — then / world.
            if (DType == DType.Float32) Average(Gathered!.AsSpan<float>(), Flat.AsSpan<float>(), world);
            else Average(Gathered!.AsSpan<double>(), Flat.AsSpan<double>(), world);

            void Average<T>(Span<T> all, Span<T> sum, int world) where T : unmanaged, System.Numerics.INumber<T>
            {
                all[..Elements].CopyTo(sum);
                for (int r = 1; r < world; r++) TensorPrimitives.Add(sum, all.Slice(r * Elements, Elements), sum);
                TensorPrimitives.Divide(sum, T.CreateTruncating(world), sum);
            }
        }

        /// <summary>Hands each parameter its averaged gradient, already in place where backward wrote into the bucket.</summary>
        public void Unpack()
        {
            for (int i = 0; i < Params.Count; i++)
            {
                var p = Params[i];
                if (p.Grad is { } own && ReferenceEquals(own, Views[i])) continue;
                // Otherwise into the parameter's own gradient tensor rather than a new one, where it can take it.
                var g = p.Grad is { IsContiguous: true } mine && mine.DType == DType && mine.Numel == p.Numel ? mine : Tensor.Zeros(p.Dims, DType);
                p.Grad = g.CopyFrom(Views[i]);
            }
        }
    }
}
