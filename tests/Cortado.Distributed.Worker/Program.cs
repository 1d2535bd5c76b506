// The program the distributed tests run under mpirun: checks collectives, trains for equivalence checks, or loops for fault tests.
using System.Globalization;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Cortado;
using Cortado.Data;
using Cortado.Distributed;
using Cortado.IO;
using Cortado.NN;
using Cortado.Zoo;

static string Arg(string[] args, string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static int Fail(string message)
{
    Console.Error.WriteLine("FAIL " + message);
    return 2;
}

var mode = args.Length > 0 ? args[0] : "";
return mode switch
{
    "collectives" => Collectives(args.Contains("--rank-order")),
    "mismatch" => Mismatch(),
    "buckets" => Buckets(args),
    "train" => Train(args),
    "loop" => Loop(),
    "unused" => Unused(),
    "placement" => Placement(),
    _ => Fail("usage: worker collectives [--rank-order] | mismatch | buckets [options] | train [options] | loop | unused | placement"),
};

// Which CPUs this rank may run on, as the launcher placed it (no MPI calls).
static int Placement()
{
    var allowed = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
    Console.WriteLine($"PLACEMENT rank={Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK")} count={Environment.ProcessorCount} cpus={allowed.Split(':')[1].Trim()}");
    return 0;
}

// Every collective on every dtype, checked against values each rank can compute for all ranks. With --rank-order,
// float sums must also be bit-identical to summing the ranks' values in rank order (the shared-memory allreduce's order).
static int Collectives(bool rankOrder)
{
    using var g = ProcessGroup.Init();
    int w = g.Size, r = g.Rank;
    const int n = 1003;
    var f = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)(r + 1 + 0.5 * i)).ToArray());
    var expectSum = Enumerable.Range(0, n).Select(i => (double)(w * (w + 1) / 2 + w * 0.5 * i)).ToArray();
    g.AllReduce(f, ReduceOp.Sum);
    for (int i = 0; i < n; i++) if (f.AsSpan<float>()[i] != (float)expectSum[i]) return Fail($"float32 sum [{i}] = {f.AsSpan<float>()[i]}, expected {expectSum[i]}");

    var d = Tensor.FromArray(Enumerable.Range(0, n).Select(i => r + 1 + 0.25 * i).ToArray());
    g.AllReduce(d, ReduceOp.Average);
    for (int i = 0; i < n; i++)
        if (Math.Abs(d.AsSpan<double>()[i] - ((w + 1) / 2.0 + 0.25 * i)) > 1e-12) return Fail($"float64 average [{i}] = {d.AsSpan<double>()[i]}");

    var l = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)(r * 1000 + i)).ToArray());
    g.AllReduce(l, ReduceOp.Max);
    for (int i = 0; i < n; i++) if (l.AsSpan<long>()[i] != (w - 1) * 1000 + i) return Fail($"int64 max [{i}] = {l.AsSpan<long>()[i]}");

    int root = w - 1;
    var b = r == root ? Tensor.FromArray(new[] { 3.5, -1.0, 7.0 }) : Tensor.Zeros([3], DType.Float64);
    g.Broadcast(b, root);
    if (!b.ToArray<double>().SequenceEqual(new[] { 3.5, -1.0, 7.0 })) return Fail($"broadcast from rank {root} gave [{string.Join(", ", b.ToArray<double>())}]");

    var gathered = g.AllGather(Tensor.FromArray(new long[] { r, 10 * r }));
    for (int k = 0; k < w; k++)
        if (gathered.AsSpan<long>()[2 * k] != k || gathered.AsSpan<long>()[2 * k + 1] != 10 * k) return Fail($"allgather slot {k} = {gathered.AsSpan<long>()[2 * k]}");

    // Many collectives in flight at once complete in order with the right values.
    var many = Enumerable.Range(0, 12).Select(k => Tensor.Full([5000], r + k, DType.Float32)).ToArray();
    var works = many.Select((t, k) => g.AllReduceAsync(t, ReduceOp.Sum, $"allreduce {k}")).ToArray();
    foreach (var wk in works) wk.Wait();
    for (int k = 0; k < many.Length; k++)
        if (many[k].AsSpan<float>()[4999] != w * (w - 1) / 2 + w * k) return Fail($"async allreduce {k} = {many[k].AsSpan<float>()[4999]}");

    // Values whose float sum depends on the order of the additions, over several rounds of a small window.
    const int m = 20011;
    float[] Values(int rank) { var gen = new Random(17 + rank); return Enumerable.Range(0, m).Select(_ => (float)Math.ScaleB(gen.NextDouble() - 0.5, gen.Next(-20, 20))).ToArray(); }
    var rankSum = Values(0);
    var magnitude = rankSum.Select(Math.Abs).ToArray();
    for (int q = 1; q < w; q++) { var v = Values(q); for (int i = 0; i < m; i++) { rankSum[i] += v[i]; magnitude[i] += Math.Abs(v[i]); } }
    var rankAverage = rankSum.Select(v => v / w).ToArray();
    var sum = Tensor.FromArray(Values(r));
    var average = Tensor.FromArray(Values(r));
    var sumWork = g.AllReduceAsync(sum, ReduceOp.Sum);
    var averageWork = g.AllReduceAsync(average, ReduceOp.Average);
    sumWork.Wait();
    averageWork.Wait();
    for (int i = 0; i < m; i++)
    {
        float s = sum.AsSpan<float>()[i], a = average.AsSpan<float>()[i];
        // Another summation order may differ by a few roundings of the terms' magnitude (the sum itself may cancel).
        double slack = 1e-6 * magnitude[i];
        if (Math.Abs(s - rankSum[i]) > slack) return Fail($"float32 sum [{i}] = {s}, expected about {rankSum[i]}");
        if (Math.Abs(a - rankAverage[i]) > slack / w) return Fail($"float32 average [{i}] = {a}, expected about {rankAverage[i]}");
        if (rankOrder && (BitConverter.SingleToInt32Bits(s) != BitConverter.SingleToInt32Bits(rankSum[i]) ||
                          BitConverter.SingleToInt32Bits(a) != BitConverter.SingleToInt32Bits(rankAverage[i])))
            return Fail($"float32 [{i}]: sum {s:R} and average {a:R} are not the rank-order {rankSum[i]:R} and {rankAverage[i]:R}");
    }
    var empty = Tensor.Zeros([0], DType.Float32);
    g.AllReduce(empty);

    // Switching transports between collectives, with one of each in flight at once.
    if (g.AllReduceOverSharedMemory)
    {
        g.AllReduceOverSharedMemory = false;
        var viaMpi = Tensor.Full([777], r + 1, DType.Float32);
        var mpiWork = g.AllReduceAsync(viaMpi);
        g.AllReduceOverSharedMemory = true;
        var viaWindow = Tensor.Full([777], r + 2, DType.Float32);
        var windowWork = g.AllReduceAsync(viaWindow);
        mpiWork.Wait();
        windowWork.Wait();
        if (viaMpi.AsSpan<float>()[776] != w * (w + 1) / 2 || viaWindow.AsSpan<float>()[776] != w * (w + 1) / 2 + w)
            return Fail($"switched allreduces gave {viaMpi.AsSpan<float>()[776]} and {viaWindow.AsSpan<float>()[776]}");
    }
    else
    {
        try
        {
            g.AllReduceOverSharedMemory = true;
            return Fail("the shared-memory allreduce was switched on without a window");
        }
        catch (InvalidOperationException) { }
    }

    try
    {
        g.AllReduce(Tensor.Zeros([2], DType.Int32));
        return Fail("an int32 allreduce was accepted");
    }
    catch (DTypeMismatchException) { }
    g.Barrier();
    Console.WriteLine($"collectives ok rank {r} of {w}, local {g.LocalRank} of {g.LocalSize}, allreduce by {g.AllReduceTransport}");
    return 0;
}

