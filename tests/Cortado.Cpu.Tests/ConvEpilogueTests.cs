// Convolution with a fused epilogue (bias and activation applied by the kernel as it finishes each block of the
// output) against the same convolution followed by a separate pass, bit for bit, on every path the kernels take.
using Cortado.Backends;
using Cortado.Cpu.Conv;
using Cortado.Cpu.Kernels;
using Cortado.Threading;
using Xunit;
using Xunit.Sdk;

namespace Cortado.Cpu.Tests;

[Collection(VectorPathCollection.Name)]
public sealed class ConvEpilogueTests
{
    private static Conv2dGeometry G(int n, int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int groups) =>
        new(n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups);

    // Each path of the forward pass: one sample straight into y (1×1 and k×k), samples chunked through a staging
    // matrix, K in two blocks (bias then taken as the GEMM's starting C), a product run as Cᵀ (few pixels), grouped
    // and depthwise (stride 1 and 2, a channel multiplier, dilation, rows narrower and wider than a vector).
    public static readonly Conv2dGeometry[] Paths =
    [
        G(1, 16, 12, 12, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1),
        G(1, 5, 17, 19, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        G(7, 3, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        G(2, 32, 10, 10, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        G(4, 64, 2, 2, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1),
        G(3, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2),
        G(2, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),
        G(1, 8, 14, 14, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8),
        G(3, 4, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4),
        G(2, 3, 20, 37, 3, 3, 5, 1, 1, 2, 3, 2, 2, 3),
        G(1, 2, 11, 40, 2, 3, 3, 3, 3, 1, 0, 1, 1, 2),
    ];

    private static readonly Activation[] Activations =
    [
        Activation.Relu,
        new(ActivationKind.Clip, 0, 6),
        new(ActivationKind.LeakyRelu, 0.1),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Sigmoid),
    ];

    internal static Tensor Rand(int seed, DType dt, params int[] shape) => Tensor.Randn(shape, new Generator(seed)).Cast(dt);

    private static Tensor Conv(Conv2dGeometry g, Tensor x, Tensor w, Tensor? b, Activation act, Tensor? residual = null)
    {
        // NaN first: an element the kernel failed to write shows.
        var y = Tensor.Full([g.N, g.OutC, g.OutH, g.OutW], double.NaN, x.DType);
        CpuBackend.Instance.Conv2d(x, w, b, y, g, act, residual);
        return y;
    }

    internal static void BitEqual(string what, Tensor expected, Tensor actual)
    {
        var a = expected.Cast(DType.Float64).ToArray<double>();
        var b = actual.Cast(DType.Float64).ToArray<double>();
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i]))
                throw new XunitException($"{what}: element {i} is {b[i]:R}, expected {a[i]:R}");
    }

    [Fact]
    public void FusedActivationGivesTheBitsOfASeparatePass()
    {
        int saved = CortadoThreads.Count;
        try
        {
            foreach (int? width in new int?[] { null, 256, 128, 0 })
            {
                if (width is int wd && !Gemm.GemmKernels.IsWidthSupported(wd)) continue;
                Gemm.GemmKernels.ForceWidth = width;
                foreach (bool vectors in new[] { true, false })
                {
                    VectorPaths.Enabled = vectors;
                    foreach (int threads in new[] { 1, 2 })
                    {
                        CortadoThreads.Count = threads;
                        foreach (var g in Paths)
                            foreach (var dt in new[] { DType.Float32, DType.Float64 })
                            {
                                var x = Rand(1, dt, g.N, g.C, g.H, g.W);
                                var w = Rand(2, dt, g.OutC, g.C / g.Groups, g.KH, g.KW);
                                var b = Rand(3, dt, g.OutC);
                                var r = Rand(4, dt, g.N, g.OutC, g.OutH, g.OutW);
                                var plain = Conv(g, x, w, b, Activation.None);
                                // Every activation on one configuration, ReLU6 on the rest; each without and with a residual.
                                var acts = width is null && threads == 1 ? Activations : [Activations[1]];
                                foreach (var act in acts)
                                    foreach (var residual in new[] { null, r })
                                    {
                                        var separate = residual is null ? plain.Clone() : plain.Add(residual);
                                        if (dt == DType.Float32) act.Apply(separate.AsSpan<float>());
                                        else act.Apply(separate.AsSpan<double>());
                                        BitEqual($"{g} {dt.Name()} {act}{(residual is null ? "" : " + residual")}, width {width?.ToString() ?? "auto"}, vectors {vectors}, {threads} threads",
                                                 separate, Conv(g, x, w, b, act, residual));
                                    }
                                // A residual alone (no activation, no bias).
                                BitEqual($"{g} {dt.Name()} residual only, width {width?.ToString() ?? "auto"}, vectors {vectors}, {threads} threads",
                                         Conv(g, x, w, null, Activation.None).Add(r), Conv(g, x, w, null, Activation.None, r));
                            }
                    }
                }
            }
        }
        finally
        {
            Gemm.GemmKernels.ForceWidth = null;
            VectorPaths.Enabled = true;
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void BiasAddedAtTheEndRoundsLikeOneAdd()
    {
        // With K in one block the bias is added to each finished sum; that must be the single rounding of sum + bias.
        foreach (var g in Paths.Where(g => !DepthwiseConv<float>.Applies(g) && g.C / g.Groups * g.KH * g.KW <= Gemm.GemmBlocking.KC))
            foreach (var dt in new[] { DType.Float32, DType.Float64 })
            {
                var x = Rand(4, dt, g.N, g.C, g.H, g.W);
                var w = Rand(5, dt, g.OutC, g.C / g.Groups, g.KH, g.KW);
                var b = Rand(6, dt, g.OutC);
                var sums = Conv(g, x, w, null, Activation.None);
                BitEqual($"{g} {dt.Name()}", sums.Add(b.Reshape(1, g.OutC, 1, 1)), Conv(g, x, w, b, Activation.None));
            }
    }

    [Fact]
    public void FusedReluHasReluGradient()
    {
        var g = G(2, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        Tensor[] Run(bool fused)
        {
            var x = Rand(7, DType.Float64, g.N, g.C, g.H, g.W).Detach();
            var w = Rand(8, DType.Float64, g.OutC, g.C, 3, 3).Detach();
            var b = Rand(9, DType.Float64, g.OutC).Detach();
            x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
            var y = fused ? x.Conv2d(w, b, padding: (1, 1), activation: Activation.Relu) : x.Conv2d(w, b, padding: (1, 1)).Relu();
            y.Mul(y.Add(1.0)).Sum().Backward();
            return [y.Detach(), x.Grad!, w.Grad!, b.Grad!];
        }
        var unfused = Run(false);
        var fusedRun = Run(true);
        string[] what = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < what.Length; i++) BitEqual(what[i], unfused[i], fusedRun[i]);
    }

    [Fact]
    public void FusedResidualHasTheGradientsOfASeparateAdd()
    {
        var g = G(2, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        foreach (var act in new[] { Activation.None, Activation.Relu })
        {
            Tensor[] Run(bool fused)
            {
                var x = Rand(7, DType.Float64, g.N, g.C, g.H, g.W).Detach();
                var w = Rand(8, DType.Float64, g.OutC, g.C, 3, 3).Detach();
                var b = Rand(9, DType.Float64, g.OutC).Detach();
                var r = Rand(10, DType.Float64, g.N, g.OutC, g.OutH, g.OutW).Detach();
                x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = r.RequiresGrad = true;
                Tensor y;
                if (fused) y = x.Conv2d(w, b, padding: (1, 1), activation: act, residual: r);
                else
                {
                    y = x.Conv2d(w, b, padding: (1, 1)).Add(r);
                    if (!act.IsNone) y = y.Relu();
                }
                y.Mul(y.Add(1.0)).Sum().Backward();
                return [y.Detach(), x.Grad!, w.Grad!, b.Grad!, r.Grad!];
            }
            var unfused = Run(false);
            var fusedRun = Run(true);
            string[] what = ["output", "input gradient", "weight gradient", "bias gradient", "residual gradient"];
            for (int i = 0; i < what.Length; i++) BitEqual($"{act}: {what[i]}", unfused[i], fusedRun[i]);
        }
    }

    [Fact]
    public void ResidualOfTheWrongShapeOrOverlappingTheOutputIsRefused()
    {
        var g = G(1, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var x = Rand(1, DType.Float32, 1, 2, 5, 5);
        var w = Rand(2, DType.Float32, 3, 2, 3, 3);
        var e = Assert.Throws<ShapeMismatchException>(() => x.Conv2d(w, padding: (1, 1), residual: Rand(3, DType.Float32, 1, 3, 5, 4)));
        Assert.Contains("residual", e.Message);
        var y = Tensor.Zeros([1, 3, 5, 5], DType.Float32);
        var a = Assert.Throws<ArgumentException>(() => CpuBackend.Instance.Conv2d(x, w, null, y, g, default, y));
        Assert.Contains("residual", a.Message);
    }

    [Fact]
    public void OtherFusedActivationsRefuseATape()
    {
        var x = Rand(1, DType.Float32, 1, 2, 5, 5).Detach();
        x.RequiresGrad = true;
        var w = Rand(2, DType.Float32, 3, 2, 3, 3);
        var e = Assert.Throws<NotSupportedException>(() => x.Conv2d(w, activation: new Activation(ActivationKind.Sigmoid)));
        Assert.Contains("Sigmoid", e.Message);
        // Without a tape it runs.
        using (Autograd.NoGradScope()) Assert.Equal([1, 3, 3, 3], x.Conv2d(w, activation: new Activation(ActivationKind.Sigmoid)).Dims);
    }

    [Fact]
    public void ParsesActivationNames()
    {
        Assert.Equal(new Activation(ActivationKind.Clip, 0, 6), Activation.Parse("Clip", 0, 6));
        Assert.Equal(ActivationKind.HardSwish, Activation.Parse("HardSwish").Kind);
        Assert.Throws<ArgumentException>(() => Activation.Parse("Gelu2"));
        Assert.Throws<ArgumentException>(() => Activation.Parse("None"));
        Assert.Throws<ArgumentException>(() => Activation.Parse("7"));
    }
}
