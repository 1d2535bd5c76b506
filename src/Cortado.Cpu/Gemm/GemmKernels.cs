// Run-time choice of the GEMM micro-kernel (vector width) and the batched GEMM entry used by the backend.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cortado.Threading;

[assembly: InternalsVisibleTo("Cortado.Cpu.Tests")]
[assembly: InternalsVisibleTo("Cortado.Bench.Gemm")]

namespace Cortado.Cpu.Gemm;

/// <summary>
/// Chooses the micro-kernel for this machine — 512-bit (AVX-512), 256-bit with FMA (AVX2), 128-bit
/// (SSE/NEON), or scalar — and runs batched GEMMs through <see cref="GemmDriver{T, TK}"/>.
/// </summary>
internal static class GemmKernels
{
    private static volatile int s_force = -1;

    /// <summary>
    /// Forces a vector width for tests and benchmarks: 512, 256, 128, or 0 for the scalar kernel; null
    /// chooses the widest the hardware accelerates. Forcing a width this machine lacks throws.
    /// </summary>
    public static int? ForceWidth
    {
        get => s_force < 0 ? null : s_force;
        set
        {
            if (value is int w && !IsWidthSupported(w))
                throw new NotSupportedException($"GEMM vector width {w} is not supported on this machine (supported: 512 {IsWidthSupported(512)}, 256 {IsWidthSupported(256)}, 128 {IsWidthSupported(128)}, 0 True)");
            s_force = value ?? -1;
        }
    }

    private static volatile int s_forceWide = -1;

    /// <summary>
    /// Forces the 512-bit float32 tile for tests and benchmarks: false the 12×32 tile (<see cref="F32x512"/>), true the
    /// 8×48 one (<see cref="F32x512Wide"/>); null chooses per shape. Either gives the same bits.
    /// </summary>
    public static bool? ForceWideTile
    {
        get => s_forceWide < 0 ? null : s_forceWide == 1;
        set => s_forceWide = value is bool w ? (w ? 1 : 0) : -1;
    }

    /// <summary>True when the kernels of <paramref name="width"/> bits (0 = scalar) run natively here.</summary>
    public static bool IsWidthSupported(int width) => width switch
    {
        512 => F32x512.IsSupported && F64x512.IsSupported,
        256 => F32x256.IsSupported && F64x256.IsSupported,
        128 => F32x128.IsSupported && F64x128.IsSupported,
        0 => true,
        _ => false,
    };

    /// <summary>The width the next GEMM will use.</summary>
    public static int ActiveWidth
    {
        get
        {
            int f = s_force;
            if (f >= 0) return f;
            if (Vector512.IsHardwareAccelerated && IsWidthSupported(512)) return 512;
            if (IsWidthSupported(256)) return 256;
            if (IsWidthSupported(128)) return 128;
            return 0;
        }
    }

    /// <summary>
    /// Batched C_b = alpha·op(A_b)·op(B_b) + beta·C_b for b in [0, batch), pointers already at element 0 of
    /// batch 0. A batch stride of 0 shares the operand. <paramref name="allowParallel"/> false keeps all
    /// work on the calling thread (for callers that already split over threads).
    /// </summary>
    public static unsafe void Gemm<T>(bool transA, bool transB, int m, int n, int k, double alpha,
                                      T* a, nint lda, nint strideA, T* b, nint ldb, nint strideB,
                                      double beta, T* c, nint ldc, nint strideC, int batch, bool allowParallel = true,
                                      GemmEpilogue<T>? epilogue = null, WholeA packedA = default)
        where T : unmanaged
    {
        if (m <= 0 || n <= 0 || batch <= 0) return;
        if (epilogue != null || packedA.Data != null)
        {
            // The epilogue's coordinates are those of one C, and a packed A is one matrix: neither is batched.
            if (batch != 1) throw new ArgumentException("a GEMM with an epilogue or a packed A takes one matrix, not a batch", nameof(batch));
            Single(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, allowParallel, null, epilogue, packedA: packedA);
            return;
        }
        // One operand shared by the whole batch, the other's rows stacked evenly: one tall GEMM instead of
        // many small ones; every element is still summed in the same order, so the bits are unchanged.
        if (batch > 1 && strideB == 0 && !transA && strideA == m * lda && strideC == m * ldc && (long)m * batch <= int.MaxValue)
        {
            Single(transA, transB, m * batch, n, k, alpha, a, lda, b, ldb, beta, c, ldc, allowParallel);
            return;
        }
        if (batch == 1 || strideC == 0)
        {
            // A shared C is updated batch after batch, in order.
            for (int i = 0; i < batch; i++)
                Single(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, allowParallel);
            return;
        }
        bool overBatch = allowParallel && CortadoThreads.Count > 1 && (long)m * n * k < GemmBlocking.ParallelThreshold * 4;
        if (overBatch)
        {
            // Small matrices: one whole GEMM per work item, each on one thread.
            nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
            CortadoThreads.ParallelFor(batch, i =>
                Single(transA, transB, m, n, k, alpha, (T*)pa + i * strideA, lda, (T*)pb + i * strideB, ldb, beta, (T*)pc + i * strideC, ldc, false));
            return;
        }
        for (int i = 0; i < batch; i++)
            Single(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, allowParallel);
    }

