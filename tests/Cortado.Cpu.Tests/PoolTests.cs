// Max and average pooling, forward and backward, against direct window loops; NaN, padding, dilation and gradients.
using Cortado.Backends;
using Cortado.TestKit;
using Xunit;
using static Cortado.Cpu.Tests.TestTensors;

namespace Cortado.Cpu.Tests;

public class PoolTests
{
    internal static Conv2dGeometry Geo(int n, int c, int h, int w, int k1, int k2, int s1, int s2, int p1, int p2, int d1 = 1, int d2 = 1) =>
        new(n, c, h, w, c, k1, k2, s1, s2, p1, p2, d1, d2, c);

    internal static readonly Conv2dGeometry[] Geometries =
    [
        Geo(2, 3, 9, 11, 2, 2, 2, 2, 0, 0),
        Geo(2, 3, 9, 11, 3, 3, 1, 1, 1, 1),
        Geo(2, 3, 9, 11, 3, 3, 2, 2, 1, 1, 2, 2),
        Geo(1, 2, 8, 7, 2, 3, 1, 2, 1, 1),
        Geo(1, 1, 5, 5, 5, 5, 1, 1, 2, 2),
        Geo(8, 16, 32, 32, 2, 2, 2, 2, 0, 0), // enough planes for the parallel split
    ];

    // Reference max pooling: −∞ padding, first maximum in window order, a NaN wins (the last NaN, as in PyTorch).
    internal static (double[] y, long[] idx) RefMax(double[] x, Conv2dGeometry g)
    {
        var y = new double[g.N * g.C * g.OutH * g.OutW];
        var idx = new long[y.Length];
        int k = 0;
        for (int p = 0; p < g.N * g.C; p++)
            for (int i = 0; i < g.OutH; i++)
                for (int j = 0; j < g.OutW; j++, k++)
                {
                    double best = double.NegativeInfinity;
                    long at = -1;
                    for (int a = 0; a < g.KH; a++)
                        for (int b = 0; b < g.KW; b++)
                        {
                            int r = i * g.StrideH - g.PadH + a * g.DilationH, c = j * g.StrideW - g.PadW + b * g.DilationW;
                            if (r < 0 || r >= g.H || c < 0 || c >= g.W) continue;
                            double v = x[p * g.H * g.W + r * g.W + c];
                            if (at < 0 || v > best || double.IsNaN(v)) { best = v; at = r * g.W + c; }
                        }
                    y[k] = best;
                    idx[k] = at;
                }
        return (y, idx);
    }

    // Reference average pooling and its divisor per output.
    private static (double[] y, int[] div) RefAvg(double[] x, Conv2dGeometry g, bool includePad)
    {
        var y = new double[g.N * g.C * g.OutH * g.OutW];
        var div = new int[y.Length];
        int k = 0;
        for (int p = 0; p < g.N * g.C; p++)
            for (int i = 0; i < g.OutH; i++)
                for (int j = 0; j < g.OutW; j++, k++)
                {
                    double s = 0;
                    int inside = 0, padded = 0;
                    for (int a = 0; a < g.KH; a++)
                        for (int b = 0; b < g.KW; b++)
                        {
                            int r = i * g.StrideH - g.PadH + a, c = j * g.StrideW - g.PadW + b;
                            if (r < g.H + g.PadH && c < g.W + g.PadW) padded++; // window clipped to the padded input
                            if (r < 0 || r >= g.H || c < 0 || c >= g.W) continue;
                            s += x[p * g.H * g.W + r * g.W + c];
                            inside++;
                        }
                    div[k] = includePad ? padded : inside;
                    y[k] = s / div[k];
                }
        return (y, div);
    }

