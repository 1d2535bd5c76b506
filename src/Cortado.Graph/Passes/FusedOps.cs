// The fused ops the passes create: their domain, attributes, and the in-place activations their kernels apply.
using System.Numerics;
using System.Numerics.Tensors;

namespace Cortado.Graph.Passes;

/// <summary>
/// Ops of the <c>com.cortado</c> domain, which only the optimization passes create:
/// <list type="bullet">
/// <item><c>FusedConv</c>: the inputs and attributes of ONNX Conv;</item>
/// <item><c>FusedGemm</c>: the inputs and attributes of ONNX Gemm;</item>
/// <item><c>FusedMatMul(A, W, bias?)</c>: y = A·Wᵀ + bias over A's last axis, W [N, K], bias [N];</item>
/// </list>
/// each with an optional <c>activation</c> (an ONNX activation op name) and <c>activation_params</c>: LeakyRelu's
/// alpha; HardSigmoid's alpha and beta; Clip's min and max.
/// </summary>
public static class FusedOps
{
    /// <summary>The domain of the fused ops.</summary>
    public const string Domain = "com.cortado";
    /// <summary>Attribute naming the fused activation.</summary>
    public const string ActivationAttr = "activation";
    /// <summary>Attribute holding the activation's parameters.</summary>
    public const string ActivationParamsAttr = "activation_params";

    /// <summary>Applies activation <paramref name="kind"/> to <paramref name="y"/> in place.</summary>
    public static void Apply<T>(string kind, Span<T> y, T p0, T p1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case "Relu":
                TensorPrimitives.Max(y, T.Zero, y);
                break;
            case "Sigmoid":
                TensorPrimitives.Sigmoid(y, y);
                break;
            case "Tanh":
                TensorPrimitives.Tanh(y, y);
                break;
            case "Clip":
                if (!T.IsNaN(p0)) TensorPrimitives.Max(y, p0, y);
                if (!T.IsNaN(p1)) TensorPrimitives.Min(y, p1, y);
                break;
            case "LeakyRelu":
                for (int i = 0; i < y.Length; i++) if (y[i] < T.Zero) y[i] *= p0;
                break;
            case "HardSigmoid":
                for (int i = 0; i < y.Length; i++) y[i] = T.Max(T.Zero, T.Min(T.One, p0 * y[i] + p1));
                break;
            case "HardSwish":
            {
                T sixth = T.One / T.CreateChecked(6), half = T.One / T.CreateChecked(2);
                for (int i = 0; i < y.Length; i++) y[i] *= T.Max(T.Zero, T.Min(T.One, sixth * y[i] + half));
                break;
            }
            default:
                throw new GraphValidationException(GraphErrorKind.BadNode, null, null, $"unknown fused activation '{kind}'");
        }
    }
}
