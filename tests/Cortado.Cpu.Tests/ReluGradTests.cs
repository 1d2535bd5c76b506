// ReLU's one-pass gradient kernel against the three-pass formula it replaces, bit for bit, on both vector paths.
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Xunit;
using Xunit.Sdk;

namespace Cortado.Cpu.Tests;

[Collection(VectorPathCollection.Name)]
public sealed class ReluGradTests
{
    // Special values in both operands: signed zeros, infinities, NaN, and values either side of zero.
    private static readonly double[] Specials = [0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1e-30, -1e-30, 2.5, -3.5];

    private static double[] Values(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(i => i % 3 == 0 ? Specials[r.Next(Specials.Length)] : r.NextDouble() * 4 - 2).ToArray();
    }

    [Fact]
    public void MatchesTheMaskedProductBitForBit()
    {
        try
        {
            foreach (bool vectors in new[] { true, false })
            {
                VectorPaths.Enabled = vectors;
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (int n in new[] { 1, 3, 17, 255, 1023 })
                    {
                        var g = Tensor.FromArray(Values(n, n)).Cast(dt);
                        var x = Tensor.FromArray(Values(n, n + 1)).Cast(dt);
                        var want = (g * (x > 0.0).Cast(dt)).Cast(DType.Float64).ToArray<double>();
                        var y = Tensor.Full([n], double.NaN, dt);
                        CpuBackend.Instance.Binary(BinaryKind.ReluGrad, g, x, y);
                        // A broadcast x (one value for all) takes the scalar branch.
                        var xs = Tensor.Full([1], -0.0, dt).Expand(n);
                        var ys = Tensor.Full([n], double.NaN, dt);
                        CpuBackend.Instance.Binary(BinaryKind.ReluGrad, g, xs, ys);
                        var wantS = (g * 0.0).Cast(DType.Float64).ToArray<double>();
                        Check($"{dt.Name()} n={n} vectors {vectors}", want, y.Cast(DType.Float64).ToArray<double>());
                        Check($"{dt.Name()} n={n} vectors {vectors}, broadcast x", wantS, ys.Cast(DType.Float64).ToArray<double>());
                    }
            }
        }
        finally
        {
            VectorPaths.Enabled = true;
        }
    }

    [Fact]
    public void ReluGradientUsesIt()
    {
        var x = Tensor.FromArray(new[] { -1.0, 0.0, 2.0, double.NaN }).Detach();
        x.RequiresGrad = true;
        var y = x.Relu();
        y.Backward(Tensor.FromArray(new[] { 3.0, -4.0, 5.0, 6.0 }));
        Check("relu gradient", [0.0, -0.0, 5.0, 0.0], x.Grad!.ToArray<double>());
    }

    private static void Check(string what, double[] want, double[] got)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            if (BitConverter.DoubleToInt64Bits(want[i]) != BitConverter.DoubleToInt64Bits(got[i]))
                throw new XunitException($"{what}: element {i} is {got[i]:R}, expected {want[i]:R}");
    }
}
