// The GEMM epilogue convolutions fuse: a bias per row of C (per output channel), then an element-wise activation.
using System.Numerics;
using System.Numerics.Tensors;
using Cortado.Backends;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// C[i, j] = act(C[i, j] + rowBias[i]) over each finished block (rowBias may be null). Adding a
/// bias here rounds like starting C from it (beta 1) only when K is summed in one block; callers put it here under
/// that condition and keep the activation here always, which gives the same bits as applying it to the finished C.
/// </summary>
internal sealed unsafe class BiasActivationEpilogue<T>(T* rowBias, Activation activation) : GemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>True when there is nothing to apply (no bias, no activation).</summary>
    public bool IsEmpty => rowBias == null && activation.IsNone;

    public override void Apply(T* c, nint ldc, int row0, int rows, int col0, int cols)
    {
        for (int i = 0; i < rows; i++)
        {
            var row = new Span<T>(c + i * ldc, cols);
            if (rowBias != null) TensorPrimitives.Add(row, rowBias[row0 + i], row);
            activation.Apply(row);
        }
    }
}
