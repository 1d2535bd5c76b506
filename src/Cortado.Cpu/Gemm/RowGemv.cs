// GEMM with one row of C (a vector times a matrix: a classifier at batch 1) without packing: the same sums as the
// packed path, in the same order, with the same roundings.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// C[0, j] = alpha·Σ_p op(A)[0, p]·op(B)[p, j] + beta·C[0, j] for a single row. The packed path would transpose B into
/// panels and run a 12-row register tile with one useful row; here every C element is still the fused multiply-add
/// chain over p of the micro-kernels, in K blocks of the driver's sizes, each block finished as alpha·sum + beta·C
/// (beta 1 after the first block) without fusing, so the bits are those of the packed path with a fused
/// micro-kernel. Op(B) untransposed runs its columns as vector lanes; transposed, each column is a contiguous row
/// of B, and groups of 32 are transposed into a small panel per K block and run as vector lanes (eight side by side
/// as scalar chains without AVX2).
/// </summary>
internal static unsafe class RowGemv<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Columns per parallel work item.</summary>
    private const int ColumnsPerItem = 256;

    /// <summary>Columns of a transposed B (rows of it) that go through all K blocks together: one panel of <see cref="RowsPacked"/>.</summary>
    private const int RowGroup = 32;

    public static void Run(bool transA, bool transB, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c,
                           bool allowParallel)
    {
        int kBlocks = (k + GemmBlocking.KC - 1) / GemmBlocking.KC;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        // op(A)'s row, contiguous (A transposed is a column of stored A).
        T* x = a;
        T[]? copy = null;
        if (transA && lda != 1)
        {
            copy = new T[k];
            for (int p = 0; p < k; p++) copy[p] = a[p * lda];
        }
        fixed (T* xc = copy)
        {
            if (copy != null) x = xc;
            nint px = (nint)x, pb = (nint)b, pc = (nint)c;
            int items = (n + ColumnsPerItem - 1) / ColumnsPerItem;
            void Item(int item)
            {
                int j0 = item * ColumnsPerItem, j1 = Math.Min(n, j0 + ColumnsPerItem);
                // Transposed, each column is a row of B: a group of columns goes through all its K blocks before the
                // next group, so that its rows stream from start to end instead of a K block's stretch at a time. The
                // order of each column's chain is the same either way.
                int group = transB ? RowGroup : j1 - j0;
                for (int g0 = j0; g0 < j1; g0 += group)
                {
                    int g1 = Math.Min(j1, g0 + group);
                    for (int pc0 = 0, kb = 0; pc0 < k; pc0 += kcMax, kb++)
                    {
                        int kc = Math.Min(kcMax, k - pc0);
                        T be = kb == 0 ? beta : T.One;
                        if (transB) Rows((T*)px + pc0, (T*)pb + pc0, ldb, kc, g0, g1, alpha, be, (T*)pc);
                        else Columns((T*)px + pc0, (T*)pb + pc0 * ldb, ldb, kc, g0, g1, alpha, be, (T*)pc);
                    }
                }
            }
            // Reading B is the cost (each element is used once), so smaller products than a GEMM's are split: two
            // threads keep more of B's cache lines in flight.
            if (allowParallel && items > 1 && (long)n * k >= GemmBlocking.ParallelThreshold / 8) CortadoThreads.ParallelFor(items, Item);
            else for (int i = 0; i < items; i++) Item(i);
        }
    }

    // alpha·sum + beta·C as the micro-kernels finish a tile (beta 0: C is not read).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Finish(T sum, T alpha, T beta, T cOld) => beta == T.Zero ? alpha * sum : alpha * sum + beta * cOld;

    // op(B)[p, j] = b[p·ldb + j]: columns j as vector lanes, each lane its own chain over p.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns(T* x, T* b, nint ldb, int kc, int j0, int j1, T alpha, T beta, T* c)
    {
        int j = j0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            var vb = Vector512.Create(beta);
            for (; j + Vector512<T>.Count <= j1; j += Vector512<T>.Count)
            {
                var acc = Vector512<T>.Zero;
                for (int p = 0; p < kc; p++) acc = VectorFma<T>.Of(Vector512.Create(x[p]), Vector512.Load(b + p * ldb + j), acc);
                var r = beta == T.Zero ? va * acc : va * acc + vb * Vector512.Load(c + j);
                r.Store(c + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            var vb = Vector256.Create(beta);
            for (; j + Vector256<T>.Count <= j1; j += Vector256<T>.Count)
            {
                var acc = Vector256<T>.Zero;
                for (int p = 0; p < kc; p++) acc = VectorFma<T>.Of(Vector256.Create(x[p]), Vector256.Load(b + p * ldb + j), acc);
                var r = beta == T.Zero ? va * acc : va * acc + vb * Vector256.Load(c + j);
                r.Store(c + j);
            }
        }
        for (; j < j1; j++)
        {
            T acc = T.Zero;
            for (int p = 0; p < kc; p++) acc = T.FusedMultiplyAdd(x[p], b[p * ldb + j], acc);
            c[j] = Finish(acc, alpha, beta, c[j]);
        }
    }

    // op(B)[p, j] = b[j·ldb + p]: column j is row j of B; eight chains side by side for the FMA latency.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(T* x, T* b, nint ldb, int kc, int j0, int j1, T alpha, T beta, T* c)
    {
        int j = j0;
        if (Avx2.IsSupported && Fma.IsSupported && VectorPaths.Enabled && (typeof(T) == typeof(float) || typeof(T) == typeof(double)))
            j = RowsPacked(x, b, ldb, kc, j, j1, alpha, beta, c);
        for (; j + 8 <= j1; j += 8)
        {
            T* r0 = b + j * ldb;
            nint l = ldb;
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero, s4 = T.Zero, s5 = T.Zero, s6 = T.Zero, s7 = T.Zero;
            for (int p = 0; p < kc; p++)
            {
                T xp = x[p];
                T* q = r0 + p;
                s0 = T.FusedMultiplyAdd(xp, q[0], s0);
                s1 = T.FusedMultiplyAdd(xp, q[l], s1);
                s2 = T.FusedMultiplyAdd(xp, q[2 * l], s2);
                s3 = T.FusedMultiplyAdd(xp, q[3 * l], s3);
                s4 = T.FusedMultiplyAdd(xp, q[4 * l], s4);
                s5 = T.FusedMultiplyAdd(xp, q[5 * l], s5);
                s6 = T.FusedMultiplyAdd(xp, q[6 * l], s6);
                s7 = T.FusedMultiplyAdd(xp, q[7 * l], s7);
            }
            c[j] = Finish(s0, alpha, beta, c[j]);
            c[j + 1] = Finish(s1, alpha, beta, c[j + 1]);
            c[j + 2] = Finish(s2, alpha, beta, c[j + 2]);
            c[j + 3] = Finish(s3, alpha, beta, c[j + 3]);
            c[j + 4] = Finish(s4, alpha, beta, c[j + 4]);
            c[j + 5] = Finish(s5, alpha, beta, c[j + 5]);
            c[j + 6] = Finish(s6, alpha, beta, c[j + 6]);
            c[j + 7] = Finish(s7, alpha, beta, c[j + 7]);
        }
        for (; j < j1; j++)
        {
            T* r = b + j * ldb;
            T acc = T.Zero;
            for (int p = 0; p < kc; p++) acc = T.FusedMultiplyAdd(x[p], r[p], acc);
            c[j] = Finish(acc, alpha, beta, c[j]);
        }
    }

    // Columns j of transposed B as the lanes of a register, 32 at a time: the group's rows of this K block are first
    // transposed into a panel (step p holds the 32 columns' B[j, p] side by side), then each lane keeps its own fused
    // multiply-add chain over p with plain vector loads, so the bits are those of the scalar chains above (and of the
    // packed micro-kernels). Gathering straight from the rows instead kept 32 rows in flight at once; a row stride of a
    // multiple of 4 KiB (ResNet-50's 2048 inputs) put all of them in one L1 set, and the classifier ran at 2 GB/s.
    // Returns the first column not done.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int RowsPacked(T* x, T* b, nint ldb, int kc, int j, int j1, T alpha, T beta, T* c)
    {
        const int group = RowGroup;
        T* panel = (T*)GemmScratch.B.Get((nuint)((long)kc * group * sizeof(T)));
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        for (; j + group <= j1; j += group)
        {
            PanelTranspose<T>.Run(b + (nint)j * ldb, ldb, group, kc, panel, group);
            if (Vector256<T>.Count == 8)
            {
                // float32: four registers of eight columns.
                Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default;
                T* q = panel;
                for (int p = 0; p < kc; p++, q += group)
                {
                    var xp = Vector256.Create(x[p]);
                    s0 = VectorFma<T>.Of(xp, Vector256.Load(q), s0);
                    s1 = VectorFma<T>.Of(xp, Vector256.Load(q + 8), s1);
                    s2 = VectorFma<T>.Of(xp, Vector256.Load(q + 16), s2);
                    s3 = VectorFma<T>.Of(xp, Vector256.Load(q + 24), s3);
                }
                Finish(s0, va, vb, beta, c + j);
                Finish(s1, va, vb, beta, c + j + 8);
                Finish(s2, va, vb, beta, c + j + 16);
                Finish(s3, va, vb, beta, c + j + 24);
            }
            else
            {
                // float64: eight registers of four columns.
                Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                T* q = panel;
                for (int p = 0; p < kc; p++, q += group)
                {
                    var xp = Vector256.Create(x[p]);
                    s0 = VectorFma<T>.Of(xp, Vector256.Load(q), s0);
                    s1 = VectorFma<T>.Of(xp, Vector256.Load(q + 4), s1);
                    s2 = VectorFma<T>.Of(xp, Vector256.Load(q + 8), s2);
                    s3 = VectorFma<T>.Of(xp, Vector256.Load(q + 12), s3);
                    s4 = VectorFma<T>.Of(xp, Vector256.Load(q + 16), s4);
                    s5 = VectorFma<T>.Of(xp, Vector256.Load(q + 20), s5);
                    s6 = VectorFma<T>.Of(xp, Vector256.Load(q + 24), s6);
                    s7 = VectorFma<T>.Of(xp, Vector256.Load(q + 28), s7);
                }
                Finish(s0, va, vb, beta, c + j);
                Finish(s1, va, vb, beta, c + j + 4);
                Finish(s2, va, vb, beta, c + j + 8);
                Finish(s3, va, vb, beta, c + j + 12);
                Finish(s4, va, vb, beta, c + j + 16);
                Finish(s5, va, vb, beta, c + j + 20);
                Finish(s6, va, vb, beta, c + j + 24);
                Finish(s7, va, vb, beta, c + j + 28);
            }
        }
        return j;
    }

    // alpha·sum + beta·C for a register of columns, as the scalar Finish rounds it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector256<T> sum, Vector256<T> va, Vector256<T> vb, T beta, T* c) =>
        (beta == T.Zero ? va * sum : va * sum + vb * Vector256.Load(c)).Store(c);
}