    public static TheoryData<DType, int> Rows()
    {
        var d = new TheoryData<DType, int>();
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
            for (int i = 0; i < Geometries.Length; i++) d.Add(dt, i);
        return d;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void MaxPoolForwardAndBackward(DType dt, int geometry)
    {
        var g = Geometries[geometry];
        int n = g.N * g.C * g.H * g.W;
        // Small integers: many ties, so the first-maximum rule matters.
        var xs = Ints(n, -4, 4, geometry).Select(v => Quantize(dt, v)).ToArray();
        var y = Tensor.Empty(dt, g.N, g.C, g.OutH, g.OutW);
        var idx = Tensor.Empty(DType.Int64, g.N, g.C, g.OutH, g.OutW);
        CpuBackend.Instance.MaxPool2d(Make(dt, [g.N, g.C, g.H, g.W], xs), y, idx, g);
        var (wy, widx) = RefMax(xs, g);
        Equal(wy, Read(y), $"max_pool2d {dt.Name()} {g}");
        Assert.Equal(widx, idx.Data<long>());

        var dys = Uniform(y.Numel, -1, 1, 100 + geometry).Select(v => Quantize(dt, v)).ToArray();
        var dx = Make(dt, [g.N, g.C, g.H, g.W], Enumerable.Repeat(5.0, n).ToArray()); // overwritten, not accumulated
        CpuBackend.Instance.MaxPool2dBackward(Make(dt, y.Dims, dys), idx, dx, g);
        var want = new double[n];
        int ohw = g.OutH * g.OutW;
        for (int k = 0; k < y.Numel; k++) want[(k / ohw) * g.H * g.W + widx[k]] += dys[k];
        Close(want, Read(dx), dt == DType.Float32 ? 1e-6 : 1e-15, 1e-6, $"max_pool2d backward {dt.Name()} {g}");
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void AvgPoolForwardAndBackward(DType dt, int geometry)
    {
        var g = Geometries[geometry];
        if (g.DilationH != 1) return; // average pooling has no dilation
        int n = g.N * g.C * g.H * g.W;
        var xs = Uniform(n, -1, 1, geometry).Select(v => Quantize(dt, v)).ToArray();
        foreach (bool includePad in new[] { true, false })
        {
            var y = Tensor.Empty(dt, g.N, g.C, g.OutH, g.OutW);
            CpuBackend.Instance.AvgPool2d(Make(dt, [g.N, g.C, g.H, g.W], xs), y, g, includePad);
            var (wy, div) = RefAvg(xs, g, includePad);
            string what = $"avg_pool2d {dt.Name()} {g} countIncludePad={includePad}";
            Close(wy, Read(y), dt == DType.Float32 ? 1e-6 : 1e-15, 1e-7, what);

            var dys = Uniform(y.Numel, -1, 1, 200 + geometry).Select(v => Quantize(dt, v)).ToArray();
            var dx = Make(dt, [g.N, g.C, g.H, g.W], Enumerable.Repeat(5.0, n).ToArray());
            CpuBackend.Instance.AvgPool2dBackward(Make(dt, y.Dims, dys), dx, g, includePad);
            var want = new double[n];
            int k = 0;
            for (int p = 0; p < g.N * g.C; p++)
                for (int i = 0; i < g.OutH; i++)
                    for (int j = 0; j < g.OutW; j++, k++)
                        for (int a = 0; a < g.KH; a++)
                            for (int b = 0; b < g.KW; b++)
                            {
                                int r = i * g.StrideH - g.PadH + a, c = j * g.StrideW - g.PadW + b;
                                if (r >= 0 && r < g.H && c >= 0 && c < g.W) want[p * g.H * g.W + r * g.W + c] += dys[k] / div[k];
                            }
            Close(want, Read(dx), dt == DType.Float32 ? 1e-6 : 1e-15, 1e-6, what + " backward");
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void MaxPoolNaNAndInfinities(DType dt)
    {
        double nan = double.NaN, inf = double.PositiveInfinity;
        // 1 plane 4×4, 2×2 windows: NaN first, NaN last of two, −∞ only, +∞.
        double[] xs =
        [
            nan, 1, 2, 3,
            4, 5, nan, nan,
            -inf, -inf, inf, 0,
            -inf, -inf, 1, 2,
        ];
        var g = Geo(1, 1, 4, 4, 2, 2, 2, 2, 0, 0);
        var y = Tensor.Empty(dt, 1, 1, 2, 2);
        var idx = Tensor.Empty(DType.Int64, 1, 1, 2, 2);
        CpuBackend.Instance.MaxPool2d(Make(dt, [1, 1, 4, 4], xs), y, idx, g);
        var got = Read(y);
        Assert.True(double.IsNaN(got[0]) && double.IsNaN(got[1]));
        Assert.Equal(double.NegativeInfinity, got[2]);
        Assert.Equal(inf, got[3]);
        Assert.Equal(new long[] { 0, 7, 8, 10 }, idx.Data<long>());
    }

    [Fact]
    public void ThroughTensorApiWithGradients()
    {
        var xs = Uniform(2 * 3 * 6 * 7, -1, 1, 30);
        var x = Tensor.FromArray(xs, 2, 3, 6, 7);
        var g = Geo(2, 3, 6, 7, 2, 2, 2, 2, 0, 0);
        Equal(RefMax(xs, g).y, Read(x.MaxPool2d((2, 2))), "MaxPool2d((2,2))");
        var ga = Geo(2, 3, 6, 7, 3, 3, 1, 1, 1, 1);
        Close(RefAvg(xs, ga, false).y, Read(x.AvgPool2d((3, 3), (1, 1), (1, 1), countIncludePad: false)), 1e-15, 1e-15, "AvgPool2d");
        // Float32 through the op.
        var xf = Tensor.FromArray(xs.Select(v => (float)v).ToArray(), 2, 3, 6, 7);
        Assert.Equal(DType.Float32, xf.MaxPool2d((3, 3), (2, 2), (1, 1)).DType);
        // Gradients by central differences (distinct values: no ties near the maxima).
        var p = Tensor.FromArray(Uniform(1 * 2 * 5 * 6, -1, 1, 31), 1, 2, 5, 6);
        p.RequiresGrad = true;
        GradCheck.Check(t => t[0].MaxPool2d((2, 2), (1, 2), (1, 1)), [p]);
        GradCheck.Check(t => t[0].AvgPool2d((3, 2), (2, 1), (1, 1)), [p]);
        GradCheck.Check(t => t[0].AvgPool2d((3, 3), (1, 1), (1, 1), countIncludePad: false), [p]);
    }

    [Fact]
    public void RejectsBadShapes()
    {
        var g = Geo(1, 1, 4, 4, 2, 2, 2, 2, 0, 0);
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 3, 3), Tensor.Empty(DType.Int64, 1, 1, 3, 3), g));
        Assert.Throws<MissingKernelException>(() => CpuBackend.Instance.AvgPool2d(Tensor.Empty(DType.Int32, 1, 1, 4, 4), Tensor.Empty(DType.Int32, 1, 1, 2, 2), g, true));
        var bad = Tensor.Empty(DType.Int64, 1, 1, 2, 2);
        bad.Data<long>()[0] = 16;
        Assert.Throws<CortadoException>(() => CpuBackend.Instance.MaxPool2dBackward(Tensor.Ones(1, 1, 2, 2), bad, Tensor.Zeros(1, 1, 4, 4), g));
    }
}

// Max pooling without indices toggles the vector paths, so it runs in their collection (nothing else runs beside it).
[Collection(VectorPathCollection.Name)]
public class MaxPoolWithoutIndicesTests
{
    [Fact]
    public void MaxPoolWithoutIndicesGivesTheSameBits()
    {
        // The inference path (no indices, rows of vectors over stride phases) against the indexed path, bit for bit:
        // ties, NaNs and signed zeros in the input, strides 1 to 3, dilation, padding, rows wider than a vector.
        var geometries = PoolTests.Geometries.Concat(new[]
        {
            PoolTests.Geo(1, 4, 112, 112, 3, 3, 2, 2, 1, 1),   // ResNet's stem pooling
            PoolTests.Geo(2, 3, 13, 45, 3, 3, 2, 2, 1, 1),
            PoolTests.Geo(1, 2, 11, 40, 3, 5, 3, 3, 1, 2, 1, 2),
            PoolTests.Geo(1, 2, 7, 33, 2, 4, 1, 1, 1, 2, 2, 1),
            PoolTests.Geo(1, 1, 3, 4500, 3, 3, 2, 2, 1, 1),    // stride phases too wide for the stack: the heap
            PoolTests.Geo(1, 1, 5, 6200, 2, 3, 3, 3, 0, 1),
        });
        bool saved = Kernels.VectorPaths.Enabled;
        try
        {
            foreach (bool vectors in new[] { true, false })
            {
                Kernels.VectorPaths.Enabled = vectors;
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (var g in geometries)
                    {
                        int n = g.N * g.C * g.H * g.W;
                        var special = new[] { double.NaN, 0.0, -0.0, double.NegativeInfinity };
                        var xs = Ints(n, -3, 3, 7).Select((v, i) => i % 37 == 5 ? special[i / 37 % 4] : Quantize(dt, v)).ToArray();
                        var x = Make(dt, [g.N, g.C, g.H, g.W], xs);
                        var withIdx = Tensor.Empty(dt, g.N, g.C, g.OutH, g.OutW);
                        CpuBackend.Instance.MaxPool2d(x, withIdx, Tensor.Empty(DType.Int64, g.N, g.C, g.OutH, g.OutW), g);
                        var noIdx = Tensor.Empty(dt, g.N, g.C, g.OutH, g.OutW);
                        CpuBackend.Instance.MaxPool2d(x, noIdx, null, g);
                        double[] a = Read(withIdx), b = Read(noIdx), r = PoolTests.RefMax(xs, g).y;
                        for (int i = 0; i < a.Length; i++)
                        {
                            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]),
                                $"{dt.Name()} {g} vectors={vectors}: output {i} is {b[i]:R} without indices, {a[i]:R} with");
                            Assert.True(BitConverter.DoubleToInt64Bits(r[i]) == BitConverter.DoubleToInt64Bits(b[i]),
                                $"{dt.Name()} {g} vectors={vectors}: output {i} is {b[i]:R}, reference {r[i]:R}");
                        }
                    }
            }
        }
        finally
        {
            Kernels.VectorPaths.Enabled = saved;
        }
    }

    [Fact]
    public void WindowsWithIndicesGiveTheScalarBits()
    {
        // With indices, float32 windows wholly inside the width take 8 at a time (gathers); the outputs and indices must
        // be the scalar loop's on every geometry of the table and ResNet's stem pooling: padding, strides 1 to 3,
        // dilation, rows with windows in the padding, ties, NaN, signed zeros and infinities.
        var geometries = PoolTests.Geometries.Concat(new[]
        {
            PoolTests.Geo(2, 3, 32, 32, 3, 3, 2, 2, 1, 1),
            PoolTests.Geo(1, 2, 13, 45, 3, 3, 2, 2, 1, 1),
            PoolTests.Geo(1, 2, 11, 40, 3, 5, 3, 3, 1, 2, 1, 2),
            PoolTests.Geo(1, 2, 7, 33, 2, 4, 1, 1, 1, 2, 2, 1),
            PoolTests.Geo(1, 1, 5, 30, 3, 3, 1, 1, 2, 2),
        });
        bool saved = Kernels.VectorPaths.Enabled;
        try
        {
            foreach (var g in geometries)
            {
                int n = g.N * g.C * g.H * g.W;
                var special = new[] { double.NaN, 0.0, -0.0, double.NegativeInfinity, double.PositiveInfinity };
                var mixed = Ints(n, -2, 2, 13).Select((v, i) => i % 11 == 4 ? special[i / 11 % 5] : Quantize(DType.Float32, v)).ToArray();
                // Mostly −∞, so that whole windows are −∞ and keep their first tap's index.
                var sparse = mixed.Select((v, i) => i % 17 == 0 ? v : double.NegativeInfinity).ToArray();
                foreach (var xs in new[] { mixed, sparse })
                    IndexedPoolingMatchesScalar(g, xs);
            }
        }
        finally
        {
            Kernels.VectorPaths.Enabled = saved;
        }
    }

    [Fact]
    public void TwoByTwoWindowsWithIndicesGiveTheScalarBits()
    {
        // Whole 2×2 windows at stride 2 (LeNet's pooling) take 8 (or 4) windows per vector step when indices are kept;
        // the outputs and the indices must be the scalar loop's: ties (the first tap wins), NaN (the last NaN wins),
        // signed zeros and infinities, rows of 3 to 35 windows (overlapping last blocks, scalar rows under 4), odd
        // input sizes.
        bool saved = Kernels.VectorPaths.Enabled;
        try
        {
            foreach (var g in new[] { PoolTests.Geo(2, 3, 28, 28, 2, 2, 2, 2, 0, 0), PoolTests.Geo(1, 4, 10, 10, 2, 2, 2, 2, 0, 0),
                                      PoolTests.Geo(1, 2, 9, 37, 2, 2, 2, 2, 0, 0), PoolTests.Geo(1, 1, 4, 70, 2, 2, 2, 2, 0, 0),
                                      PoolTests.Geo(1, 2, 6, 8, 2, 2, 2, 2, 0, 0), PoolTests.Geo(3, 1, 7, 7, 2, 2, 2, 2, 0, 0),
                                      PoolTests.Geo(1, 1, 16, 32, 2, 2, 2, 2, 0, 0) })
            {
                int n = g.N * g.C * g.H * g.W;
                var special = new[] { double.NaN, 0.0, -0.0, double.NegativeInfinity, double.PositiveInfinity };
                var xs = Ints(n, -2, 2, 11).Select((v, i) => i % 7 == 3 ? special[i / 7 % 5] : Quantize(DType.Float32, v)).ToArray();
                var (vy, _) = IndexedPoolingMatchesScalar(g, xs);
                var (ry, _) = PoolTests.RefMax(xs, g);
                for (int i = 0; i < vy.Length; i++)
                    Assert.True(BitConverter.DoubleToInt64Bits(ry[i]) == BitConverter.DoubleToInt64Bits(vy[i]), $"{g}: output {i} is {vy[i]:R}, reference {ry[i]:R}");
            }
        }
        finally
        {
            Kernels.VectorPaths.Enabled = saved;
        }
    }

    // Runs indexed float32 max pooling with the vector paths on and off; outputs and indices must match bit for bit.
    private static (double[] y, long[] idx) IndexedPoolingMatchesScalar(Conv2dGeometry g, double[] xs)
    {
        (double[] y, long[] idx) Run(bool vectors)
        {
            Kernels.VectorPaths.Enabled = vectors;
            var y = Tensor.Empty(DType.Float32, g.N, g.C, g.OutH, g.OutW);
            var idx = Tensor.Empty(DType.Int64, g.N, g.C, g.OutH, g.OutW);
            CpuBackend.Instance.MaxPool2d(Make(DType.Float32, [g.N, g.C, g.H, g.W], xs), y, idx, g);
            return (Read(y), idx.ToArray<long>());
        }
        var (vy, vi) = Run(true);
        var (sy, si) = Run(false);
        for (int i = 0; i < vy.Length; i++)
        {
            Assert.True(BitConverter.DoubleToInt64Bits(sy[i]) == BitConverter.DoubleToInt64Bits(vy[i]), $"{g}: output {i} is {vy[i]:R} with vectors, {sy[i]:R} without");
            Assert.True(si[i] == vi[i], $"{g}: index {i} is {vi[i]} with vectors, {si[i]} without");
        }
        return (vy, vi);
    }
}
