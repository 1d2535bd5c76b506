// The one-pass row finish (bias, residual, activation) against the separate passes it replaces, bit for bit.
using System.Numerics;
using System.Numerics.Tensors;
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Xunit;

namespace Cortado.Cpu.Tests;

[Collection(VectorPathCollection.Name)]
public sealed class RowFinishTests
{
    private static readonly Activation[] Activations =
    [
        default, Activation.Relu, new(ActivationKind.Clip, 0, 6), new(ActivationKind.Clip, double.NaN, 0.25),
        new(ActivationKind.Clip, -0.5, double.NaN), new(ActivationKind.LeakyRelu, 0.1), new(ActivationKind.HardSwish),
    ];

    [Fact]
    public void GivesTheBitsOfSeparatePasses()
    {
        // Every length up to 70 (each vector width and the scalar tail), NaN, both zeros, infinities and values at the
        // bounds, with and without bias and residual, vector loops on and off, float32 and float64.
        foreach (bool vectors in new[] { true, false })
        {
            VectorPaths.Enabled = vectors;
            try
            {
                Check<float>(vectors);
                Check<double>(vectors);
            }
            finally
            {
                VectorPaths.Enabled = true;
            }
        }
    }

    private static void Check<T>(bool vectors) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(7);
        T[] specials = [T.NaN, T.Zero, T.NegativeZero, T.PositiveInfinity, T.NegativeInfinity, T.CreateChecked(6), T.CreateChecked(0.25), T.CreateChecked(-0.5)];
        for (int n = 0; n <= 70; n++)
            foreach (var act in Activations)
                foreach (bool hasBias in new[] { false, true })
                    foreach (bool hasResidual in new[] { false, true })
                    {
                        var row = new T[n];
                        var res = new T[n];
                        for (int i = 0; i < n; i++)
                        {
                            row[i] = rng.Next(4) == 0 ? specials[rng.Next(specials.Length)] : T.CreateChecked(rng.NextDouble() * 16 - 8);
                            res[i] = rng.Next(6) == 0 ? specials[rng.Next(specials.Length)] : T.CreateChecked(rng.NextDouble() * 4 - 2);
                        }
                        T bias = hasBias ? (rng.Next(5) == 0 ? T.NegativeZero : T.CreateChecked(rng.NextDouble() - 0.5)) : T.Zero;
                        var expected = (T[])row.Clone();
                        if (hasBias) TensorPrimitives.Add(expected, bias, expected);
                        if (hasResidual) TensorPrimitives.Add(expected, res, expected);
                        act.Apply(expected.AsSpan());
                        var actual = (T[])row.Clone();
                        RowFinish.Apply(actual.AsSpan(), hasBias, bias, hasResidual ? res : default, act);
                        for (int i = 0; i < n; i++)
                            Assert.True(BitEqual(expected[i], actual[i]),
                                        $"{typeof(T).Name} n {n} {act} bias {hasBias} residual {hasResidual} vectors {vectors}: element {i} is {actual[i]}, separate passes give {expected[i]}");
                    }
    }

    private static bool BitEqual<T>(T a, T b) where T : unmanaged =>
        typeof(T) == typeof(float) ? BitConverter.SingleToInt32Bits((float)(object)a) == BitConverter.SingleToInt32Bits((float)(object)b)
        : BitConverter.DoubleToInt64Bits((double)(object)a) == BitConverter.DoubleToInt64Bits((double)(object)b);

    [Fact]
    public void RefusesAResidualOfAnotherLength()
    {
        var e = Assert.Throws<ArgumentException>(() => RowFinish.Apply(new float[8].AsSpan(), false, 0f, new float[7], Activation.Relu));
        Assert.Contains("residual of 7 elements for a row of 8", e.Message);
    }
}
