// The Vector<T> kernels and their scalar loops (VectorPaths.Enabled = false) against a float64 reference, on
// lengths that leave every kind of vector tail: element-wise maps, fused optimizer updates, recurrent cells,
// depthwise and im2col convolution.
using Cortado.Cpu.Kernels;
using Cortado.TestKit;
using Xunit;

namespace Cortado.Cpu.Tests;

/// <summary>The switch is process-wide: these tests run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class VectorPathCollection
{
    public const string Name = "Vector and scalar paths";
}

[Collection(VectorPathCollection.Name)]
public sealed class VectorPathTests
{
    public static readonly TheoryData<int> Lengths = new() { 1, 3, 17, 255, 1023 };

    private static readonly CpuBackend B = CpuBackend.Instance;

    // Runs `f` with vector loops and with scalar loops; returns both results.
    private static (T vector, T scalar) BothPaths<T>(Func<T> f)
    {
        Assert.True(VectorPaths.Enabled);
        var vector = f();
        VectorPaths.Enabled = false;
        try
        {
            return (vector, f());
        }
        finally
        {
            VectorPaths.Enabled = true;
        }
    }

    private static Tensor Rand(int seed, params int[] shape) => Tensor.Randn(shape, new Generator(seed));

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ElementwiseMapsMatchFloat64(int n)
    {
        var x = Rand(n, n);
        var positive = x.Abs().Add(Tensor.Full([1], 0.1f));
        (string name, Func<Tensor, Tensor> op, Tensor input)[] cases =
        [
            ("exp", t => t.Exp(), x), ("tanh", t => t.Tanh(), x), ("sigmoid", t => t.Sigmoid(), x),
            ("gelu", t => t.Gelu(), x), ("relu", t => t.Relu(), x), ("neg", t => t.Neg(), x),
            ("sqrt", t => t.Sqrt(), positive), ("log", t => t.Log(), positive), ("sin", t => t.Sin(), x),
        ];
        foreach (var (name, op, input) in cases)
        {
            var reference = op(input.Cast(DType.Float64));
            var (vector, scalar) = BothPaths(() => op(input));
            TensorAssert.Close(reference, vector, 1e-5, 1e-6, $"{name} (vector loop, n={n})");
            TensorAssert.Close(reference, scalar, 1e-5, 1e-6, $"{name} (scalar loop, n={n})");
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void FusedOptimizerUpdatesAreTheSameOnBothPaths(int n)
    {
        // Each element's formula is the same sequence of IEEE operations on either path: the bits agree.
        var (av, asc) = BothPaths(() =>
        {
            Tensor p = Rand(1, n), g = Rand(2, n), m = Rand(3, n), v = Rand(4, n).Abs();
            B.AdamUpdate(p, g, m, v, 0.9, 0.999, 1e-8, 1.2, 1e-3);
            return (p, m, v);
        });
        TensorAssert.BitEqual(av.p, asc.p, $"adam param, n={n}");
        TensorAssert.BitEqual(av.m, asc.m, $"adam first moment, n={n}");
        TensorAssert.BitEqual(av.v, asc.v, $"adam second moment, n={n}");
        var (sv, ss) = BothPaths(() =>
        {
            Tensor p = Rand(5, n), g = Rand(6, n), buf = Rand(7, n);
            B.SgdMomentumUpdate(p, g, buf, 0.01, 0.9, 0.1);
            return (p, buf);
        });
        TensorAssert.BitEqual(sv.p, ss.p, $"sgd param, n={n}");
        TensorAssert.BitEqual(sv.buf, ss.buf, $"sgd momentum buffer, n={n}");
    }

    // Runs a recurrent kernel on float32 inputs on both paths and on their float64 copies, and compares.
    private static void RecurrentCase(string name, int[][] inShapes, int[][] outShapes, Action<Tensor[], Tensor[]> kernel, int hid)
    {
        var inputs = inShapes.Select((s, i) => Rand(100 + i, s)).ToArray();
        Tensor[] Run(DType dt)
        {
            var outs = outShapes.Select(s => Tensor.Zeros(s, dt)).ToArray();
            // Fresh copies: the forward kernels activate their gate inputs in place.
            kernel(inputs.Select(t => t.Cast(dt).Clone()).ToArray(), outs);
            return outs;
        }
        var reference = Run(DType.Float64);
        var (vector, scalar) = BothPaths(() => Run(DType.Float32));
        for (int i = 0; i < reference.Length; i++)
        {
            TensorAssert.Close(reference[i], vector[i], 1e-4, 1e-5, $"{name} output {i} (vector loop, hidden {hid})");
            TensorAssert.Close(reference[i], scalar[i], 1e-4, 1e-5, $"{name} output {i} (scalar loop, hidden {hid})");
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RecurrentCellKernelsMatchFloat64(int hid)
    {
        const int b = 3;
        RecurrentCase("lstm forward", [[b, 4 * hid], [b, hid]], [[b, hid], [b, hid]], (i, o) => B.LstmCellForward(i[0], i[1], o[0], o[1]), hid);
        RecurrentCase("lstm backward", [[b, 4 * hid], [b, hid], [b, hid], [b, hid], [b, hid]], [[b, 4 * hid]],
            (i, o) => B.LstmCellBackward(i[0], i[1], i[2], i[3], i[4], o[0]), hid);
        RecurrentCase("gru forward", [[b, 3 * hid], [b, 3 * hid], [b, hid]], [[b, hid]], (i, o) => B.GruCellForward(i[0], i[1], i[2], o[0]), hid);
        RecurrentCase("gru backward", [[b, 3 * hid], [b, 3 * hid], [b, hid], [b, hid]], [[b, 3 * hid], [b, 3 * hid], [b, hid]],
            (i, o) => B.GruCellBackward(i[0], i[1], i[2], i[3], o[0], o[1], o[2]), hid);
        foreach (bool relu in new[] { false, true })
        {
            RecurrentCase($"rnn forward (relu {relu})", [[b, hid]], [[b, hid]], (i, o) => B.RnnCellForward(relu, i[0], o[0]), hid);
            RecurrentCase($"rnn backward (relu {relu})", [[b, hid], [b, hid]], [[b, hid]], (i, o) => B.RnnCellBackward(relu, i[0], i[1], o[0]), hid);
        }
    }

    [Fact]
    public unsafe void DeinterleaveSplitsEveryLengthExactly()
    {
        // The stride-2 split of rows (depthwise convolution, pooling): 256-bit steps of 16 values, then one at a time;
        // every length up to 100, vectors on and off, NaN payloads and signed zeros kept.
        foreach (bool vectors in new[] { true, false })
        {
            VectorPaths.Enabled = vectors;
            try
            {
                for (int count = 0; count <= 100; count++)
                {
                    var src = Enumerable.Range(0, count).Select(i => i % 7 == 3 ? BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00000) | i)
                                                                  : i % 5 == 1 ? -0f : i * 1.5f - 20).ToArray();
                    var evens = new float[count / 2 + 2];
                    var odds = new float[count / 2 + 2];
                    fixed (float* s = src, e = evens, o = odds) Cortado.Cpu.Conv.DepthwiseConv<float>.Deinterleave(s, count, e, o);
                    for (int i = 0; i < count; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(src[i]) == BitConverter.SingleToInt32Bits(i % 2 == 0 ? evens[i / 2] : odds[i / 2]),
                                    $"count {count}, vectors {vectors}: value {i} went astray");
                    Assert.Equal(0f, evens[(count + 1) / 2]); // nothing written past the evens
                    Assert.Equal(0f, odds[count / 2]);        // nor past the odds
                }
            }
            finally
            {
                VectorPaths.Enabled = true;
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(17, 5)]
    [InlineData(33, 9)]
    public void ConvolutionsMatchFloat64(int width, int height)
    {
        // Depthwise (one input channel per group) and ordinary im2col convolution, stride 1 and 2, with
        // padding, forward and both gradients.
        foreach (var (groups, stride) in new[] { (4, 1), (4, 2), (1, 1), (1, 2) })
        {
            var x = Rand(width * 7 + groups, 2, 4, height, width);
            var w = Rand(stride, 4, 4 / groups, 3, 3);
            Tensor[] Run(DType dt)
            {
                var xs = x.Cast(dt).Detach();
                var ws = w.Cast(dt).Detach();
                xs.RequiresGrad = true;
                ws.RequiresGrad = true;
                var y = xs.Conv2d(ws, stride: (stride, stride), padding: (1, 1), groups: groups);
                y.Mul(y).Sum().Backward();
                return [y.Detach(), xs.Grad!, ws.Grad!];
            }
            var reference = Run(DType.Float64);
            var (vector, scalar) = BothPaths(() => Run(DType.Float32));
            string[] what = ["output", "input gradient", "weight gradient"];
            for (int i = 0; i < 3; i++)
            {
                string label = $"groups {groups}, stride {stride}, {height}×{width}: {what[i]}";
                TensorAssert.Close(reference[i], vector[i], 1e-4, 1e-4, label + " (vector loop)");
                TensorAssert.Close(reference[i], scalar[i], 1e-4, 1e-4, label + " (scalar loop)");
            }
        }
    }
}
