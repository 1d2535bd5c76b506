// GEMM entry point of the CPU backend: argument checks, then the packed, blocked kernels in Gemm/.
using Cortado.Backends;
using Cortado.Cpu.Gemm;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public unsafe void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
                            Tensor a, int lda, int strideA, Tensor b, int ldb, int strideB,
                            double beta, Tensor c, int ldc, int strideC, int batch, Activation activation = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        if (a.DType != b.DType || a.DType != c.DType)
            throw new DTypeMismatchException($"gemm: operands must share one dtype, got A {a.DType.Name()}, B {b.DType.Name()}, C {c.DType.Name()}");
        if (a.DType != DType.Float32 && a.DType != DType.Float64) throw Missing("gemm", a.DType);
        if (m < 0 || n < 0 || k < 0 || batch < 0)
            throw new ArgumentException($"gemm: sizes must be non-negative, got m={m} n={n} k={k} batch={batch}");
        if (!activation.IsNone && batch != 1)
            throw new ArgumentException($"gemm: a fused activation takes one matrix, got a batch of {batch}");
        if (m == 0 || n == 0 || batch == 0) return;
        CheckOperand("A", a, transA ? k : m, transA ? m : k, lda, strideA, batch);
        CheckOperand("B", b, transB ? n : k, transB ? k : n, ldb, strideB, batch);
        CheckOperand("C", c, m, n, ldc, strideC, batch);
        if (a.DType == DType.Float32)
        {
            fixed (float* pa = a.Data<float>(), pb = b.Data<float>(), pc = c.Data<float>())
                GemmKernels.Gemm(transA, transB, m, n, k, alpha, pa + a.Offset, lda, strideA, pb + b.Offset, ldb, strideB,
                                 beta, pc + c.Offset, ldc, strideC, batch, epilogue: activation.IsNone ? null : new BiasActivationEpilogue<float>(null, activation));
        }
        else
        {
            fixed (double* pa = a.Data<double>(), pb = b.Data<double>(), pc = c.Data<double>())
                GemmKernels.Gemm(transA, transB, m, n, k, alpha, pa + a.Offset, lda, strideA, pb + b.Offset, ldb, strideB,
                                 beta, pc + c.Offset, ldc, strideC, batch, epilogue: activation.IsNone ? null : new BiasActivationEpilogue<double>(null, activation));
        }
    }

    // The kernels address storage through raw pointers, so every element a call can touch is checked here.
    private static void CheckOperand(string name, Tensor t, int rows, int cols, int ld, int stride, int batch)
    {
        if (stride < 0)
            throw new ArgumentException($"gemm: batch stride of {name} is {stride}; it must be ≥ 0");
        if (rows == 0 || cols == 0) return; // an empty operand is never read
        if (ld < cols)
            throw new ArgumentException($"gemm: leading dimension of {name} is {ld} but its stored rows hold {cols} elements");
        long last = t.Offset + (long)(batch - 1) * stride + (long)(rows - 1) * ld + cols - 1;
        if (t.Offset < 0 || last >= t.Storage.Length)
            throw new ShapeMismatchException($"gemm: {name} ({rows}×{cols}, ld {ld}, batch {batch} with stride {stride}, offset {t.Offset}) reaches element {last} but its storage holds {t.Storage.Length}");
    }
}
