// Tests of the CPU convolution kernels against a direct float64 convolution over a table of geometries.
using Cortado.Backends;
using Cortado.Cpu.Conv;
using Cortado.Threading;
using Xunit;
using Xunit.Sdk;

namespace Cortado.Cpu.Tests;

[Collection(GemmTestCollection.Name)]
public sealed class ConvTests
{
    // N, C, H, W, OutC, KH, KW, strideH, strideW, padH, padW, dilationH, dilationW, groups, bias
    public static TheoryData<string, Conv2dGeometry, bool> Geometries => new()
    {
        { "3x3 pad 1", G(1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1), true },
        { "stride 2, non-square input", G(3, 4, 9, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1), false },
        { "stride 2, wide rows", G(2, 3, 9, 70, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1), true },
        { "stride 2, dilation 2, rows of 33", G(1, 2, 7, 71, 3, 3, 3, 1, 2, 0, 2, 1, 2, 1), false },
        { "dilation 2, non-square kernel", G(2, 3, 10, 11, 5, 3, 2, 1, 2, 2, 1, 2, 2, 1), true },
        { "groups 2", G(3, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2), true },
        { "depthwise", G(2, 6, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6), false },
        { "depthwise multiplier 2, stride 2", G(3, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4), true },
        { "depthwise dilation 2, wide rows", G(2, 3, 20, 37, 3, 3, 5, 1, 1, 2, 3, 2, 2, 3), true },
        { "depthwise stride 2, one column (only odd padded columns)", G(1, 2, 3, 1, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2), true },
        { "depthwise stride 3, pad 2", G(1, 2, 8, 11, 4, 3, 3, 3, 3, 2, 2, 1, 1, 2), false },
        { "1x1 fast path", G(3, 8, 5, 6, 12, 1, 1, 1, 1, 0, 0, 1, 1, 1), true },
        { "1x1 groups 2", G(1, 8, 6, 5, 10, 1, 1, 1, 1, 0, 0, 1, 1, 2), false },
        { "1x1 stride 2", G(2, 8, 6, 6, 8, 1, 1, 2, 2, 0, 0, 1, 1, 2), false },
        { "5x5 pad 2", G(1, 2, 4, 4, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1), false },
        { "stride larger than kernel", G(1, 4, 7, 8, 4, 2, 2, 3, 3, 0, 0, 1, 1, 1), true },
        { "padding wider than input", G(1, 2, 3, 3, 2, 3, 3, 1, 1, 2, 2, 1, 1, 1), true },
        { "asymmetric stride/pad/dilation", G(2, 3, 12, 9, 4, 3, 3, 2, 1, 0, 2, 1, 3, 1), true },
        { "two K blocks (C·KH·KW = 288)", G(2, 32, 10, 10, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1), true },
        { "LeNet conv1", G(3, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1), true },
        { "samples in chunks of 3, 3 and 1", G(7, 3, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1), true },
        { "weight-gradient chunks of 4 and 3 samples", G(7, 2, 30, 30, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1), false },
        { "1x1 over chunks of samples", G(7, 4, 10, 10, 6, 1, 1, 1, 1, 0, 0, 1, 1, 2), true },
        { "few pixels, many channels", G(4, 64, 2, 2, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1), false },
    };

    private static Conv2dGeometry G(int n, int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups) =>
        new(n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups);

    private static double[] RandomArray(int length, int seed)
    {
        var r = new Random(seed);
        var d = new double[length];
        for (int i = 0; i < length; i++) d[i] = (float)(r.NextDouble() * 2 - 1); // representable in float32
        return d;
    }

    private static int XIndex(Conv2dGeometry g, int n, int c, int h, int w) => ((n * g.C + c) * g.H + h) * g.W + w;
    private static int YIndex(Conv2dGeometry g, int n, int o, int h, int w) => ((n * g.OutC + o) * g.OutH + h) * g.OutW + w;
    private static int WIndex(Conv2dGeometry g, int o, int c, int h, int w) => ((o * (g.C / g.Groups) + c) * g.KH + h) * g.KW + w;