// The buckets of four 256×256 linear layers (weights of 256 KiB, biases of 1 KiB), one line per bucket.
static int Buckets(string[] args)
{
    using var g = ProcessGroup.Init();
    var net = new Sequential(Enumerable.Range(0, 4).Select(i => (Module)new Linear(256, 256, gen: new Generator(i))).ToArray());
    var options = new DdpOptions();
    if (args.Contains("--bucket-bytes")) options = options with { BucketBytes = long.Parse(Arg(args, "--bucket-bytes", ""), CultureInfo.InvariantCulture) };
    if (args.Contains("--final-bytes")) options = options with { FinalBucketBytes = long.Parse(Arg(args, "--final-bytes", ""), CultureInfo.InvariantCulture) };
    using var ddp = new DistributedDataParallel(net, g, options);
    foreach (var bucket in ddp.BucketNames) Console.WriteLine("bucket " + string.Join(" ", bucket));
    return 0;
}

// Rank 1 allreduces more elements than the others: a programming error that must be reported, naming both sizes.
static int Mismatch()
{
    using var g = ProcessGroup.Init();
    Console.WriteLine($"allreduce by {g.AllReduceTransport}");
    g.AllReduce(Tensor.Ones(g.Rank == 1 ? 12 : 10));
    return Fail("mismatched allreduces completed");
}

