// Kernels of the fused ops the optimization passes create (domain com.cortado): Conv, Gemm and MatMul with the
// bias, residual and activation applied by the kernel to each block of output as it finishes it.
using Cortado.Backends;

namespace Cortado.Graph.Kernels;

public static partial class OnnxKernels
{
    private static void RegisterFused(Dictionary<string, KernelFn> t)
    {
        string d = Passes.FusedOps.Domain + ":";
        // The convolution adds the residual (input 3) and applies the activation to each block of its output as it
        // finishes it.
        t[d + "FusedConv"] = c => [Conv(c.Node, c.In(0), c.In(1), c.Opt(2), Passes.FusedOps.ActivationOf(c.Node), c.Opt(3))];
        // Gemm and MatMul in a linear layer's form apply the activation inside the GEMM as well.
        t[d + "FusedGemm"] = c => [Gemm(c, Passes.FusedOps.ActivationOf(c.Node))];
        t[d + "FusedMatMul"] = c => [FusedMatMul(c.Node, c.In(0), c.In(1), c.Opt(2), Passes.FusedOps.ActivationOf(c.Node))];
    }

    // y = act(A·Wᵀ + bias) over the last axis of A, with W [N, K] (a linear layer's layout).
    private static Tensor FusedMatMul(Node n, Tensor a, Tensor w, Tensor? bias, Activation act)
    {
        if (a.DType is DType.Float32 or DType.Float64 && w.DType == a.DType && (bias is null || bias.DType == a.DType) && a.Rank >= 2)
            return a.Linear(w, bias, act);
        var y = MatMul(a, w.Transpose(0, 1));
        return Activate(n, bias is null ? y : y.Add(bias.Cast(y.DType)), act);
    }

    private static Tensor Activate(Node n, Tensor y, Activation act)
    {
        if (act.IsNone) return y;
        if (y.DType is not (DType.Float32 or DType.Float64))
            throw new DTypeMismatchException($"{n.Describe()}: fused activations run on float32 or float64, got {y.DType.Name()}");
        y = y.Contiguous(); // a copy only when y is a strided view
        if (y.DType == DType.Float32) act.Apply(y.AsSpan<float>());
        else act.Apply(y.AsSpan<double>());
        return y;
    }
}