    // Visits every (n, o, oh, ow, ci, kh, kw) whose input position lies inside the image, with the flat
    // indices of x, w and y: the direct definition of the convolution, shared by all three references.
    private static void ForEachTap(Conv2dGeometry g, Action<int, int, int> tap)
    {
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups;
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OutC; o++)
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                        for (int ci = 0; ci < cg; ci++)
                            for (int kh = 0; kh < g.KH; kh++)
                                for (int kw = 0; kw < g.KW; kw++)
                                {
                                    int ih = oh * g.StrideH - g.PadH + kh * g.DilationH;
                                    int iw = ow * g.StrideW - g.PadW + kw * g.DilationW;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                    int c = o / ocg * cg + ci;
                                    tap(XIndex(g, n, c, ih, iw), WIndex(g, o, ci, kh, kw), YIndex(g, n, o, oh, ow));
                                }
    }

    private sealed record Expected(double[] Y, double[] YScale, double[] Dx, double[] DxScale, double[] Dw, double[] DwScale);

    private static Expected Reference(Conv2dGeometry g, double[] x, double[] w, double[]? bias, double[] dy)
    {
        var y = new double[g.N * g.OutC * g.OutH * g.OutW];
        var ys = new double[y.Length];
        var dx = new double[x.Length];
        var dxs = new double[x.Length];
        var dw = new double[w.Length];
        var dws = new double[w.Length];
        if (bias != null)
            for (int i = 0; i < y.Length; i++)
            {
                int o = i / (g.OutH * g.OutW) % g.OutC;
                y[i] = bias[o];
                ys[i] = Math.Abs(bias[o]);
            }
        ForEachTap(g, (xi, wi, yi) =>
        {
            y[yi] += x[xi] * w[wi];
            ys[yi] += Math.Abs(x[xi] * w[wi]);
            dx[xi] += dy[yi] * w[wi];
            dxs[xi] += Math.Abs(dy[yi] * w[wi]);
            dw[wi] += dy[yi] * x[xi];
            dws[wi] += Math.Abs(dy[yi] * x[xi]);
        });
        return new Expected(y, ys, dx, dxs, dw, dws);
    }

    private static Tensor T(double[] d, DType dt, int[] shape) =>
        dt == DType.Float64 ? Tensor.FromArray((double[])d.Clone(), shape) : Tensor.FromArray(d.Select(v => (float)v).ToArray(), shape);

    private static double[] D(Tensor t) =>
        t.DType == DType.Float64 ? t.Data<double>().ToArray() : t.Data<float>().Select(v => (double)v).ToArray();

    private static int[] XShape(Conv2dGeometry g) => [g.N, g.C, g.H, g.W];
    private static int[] WShape(Conv2dGeometry g) => [g.OutC, g.C / g.Groups, g.KH, g.KW];
    private static int[] YShape(Conv2dGeometry g) => [g.N, g.OutC, g.OutH, g.OutW];

    // Runs the three kernels; outputs start filled with NaN so any element they fail to overwrite shows.
    private static (double[] y, double[] dx, double[] dw) RunAll(Conv2dGeometry g, DType dt, double[] x, double[] w, double[]? bias, double[] dy)
    {
        var be = CpuBackend.Instance;
        var y = T(Enumerable.Repeat(double.NaN, g.N * g.OutC * g.OutH * g.OutW).ToArray(), dt, YShape(g));
        var dx = T(Enumerable.Repeat(double.NaN, x.Length).ToArray(), dt, XShape(g));
        var dw = T(Enumerable.Repeat(double.NaN, w.Length).ToArray(), dt, WShape(g));
        be.Conv2d(T(x, dt, XShape(g)), T(w, dt, WShape(g)), bias == null ? null : T(bias, dt, [g.OutC]), y, g);
        be.Conv2dBackwardInput(T(dy, dt, YShape(g)), T(w, dt, WShape(g)), dx, g);
        be.Conv2dBackwardWeight(T(x, dt, XShape(g)), T(dy, dt, YShape(g)), dw, g);
        return (D(y), D(dx), D(dw));
    }

    private static void Close(string what, double[] expected, double[] scale, double[] actual, double rel)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = rel * scale[i] + 1e-300;
            if (!(Math.Abs(actual[i] - expected[i]) <= tol))
                throw new XunitException($"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} (tolerance {tol:G3})");
        }
    }

    private static (double[] x, double[] w, double[]? bias, double[] dy) Inputs(Conv2dGeometry g, bool withBias)
    {
        var x = RandomArray(g.N * g.C * g.H * g.W, 1);
        var w = RandomArray(g.OutC * (g.C / g.Groups) * g.KH * g.KW, 2);
        var bias = withBias ? RandomArray(g.OutC, 3) : null;
        var dy = RandomArray(g.N * g.OutC * g.OutH * g.OutW, 4);
        return (x, w, bias, dy);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void MatchesDirectConvolution(string name, Conv2dGeometry g, bool withBias)
    {
        var (x, w, bias, dy) = Inputs(g, withBias);
        var e = Reference(g, x, w, bias, dy);
        foreach (var algorithm in new[] { ConvAlgorithm.Auto, ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit, ConvAlgorithm.Shifted })
            foreach (var (dt, rel) in new[] { (DType.Float64, 1e-13), (DType.Float32, 1e-5) })
            {
                var (y, dx, dw) = WithAlgorithm(algorithm, () => RunAll(g, dt, x, w, bias, dy));
                Close($"{name} {dt.Name()} forward ({algorithm})", e.Y, e.YScale, y, rel);
                Close($"{name} {dt.Name()} backward input", e.Dx, e.DxScale, dx, rel);
                Close($"{name} {dt.Name()} backward weight", e.Dw, e.DwScale, dw, rel);
            }
    }

    private static TResult WithAlgorithm<TResult>(ConvAlgorithm algorithm, Func<TResult> body)
    {
        ConvDriver<float>.ForwardAlgorithm = ConvDriver<double>.ForwardAlgorithm = algorithm;
        try
        {
            return body();
        }
        finally
        {
            ConvDriver<float>.ForwardAlgorithm = ConvDriver<double>.ForwardAlgorithm = ConvAlgorithm.Auto;
        }
    }

    // The table's geometries plus shapes that reach paths it does not.
    private static List<(Conv2dGeometry g, bool withBias)> PathCases() =>
        Geometries.Select(row => ((Conv2dGeometry)row[1], (bool)row[2])).Concat(new[]
        {
            (G(6, 5, 7, 6, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),              // 6 samples per column matrix
            (G(2, 3, 45, 45, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1), false),           // several column blocks: A packed once
            (G(1, 17, 23, 35, 9, 3, 3, 3, 3, 1, 2, 2, 1, 1), true),            // stride 3, dilation 2 in H
            (G(3, 40, 9, 9, 24, 3, 3, 1, 1, 1, 1, 1, 1, 2), false),            // grouped, weight items over channel ranges
        }).ToList();

    // Runs body under every supported forced GEMM width (and the automatic choice) on 1 and 2 threads.
    private static void EveryWidthAndThreadCount(Action<int?, int> body)
    {
        int saved = CortadoThreads.Count;
        try
        {
            foreach (int? width in new int?[] { null, 512, 256, 128, 0 })
            {
                if (width is int wd && !Gemm.GemmKernels.IsWidthSupported(wd)) continue;
                Gemm.GemmKernels.ForceWidth = width;
                foreach (int threads in new[] { 1, 2 })
                {
                    CortadoThreads.Count = threads;
                    body(width, threads);
                }
            }
        }
        finally
        {
            Gemm.GemmKernels.ForceWidth = null;
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void ForwardAlgorithmsGiveTheSameBits()
    {
        // The implicit GEMM packs the very panels im2col would have stored, so every vector width, dtype, chunking
        // (several samples per GEMM when outputs are small) and thread count gives identical outputs.
        var cases = PathCases();
        EveryWidthAndThreadCount((width, threads) =>
        {
            foreach (var (g, withBias) in cases)
            {
                if (Gemm.GemmKernels.WouldSwap<float>(g.OutC / g.Groups, g.OutH * g.OutW)) continue;
                var (x, w, bias, dy) = Inputs(g, withBias);
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                {
                    var a = WithAlgorithm(ConvAlgorithm.Im2Col, () => RunAll(g, dt, x, w, bias, dy)).y;
                    var b = WithAlgorithm(ConvAlgorithm.Implicit, () => RunAll(g, dt, x, w, bias, dy)).y;
                    BitEqual($"{g} {dt.Name()} width {width?.ToString() ?? "auto"} threads {threads}: implicit against im2col", a, b);
                }
            }
        });
    }

    [Fact]
    public void ShiftedInputGivesTheBitsOfIm2Col()
    {
        // Output pixels as GEMM rows read in place from the padded, phase-split copy of x: every path case and the
        // shapes below, each vector width, both dtypes and thread counts give the bits of the stored column matrix,
        // with bias, residual and activation fused (the residual and activation only in the fused call).
        var cases = PathCases();
        cases.Add((G(3, 5, 6, 5, 20, 3, 3, 1, 1, 2, 2, 1, 1, 1), true));     // padding wider than the kernel's reach
        cases.Add((G(2, 4, 9, 9, 7, 3, 3, 2, 2, 1, 1, 2, 2, 1), false));    // stride 2 with dilation 2
        cases.Add((G(1, 32, 12, 10, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1), true)); // K = 288 > KC: the bias is C's start
        cases.Add((G(2, 600, 40, 41, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1), false)); // several K blocks and row blocks
        cases.Add((G(5, 8, 5, 6, 50, 1, 1, 2, 2, 0, 0, 1, 1, 1), true));    // 1×1 at stride 2, five samples per GEMM
        cases.Add((G(1, 3, 30, 30, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1), true));  // a 7×7 stem at stride 2: four phases
        cases.Add((G(1, 96, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1), true));   // four K blocks over 63 rows: a deep product
        var be = CpuBackend.Instance;
        var relu = Activation.Relu;
        EveryWidthAndThreadCount((width, threads) =>
        {
            foreach (var (g, withBias) in cases)
            {
                var (x, w, bias, dy) = Inputs(g, withBias);
                var residual = RandomArray(dy.Length, 5);
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                {
                    double[] Run(ConvAlgorithm algorithm, bool fused) => WithAlgorithm(algorithm, () =>
                    {
                        var y = T(Enumerable.Repeat(double.NaN, dy.Length).ToArray(), dt, YShape(g));
                        be.Conv2d(T(x, dt, XShape(g)), T(w, dt, WShape(g)), bias == null ? null : T(bias, dt, [g.OutC]), y, g,
                                  fused ? relu : default, fused ? T(residual, dt, YShape(g)) : null);
                        return D(y);
                    });
                    string what = $"{g} {dt.Name()} width {width?.ToString() ?? "auto"} threads {threads}: shifted against im2col";
                    BitEqual(what, Run(ConvAlgorithm.Im2Col, false), Run(ConvAlgorithm.Shifted, false));
                    BitEqual(what + ", fused", Run(ConvAlgorithm.Im2Col, true), Run(ConvAlgorithm.Shifted, true));
                }
            }
        });
    }

    [Fact]
    public void WholeOutputRowsGiveTheBitsOfIm2Col()
    {
        // Output rows of 7, 14 or 28 pixels as GEMM rows without the plane's padded columns (the seven-row float32
        // tile): outputs match the float64 direct convolution and have the bits of the stored column matrix, with and
        // without bias, residual and activation, over strides, dilation, groups, several samples per GEMM, K in
        // several blocks (the bias is C's start), a deep product and several blocks of rows, on 1 and 2 threads.
        var cases = new List<(Conv2dGeometry g, bool withBias)>
        {
            (G(1, 16, 7, 7, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),       // one 7×7 image
            (G(3, 8, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1), false),     // 14 wide, columns not a multiple of 32
            (G(2, 6, 28, 27, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1), true),      // stride 2: 14 × 14 out of a phase split
            (G(1, 5, 11, 14, 8, 3, 3, 1, 1, 0, 2, 2, 2, 1), false),      // dilation 2, padding in W only: 7 × 14
            (G(2, 12, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 2), true),       // groups 2
            (G(1, 64, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),       // K = 576 > KC: the bias is C's start
            (G(1, 120, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1), false),     // five K blocks: a deep product on 2 threads
            (G(2, 600, 28, 28, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1), false),   // several K blocks and blocks of rows
            (G(1, 3, 28, 28, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1), true),      // a 7×7 stem at stride 2: 14 × 14
        };
        var be = CpuBackend.Instance;
        int saved = CortadoThreads.Count;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                CortadoThreads.Count = threads;
                foreach (var (g, withBias) in cases)
                {
                    var (x, w, bias, dy) = Inputs(g, withBias);
                    var residual = RandomArray(dy.Length, 5);
                    var e = Reference(g, x, w, bias, dy);
                    foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    {
                        double[] Run(ConvAlgorithm algorithm, bool? wholeRows, bool fused) => WithAlgorithm(algorithm, () =>
                        {
                            ShiftedConv<float>.WholeRows = ShiftedConv<double>.WholeRows = wholeRows;
                            try
                            {
                                var y = T(Enumerable.Repeat(double.NaN, dy.Length).ToArray(), dt, YShape(g));
                                be.Conv2d(T(x, dt, XShape(g)), T(w, dt, WShape(g)), bias == null ? null : T(bias, dt, [g.OutC]), y, g,
                                          fused ? Activation.Relu : default, fused ? T(residual, dt, YShape(g)) : null);
                                return D(y);
                            }
                            finally
                            {
                                ShiftedConv<float>.WholeRows = ShiftedConv<double>.WholeRows = null;
                            }
                        });
                        string what = $"{g} {dt.Name()} threads {threads}: whole rows";
                        var rows = Run(ConvAlgorithm.Shifted, true, false);
                        Close(what + " against the direct convolution", e.Y, e.YScale, rows, dt == DType.Float32 ? 1e-5 : 1e-13);
                        BitEqual(what + " against im2col", Run(ConvAlgorithm.Im2Col, null, false), rows);
                        BitEqual(what + " against every plane pixel", Run(ConvAlgorithm.Shifted, false, false), rows);
                        BitEqual(what + ", fused, against im2col", Run(ConvAlgorithm.Im2Col, null, true), Run(ConvAlgorithm.Shifted, true, true));
                    }
                    // Where the seven-row tile exists, the forced setting takes it for float32 (and never for float64).
                    ShiftedConv<float>.WholeRows = true;
                    try
                    {
                        Assert.Equal(Gemm.GemmKernels.ShiftedRowsTile<float>() == 7, ShiftedConv<float>.UsesWholeRows(g, 1));
                        Assert.False(ShiftedConv<double>.UsesWholeRows(g, 1));
                    }
                    finally
                    {
                        ShiftedConv<float>.WholeRows = null;
                    }
                }
            }
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void WholeRowsAreTakenWhereTheyWasteLess()
    {
        // With the seven-row tile, ResNet's 7×7 and 14×14 layers take whole rows (12-row tiles over 9- or 16-pixel
        // padded rows waste 10–30 %), and a width that seven does not divide never does.
        if (Gemm.GemmKernels.ShiftedRowsTile<float>() == 0)
        {
            Console.WriteLine("WholeRowsAreTakenWhereTheyWasteLess: no seven-row tile at this vector width; nothing to check");
            return;
        }
        Assert.True(ShiftedConv<float>.UsesWholeRows(G(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1), 1));
        Assert.True(ShiftedConv<float>.UsesWholeRows(G(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1), 1));
        Assert.False(ShiftedConv<float>.UsesWholeRows(G(1, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1), 1));
        Assert.False(ShiftedConv<float>.UsesWholeRows(G(1, 64, 12, 12, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1), 1));
    }

    [Fact]
    public void WeightsPackedOncePerCallGiveTheSameBits()
    {
        // With several chunks of samples, the forward pass (each form) and the input gradient pack the weights once
        // and every chunk's GEMM reads that copy; the bits are those of packing them in each chunk, for every path
        // case with more than one chunk, each vector width, both dtypes and thread counts.
        var cases = PathCases().Where(c => c.g.N > 1 && c.g.Groups == 1).ToList();
        cases.Add((G(7, 16, 20, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1), true));  // 400 pixels: a chunk per sample
        cases.Add((G(4, 24, 16, 16, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1), false)); // 1×1: x itself as each sample's columns
        cases.Add((G(3, 96, 16, 16, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1), true));  // three chunks with threads inside them
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
                SameBitsEitherWay(cases, [ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit],
                                  once => ConvDriver<float>.PackWeightsOnce = ConvDriver<double>.PackWeightsOnce = once,
                                  $"width {width?.ToString() ?? "auto"} threads {threads}: weights packed once"));
        }
        finally
        {
            ConvDriver<float>.PackWeightsOnce = ConvDriver<double>.PackWeightsOnce = true;
        }
    }

    [Fact]
    public void SlicedColumnsGiveTheBitsOfWholeColumns()
    {
        // One sample's explicit im2col is unfolded and multiplied a slice of output rows at a time when its column
        // matrix passes ColumnSliceBytes. Each case slices (checked below); its forward pass, plain and with residual
        // and ReLU fused, gives the bits of the whole matrix at once and matches the float64 direct convolution.
        (Conv2dGeometry g, bool withBias)[] cases =
        [
            (G(2, 3, 112, 112, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1), true),  // a ResNet stem at 112²: 147 × 3,136 columns
            (G(1, 3, 101, 97, 8, 5, 5, 1, 1, 2, 2, 1, 1, 1), false),   // 75 × 9,797 columns, slices of unequal tail
            (G(1, 40, 40, 40, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),   // K = 360 > KC: the bias is C's start
        ];
        foreach (var (g, _) in cases)
            Assert.True(ConvDriver<float>.SliceRows(g.C * g.KH * g.KW, g.OutH, g.OutW, sizeof(float)) < g.OutH, $"{g} is not sliced");
        var be = CpuBackend.Instance;
        long saved = ConvDriver<float>.ColumnSliceBytes;
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                if (width is not (null or 256)) return;
                foreach (var (g, withBias) in cases)
                {
                    var (x, w, bias, dy) = Inputs(g, withBias);
                    var residual = RandomArray(dy.Length, 5);
                    var reference = Reference(g, x, w, bias, dy);
                    foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    {
                        double[] Run(bool sliced, bool fused) => WithAlgorithm(ConvAlgorithm.Im2Col, () =>
                        {
                            ConvDriver<float>.ColumnSliceBytes = ConvDriver<double>.ColumnSliceBytes = sliced ? saved : long.MaxValue;
                            var y = T(Enumerable.Repeat(double.NaN, dy.Length).ToArray(), dt, YShape(g));
                            be.Conv2d(T(x, dt, XShape(g)), T(w, dt, WShape(g)), bias == null ? null : T(bias, dt, [g.OutC]), y, g,
                                      fused ? Activation.Relu : default, fused ? T(residual, dt, YShape(g)) : null);
                            return D(y);
                        });
                        string what = $"{g} {dt.Name()} width {width?.ToString() ?? "auto"} threads {threads}: sliced columns";
                        var sliced = Run(true, false);
                        BitEqual(what, Run(false, false), sliced);
                        BitEqual(what + ", fused", Run(false, true), Run(true, true));
                        Close(what + " against the direct convolution", reference.Y, reference.YScale, sliced, dt == DType.Float32 ? 1e-5 : 1e-12);
                    }
                }
            });
        }
        finally
        {
            ConvDriver<float>.ColumnSliceBytes = ConvDriver<double>.ColumnSliceBytes = saved;
        }
    }

    // The forward pass (in each form) and the input gradient of each case, both dtypes, with a switch off and then on:
    // the bits must be the same.
    private static void SameBitsEitherWay(IEnumerable<(Conv2dGeometry g, bool withBias)> cases, ConvAlgorithm[] forms, Action<bool> set, string what)
    {
        foreach (var (g, withBias) in cases)
        {
            var (x, w, bias, dy) = Inputs(g, withBias);
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                foreach (var form in forms)
                {
                    (double[] y, double[] dx) Run(bool on)
                    {
                        set(on);
                        var r = WithAlgorithm(form, () => RunAll(g, dt, x, w, bias, dy));
                        return (r.y, r.dx);
                    }
                    var (y0, dx0) = Run(false);
                    var (y1, dx1) = Run(true);
                    string label = $"{g} {dt.Name()} {form} {what}";
                    BitEqual(label + ", forward", y0, y1);
                    BitEqual(label + ", input gradient", dx0, dx1);
                }
        }
    }

    [Fact]
    public void DeepProductsGiveTheSameConvolutionBits()
    {
        // Convolutions whose GEMMs are deep products on two threads (at least three K blocks in one block of rows and
        // columns): with shifted rows of A, with weights packed once per call, read in place, and the input gradient's
        // Wᵀ packed by each item; each form, dtype and vector width gives the bits of the K-block-by-K-block loop.
        (Conv2dGeometry g, bool withBias)[] cases =
        [
            (G(1, 96, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),    // 63 shifted rows, four K blocks
            (G(3, 96, 16, 16, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1), true), // three chunks with threads inside
            (G(1, 128, 5, 5, 140, 3, 3, 1, 1, 1, 1, 1, 1, 1), false), // 25 columns: A read in place
        ];
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                if (threads < 2) return;
                SameBitsEitherWay(cases, [ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit, ConvAlgorithm.Shifted],
                                  deep => Gemm.GemmBlocking.DeepProducts = deep, $"width {width?.ToString() ?? "auto"}: deep products");
            });
        }
        finally
        {
            Gemm.GemmBlocking.DeepProducts = true;
        }
    }

    [Fact]
    public void ColumnRangesGiveTheSameConvolutionBits()
    {
        // The shifted convolution on two threads split by column ranges (each through every K block with its own B
        // panels) against two phases per K block: several K blocks, whole rows and every plane pixel, column panels
        // that two threads share unevenly, bias as C's start, each dtype and vector width: the same bits.
        (Conv2dGeometry g, bool withBias)[] cases =
        [
            (G(1, 64, 7, 7, 260, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),    // 7×7, K = 576 in three blocks, nine 32-column panels
            (G(2, 40, 14, 14, 384, 3, 3, 1, 1, 1, 1, 1, 1, 1), false), // 14×14 over two samples
            (G(1, 300, 9, 9, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1), true),   // 9 wide: every plane pixel, two K blocks
        ];
        int saved = CortadoThreads.Count;
        try
        {
            foreach (int? width in new int?[] { null, 256, 128 })
            {
                if (width is int wd && !Gemm.GemmKernels.IsWidthSupported(wd)) continue;
                Gemm.GemmKernels.ForceWidth = width;
                CortadoThreads.Count = 2;
                SameBitsEitherWay(cases, [ConvAlgorithm.Shifted], split => Gemm.GemmBlocking.SplitColumns = split,
                                  $"width {width?.ToString() ?? "auto"}: column ranges");
            }
        }
        finally
        {
            Gemm.GemmBlocking.SplitColumns = true;
            Gemm.GemmKernels.ForceWidth = null;
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void InputGradientAsAForwardConvolutionMatchesTheReference()
    {
        // At stride 1 the input gradient can run as the forward convolution of dy with the flipped kernel: forced on
        // and off, over dilation, groups, uneven kernels and padding, a 5×5 kernel without padding and a tall batch, it
        // matches the float64 direct gradient, and each way gives the same bits on 1 and 2 threads.
        var cases = new List<(Conv2dGeometry g, bool withBias)>
        {
            (G(2, 40, 16, 16, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1), false),
            (G(1, 8, 10, 11, 6, 3, 2, 1, 1, 2, 1, 2, 1, 1), false),  // dilation 2 in H, padding below the reach
            (G(3, 12, 9, 9, 10, 3, 3, 1, 1, 1, 1, 1, 1, 2), false),  // groups 2
            (G(2, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1), false), // LeNet's second layer: padding 4 in the gradient
            (G(1, 4, 9, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4), false),    // four groups of one channel into two: depthwise ×2
        };
        int saved = CortadoThreads.Count;
        try
        {
            foreach (var (g, withBias) in cases)
            {
                Assert.NotNull(WithInputGradient(true, () => ConvDriver<float>.AsForward(g)));
                var (x, w, bias, dy) = Inputs(g, withBias);
                var e = Reference(g, x, w, bias, dy);
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (bool asForward in new[] { false, true })
                    {
                        double[] Dx(int threads)
                        {
                            CortadoThreads.Count = threads;
                            return WithInputGradient(asForward, () => RunAll(g, dt, x, w, bias, dy)).dx;
                        }
                        var one = Dx(1);
                        string what = $"{g} {dt.Name()} input gradient {(asForward ? "as a forward pass" : "folded")}";
                        Close(what, e.Dx, e.DxScale, one, dt == DType.Float32 ? 1e-5 : 1e-13);
                        BitEqual(what + ": 1 against 2 threads", one, Dx(2));
                    }
            }
            // The default takes it by shape alone: ResNet's 56×56 layer does, an 8×8 image, LeNet's six channels and a
            // stride-2 layer do not.
            Assert.NotNull(ConvDriver<float>.AsForward(G(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
            Assert.Null(ConvDriver<float>.AsForward(G(16, 128, 8, 8, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
            Assert.Null(ConvDriver<float>.AsForward(G(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)));
            Assert.Null(ConvDriver<float>.AsForward(G(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1)));
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void ThinWeightGradientMatchesTheReference()
    {
        // The direct weight gradient of stride-1 layers with few weights per output channel (LeNet's first layer):
        // rows of one to five vectors, dilation, uneven padding, groups, float32 and float64, vector and scalar
        // loops, against the float64 direct gradient, and the same bits on 1 and 2 threads.
        var cases = new[]
        {
            G(6, 1, 12, 12, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),   // LeNet's first layer, 12 wide: rows of two vectors
            G(3, 2, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1),     // 8 wide: one vector
            G(2, 1, 7, 19, 4, 3, 3, 1, 1, 0, 1, 1, 1, 1),    // 19 wide: three vectors (eight lanes)
            G(2, 3, 9, 37, 3, 3, 3, 1, 1, 2, 1, 2, 1, 1),    // dilation 2 in H, 37 wide
            G(2, 4, 10, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2),   // groups 2
        };
        int saved = CortadoThreads.Count;
        try
        {
            foreach (var g in cases)
            {
                Assert.True(ThinWeightGradient<float>.Applies(g), $"{g} should take the direct weight gradient");
                var (x, w, bias, dy) = Inputs(g, false);
                var e = Reference(g, x, w, bias, dy);
                foreach (bool vectors in new[] { true, false })
                    foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    {
                        double[] Dw(int threads)
                        {
                            CortadoThreads.Count = threads;
                            Kernels.VectorPaths.Enabled = vectors;
                            try { return RunAll(g, dt, x, w, bias, dy).dw; }
                            finally { Kernels.VectorPaths.Enabled = true; }
                        }
                        var one = Dw(1);
                        string what = $"{g} {dt.Name()} direct weight gradient, vectors {vectors}";
                        Close(what, e.Dw, e.DwScale, one, dt == DType.Float32 ? 1e-5 : 1e-13);
                        BitEqual(what + ": 1 against 2 threads", one, Dw(2));
                    }
            }
            // Stride 2, 150 weights per output channel (LeNet's second layer) and rows under 8 pixels keep the GEMM.
            Assert.False(ThinWeightGradient<float>.Applies(G(4, 1, 12, 12, 6, 5, 5, 2, 2, 2, 2, 1, 1, 1)));
            Assert.False(ThinWeightGradient<float>.Applies(G(64, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1)));
            Assert.False(ThinWeightGradient<float>.Applies(G(4, 1, 6, 6, 6, 3, 3, 1, 1, 0, 0, 1, 1, 1)));
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }

    private static TResult WithInputGradient<TResult>(bool? asForward, Func<TResult> body)
    {
        ConvDriver<float>.InputGradientAsForward = ConvDriver<double>.InputGradientAsForward = asForward;
        try
        {
            return body();
        }
        finally
        {
            ConvDriver<float>.InputGradientAsForward = ConvDriver<double>.InputGradientAsForward = null;
        }
    }

    [Fact]
    public void GatheredPanelsGiveTheSameBits()
    {
        // Float32 panels of narrow images, forward and transposed (weight gradient), are packed with masked gathers
        // instead of row runs, and the input gradient's fold gathers each plane's taps; every path case (strides,
        // dilation, padding, groups, several samples per GEMM), each vector width and both thread counts give the bits
        // of the runs.
        var cases = PathCases();
        cases.Add((G(3, 5, 6, 5, 20, 3, 3, 1, 1, 2, 2, 1, 1, 1), true));   // padding wider than the image's rows
        cases.Add((G(2, 4, 9, 9, 7, 3, 3, 2, 2, 1, 1, 2, 2, 1), false));  // stride 2 with dilation 2
        int saved = Im2ColPanels<float>.GatherBelowWidth, savedFold = FoldGather.BelowWidth;
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var (g, withBias) in cases)
                {
                    if (Gemm.GemmKernels.WouldSwap<float>(g.OutC / g.Groups, g.OutH * g.OutW)) continue;
                    var (x, w, bias, dy) = Inputs(g, withBias);
                    double[] Forward(int gatherBelow)
                    {
                        Im2ColPanels<float>.GatherBelowWidth = gatherBelow;
                        return WithAlgorithm(ConvAlgorithm.Implicit, () => RunAll(g, DType.Float32, x, w, bias, dy)).y;
                    }
                    double[] WeightGrad(int gatherBelow)
                    {
                        Im2ColPanels<float>.GatherBelowWidth = gatherBelow;
                        var dw = T(Enumerable.Repeat(double.NaN, w.Length).ToArray(), DType.Float32, WShape(g));
                        CpuBackend.Instance.Conv2dBackwardWeight(T(x, DType.Float32, XShape(g)), T(dy, DType.Float32, YShape(g)), dw, g);
                        return D(dw);
                    }
                    double[] InputGrad(int gatherBelow)
                    {
                        FoldGather.BelowWidth = gatherBelow;
                        var dx = T(Enumerable.Repeat(double.NaN, x.Length).ToArray(), DType.Float32, XShape(g));
                        CpuBackend.Instance.Conv2dBackwardInput(T(dy, DType.Float32, YShape(g)), T(w, DType.Float32, WShape(g)), dx, g);
                        return D(dx);
                    }
                    string what = $"{g} width {width?.ToString() ?? "auto"} threads {threads}: gathered against runs";
                    BitEqual(what + ", forward", Forward(0), Forward(int.MaxValue));
                    BitEqual(what + ", weight gradient", WeightGrad(0), WeightGrad(int.MaxValue));
                    BitEqual(what + ", input gradient (fold)", InputGrad(0), InputGrad(int.MaxValue));
                }
            });
        }
        finally
        {
            Im2ColPanels<float>.GatherBelowWidth = saved;
            FoldGather.BelowWidth = savedFold;
            ConvDriver<float>.ImplicitWeightGradient = true;
        }
    }

    [Fact]
    public void TheTwoFloat32TilesGiveTheSameBits()
    {
        // The 512-bit float32 GEMM picks its 12×32 or 8×48 tile per shape; the convolution's panel sources (forward
        // and transposed) pack for either width, and outputs and both gradients keep their bits: both algorithms,
        // every path case, 1 and 2 threads.
        if (!Gemm.GemmKernels.IsWidthSupported(512)) return; // this machine lacks AVX-512; nothing to run
        int saved = CortadoThreads.Count;
        try
        {
            Gemm.GemmKernels.ForceWidth = 512;
            foreach (int threads in new[] { 1, 2 })
            {
                CortadoThreads.Count = threads;
                foreach (var (g, withBias) in PathCases())
                {
                    var (x, w, bias, dy) = Inputs(g, withBias);
                    foreach (var algorithm in new[] { ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit })
                    {
                        (double[] y, double[] dx, double[] dw) With(bool wide)
                        {
                            Gemm.GemmKernels.ForceWideTile = wide;
                            return WithAlgorithm(algorithm, () => RunAll(g, DType.Float32, x, w, bias, dy));
                        }
                        var a = With(false);
                        var b = With(true);
                        string what = $"{g} {algorithm} threads {threads}: 8×48 tile against 12×32";
                        BitEqual(what + " forward", a.y, b.y);
                        BitEqual(what + " input gradient", a.dx, b.dx);
                        BitEqual(what + " weight gradient", a.dw, b.dw);
                    }
                }
            }
        }
        finally
        {
            Gemm.GemmKernels.ForceWidth = null;
            Gemm.GemmKernels.ForceWideTile = null;
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void ImplicitWeightGradientGivesTheBitsOfStoredColumns()
    {
        // The weight gradient's transposed column panels, packed from x block by block, hold the values the stored
        // column matrix gave its transposed packing: every width, dtype, chunking and thread count, same bits.
        var cases = PathCases();
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var (g, withBias) in cases)
                {
                    var (x, w, _, dy) = Inputs(g, withBias);
                    foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    {
                        double[] WeightGrad(bool implicitPanels)
                        {
                            ConvDriver<float>.ImplicitWeightGradient = ConvDriver<double>.ImplicitWeightGradient = implicitPanels;
                            var dw = T(Enumerable.Repeat(double.NaN, w.Length).ToArray(), dt, WShape(g));
                            CpuBackend.Instance.Conv2dBackwardWeight(T(x, dt, XShape(g)), T(dy, dt, YShape(g)), dw, g);
                            return D(dw);
                        }
                        BitEqual($"{g} {dt.Name()} width {width?.ToString() ?? "auto"} threads {threads}: implicit weight gradient",
                                 WeightGrad(false), WeightGrad(true));
                    }
                }
            });
        }
        finally
        {
            ConvDriver<float>.ImplicitWeightGradient = ConvDriver<double>.ImplicitWeightGradient = true;
        }
    }

    [Fact]
    public void AutoChoosesOncePerShape()
    {
        var be = CpuBackend.Instance;
        // Large enough to be timed (an unseen shape: no other test uses 29×31 images), then a small one that is not.
        var big = G(2, 32, 29, 31, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var small = G(1, 2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        Assert.True((long)big.N * big.OutC * big.OutH * big.OutW * big.C * 9 >= ConvDriver<float>.TuneMinMacs);
        Assert.True((long)small.N * small.OutC * small.OutH * small.OutW * small.C * 9 < ConvDriver<float>.TuneMinMacs);
        foreach (var g in new[] { big, small })
        {
            Assert.Equal(ConvAlgorithm.Auto, ConvDriver<float>.Chosen(g));
            var (x, w, _, _) = Inputs(g, false);
            var y = Tensor.Empty(DType.Float32, YShape(g));
            be.Conv2d(T(x, DType.Float32, XShape(g)), T(w, DType.Float32, WShape(g)), null, y, g);
            var chosen = ConvDriver<float>.Chosen(g);
            Assert.NotEqual(ConvAlgorithm.Auto, chosen);
            if (g == small) Assert.Equal(ConvAlgorithm.Implicit, chosen);
            // The choice is kept: another run at the shape does not time again and keeps it.
            be.Conv2d(T(x, DType.Float32, XShape(g)), T(w, DType.Float32, WShape(g)), null, y, g);
            Assert.Equal(chosen, ConvDriver<float>.Chosen(g));
        }
    }

    [Fact]
    public void BitIdenticalAcrossThreadCounts()
    {
        // Batch sizes that take the split over samples (4) and the split inside each GEMM (3 on 2 threads).
        var cases = new[]
        {
            (G(4, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1), true),
            (G(3, 32, 24, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1), false),
            (G(3, 16, 14, 14, 32, 1, 1, 1, 1, 0, 0, 1, 1, 2), true),
            (G(5, 8, 11, 11, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8), false),
            (G(2, 3, 40, 40, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1), true),             // few channels: threads inside the GEMMs
        };
        int saved = CortadoThreads.Count;
        try
        {
            foreach (var (g, withBias) in cases)
            {
                var (x, w, bias, dy) = Inputs(g, withBias);
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                {
                    CortadoThreads.Count = 1;
                    var one = RunAll(g, dt, x, w, bias, dy);
                    foreach (int threads in new[] { 2, 3 })
                    {
                        CortadoThreads.Count = threads;
                        var many = RunAll(g, dt, x, w, bias, dy);
                        BitEqual($"{g} {dt.Name()} forward, {threads} threads", one.y, many.y);
                        BitEqual($"{g} {dt.Name()} backward input, {threads} threads", one.dx, many.dx);
                        BitEqual($"{g} {dt.Name()} backward weight, {threads} threads", one.dw, many.dw);
                    }
                }
            }
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }

    private static void BitEqual(string what, double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i]))
                throw new XunitException($"{what}: element {i} differs ({a[i]:R} vs {b[i]:R})");
    }

    [Fact]
    public void RejectsMismatchedTensors()
    {
        var g = G(1, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1);
        var x = Tensor.Empty(DType.Float32, 1, 2, 5, 5);
        var w = Tensor.Empty(DType.Float32, 3, 2, 3, 3);
        Assert.Throws<ShapeMismatchException>(() => CpuBackend.Instance.Conv2d(x, w, null, Tensor.Empty(DType.Float32, 1, 3, 4, 3), g));
        Assert.Throws<DTypeMismatchException>(() => CpuBackend.Instance.Conv2d(x, Tensor.Empty(DType.Float64, 3, 2, 3, 3), null, Tensor.Empty(DType.Float32, 1, 3, 3, 3), g));
        Assert.Throws<MissingKernelException>(() => CpuBackend.Instance.Conv2d(Tensor.Empty(DType.Int32, 1, 2, 5, 5), Tensor.Empty(DType.Int32, 3, 2, 3, 3), null, Tensor.Empty(DType.Int32, 1, 3, 3, 3), g));
    }
}
