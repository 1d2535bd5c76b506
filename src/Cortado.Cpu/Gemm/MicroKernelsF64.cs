// Float64 GEMM micro-kernels: C tile = alpha·(packed A panel)·(packed B panel) + beta·C tile.
// Generated-style unrolled code: every accumulator is a named local so the JIT keeps them all in registers.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cortado.Cpu.Gemm;

/// <summary>Float64 micro-kernel, 512-bit: a 12×16 tile in 24 zmm accumulators.</summary>
internal readonly unsafe struct F64x512 : IMicroKernel<double>
{
    public static int MR => 12;
    public static int NR => 16;
    public static bool IsSupported => Avx512F.IsSupported;

    public static void Run(int kc, double* a, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new PackedPanel<double>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, double* a, nint lda, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new RowPanel<double>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, double* a, nint* shifts, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new ShiftPanel<double>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, double* b, double* c, nint ldc, double alpha, double beta) where TA : struct, IAPanel<double>
    {
        Vector512<double> c0_0 = default, c0_1 = default;
        Vector512<double> c1_0 = default, c1_1 = default;
        Vector512<double> c2_0 = default, c2_1 = default;
        Vector512<double> c3_0 = default, c3_1 = default;
        Vector512<double> c4_0 = default, c4_1 = default;
        Vector512<double> c5_0 = default, c5_1 = default;
        Vector512<double> c6_0 = default, c6_1 = default;
        Vector512<double> c7_0 = default, c7_1 = default;
        Vector512<double> c8_0 = default, c8_1 = default;
        Vector512<double> c9_0 = default, c9_1 = default;
        Vector512<double> c10_0 = default, c10_1 = default;
        Vector512<double> c11_0 = default, c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<double> b0 = Vector512.Load(b + 0);
            Vector512<double> b1 = Vector512.Load(b + 8);
            Vector512<double> ai;
            ai = Vector512.Create(pa.At(0));
            c0_0 = Vector512.FusedMultiplyAdd(ai, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(ai, b1, c0_1);
            ai = Vector512.Create(pa.At(1));
            c1_0 = Vector512.FusedMultiplyAdd(ai, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(ai, b1, c1_1);
            ai = Vector512.Create(pa.At(2));
            c2_0 = Vector512.FusedMultiplyAdd(ai, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(ai, b1, c2_1);
            ai = Vector512.Create(pa.At(3));
            c3_0 = Vector512.FusedMultiplyAdd(ai, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(ai, b1, c3_1);
            ai = Vector512.Create(pa.At(4));
            c4_0 = Vector512.FusedMultiplyAdd(ai, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(ai, b1, c4_1);
            ai = Vector512.Create(pa.At(5));
            c5_0 = Vector512.FusedMultiplyAdd(ai, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(ai, b1, c5_1);
            ai = Vector512.Create(pa.At(6));
            c6_0 = Vector512.FusedMultiplyAdd(ai, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(ai, b1, c6_1);
            ai = Vector512.Create(pa.At(7));
            c7_0 = Vector512.FusedMultiplyAdd(ai, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(ai, b1, c7_1);
            ai = Vector512.Create(pa.At(8));
            c8_0 = Vector512.FusedMultiplyAdd(ai, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(ai, b1, c8_1);
            ai = Vector512.Create(pa.At(9));
            c9_0 = Vector512.FusedMultiplyAdd(ai, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(ai, b1, c9_1);
            ai = Vector512.Create(pa.At(10));
            c10_0 = Vector512.FusedMultiplyAdd(ai, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(ai, b1, c10_1);
            ai = Vector512.Create(pa.At(11));
            c11_0 = Vector512.FusedMultiplyAdd(ai, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(ai, b1, c11_1);
            pa.Next();
            b += 16;
        }
        Vector512<double> va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 8);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 8);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 8);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 8);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 8);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 8);
            c += ldc;
            (va * c6_0).Store(c + 0);
            (va * c6_1).Store(c + 8);
            c += ldc;
            (va * c7_0).Store(c + 0);
            (va * c7_1).Store(c + 8);
            c += ldc;
            (va * c8_0).Store(c + 0);
            (va * c8_1).Store(c + 8);
            c += ldc;
            (va * c9_0).Store(c + 0);
            (va * c9_1).Store(c + 8);
            c += ldc;
            (va * c10_0).Store(c + 0);
            (va * c10_1).Store(c + 8);
            c += ldc;
            (va * c11_0).Store(c + 0);
            (va * c11_1).Store(c + 8);
        }
        else
        {
            Vector512<double> vb = Vector512.Create(beta);
            (va * c0_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c1_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c2_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c3_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c4_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c5_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c6_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c6_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c7_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c7_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c8_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c8_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c9_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c9_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c10_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c10_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c11_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c11_1 + vb * Vector512.Load(c + 8)).Store(c + 8);
        }
    }
}

/// <summary>Float64 micro-kernel, 256-bit with FMA: a 6×8 tile in 12 ymm accumulators.</summary>
internal readonly unsafe struct F64x256 : IMicroKernel<double>
{
    public static int MR => 6;
    public static int NR => 8;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    public static void Run(int kc, double* a, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new PackedPanel<double>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, double* a, nint lda, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new RowPanel<double>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, double* a, nint* shifts, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new ShiftPanel<double>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, double* b, double* c, nint ldc, double alpha, double beta) where TA : struct, IAPanel<double>
    {
        Vector256<double> c0_0 = default, c0_1 = default;
        Vector256<double> c1_0 = default, c1_1 = default;
        Vector256<double> c2_0 = default, c2_1 = default;
        Vector256<double> c3_0 = default, c3_1 = default;
        Vector256<double> c4_0 = default, c4_1 = default;
        Vector256<double> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<double> b0 = Vector256.Load(b + 0);
            Vector256<double> b1 = Vector256.Load(b + 4);
            Vector256<double> ai;
            ai = Vector256.Create(pa.At(0));
            c0_0 = Vector256.FusedMultiplyAdd(ai, b0, c0_0);
            c0_1 = Vector256.FusedMultiplyAdd(ai, b1, c0_1);
            ai = Vector256.Create(pa.At(1));
            c1_0 = Vector256.FusedMultiplyAdd(ai, b0, c1_0);
            c1_1 = Vector256.FusedMultiplyAdd(ai, b1, c1_1);
            ai = Vector256.Create(pa.At(2));
            c2_0 = Vector256.FusedMultiplyAdd(ai, b0, c2_0);
            c2_1 = Vector256.FusedMultiplyAdd(ai, b1, c2_1);
            ai = Vector256.Create(pa.At(3));
            c3_0 = Vector256.FusedMultiplyAdd(ai, b0, c3_0);
            c3_1 = Vector256.FusedMultiplyAdd(ai, b1, c3_1);
            ai = Vector256.Create(pa.At(4));
            c4_0 = Vector256.FusedMultiplyAdd(ai, b0, c4_0);
            c4_1 = Vector256.FusedMultiplyAdd(ai, b1, c4_1);
            ai = Vector256.Create(pa.At(5));
            c5_0 = Vector256.FusedMultiplyAdd(ai, b0, c5_0);
            c5_1 = Vector256.FusedMultiplyAdd(ai, b1, c5_1);
            pa.Next();
            b += 8;
        }
        Vector256<double> va = Vector256.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 4);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 4);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 4);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 4);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 4);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 4);
        }
        else
        {
            Vector256<double> vb = Vector256.Create(beta);
            (va * c0_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c1_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c2_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c3_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c4_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c5_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector256.Load(c + 4)).Store(c + 4);
        }
    }
}