// LeNet on synthetic data for a fixed number of steps; rank 0 saves the final weights.
//   --mode ddp            data-parallel over the ranks of the job (gradient allreduce)
//   --mode deterministic  data-parallel with rank-ordered gradient sums
//   --mode shards:K       one process, each batch split into K strided micro-batches whose gradients are
//                         accumulated in order and divided by K (the reference of deterministic mode)
//   --mode plain          one process, whole batches
static int Train(string[] args)
{
    int steps = int.Parse(Arg(args, "--steps", "20"), CultureInfo.InvariantCulture);
    int globalBatch = int.Parse(Arg(args, "--global-batch", "16"), CultureInfo.InvariantCulture);
    string mode = Arg(args, "--mode", "ddp");
    string output = Arg(args, "--out", "weights.safetensors");
    long bucketBytes = long.Parse(Arg(args, "--bucket-bytes", (25L << 20).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    ProcessGroup? group = mode is "ddp" or "deterministic" ? ProcessGroup.Init() : null;
    int world = group?.Size ?? 1, rank = group?.Rank ?? 0;
    if (globalBatch % world != 0) return Fail($"global batch {globalBatch} is not divisible by {world} ranks");
    int shards = mode.StartsWith("shards:", StringComparison.Ordinal) ? int.Parse(mode[7..], CultureInfo.InvariantCulture) : 1;

    Module net = Arg(args, "--model", "lenet") == "bn"
        ? new Sequential(new Conv2d(1, 4, 3, gen: new Generator(0)), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(),
                         new Linear(4 * 13 * 13, 10, gen: new Generator(4)))
        : new LeNet(10, new Generator(0));
    if (args.Contains("--sync-bn") && group != null) SyncBatchNorm.Convert(net, group);
    int n = steps * globalBatch;
    var data = new TensorDataset(Tensor.Randn([n, 1, 28, 28], new Generator(1)), Tensor.RandInt(0, 10, [n], new Generator(2)));
    var loader = new DataLoader(data, globalBatch / world, workers: 0, sampler: new DistributedSampler(n, rank, world, shuffle: true, seed: 3));
    var opt = new SGD(net.Parameters(), 0.05, momentum: 0.9);
    using var ddp = group != null ? new DistributedDataParallel(net, group, new DdpOptions { BucketBytes = bucketBytes, Deterministic = mode == "deterministic" }) : null;

    foreach (var batch in loader.Batches(0))
    {
        opt.ZeroGrad();
        if (shards == 1)
        {
            var loss = Functional.CrossEntropy(net.Forward(batch.Inputs), batch.Targets);
            loss.Backward();
        }
        else
        {
            int per = batch.Size / shards;
            for (int k = 0; k < shards; k++)
            {
                var idx = Tensor.FromArray(Enumerable.Range(0, per).Select(j => (long)(j * shards + k)).ToArray());
                var loss = Functional.CrossEntropy(net.Forward(batch.Inputs.IndexSelect(0, idx)), batch.Targets.IndexSelect(0, idx));
                loss.Backward();
            }
            foreach (var p in net.Parameters())
            {
                var gsum = p.Grad!.Contiguous();
                var avg = Tensor.Zeros(p.Dims, p.DType);
                TensorPrimitives.Divide(gsum.AsSpan<float>(), (float)shards, avg.AsSpan<float>());
                p.Grad = avg;
            }
        }
        opt.Step();
    }
    if (rank == 0) SafeTensors.Save(output, net.StateDict());
    Console.WriteLine($"trained {steps} steps, mode {mode}, rank {rank} of {world}, buckets {ddp?.BucketCount ?? 0}");
    group?.Dispose();
    return 0;
}

// A parameter that takes no part in the loss must be reported by name, not silently left unsynchronised.
static int Unused()
{
    using var g = ProcessGroup.Init();
    var net = new Sequential(new Linear(4, 3, gen: new Generator(0)), new Linear(3, 2, gen: new Generator(1)));
    var spare = new Linear(2, 2, gen: new Generator(2));
    var both = new Sequential(net, spare);
    using var ddp = new DistributedDataParallel(both, g);
    var x = Tensor.Randn([5, 4], new Generator(3));
    net.Forward(x).Sum().Backward();
    try
    {
        ddp.FinishGradientSync();
        return Fail("a parameter without a gradient was not reported");
    }
    catch (DistributedException e) when (e.Message.Contains("pass: 1.bias, 1.weight.", StringComparison.Ordinal))
    {
        Console.WriteLine("unused reported: " + e.Message);
        return 0;
    }
}

// Allreduces forever (until a peer fails); the fault tests kill or freeze one rank while this runs.
static int Loop()
{
    using var g = ProcessGroup.Init();
    Console.WriteLine($"rank {g.Rank} pid {Environment.ProcessId} looping");
    var t = Tensor.Ones(1000);
    for (long step = 0; ; step++)
    {
        g.AllReduce(t, ReduceOp.Average);
        Thread.Sleep(20);
    }
}