    /// <summary>
    /// C = alpha·A·B + beta·C where B (k×n) is packed panel by panel by <paramref name="b"/> rather than read from
    /// a stored matrix. The panels are the ones <see cref="Gemm{T}"/> would pack from that matrix, so the bits are
    /// the same as storing B first and multiplying without the swap to Cᵀ.
    /// </summary>
    public static unsafe void GemmPanels<T>(int m, int n, int k, double alpha, T* a, nint lda, PanelSource<T> b,
                                            double beta, T* c, nint ldc, bool allowParallel = true, GemmEpilogue<T>? epilogue = null,
                                            WholeA packedA = default)
        where T : unmanaged
    {
        if (m <= 0 || n <= 0) return;
        Single(false, false, m, n, k, alpha, a, lda, null, 0, beta, c, ldc, allowParallel, b, epilogue, packedA: packedA);
    }

    /// <summary>
    /// Packs op(A) (m×k) whole, for the micro-kernel that <see cref="Gemm{T}"/> (or, with <paramref name="panels"/>,
    /// <see cref="GemmPanels{T}"/>) takes for an m×n product, into <paramref name="buffer"/>: products with this A and
    /// that many columns then pack no A (<see cref="GemmDriver{T, TK}.PackWholeA"/>). Returns no packing (Data null)
    /// where that product would not pack A whole: computed as Cᵀ, one row, or more rows than one block. A product that
    /// takes another kernel (fewer columns) ignores it and packs A itself; the bits are the same either way.
    /// </summary>
    public static unsafe WholeA PackWholeA<T>(bool transA, int m, int n, int k, T* a, nint lda, AlignedBuffer buffer,
                                              bool panels, bool allowParallel = true)
        where T : unmanaged
    {
        if (m <= 1 || n <= 0 || k <= 0) return default;
        int width = ActiveWidth;
        if (typeof(T) == typeof(float))
        {
            float* fa = (float*)a;
            switch (width)
            {
                case 512:
                    bool wide = panels ? ChooseF32x512Unswapped(m, n) : ChooseF32x512(m, n).Wide;
                    return wide ? Pack<float, F32x512Wide>(transA, m, n, k, fa, lda, buffer, panels, allowParallel)
                                : Pack<float, F32x512>(transA, m, n, k, fa, lda, buffer, panels, allowParallel);
                case 256: return Pack<float, F32x256>(transA, m, n, k, fa, lda, buffer, panels, allowParallel);
                case 128: return Pack<float, F32x128>(transA, m, n, k, fa, lda, buffer, panels, allowParallel);
                default: return Pack<float, F32Scalar>(transA, m, n, k, fa, lda, buffer, panels, allowParallel);
            }
        }
        if (typeof(T) == typeof(double))
        {
            double* da = (double*)a;
            return width switch
            {
                512 => Pack<double, F64x512>(transA, m, n, k, da, lda, buffer, panels, allowParallel),
                256 => Pack<double, F64x256>(transA, m, n, k, da, lda, buffer, panels, allowParallel),
                128 => Pack<double, F64x128>(transA, m, n, k, da, lda, buffer, panels, allowParallel),
                _ => Pack<double, F64Scalar>(transA, m, n, k, da, lda, buffer, panels, allowParallel),
            };
        }
        return default;
    }

    private static unsafe WholeA Pack<T, TK>(bool transA, int m, int n, int k, T* a, nint lda, AlignedBuffer buffer, bool panels, bool allowParallel)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        where TK : struct, IMicroKernel<T>
    {
        if (!panels && SwapPays(m, n, TK.MR, TK.NR)) return default;
        long length = GemmDriver<T, TK>.WholeALength(m, k);
        if (length == 0) return default;
        T* dst = (T*)buffer.Get((nuint)(length * sizeof(T)));
        GemmDriver<T, TK>.PackWholeA(transA, m, k, a, lda, dst, allowParallel);
        return new WholeA(dst, typeof(TK), transA, m, k);
    }

