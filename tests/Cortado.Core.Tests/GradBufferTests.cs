// Tensor.GradBuffer: a leaf's first gradient of a pass is written into the given tensor.
using Cortado.TestKit;
using Xunit;

namespace Cortado.Core.Tests;

public class GradBufferTests
{
    [Fact]
    public void TheFirstGradientIsWrittenIntoTheBufferAndLaterOnesAccumulateAsUsual()
    {
        var w = Tensor.FromArray(new float[] { 1, 2, 3 }, 3).RequireGrad();
        var buffer = Tensor.Zeros([3]);
        w.GradBuffer = buffer;
        var x = Tensor.FromArray(new float[] { 4, 5, 6 }, 3);
        w.Mul(x).Sum().Backward();
        Assert.Same(buffer, w.Grad);
        TensorAssert.BitEqual(x, buffer, "d(w·x)/dw");
        // A second pass without clearing accumulates into a new tensor; the buffer keeps the first gradient.
        w.Mul(x).Sum().Backward();
        Assert.NotSame(buffer, w.Grad);
        TensorAssert.BitEqual(x.Mul(Tensor.Full([1], 2.0)), w.Grad!, "accumulated");
        TensorAssert.BitEqual(x, buffer, "buffer after accumulation");
        // Cleared, the next pass writes into the buffer again.
        w.Grad = null;
        w.Mul(x).Mul(x).Sum().Backward();
        Assert.Same(buffer, w.Grad);
        TensorAssert.BitEqual(x.Mul(x), buffer, "d(w·x·x)/dw");
    }

    [Fact]
    public void TwoLeavesGivenTheSameGradientGetTheirOwnCopies()
    {
        // Add hands the same upstream gradient to both inputs.
        var a = Tensor.Zeros([2]).RequireGrad();
        var b = Tensor.Zeros([2]).RequireGrad();
        a.GradBuffer = Tensor.Zeros([2]);
        a.Add(b).Sum().Backward();
        Assert.Same(a.GradBuffer, a.Grad);
        a.Grad!.Fill(7);
        TensorAssert.BitEqual(Tensor.Ones([2]), b.Grad!, "b's gradient is untouched by a write to a's");
    }

    [Fact]
    public void ABufferOfAnotherShapeOrDTypeIsRejected()
    {
        var w = Tensor.Zeros([2, 3]).RequireGrad();
        Assert.Contains("[2, 3]", Assert.Throws<ShapeMismatchException>(() => w.GradBuffer = Tensor.Zeros([3, 2])).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeMismatchException>(() => w.GradBuffer = Tensor.Zeros([2, 3], DType.Float64));
        Assert.Throws<ShapeMismatchException>(() => w.GradBuffer = Tensor.Zeros([3, 2]).Transpose(0, 1));
        w.GradBuffer = null;
        Assert.Null(w.GradBuffer);
    }
}
