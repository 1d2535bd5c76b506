// Reductions over every axis pattern (inner, outer, middle, several, size-1, empty) against a float64 reference.
using Cortado.Backends;
using Xunit;
using static Cortado.Cpu.Tests.TestTensors;

namespace Cortado.Cpu.Tests;

public class ReduceTests
{
    /// <summary>Reference reduction in float64: values per output (NaN-propagating max/min), first-occurrence arg indices, and Σ|x| for tolerances.</summary>
    internal static (double[] value, double[] sumAbs) Ref(ReduceKind op, double[] x, int[] shape, int[] axes)
    {
        int r = shape.Length;
        var keep = shape.ToArray();
        foreach (var a in axes) keep[a] = 1;
        int outN = ShapeUtil.Numel(keep);
        var keepStride = ShapeUtil.ContiguousStrides(keep);
        var value = new double[outN];
        var sum = new DD[outN]; // double-double: the float64 sums under test are more accurate than a plain running sum
        var best = new double[outN];
        var seen = new bool[outN];
        var sumAbs = new double[outN];
        for (int k = 0; k < outN; k++) value[k] = op == ReduceKind.Prod ? 1 : 0;
        var ks = new int[r];
        for (int d = 0; d < r; d++) ks[d] = Array.IndexOf(axes, d) < 0 ? keepStride[d] : 0;
        var idx = new int[r];
        int o = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            sumAbs[o] += Math.Abs(v);
            switch (op)
            {
                case ReduceKind.Sum: sum[o] += v; break;
                case ReduceKind.Prod: value[o] *= v; break;
                case ReduceKind.Max:
                    if (!seen[o] || (!double.IsNaN(value[o]) && (double.IsNaN(v) || v > value[o]))) value[o] = v;
                    break;
                case ReduceKind.Min:
                    if (!seen[o] || (!double.IsNaN(value[o]) && (double.IsNaN(v) || v < value[o]))) value[o] = v;
                    break;
                default:
                {
                    int pos = idx[axes.Length == 1 ? axes[0] : 0];
                    bool better = !seen[o] || (op == ReduceKind.ArgMax ? v > best[o] : v < best[o]) || (double.IsNaN(v) && !double.IsNaN(best[o]));
                    if (better) { best[o] = v; value[o] = pos; }
                    break;
                }
            }
            seen[o] = true;
            for (int d = r - 1; d >= 0; d--)
            {
                o += ks[d];
                if (++idx[d] < shape[d]) break;
                o -= ks[d] * shape[d];
                idx[d] = 0;
            }
        }
        if (op == ReduceKind.Sum) for (int k = 0; k < outN; k++) value[k] = (double)sum[k];
        return (value, sumAbs);
    }

    private static readonly (int[] shape, int[] axes)[] Layouts =
    [
        ([7, 13], [0]), ([7, 13], [1]), ([7, 13], [0, 1]),
        ([4, 5, 6], [0]), ([4, 5, 6], [1]), ([4, 5, 6], [2]), ([4, 5, 6], [0, 1]), ([4, 5, 6], [0, 2]), ([4, 5, 6], [1, 2]), ([4, 5, 6], [0, 1, 2]),
        ([2, 3, 4, 5], [0, 2, 3]), ([2, 3, 4, 5], [1]), ([2, 3, 4, 5], [0, 1, 3]), ([2, 3, 4, 5], [3]), ([2, 3, 4, 5], [0]),
        ([3, 1, 4], [1]), ([3, 1, 4], [0, 1]), ([1, 5], [0]), ([2, 1, 3, 1], [1, 3]), ([2, 1, 3, 1], [0, 1]),
        ([100_003], [0]),
        ([2048, 33], [0]), ([2048, 33], [1]),
        ([32, 2100], [1]), ([32, 2100], [0]),
        ([200, 5, 70], [0, 2]),
        ([2, 33_000], [1]),
        ([20, 3, 1200], [0, 2]),
        ([5, 3, 4500], [0, 2]),
        ([1700, 40], [0]),
        ([3, 22_000], [0]),
    ];

    public static TheoryData<ReduceKind, DType> Rows()
    {
        var d = new TheoryData<ReduceKind, DType>();
        foreach (ReduceKind k in Enum.GetValues<ReduceKind>())
            foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64 }) d.Add(k, dt);
        return d;
    }

    private static double[] Values(ReduceKind op, DType dt, int n, int seed)
    {
        if (op == ReduceKind.Prod && dt is DType.Int32 or DType.Int64)
            return Ints(n, 0, 1, seed).Select(v => 2 * v - 1).ToArray(); // ±1: exact products of any length
        if (op is ReduceKind.Max or ReduceKind.Min or ReduceKind.ArgMax or ReduceKind.ArgMin || dt is DType.Int32 or DType.Int64)
            return Ints(n, -3, 3, seed).Select(v => Quantize(dt, v)).ToArray(); // ties everywhere
        if (op == ReduceKind.Prod) return Uniform(n, 0.9, 1.1, seed).Select(v => Quantize(dt, v)).ToArray();
        return Uniform(n, -1, 1, seed).Select(v => Quantize(dt, v)).ToArray();
    }

    private static void RunCase(ReduceKind op, DType dt, int[] shape, int[] axes, Tensor? view = null)
    {
        int n = ShapeUtil.Numel(shape);
        var xs = Values(op, dt, n, n + axes.Sum());
        var x = view ?? Make(dt, shape, xs);
        if (view != null) xs = Read(view);
        var keep = shape.ToArray();
        foreach (var a in axes) keep[a] = 1;
        bool arg = op is ReduceKind.ArgMax or ReduceKind.ArgMin;
        var y = Tensor.Empty(arg ? DType.Int64 : dt, keep);
        CpuBackend.Instance.Reduce(op, x, axes, y);
        var (want, sumAbs) = Ref(op, xs, shape, axes);
        var got = Read(y);
        string what = $"{op} {dt.Name()} {ShapeUtil.Format(shape)} over {ShapeUtil.Format(axes)}";
        if (op == ReduceKind.Sum && dt is DType.Float32 or DType.Float64)
        {
            double tol = dt == DType.Float32 ? 1e-6 : 1e-14;
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) <= tol * sumAbs[i] + 1e-300, $"{what}: output {i}: got {got[i]:R}, expected {want[i]:R}");
        }
        else if (op == ReduceKind.Prod && dt is DType.Float32 or DType.Float64)
        {
            int len = n / Math.Max(1, want.Length);
            Close(want, got, (dt == DType.Float32 ? 1e-7 : 1e-15) * (len + 2), 0, what);
        }
        else Equal(dt == DType.Int32 && !arg ? want.Select(v => (double)unchecked((int)(long)v)).ToArray() : want, got, what);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void EveryAxisPattern(ReduceKind op, DType dt)
    {
        bool arg = op is ReduceKind.ArgMax or ReduceKind.ArgMin;
        for (int n = 1; n <= 64; n++) RunCase(op, dt, [n], [0]);
        foreach (var (shape, axes) in Layouts)
        {
            if (arg && axes.Length != 1) continue;
            if (op == ReduceKind.Prod && ShapeUtil.Numel(shape) > 20_000 && dt is DType.Float32 or DType.Float64)
            {
                // Long float products: only the layouts whose reductions stay short enough for a meaningful tolerance.
                int len = axes.Aggregate(1, (p, a) => p * shape[a]);
                if (len > 4096) continue;
            }
            RunCase(op, dt, shape, axes);
        }
        // A non-contiguous input is copied first.
        var t = Make(dt, [6, 7], Values(op, dt, 42, 3), perm: [1, 0]);
        RunCase(op, dt, [6, 7], [1], t);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LongSumsArePairwiseAccurate(DType dt)
    {
        // 2^20 + 7 elements of 0.1 + noise: a sequential float32 sum drifts by ~1e-3 relative; the blocked pairwise sum must not.
        int n = (1 << 20) + 7;
        var xs = Uniform(n, 0.1, 0.1001, 5).Select(v => Quantize(dt, v)).ToArray();
        var y = Tensor.Empty(dt, 1);
        CpuBackend.Instance.Reduce(ReduceKind.Sum, Make(dt, [n], xs), [0], y);
        DD exact = 0;
        foreach (var v in xs) exact += v;
        double want = (double)exact;
        Assert.True(Math.Abs(Read(y)[0] - want) <= (dt == DType.Float32 ? 2e-6 : 1e-14) * want, $"sum {dt.Name()}: got {Read(y)[0]:R}, expected {want:R}");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void NaNPropagatesAndArgCountsItAsExtreme(DType dt)
    {
        double nan = double.NaN;
        // Rows: NaN first, NaN in the middle, two NaNs, none; columns likewise.
        double[] xs =
        [
            nan, 1, 5, 2, 5,
            1, 7, nan, 7, 0,
            3, nan, 2, nan, 9,
            4, 4, -1, 8, 8,
        ];
        foreach (var op in Enum.GetValues<ReduceKind>())
        {
            foreach (int axis in new[] { 0, 1 })
            {
                var keep = new[] { 4, 5 };
                keep[axis] = 1;
                var y = Tensor.Empty(op is ReduceKind.ArgMax or ReduceKind.ArgMin ? DType.Int64 : dt, keep);
                CpuBackend.Instance.Reduce(op, Make(dt, [4, 5], xs), [axis], y);
                var (want, _) = Ref(op, xs, [4, 5], [axis]);
                Equal(want, Read(y), $"{op} {dt.Name()} axis {axis}");
            }
        }
        // Spot checks independent of the reference.
        var t = Tensor.FromArray(new[] { 1.0, nan, 3.0, nan }).Cast(dt);
        Assert.Equal(1L, t.ArgMax().Item<long>());
        Assert.Equal(1L, t.ArgMin().Item<long>());
        Assert.True(double.IsNaN(t.Max().Item()));
        Assert.Equal(1L, Tensor.FromArray(new[] { 1.0, 3.0, 3.0, -1.0 }).Cast(dt).ArgMax().Item<long>()); // first of the tied maxima
    }

    [Fact]
    public void EmptyReductions()
    {
        var x = Tensor.Empty(DType.Float32, 3, 0, 4);
        var s = Tensor.Empty(DType.Float32, 3, 1, 4);
        CpuBackend.Instance.Reduce(ReduceKind.Sum, x, [1], s);
        Assert.All(s.Data<float>(), v => Assert.Equal(0f, v));
        var p = Tensor.Empty(DType.Float32, 3, 1, 4);
        CpuBackend.Instance.Reduce(ReduceKind.Prod, x, [1], p);
        Assert.All(p.Data<float>(), v => Assert.Equal(1f, v));
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.Reduce(ReduceKind.Max, x, [1], Tensor.Empty(DType.Float32, 3, 1, 4)));
        // Reducing a non-empty axis of an empty tensor leaves an empty output.
        CpuBackend.Instance.Reduce(ReduceKind.Max, x, [0], Tensor.Empty(DType.Float32, 1, 0, 4));
        Assert.Equal([3, 4], x.Sum(1).Dims);
    }

    [Fact]
    public void ThroughTensorApi()
    {
        var xs = Uniform(2 * 3 * 4 * 5, -1, 1, 11);
        var x = Tensor.FromArray(xs, 2, 3, 4, 5);
        void Check(Tensor got, ReduceKind op, int[] axes, double scale = 1)
        {
            var (want, _) = Ref(op, xs, [2, 3, 4, 5], axes);
            Close(want.Select(v => v * scale).ToArray(), Read(got), 1e-14, 1e-15, $"{op} over {ShapeUtil.Format(axes)}");
        }
        Check(x.Sum(1), ReduceKind.Sum, [1]);
        Assert.Equal([2, 4, 5], x.Sum(1).Dims);
        Check(x.Sum([0, 2, 3]), ReduceKind.Sum, [0, 2, 3]);
        Check(x.Sum(), ReduceKind.Sum, [0, 1, 2, 3]);
        Check(x.Mean(3), ReduceKind.Sum, [3], 1.0 / 5);
        Check(x.Max(-1), ReduceKind.Max, [3]);
        Check(x.Min([0, 1], keepDim: true), ReduceKind.Min, [0, 1]);
        Assert.Equal([1, 1, 4, 5], x.Min([0, 1], keepDim: true).Dims);
        Check(x.ArgMax(2), ReduceKind.ArgMax, [2]);
        Check(x.ArgMin(0), ReduceKind.ArgMin, [0]);
        Check(x.Prod([1]), ReduceKind.Prod, [1]);
        // Flattened argmax, integer and bool sums (Core widens to int64).
        Assert.Equal((long)Array.IndexOf(xs, xs.Max()), x.ArgMax().Item<long>());
        var ints = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(DType.Int64, ints.Sum(1).DType);
        Assert.Equal(new long[] { 6, 15 }, ints.Sum(1).ToArray<long>());
        Assert.Equal(new[] { 3, 6 }, ints.Max(1).ToArray<int>());
        Assert.Equal(2L, Tensor.FromArray(new[] { true, false, true }).Sum().Item<long>());
        Assert.Equal(720L, ints.Prod().Item<long>());
    }

    [Fact]
    public void UnsupportedInputsThrow()
    {
        Assert.Throws<MissingKernelException>(() => CpuBackend.Instance.Reduce(ReduceKind.Sum, Tensor.Empty(DType.Bool, 3), [0], Tensor.Empty(DType.Bool, 1)));
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.Reduce(ReduceKind.Sum, Tensor.Empty(DType.Float32, 3, 2), [1, 0], Tensor.Empty(DType.Float32, 1, 1)));
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.Reduce(ReduceKind.ArgMax, Tensor.Empty(DType.Float32, 3, 2), [0, 1], Tensor.Empty(DType.Int64, 1, 1)));
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.Reduce(ReduceKind.Sum, Tensor.Empty(DType.Float32, 3, 2), [1], Tensor.Empty(DType.Float32, 3)));
    }
}