    /// <summary>
    /// C = A·op(B) + beta·C where A (m×k) is read in place at a shift per step, A[i, p] = a[i + shifts[p]] (shifts has
    /// k + 1 entries; see <see cref="GemmDriver{T, TK}.Run"/> for how far past row m − 1 it reads). No A panel is
    /// packed, and the product is never swapped to Cᵀ; each element is summed in the same order as by
    /// <see cref="Gemm{T}"/>.
    /// </summary>
    public static unsafe void GemmShifted<T>(int m, int n, int k, T* a, nint* shifts, bool transB, T* b, nint ldb,
                                             double beta, T* c, nint ldc, bool allowParallel = true, GemmEpilogue<T>? epilogue = null)
        where T : unmanaged
    {
        if (m <= 0 || n <= 0) return;
        Single(false, transB, m, n, k, 1.0, a, 0, b, ldb, beta, c, ldc, allowParallel, null, epilogue, shifts);
    }

    /// <summary>
    /// Rows per tile of <see cref="GemmShiftedRows{T}"/> with the active kernels (7 with 512-bit float32), or 0 where it
    /// has no kernel: a convolution whose output rows this divides can skip its padded columns.
    /// </summary>
    public static int ShiftedRowsTile<T>() where T : unmanaged =>
        typeof(T) == typeof(float) && ActiveWidth == 512 && F32x512Seven.IsSupported ? F32x512Seven.MR : 0;

    /// <summary>Columns per tile of <see cref="GemmShiftedRows{T}"/>.</summary>
    public static int ShiftedRowsTileColumns => F32x512Seven.NR;

    /// <summary>
    /// <see cref="GemmShifted{T}"/> over rows that start where <paramref name="rows"/> says (a convolution's output pixels
    /// without its padded columns), with the tile of <see cref="ShiftedRowsTile{T}"/> rows, which must divide
    /// <paramref name="m"/> and the rows' width. Each element is summed in the same order as by <see cref="Gemm{T}"/>.
    /// </summary>
    public static unsafe void GemmShiftedRows<T>(int m, int n, int k, T* a, nint* shifts, ShiftedRows rows, bool transB, T* b, nint ldb,
                                                 double beta, T* c, nint ldc, bool allowParallel = true, GemmEpilogue<T>? epilogue = null)
        where T : unmanaged
    {
        if (ShiftedRowsTile<T>() == 0) throw new NotSupportedException($"no kernel for rows of a shifted {typeof(T).Name} A at width {ActiveWidth}");
        if (m <= 0 || n <= 0) return;
        GemmDriver<float, F32x512Seven>.Run(false, transB, m, n, k, 1f, (float*)a, 0, (float*)b, ldb, (float)beta, (float*)c, ldc, allowParallel,
            epilogue: (GemmEpilogue<float>?)(object?)epilogue, aShifts: shifts, aRows: rows);
    }

    /// <summary>
    /// The micro-kernel tile (MR, NR) of an m×n product that is never swapped to Cᵀ: one with a panel source
    /// (<see cref="GemmPanels{T}"/>) or shifted rows of A (<see cref="GemmShifted{T}"/>).
    /// </summary>
    public static (int MR, int NR) UnswappedTile<T>(int m, int n) where T : unmanaged
    {
        bool f = typeof(T) == typeof(float);
        return ActiveWidth switch
        {
            512 => f ? (ChooseF32x512Unswapped(m, n) ? (F32x512Wide.MR, F32x512Wide.NR) : (F32x512.MR, F32x512.NR)) : (F64x512.MR, F64x512.NR),
            256 => f ? (F32x256.MR, F32x256.NR) : (F64x256.MR, F64x256.NR),
            128 => f ? (F32x128.MR, F32x128.NR) : (F64x128.MR, F64x128.NR),
            _ => f ? (F32Scalar.MR, F32Scalar.NR) : (F64Scalar.MR, F64Scalar.NR),
        };
    }

    /// <summary>True when <see cref="Gemm{T}"/> would compute an m×n product as Cᵀ with the active micro-kernel.</summary>
    public static bool WouldSwap<T>(int m, int n) where T : unmanaged
    {
        bool f = typeof(T) == typeof(float);
        int width = ActiveWidth;
        if (f && width == 512) return ChooseF32x512(m, n).Swap;
        var (mr, nr) = width switch
        {
            512 => (F64x512.MR, F64x512.NR),
            256 => f ? (F32x256.MR, F32x256.NR) : (F64x256.MR, F64x256.NR),
            128 => f ? (F32x128.MR, F32x128.NR) : (F64x128.MR, F64x128.NR),
            _ => f ? (F32Scalar.MR, F32Scalar.NR) : (F64Scalar.MR, F64Scalar.NR),
        };
        return SwapPays(m, n, mr, nr);
    }

