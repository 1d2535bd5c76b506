// A test switch between the Vector<T> loops of the CPU kernels and their scalar loops.
namespace Cortado.Cpu.Kernels;

/// <summary>
/// When false, the kernels written with <c>Vector&lt;T&gt;</c> take their scalar loops even where the
/// hardware accelerates vectors: element-wise maps, the fused optimizer updates, the recurrent cell
/// kernels, depthwise convolution and im2col. Tests switch it off to check the scalar loops on a machine
/// whose vectors would otherwise hide them (the loops a CPU without SIMD runs). GEMM has its own switch
/// with every width, <c>GemmKernels.ForceWidth</c>.
/// </summary>
internal static class VectorPaths
{
    private static volatile bool s_enabled = true;

    /// <summary>True (the default) to use vector loops where the hardware accelerates them.</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set => s_enabled = value;
    }
}
