// Float32 GEMM micro-kernels: C tile = alpha·(packed A panel)·(packed B panel) + beta·C tile.
// Generated-style unrolled code: every accumulator is a named local so the JIT keeps them all in registers.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cortado.Cpu.Gemm;

/// <summary>Float32 micro-kernel, 512-bit: a 12×32 tile in 24 zmm accumulators, one FMA per packed A element and B vector.</summary>
internal readonly unsafe struct F32x512 : IMicroKernel<float>
{
    public static int MR => 12;
    public static int NR => 32;
    public static bool IsSupported => Avx512F.IsSupported;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai;
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
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 16);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 16);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 16);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 16);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 16);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 16);
            c += ldc;
            (va * c6_0).Store(c + 0);
            (va * c6_1).Store(c + 16);
            c += ldc;
            (va * c7_0).Store(c + 0);
            (va * c7_1).Store(c + 16);
            c += ldc;
            (va * c8_0).Store(c + 0);
            (va * c8_1).Store(c + 16);
            c += ldc;
            (va * c9_0).Store(c + 0);
            (va * c9_1).Store(c + 16);
            c += ldc;
            (va * c10_0).Store(c + 0);
            (va * c10_1).Store(c + 16);
            c += ldc;
            (va * c11_0).Store(c + 0);
            (va * c11_1).Store(c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            (va * c0_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c1_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c2_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c3_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c4_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c5_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c6_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c6_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c7_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c7_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c8_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c8_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c9_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c9_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c10_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c10_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c11_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c11_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
        }
    }
}