    // Whether computing Cᵀ = op(B)ᵀ·op(A)ᵀ wastes fewer multiply-adds on zero-padded tile rows and
    // columns than C = op(A)·op(B) (a narrow C: matrix–vector products, convolutions over few pixels).
    // Both give identical bits: each element is the same sequence of multiply-adds with the factors
    // swapped, and the swapped tiles finish through the same unfused epilogue.
    private static bool SwapPays(int m, int n, int mr, int nr) =>
        s_forceSwap >= 0 ? s_forceSwap == 1 : SwappedCost(m, n, mr, nr) < NormalCost(m, n, mr, nr);

    private static volatile int s_forceSwap = -1;

    /// <summary>Forces computing products as Cᵀ (true) or as C (false) for benchmarks; null decides per shape. Same bits.</summary>
    public static bool? ForceSwap
    {
        get => s_forceSwap < 0 ? null : s_forceSwap == 1;
        set => s_forceSwap = value is bool w ? (w ? 1 : 0) : -1;
    }

    // Multiply-adds a tile shape computes for an m×n product, zero padding included; the swapped product, finished
    // through the scratch tile column by column, is weighted 4/3 (it must waste a quarter less to be worth it).
    private static long NormalCost(int m, int n, int mr, int nr) => (long)RoundUp(m, mr) * RoundUp(n, nr) * 3;

    private static long SwappedCost(int m, int n, int mr, int nr) => (long)RoundUp(n, mr) * RoundUp(m, nr) * 4;

    /// <summary>
    /// The 512-bit float32 tile and orientation for an m×n product: the one that computes the fewest zero-padded
    /// multiply-adds. The 8×48 tile fits channel counts that are multiples of 8 (64 rows take 8 full panels against
    /// 5⅓ of 12) and needs fewer loads per FMA; the 12×32 tile fits narrow products (7×7 or 14×14 images) better.
    /// On equal padding the two ran within a few per cent of each other (`Cortado.Bench.Gemm --op tiles`: square
    /// products, 14×14 images), so a tie keeps the 12×32 tile.
    /// </summary>
    internal static (bool Wide, bool Swap) ChooseF32x512(int m, int n)
    {
        int force = s_forceWide;
        bool swapNarrow = SwapPays(m, n, F32x512.MR, F32x512.NR), swapWide = SwapPays(m, n, F32x512Wide.MR, F32x512Wide.NR);
        if (force >= 0) return force == 1 ? (true, swapWide) : (false, swapNarrow);
        long narrow = swapNarrow ? SwappedCost(m, n, F32x512.MR, F32x512.NR) : NormalCost(m, n, F32x512.MR, F32x512.NR);
        long wide = swapWide ? SwappedCost(m, n, F32x512Wide.MR, F32x512Wide.NR) : NormalCost(m, n, F32x512Wide.MR, F32x512Wide.NR);
        return wide < narrow ? (true, swapWide) : (false, swapNarrow);
    }

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;

    // One GEMM with the active width's micro-kernel; B comes from `source` when given, A from shifted rows when
    // `shifts` is (never swapped to Cᵀ then).
    private static unsafe void Single<T>(bool transA, bool transB, int m, int n, int k, double alpha,
                                         T* a, nint lda, T* b, nint ldb, double beta, T* c, nint ldc, bool allowParallel,
                                         PanelSource<T>? source = null, GemmEpilogue<T>? epilogue = null, nint* shifts = null,
                                         WholeA packedA = default)
        where T : unmanaged
    {
        int width = ActiveWidth;
        if (typeof(T) == typeof(float))
        {
            float* fa = (float*)a, fb = (float*)b, fc = (float*)c;
            float al = (float)alpha, be = (float)beta;
            var src = (PanelSource<float>?)(object?)source;
            var post = (GemmEpilogue<float>?)(object?)epilogue;
            switch (width)
            {
                case 512:
                    // B from a panel source (or A from shifted rows) is never swapped, so only the unswapped costs decide there.
                    if (source != null || shifts != null ? ChooseF32x512Unswapped(m, n) : ChooseF32x512(m, n).Wide)
                        Drive<float, F32x512Wide>(transA, transB, m, n, k, al, fa, lda, fb, ldb, be, fc, ldc, allowParallel, src, post, shifts, packedA);
                    else
                        Drive<float, F32x512>(transA, transB, m, n, k, al, fa, lda, fb, ldb, be, fc, ldc, allowParallel, src, post, shifts, packedA);
                    break;
                case 256: Drive<float, F32x256>(transA, transB, m, n, k, al, fa, lda, fb, ldb, be, fc, ldc, allowParallel, src, post, shifts, packedA); break;
                case 128: Drive<float, F32x128>(transA, transB, m, n, k, al, fa, lda, fb, ldb, be, fc, ldc, allowParallel, src, post, shifts, packedA); break;
                default: Drive<float, F32Scalar>(transA, transB, m, n, k, al, fa, lda, fb, ldb, be, fc, ldc, allowParallel, src, post, shifts, packedA); break;
            }
        }
        else if (typeof(T) == typeof(double))
        {
            double* da = (double*)a, db = (double*)b, dc = (double*)c;
            var src = (PanelSource<double>?)(object?)source;
            var post = (GemmEpilogue<double>?)(object?)epilogue;
            switch (width)
            {
                case 512: Drive<double, F64x512>(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc, allowParallel, src, post, shifts, packedA); break;
                case 256: Drive<double, F64x256>(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc, allowParallel, src, post, shifts, packedA); break;
                case 128: Drive<double, F64x128>(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc, allowParallel, src, post, shifts, packedA); break;
                default: Drive<double, F64Scalar>(transA, transB, m, n, k, alpha, da, lda, db, ldb, beta, dc, ldc, allowParallel, src, post, shifts, packedA); break;
            }
        }
        else
        {
            throw new NotSupportedException($"GEMM kernel for {typeof(T).Name}");
        }
    }

