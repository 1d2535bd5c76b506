// The fused ops the passes create: their domain, attributes, and the in-place activations their kernels apply.
using Cortado.Backends;

namespace Cortado.Graph.Passes;

/// <summary>
/// Ops of the <c>com.cortado</c> domain, which only the optimization passes create:
/// <list type="bullet">
/// <item><c>FusedConv(X, W, B?, Z?)</c>: the inputs and attributes of ONNX Conv, plus an optional Z of the output's
/// shape added to it (a skip connection, before the activation);</item>
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

    /// <summary>
    /// The fused activation of <paramref name="node"/> (none when it has no <see cref="ActivationAttr"/>); throws
    /// <see cref="GraphValidationException"/> naming the node for an activation Cortado does not know.
    /// </summary>
    public static Activation ActivationOf(Node node)
    {
        if (!node.Attributes.TryGetValue(ActivationAttr, out var kind)) return Activation.None;
        var p = node.GetFloats(ActivationParamsAttr) ?? [];
        double P(int i) => i < p.Length ? p[i] : double.NaN;
        try
        {
            return Activation.Parse(kind.S ?? "", P(0), P(1));
        }
        catch (ArgumentException e)
        {
            throw new GraphValidationException(GraphErrorKind.BadNode, node.Name, null, e.Message);
        }
    }
}