/// <summary>
/// Float32 micro-kernel, 512-bit, seven rows: a 7×32 tile in 14 zmm accumulators. Seven rows divide the output rows of
/// convolutions over 7, 14, 28, 56 and 112 pixels, so a product over the output pixels of such a layer (the shifted
/// form with whole output rows) computes no padded rows, where twelve rows compute 64 for 49 pixels.
/// Each element is the same chain of FMAs in the same order as with <see cref="F32x512"/>, so the bits match.
/// </summary>
internal readonly unsafe struct F32x512Seven : IMicroKernel<float>
{
    public static int MR => 7;
    public static int NR => 32;
    public static bool IsSupported => Avx512F.IsSupported;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai;
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
            pa.Next();
            b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 16);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 16);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 16);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 16);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 16);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 16);
            c += ldc;
            (va * c6_0).Store(c + 0);
            (va * c6_1).Store(c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            (va * c0_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c1_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c2_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c3_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c4_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c5_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            c += ldc;
            (va * c6_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c6_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
        }
    }
}
/// <summary>
/// Float32 micro-kernel, 512-bit, wide: an 8×48 tile in 24 zmm accumulators. Per step it loads three B vectors and
/// broadcasts eight A values (11 loads for 24 FMAs, against 14 for the 12×32 tile), and eight rows divide the channel
/// counts of most convolutions (64, 128, …) where twelve leave a partial panel. <see cref="GemmKernels"/> picks it per
/// shape; each element is the same chain of FMAs in the same order as with <see cref="F32x512"/>, so the bits match.
/// </summary>
internal readonly unsafe struct F32x512Wide : IMicroKernel<float>
{
    public static int MR => 8;
    public static int NR => 48;
    public static bool IsSupported => Avx512F.IsSupported;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        Vector512<float> c0_0 = default, c0_1 = default, c0_2 = default;
        Vector512<float> c1_0 = default, c1_1 = default, c1_2 = default;
        Vector512<float> c2_0 = default, c2_1 = default, c2_2 = default;
        Vector512<float> c3_0 = default, c3_1 = default, c3_2 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c4_2 = default;
        Vector512<float> c5_0 = default, c5_1 = default, c5_2 = default;
        Vector512<float> c6_0 = default, c6_1 = default, c6_2 = default;
        Vector512<float> c7_0 = default, c7_1 = default, c7_2 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> b2 = Vector512.Load(b + 32);
            Vector512<float> ai;
            ai = Vector512.Create(pa.At(0));
            c0_0 = Vector512.FusedMultiplyAdd(ai, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(ai, b1, c0_1);
            c0_2 = Vector512.FusedMultiplyAdd(ai, b2, c0_2);
            ai = Vector512.Create(pa.At(1));
            c1_0 = Vector512.FusedMultiplyAdd(ai, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(ai, b1, c1_1);
            c1_2 = Vector512.FusedMultiplyAdd(ai, b2, c1_2);
            ai = Vector512.Create(pa.At(2));
            c2_0 = Vector512.FusedMultiplyAdd(ai, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(ai, b1, c2_1);
            c2_2 = Vector512.FusedMultiplyAdd(ai, b2, c2_2);
            ai = Vector512.Create(pa.At(3));
            c3_0 = Vector512.FusedMultiplyAdd(ai, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(ai, b1, c3_1);
            c3_2 = Vector512.FusedMultiplyAdd(ai, b2, c3_2);
            ai = Vector512.Create(pa.At(4));
            c4_0 = Vector512.FusedMultiplyAdd(ai, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(ai, b1, c4_1);
            c4_2 = Vector512.FusedMultiplyAdd(ai, b2, c4_2);
            ai = Vector512.Create(pa.At(5));
            c5_0 = Vector512.FusedMultiplyAdd(ai, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(ai, b1, c5_1);
            c5_2 = Vector512.FusedMultiplyAdd(ai, b2, c5_2);
            ai = Vector512.Create(pa.At(6));
            c6_0 = Vector512.FusedMultiplyAdd(ai, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(ai, b1, c6_1);
            c6_2 = Vector512.FusedMultiplyAdd(ai, b2, c6_2);
            ai = Vector512.Create(pa.At(7));
            c7_0 = Vector512.FusedMultiplyAdd(ai, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(ai, b1, c7_1);
            c7_2 = Vector512.FusedMultiplyAdd(ai, b2, c7_2);
            pa.Next();
            b += 48;
        }
        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c0_0).Store(c + 0);
            (va * c0_1).Store(c + 16);
            (va * c0_2).Store(c + 32);
            c += ldc;
            (va * c1_0).Store(c + 0);
            (va * c1_1).Store(c + 16);
            (va * c1_2).Store(c + 32);
            c += ldc;
            (va * c2_0).Store(c + 0);
            (va * c2_1).Store(c + 16);
            (va * c2_2).Store(c + 32);
            c += ldc;
            (va * c3_0).Store(c + 0);
            (va * c3_1).Store(c + 16);
            (va * c3_2).Store(c + 32);
            c += ldc;
            (va * c4_0).Store(c + 0);
            (va * c4_1).Store(c + 16);
            (va * c4_2).Store(c + 32);
            c += ldc;
            (va * c5_0).Store(c + 0);
            (va * c5_1).Store(c + 16);
            (va * c5_2).Store(c + 32);
            c += ldc;
            (va * c6_0).Store(c + 0);
            (va * c6_1).Store(c + 16);
            (va * c6_2).Store(c + 32);
            c += ldc;
            (va * c7_0).Store(c + 0);
            (va * c7_1).Store(c + 16);
            (va * c7_2).Store(c + 32);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            (va * c0_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c0_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c1_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c1_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c2_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c2_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c3_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c3_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c4_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c4_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c5_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c5_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c6_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c6_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c6_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
            c += ldc;
            (va * c7_0 + vb * Vector512.Load(c + 0)).Store(c + 0);
            (va * c7_1 + vb * Vector512.Load(c + 16)).Store(c + 16);
            (va * c7_2 + vb * Vector512.Load(c + 32)).Store(c + 32);
        }
    }
}

/// <summary>Float32 micro-kernel, 256-bit with FMA: a 6×16 tile in 12 ymm accumulators (fits the 16 registers of AVX2).</summary>
internal readonly unsafe struct F32x256 : IMicroKernel<float>
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b + 0);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai;
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
            b += 16;
        }
        Vector256<float> va = Vector256.Create(alpha);
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
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            (va * c0_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c1_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c2_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c3_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c4_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
            c += ldc;
            (va * c5_0 + vb * Vector256.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector256.Load(c + 8)).Store(c + 8);
        }
    }
}

/// <summary>Float32 micro-kernel, 128-bit (SSE or NEON): a 6×8 tile; multiply-add is fused where the hardware has FMA.</summary>
internal readonly unsafe struct F32x128 : IMicroKernel<float>
{
    public static int MR => 6;
    public static int NR => 8;
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        Vector128<float> c0_0 = default, c0_1 = default;
        Vector128<float> c1_0 = default, c1_1 = default;
        Vector128<float> c2_0 = default, c2_1 = default;
        Vector128<float> c3_0 = default, c3_1 = default;
        Vector128<float> c4_0 = default, c4_1 = default;
        Vector128<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b + 0);
            Vector128<float> b1 = Vector128.Load(b + 4);
            Vector128<float> ai;
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
            b += 8;
        }
        Vector128<float> va = Vector128.Create(alpha);
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
            Vector128<float> vb = Vector128.Create(beta);
            (va * c0_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c0_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c1_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c1_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c2_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c2_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c3_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c3_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c4_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c4_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
            c += ldc;
            (va * c5_0 + vb * Vector128.Load(c + 0)).Store(c + 0);
            (va * c5_1 + vb * Vector128.Load(c + 4)).Store(c + 4);
        }
    }
}

/// <summary>Float32 scalar micro-kernel (4×4) for hardware without SIMD.</summary>
internal readonly unsafe struct F32Scalar : IMicroKernel<float>
{
    public static int MR => 4;
    public static int NR => 4;
    public static bool IsSupported => true;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new PackedPanel<float>(a, MR), b, c, ldc, alpha, beta);

    public static void RunRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new RowPanel<float>(a, lda), b, c, ldc, alpha, beta);

    public static void RunShifted(int kc, float* a, nint* shifts, float* b, float* c, nint ldc, float alpha, float beta) =>
        Core(kc, new ShiftPanel<float>(a, shifts), b, c, ldc, alpha, beta);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TA>(int kc, TA pa, float* b, float* c, nint ldc, float alpha, float beta) where TA : struct, IAPanel<float>
    {
        float c0_0 = 0, c0_1 = 0, c0_2 = 0, c0_3 = 0;
        float c1_0 = 0, c1_1 = 0, c1_2 = 0, c1_3 = 0;
        float c2_0 = 0, c2_1 = 0, c2_2 = 0, c2_3 = 0;
        float c3_0 = 0, c3_1 = 0, c3_2 = 0, c3_3 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float ai;
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
