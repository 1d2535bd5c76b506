// The fused batch-norm training kernel against the composed formula in float32, and across thread counts bit for bit.
using Cortado.NN;
using Cortado.Ops;
using Cortado.TestKit;
using Cortado.Threading;
using Xunit;
using Xunit.Sdk;

namespace Cortado.NN.Tests;

public class BatchNormKernelTests
{
    // x̂·γ + β with the batch statistics, composed from element-wise ops (the reference the kernel replaces).
    private static Tensor Composed(Tensor x, Tensor w, Tensor b, double eps)
    {
        var axes = Enumerable.Range(0, x.Rank).Where(a => a != 1).ToArray();
        var bshape = Enumerable.Range(0, x.Rank).Select(a => a == 1 ? x.Size(1) : 1).ToArray();
        var mean = x.Mean(axes, keepDim: true);
        var d = x - mean;
        var var = (d * d).Mean(axes, keepDim: true);
        return d * (var + eps).Rsqrt() * w.Reshape(bshape) + b.Reshape(bshape);
    }

    public static TheoryData<int[]> Shapes => new() { new[] { 4, 3, 5, 7 }, new[] { 64, 16 }, new[] { 2, 5, 33 }, new[] { 3, 8, 16, 16 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32MatchesTheComposedFormulaWithGradients(int[] shape)
    {
        Tensor[] Run(bool fused)
        {
            var x = (Tensor.Randn(shape, new Generator(1)) * 3.0 + 1.5).Detach();
            var w = Tensor.Randn([shape[1]], new Generator(2)).Detach();
            var b = Tensor.Randn([shape[1]], new Generator(3)).Detach();
            var gy = Tensor.Randn(shape, new Generator(4));
            x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
            var y = fused ? Op.Apply(new BatchNormTrainOp(1e-5), x, w, b) : Composed(x, w, b, 1e-5);
            y.Backward(gy);
            return [y.Detach(), x.Grad!, w.Grad!, b.Grad!];
        }
        var want = Run(false);
        var got = Run(true);
        string[] what = ["y", "dx", "dgamma", "dbeta"];
        for (int i = 0; i < what.Length; i++) TensorAssert.Close(want[i], got[i], 2e-4, 2e-4, what[i]);
    }

    [Fact]
    public void BitIdenticalOnOneAndTwoThreads()
    {
        int saved = CortadoThreads.Count;
        try
        {
            double[][] Run(int threads)
            {
                CortadoThreads.Count = threads;
                // 64 channels of 4096 values: enough work for the kernel to split over threads.
                var x = Tensor.Randn([8, 64, 32, 16], new Generator(5)).Detach();
                x.RequiresGrad = true;
                var bn = new BatchNorm2d(64);
                var y = bn.Forward(x);
                y.Backward(Tensor.Randn(y.Dims, new Generator(6)));
                return [y.ToArray<float>().Select(v => (double)v).ToArray(), x.Grad!.ToArray<float>().Select(v => (double)v).ToArray(),
                        bn.Weight.Grad!.ToArray<float>().Select(v => (double)v).ToArray(), bn.RunningVar.ToArray<float>().Select(v => (double)v).ToArray()];
            }
            var one = Run(1);
            var two = Run(2);
            for (int k = 0; k < one.Length; k++)
                for (int i = 0; i < one[k].Length; i++)
                    if (BitConverter.DoubleToInt64Bits(one[k][i]) != BitConverter.DoubleToInt64Bits(two[k][i]))
                        throw new XunitException($"output {k}, element {i}: {two[k][i]:R} on 2 threads, {one[k][i]:R} on 1");
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }

    [Fact]
    public void RejectsMismatchedShapesAndTooFewValues()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Op.Apply(new BatchNormTrainOp(1e-5), Tensor.Zeros(4, 3), Tensor.Ones(2), Tensor.Zeros(3)));
        Assert.Contains("weight", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Op.Apply(new BatchNormTrainOp(1e-5), Tensor.Zeros(1, 3), Tensor.Ones(3), Tensor.Zeros(3)));
    }
}