/// <summary>Float64 micro-kernel, 128-bit: a 6×4 tile; multiply-add is fused where the hardware has FMA.</summary>
internal readonly unsafe struct F64x128 : IMicroKernel<double>
{
    public static int MR => 6;
    public static int NR => 4;
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    public static void Run(int kc, double* a, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new PackedPanel<double>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, double* a, nint lda, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new RowPanel<double>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, double* a, nint* shifts, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new ShiftPanel<double>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, double* b, double* c, nint ldc, double alpha, double beta) where TA : struct, IAPanel<double>
    {
        Vector128<double> c0_0 = default, c0_1 = default;
        Vector128<double> c1_0 = default, c1_1 = default;
        Vector128<double> c2_0 = default, c2_1 = default;
        Vector128<double> c3_0 = default, c3_1 = default;
        Vector128<double> c4_0 = default, c4_1 = default;
        Vector128<double> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<double> b0 = Vector128.Load(b + 0);
            Vector128<double> b1 = Vector128.Load(b + 2);
            Vector128<double> ai;
            ai = Vector128.Create(pa.At(0));
            c0_0 = Vector128.MultiplyAddEstimate(ai, b0, c0_0);
            c0_1 = Vector128.MultiplyAddEstimate(ai, b1, c0_1);
            ai = Vector128.Create(pa.At(1));
            c1_0 = Vector128.MultiplyAddEstimate(ai, b0, c1_0);
            c1_1 = Vector128.MultiplyAddEstimate(ai, b1, c1_1);
            ai = Vector128.Create(pa.At(2));
            c2_0 = Vector128.MultiplyAddEstimate(ai, b0, c2_0);
            c2_1 = Vector128.MultiplyAddEstimate(ai, b1, c2_1);
            ai = Vector128.Create(pa.At(3));
            c3_0 = Vector128.MultiplyAddEstimate(ai, b0, c3_0);
            c3_1 = Vector128.MultiplyAddEstimate(ai, b1, c3_1);
            ai = Vector128.Create(pa.At(4));
            c4_0 = Vector128.MultiplyAddEstimate(ai, b0, c4_0);
            c4_1 = Vector128.MultiplyAddEstimate(ai, b1, c4_1);
            ai = Vector128.Create(pa.At(5));
            c5_0 = Vector128.MultiplyAddEstimate(ai, b0, c5_0);
            c5_1 = Vector128.MultiplyAddEstimate(ai, b1, c5_1);
            pa.Next();
            b += 4;
        }
        Vector128<double> va = Vector128.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 2);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 2);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 2);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 2);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 2);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 2);
        }
        else
        {
            Vector128<double> vb = Vector128.Create(beta);
            (va * c0_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
            c += ldc;
            (va * c1_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
            c += ldc;
            (va * c2_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
            c += ldc;
            (va * c3_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
            c += ldc;
            (va * c4_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
            c += ldc;
            (va * c5_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector128.Load(c + 2)).Store(c + 2);
        }
    }
}

/// <summary>Float64 scalar micro-kernel (4×4) for hardware without SIMD.</summary>
internal readonly unsafe struct F64Scalar : IMicroKernel<double>
{
    public static int MR => 4;
    public static int NR => 4;
    public static bool IsSupported => true;

    public static void Run(int kc, double* a, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new PackedPanel<double>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, double* a, nint lda, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new RowPanel<double>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, double* a, nint* shifts, double* b, double* c, nint ldc, double alpha, double beta) =>
        Core(kc, new ShiftPanel<double>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, double* b, double* c, nint ldc, double alpha, double beta) where TA : struct, IAPanel<double>
    {
        double c0_0 = 0, c0_1 = 0, c0_2 = 0, c0_3 = 0;
        double c1_0 = 0, c1_1 = 0, c1_2 = 0, c1_3 = 0;
        double c2_0 = 0, c2_1 = 0, c2_2 = 0, c2_3 = 0;
        double c3_0 = 0, c3_1 = 0, c3_2 = 0, c3_3 = 0;
        for (int p = 0; p < kc; p++)
        {
            double b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            double ai;
            ai = pa.At(0);
            c0_0 += ai * b0;
            c0_1 += ai * b1;
            c0_2 += ai * b2;
            c0_3 += ai * b3;
            ai = pa.At(1);
            c1_0 += ai * b0;
            c1_1 += ai * b1;
            c1_2 += ai * b2;
            c1_3 += ai * b3;
            ai = pa.At(2);
            c2_0 += ai * b0;
            c2_1 += ai * b1;
            c2_2 += ai * b2;
            c2_3 += ai * b3;
            ai = pa.At(3);
            c3_0 += ai * b0;
            c3_1 += ai * b1;
            c3_2 += ai * b2;
            c3_3 += ai * b3;
            pa.Next();
            b += 4;
        }
        if (beta == 0)
        {
            c[0] = alpha * c0_0;
            c[1] = alpha * c0_1;
            c[2] = alpha * c0_2;
            c[3] = alpha * c0_3;
            c += ldc;
            c[0] = alpha * c1_0;
            c[1] = alpha * c1_1;
            c[2] = alpha * c1_2;
            c[3] = alpha * c1_3;
            c += ldc;
            c[0] = alpha * c2_0;
            c[1] = alpha * c2_1;
            c[2] = alpha * c2_2;
            c[3] = alpha * c2_3;
            c += ldc;
            c[0] = alpha * c3_0;
            c[1] = alpha * c3_1;
            c[2] = alpha * c3_2;
            c[3] = alpha * c3_3;
        }
        else
        {
            c[0] = alpha * c0_0 + beta * c[0];
            c[1] = alpha * c0_1 + beta * c[1];
            c[2] = alpha * c0_2 + beta * c[2];
            c[3] = alpha * c0_3 + beta * c[3];
            c += ldc;
            c[0] = alpha * c1_0 + beta * c[0];
            c[1] = alpha * c1_1 + beta * c[1];
            c[2] = alpha * c1_2 + beta * c[2];
            c[3] = alpha * c1_3 + beta * c[3];
            c += ldc;
            c[0] = alpha * c2_0 + beta * c[0];
            c[1] = alpha * c2_1 + beta * c[1];
            c[2] = alpha * c2_2 + beta * c[2];
            c[3] = alpha * c2_3 + beta * c[3];
            c += ldc;
            c[0] = alpha * c3_0 + beta * c[0];
            c[1] = alpha * c3_1 + beta * c[1];
            c[2] = alpha * c3_2 + beta * c[2];
            c[3] = alpha * c3_3 + beta * c[3];
        }
    }
}