    /// <summary>Columns of the B panels that <see cref="GemmPanels{T}"/> asks its panel source for, for an m×n product.</summary>
    public static int PanelWidth<T>(int m, int n) where T : unmanaged => UnswappedTile<T>(m, n).NR;

    // Tile for a product that is never swapped (B packed by a panel source), by the same measure as ChooseF32x512.
    private static bool ChooseF32x512Unswapped(int m, int n)
    {
        int force = s_forceWide;
        if (force >= 0) return force == 1;
        return NormalCost(m, n, F32x512Wide.MR, F32x512Wide.NR) < NormalCost(m, n, F32x512.MR, F32x512.NR);
    }

    // The one-row path reproduces micro-kernels that sum with fused multiply-adds (the 512- and 256-bit ones); the
    // 128-bit kernel may not fuse and the scalar one does not.
    private static bool RowGemvMatches<T, TK>() where TK : struct =>
        typeof(TK) == typeof(F32x512) || typeof(TK) == typeof(F32x512Wide) || typeof(TK) == typeof(F32x256) || typeof(TK) == typeof(F64x512) || typeof(TK) == typeof(F64x256);

    private static unsafe void Drive<T, TK>(bool transA, bool transB, int m, int n, int k, T alpha,
                                            T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool allowParallel,
                                            PanelSource<T>? source, GemmEpilogue<T>? epilogue, nint* shifts, WholeA packedA)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        where TK : struct, IMicroKernel<T>
    {
        // A packed whole for this kernel, this A and this k (anything else packs A itself).
        T* whole = packedA.Matches(typeof(TK), transA, m, k) ? (T*)packedA.Data : null;
        if (source != null || shifts != null)
            GemmDriver<T, TK>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, allowParallel, bSource: source, epilogue: epilogue, aShifts: shifts, packedWholeA: whole);
        else if (m == 1 && k > 0 && alpha != T.Zero && RowGemvMatches<T, TK>())
        {
            // One row of C: no panels to pack, the same sums (the fused micro-kernels' chains) read in place.
            RowGemv<T>.Run(transA, transB, n, k, alpha, a, lda, b, ldb, beta, c, allowParallel);
            epilogue?.Apply(c, ldc, 0, 1, 0, n);
        }
        else if (SwapPays(m, n, TK.MR, TK.NR))
            GemmDriver<T, TK>.Run(!transB, !transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, allowParallel, transC: true, epilogue: epilogue);
        else
            GemmDriver<T, TK>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, allowParallel, epilogue: epilogue, packedWholeA: whole);
    }
}

/// <summary>An op(A) packed whole by <see cref="GemmKernels.PackWholeA{T}"/> for one micro-kernel (Data null: none).</summary>
internal readonly unsafe struct WholeA(void* data, Type kernel, bool transA, int m, int k)
{
    public readonly void* Data = data;
    private readonly Type? _kernel = kernel;
    private readonly bool _transA = transA;
    private readonly int _m = m, _k = k;

    /// <summary>Whether a product of this shape with this kernel can use it.</summary>
    public bool Matches(Type kernel, bool transA, int m, int k) => Data != null && kernel == _kernel && transA == _transA && m == _m && k == _k;
}