// Counts this thread's allocations with the pool at one thread, so it runs in the vector-path collection (alone).
[Collection(VectorPathCollection.Name)]
public class ReduceAllocationTests
{
    [Fact]
    public void ShortRunsAllocateNothingPerOutput()
    {
        // A global pooling's sums: 4,096 outputs of 49 contiguous values. Each output's reduction allocated its
        // blocked path's captures (48 bytes) whether it took that path or not.
        var x = Tensor.Randn([8, 512, 7, 7], new Generator(1));
        var y = Tensor.Empty(DType.Float32, 8, 512, 1, 1);
        int saved = Cortado.Threading.CortadoThreads.Count;
        try
        {
            Cortado.Threading.CortadoThreads.Count = 1;
            CpuBackend.Instance.Reduce(ReduceKind.Sum, x, [2, 3], y);
            long before = GC.GetAllocatedBytesForCurrentThread();
            CpuBackend.Instance.Reduce(ReduceKind.Sum, x, [2, 3], y);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 16 << 10, $"a reduction to 4,096 outputs allocated {allocated} bytes");
        }
        finally
        {
            Cortado.Threading.CortadoThreads.Count = saved;
        }
        var xd = x.ToArray<float>();
        var yd = y.ToArray<float>();
        for (int o = 0; o < yd.Length; o += 97)
        {
            double s = 0;
            for (int j = 0; j < 49; j++) s += xd[o * 49 + j];
            Assert.True(Math.Abs(yd[o] - s) <= 1e-4 * (1 + Math.Abs(s)), $"output {o}: {yd[o]} vs {s}");
        }
    }
}
