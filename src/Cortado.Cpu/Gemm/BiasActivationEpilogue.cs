// The GEMM epilogue convolutions fuse: a bias per row of C (per output channel), a residual tensor, then an
// element-wise activation.
using System.Numerics;
using Cortado.Backends;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// C[i, j] = act((C[i, j] + rowBias[i]) + residual[i·ldr + j]) over each finished block (rowBias and residual may
/// be null). Adding a bias here rounds like starting C from it (beta 1) only when K is summed in one block; callers
/// put it here under that condition. The residual and the activation follow the finished sum, which gives the same
/// bits as a separate Add and activation after the convolution.
/// </summary>
internal sealed unsafe class BiasActivationEpilogue<T>(T* rowBias, Activation activation, T* residual = null, nint ldr = 0) : GemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>True when there is nothing to apply (no bias, residual or activation).</summary>
    public bool IsEmpty => rowBias == null && residual == null && activation.IsNone;

    public override void Apply(T* c, nint ldc, int row0, int rows, int col0, int cols)
    {
        for (int i = 0; i < rows; i++)
            Finish(new Span<T>(c + i * ldc, cols), rowBias, row0 + i,
                   residual == null ? default : new ReadOnlySpan<T>(residual + (row0 + i) * ldr + col0, cols), activation);
    }

    /// <summary>row = act((row + bias[index]) + residual) (bias may be null, residual empty): one finished row.</summary>
    public static void Finish(Span<T> row, T* bias, int index, ReadOnlySpan<T> residual, Activation activation) =>
        Kernels.RowFinish.Apply(row, bias != null, bias != null ? bias[index] : T.Zero, residual, activation);
}
