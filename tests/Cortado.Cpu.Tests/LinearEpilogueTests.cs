// Linear (and the backend GEMM) with a fused activation against the same product followed by a separate pass, bit
// for bit, and the fused ReLU's gradients against the unfused ones.
using Cortado.Backends;
using Cortado.Threading;
using Xunit;
using static Cortado.Cpu.Tests.ConvEpilogueTests;

namespace Cortado.Cpu.Tests;

[Collection(VectorPathCollection.Name)]
public sealed class LinearEpilogueTests
{
    private static readonly Activation[] Activations =
    [
        Activation.Relu,
        new(ActivationKind.Clip, 0, 6),
        new(ActivationKind.LeakyRelu, 0.1),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Tanh),
        new(ActivationKind.Sigmoid),
    ];

    [Fact]
    public void FusedActivationGivesTheBitsOfASeparatePass()
    {
        // Rows × in × out: partial tiles, K in two blocks, a narrow product (run as Cᵀ), a 3-D input, K = 0.
        int[][] shapes = [[5, 7, 3], [30, 300, 70], [64, 33, 2], [2, 3, 17, 9], [4, 0, 6]];
        int saved = CortadoThreads.Count;
        try
        {
            foreach (int? width in new int?[] { null, 256, 128, 0 })
            {
                if (width is int wd && !Gemm.GemmKernels.IsWidthSupported(wd)) continue;
                Gemm.GemmKernels.ForceWidth = width;
                foreach (int threads in new[] { 1, 2 })
                {
                    CortadoThreads.Count = threads;
                    foreach (var dt in new[] { DType.Float32, DType.Float64 })
                        foreach (var s in shapes)
                        {
                            int inF = s[^2], outF = s[^1];
                            var x = Rand(1, dt, s[..^1]);
                            var w = Rand(2, dt, outF, inF);
                            foreach (var b in new[] { null, Rand(3, dt, outF) })
                            {
                                var plain = x.Linear(w, b);
                                foreach (var act in Activations)
                                {
                                    var separate = plain.Clone();
                                    if (dt == DType.Float32) act.Apply(separate.AsSpan<float>());
                                    else act.Apply(separate.AsSpan<double>());
                                    using (Autograd.NoGradScope())
                                        BitEqual($"[{string.Join(",", s)}] {dt.Name()} {act} bias {b is not null}, width {width?.ToString() ?? "auto"}, {threads} threads",
                                                 separate, x.Linear(w, b, act));
                                }
                            }
                        }
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
    public void FusedReluHasReluGradient()
    {
        Tensor[] Run(bool fused)
        {
            var x = Rand(7, DType.Float64, 6, 5).Detach();
            var w = Rand(8, DType.Float64, 4, 5).Detach();
            var b = Rand(9, DType.Float64, 4).Detach();
            x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
            var y = fused ? x.Linear(w, b, Activation.Relu) : x.Linear(w, b).Relu();
            y.Mul(y.Add(1.0)).Sum().Backward();
            return [y.Detach(), x.Grad!, w.Grad!, b.Grad!];
        }
        var unfused = Run(false);
        var fusedRun = Run(true);
        string[] what = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < what.Length; i++) BitEqual(what[i], unfused[i], fusedRun[i]);
    }

    [Fact]
    public void OtherFusedActivationsRefuseATapeAndBatchedGemms()
    {
        var x = Rand(1, DType.Float32, 3, 4).Detach();
        x.RequiresGrad = true;
        var w = Rand(2, DType.Float32, 5, 4);
        var e = Assert.Throws<NotSupportedException>(() => x.Linear(w, activation: new Activation(ActivationKind.Sigmoid)));
        Assert.Contains("Sigmoid", e.Message);
        var c = Tensor.Zeros([2, 3, 5], DType.Float32);
        var a = Assert.Throws<ArgumentException>(() => CpuBackend.Instance.Gemm(false, true, 3, 5, 4, 1, x.Detach(), 4, 0, w, 4, 0, 0, c, 5, 15, 2, Activation.Relu));
        Assert.Contains("batch", a.Message);
    }
}
