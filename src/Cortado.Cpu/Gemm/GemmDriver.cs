// The blocked GEMM driver: cache blocking, packing of A and B panels, and the M/N work split over threads.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Threading;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// Block sizes of the driver. KC fixes the order of the K summation, so it depends on nothing but K:
/// every other block size and the thread split may change freely without changing a single bit of C.
/// </summary>
internal static class GemmBlocking
{
    /// <summary>Depth of one K block: an A micro-panel (MR×KC) stays in L1 while B micro-panels (KC×NR) stream through it.</summary>
    public static int KC = 256;

    /// <summary>Rows of A per work item (the item's B micro-panels, KC×NC at most, stay in L2 while its A micro-panels pass through L1).</summary>
    public static int MC = 120;

    /// <summary>
    /// Columns of float32 B packed at once at full depth (a KC×NC block of 1 MiB, shared by all threads, stays in L2);
    /// a product with fewer than KC steps of K takes proportionally more columns (the same bytes), float64 half as many.
    /// </summary>
    public static int NC = 1024;

    /// <summary>Rows of A packed at once (an MS×KC block, shared by all threads).</summary>
    public static int MS = 4096;

    /// <summary>
    /// Whether a product with many K blocks (at least 3) and one block of rows and of columns runs, on several threads,
    /// in two parallel phases (all of B packed, then row ranges through every K block) instead of two phases per K block:
    /// fewer waits for the slowest thread (a 7×7 image's 3×3 layer has 18 K blocks). The bits are the same; tests switch it.
    /// </summary>
    public static bool DeepProducts = true;

    /// <summary>Most bytes of B that a deep product packs at once (all its K blocks): what stays in L2 beside A's panels.</summary>
    public static long DeepPackedBBytes = 3L << 19;

    /// <summary>Bytes of A that one block of shifted rows (read in place, <see cref="ShiftPanel{T}"/>) may span at most.</summary>
    public static int ShiftedBlockBytes = 1 << 20;

    /// <summary>
    /// Where each C tile is prefetched before its micro-kernel runs (x86): 0 nowhere, 1 into L1, 2 into L2. The
    /// kernel streams its A and B panels through L1 first, which would evict a tile fetched into L1 that early.
    /// </summary>
    public static int PrefetchC = 2;

    /// <summary>Multiply-adds below which one GEMM runs on the calling thread only.</summary>
    public static long ParallelThreshold = 1L << 21;

    /// <summary>
    /// Whether a row-major A (not transposed) is read in place by the micro-kernels instead of being packed first
    /// (only the last, partial row panel is packed) when C has at most <see cref="InPlaceAMaxPanels"/> column panels.
    /// Each A micro-panel is then used that few times, and packing it cost more than it saved (ResNet's 7×7 layers at
    /// batch 1 ran 12–19 % faster on one thread); with more panels the packed, contiguous copy wins. The bits are the
    /// same either way; tests switch it.
    /// </summary>
    public static bool ReadAInPlace = true;

    /// <summary>Whether an untransposed B is packed a stored row at a time across several panels (<see cref="GemmDriver{T, TK}"/>); the bits are the same, tests and benchmarks switch it.</summary>
    public static bool PackBRows = true;

    /// <summary>
    /// Whether a product computed as Cᵀ (a narrow C) is summed in a row-major buffer and transposed into C once, rather
    /// than finishing every tile of every K block column by column in C. The bits are the same; tests switch it.
    /// </summary>
    public static bool StageTransposedC = true;

    /// <summary>Largest Cᵀ (elements) that is staged; larger ones finish in place.</summary>
    public const long StagedElementsMax = 1L << 22;

    /// <summary>
    /// Whether a product with shifted rows of A (the shifted convolution) runs, on several threads, as column ranges that
    /// each go through every K block with their own B panels, instead of two parallel phases per K block and block of
    /// rows. The bits are the same; tests and benchmarks switch it.
    /// </summary>
    public static bool SplitColumns = true;

    /// <summary>Most column panels (NR columns each) for which A is read in place.</summary>
    public const int InPlaceAMaxPanels = 2;
}

/// <summary>
/// Packs B panels for <see cref="GemmDriver{T, TK}"/> from something other than a stored matrix: a convolution
/// packs its im2col columns straight from the image (implicit GEMM), so the column matrix is never written out.
/// </summary>
internal abstract unsafe class PanelSource<T> where T : unmanaged
{
    /// <summary>
    /// Writes op(B)[p0 + p, j0 + j] to dst[p·nr + j] for p &lt; kc, j &lt; cols, and zeros in columns cols … nr − 1.
    /// Called from several threads at once for different panels.
    /// </summary>
    public abstract void Pack(int p0, int kc, int j0, int cols, T* dst, int nr);
}

/// <summary>
/// Finishes blocks of C once their sums are complete (a fused epilogue): called by <see cref="GemmDriver{T, TK}"/>
/// for each work item's block right after its last K block, while the block is still in cache.
/// </summary>
internal abstract unsafe class GemmEpilogue<T> where T : unmanaged
{
    /// <summary>
    /// Finishes C rows row0 … row0 + rows − 1, columns col0 … col0 + cols − 1 (coordinates of the caller's C), whose
    /// element (row0 + i, col0 + j) is at c[i·ldc + j]. Called from several threads at once for disjoint blocks.
    /// </summary>
    public abstract void Apply(T* c, nint ldc, int row0, int rows, int col0, int cols);
}

/// <summary>
/// C = alpha·op(A)·op(B) + beta·C for one matrix, with the micro-kernel <typeparamref name="TK"/>.
/// Loops (outer to inner): N in NC blocks, K in KC blocks (pack B), M in MS blocks (pack A), then work
/// items of MC rows × a range of NR-column panels, each running micro-kernels over its tiles. K is never
/// split between threads, and each element of C is always summed in the same order, so the result is
/// bit-identical for any thread count. Edge tiles are computed into a scratch tile from zero-padded
/// panels and then copied with the same (unfused) epilogue arithmetic.
/// </summary>
internal static unsafe class GemmDriver<T, TK>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TK : struct, IMicroKernel<T>
{
    /// <summary>
    /// Runs one GEMM; element (i, j) of stored A is a[i·lda + j] (likewise B). C's element (i, j) is
    /// c[i·ldc + j], or c[j·ldc + i] when <paramref name="transC"/> (used to run Cᵀ = op(B)ᵀ·op(A)ᵀ).
    /// With <paramref name="aShifts"/> (K + 1 entries), A is read in place as A[i, p] = a[i + aShifts[p]]
    /// (<see cref="ShiftPanel{T}"/>; not with transA or transC), and nothing of it is packed: a partial last row panel
    /// reads up to a[RoundUp(m, MR) − 1 + shift], which the caller keeps inside its buffer. With <paramref name="aRows"/>,
    /// row i starts at a[aRows.Offset(i)] instead of a[i] (whole output rows of a convolution, <see cref="ShiftedRows"/>).
    /// </summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha,
                           T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool allowParallel, bool transC = false,
                           PanelSource<T>? bSource = null, GemmEpilogue<T>? epilogue = null, nint* aShifts = null,
                           T* packedWholeA = null, ShiftedRows aRows = default)
    {
        if (m <= 0 || n <= 0) return;
        if (aRows.Width > 0 && (aShifts == null || aRows.Width % TK.MR != 0 || m % TK.MR != 0))
            throw new ArgumentException($"rows of width {aRows.Width} need shifted A, and tiles of {TK.MR} rows that divide them and m = {m}", nameof(aRows));
        if (aShifts != null && (transA || transC)) throw new ArgumentException("shifted rows of A are read untransposed into an untransposed C", nameof(aShifts));
        if (transC && k > 0 && alpha != T.Zero && GemmBlocking.StageTransposedC && (long)m * n <= GemmBlocking.StagedElementsMax)
        {
            // Cᵀ summed in a row-major buffer like any product, then transposed into C once: the same arithmetic on the
            // same values as finishing each tile column by column in C, with vector stores instead of scalar ones.
            T* s = (T*)GemmScratch.Transposed.Get((nuint)((long)m * n * sizeof(T)));
            if (beta != T.Zero) PanelTranspose<T>.Run(c, ldc, n, m, s, n);
            Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, s, n, allowParallel, transC: false, bSource);
            PanelTranspose<T>.Run(s, n, m, n, c, checked((int)ldc));
            epilogue?.Apply(c, ldc, 0, n, 0, m);
            return;
        }
        if (k <= 0 || alpha == T.Zero)
        {
            // BLAS semantics: op(A)·op(B) is not evaluated, so NaN in A or B does not reach C.
            if (transC)
            {
                ScaleC(n, m, beta, c, ldc);
                epilogue?.Apply(c, ldc, 0, n, 0, m);
            }
            else
            {
                ScaleC(m, n, beta, c, ldc);
                epilogue?.Apply(c, ldc, 0, m, 0, n);
            }
            return;
        }
        int mr = TK.MR, nr = TK.NR;
        var (kBlocks, kcMax, msMax) = Blocks(m, k);
        // B's block holds NC×KC float32 values (1 MiB) whatever K is: a shallow product (a 1×1 convolution over few
        // channels) takes that many more columns per block, instead of a block of 1,024 columns with a parallel pack
        // and compute phase each (a 16-channel layer over 112×112 pixels made 13 of them, 2 threads slower than 1).
        long bBudget = (long)GemmBlocking.NC * GemmBlocking.KC * 4 / sizeof(T);
        int ncMax = (int)Math.Min(RoundUp(n, nr), RoundUp((int)Math.Min(int.MaxValue / 2, Math.Max(bBudget / kcMax, nr)), nr));
        // Shifted rows are read where they lie, not packed: fewer rows per block keep what a K block of them reads (at
        // most rows × kc values, fewer where steps share values) in L2.
        if (aShifts != null) msMax = Math.Min(msMax, Math.Max(mr, GemmBlocking.ShiftedBlockBytes / (kcMax * sizeof(T)) / mr * mr));
        int threads = allowParallel && (long)m * n * k >= GemmBlocking.ParallelThreshold ? CortadoThreads.Count : 1;

        // When all of A is one block of rows but B takes several column blocks, A is packed once, all its K blocks
        // side by side, instead of again for every column block (a convolution's weights over a wide image).
        long aBlock = (long)msMax * kcMax;
        bool keepA = m <= msMax && n > ncMax && aBlock * kBlocks * sizeof(T) <= KeepPackedABytes;
        // A packed by PackWholeA for this m and k is the kept layout, and needs no packing here.
        bool prepacked = packedWholeA != null && aShifts == null && m <= msMax;
        if (prepacked) keepA = true;
        T* packedA = prepacked ? packedWholeA
            : aShifts != null ? null : (T*)GemmScratch.A.Get((nuint)(aBlock * (keepA ? kBlocks : 1) * sizeof(T)));
        var job = new Job
        {
            TransA = transA, TransB = transB, TransC = transC, Alpha = alpha, A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
            PackedB = (T*)GemmScratch.B.Get((nuint)((long)kcMax * ncMax * sizeof(T))), BSource = bSource,
            InPlaceA = !prepacked && !transA && GemmBlocking.ReadAInPlace && n <= GemmBlocking.InPlaceAMaxPanels * nr,
            AShifts = aShifts, ARows = aRows,
        };
        // A deep product packs all of B before any of it is used: only where B stays in L2 and is the smaller operand
        // (a weight-gradient's long K over few rows is not: its B streamed through L3 and ran slower).
        if (threads > 1 && GemmBlocking.DeepProducts && kBlocks >= 3 && n <= ncMax && m <= msMax && n <= m
            && (long)kcMax * ncMax * kBlocks * sizeof(T) <= GemmBlocking.DeepPackedBBytes)
        {
            RunDeep(job, m, n, k, kBlocks, kcMax, ncMax, beta, epilogue, threads, prepacked ? packedA : null, aBlock);
            return;
        }
        int nPanels = (n + nr - 1) / nr;
        if (threads > 1 && GemmBlocking.SplitColumns && aShifts != null && n <= ncMax
            && nPanels >= 4 * threads)
        {
            RunColumns(job, m, n, k, kBlocks, kcMax, msMax, beta, epilogue, threads);
            return;
        }
        Action<int> pack = job.PackItem, compute = job.ComputeItem;
        for (int jc = 0; jc < n; jc += ncMax)
        {
            job.Jc = jc;
            job.Nc = Math.Min(ncMax, n - jc);
            job.NPanels = (job.Nc + nr - 1) / nr;
            for (int kb = 0; kb < kBlocks; kb++)
            {
                job.Pc = kb * kcMax;
                job.Kc = Math.Min(kcMax, k - job.Pc);
                job.Beta = kb == 0 ? beta : T.One;
                job.Post = kb == kBlocks - 1 ? epilogue : null;
                for (int ic = 0; ic < m; ic += msMax)
                {
                    job.Ic = ic;
                    job.Ms = Math.Min(msMax, m - ic);
                    job.MPanels = (job.Ms + mr - 1) / mr;
                    // B is packed once per (jc, pc) and reused for every block of rows.
                    job.BItems = ic == 0 ? (job.NPanels + PanelsPerPackItem - 1) / PanelsPerPackItem : 0;
                    job.PackedA = keepA ? packedA + kb * aBlock : packedA;
                    // Read in place, A needs only its last row panel packed, and only when that one is partial.
                    job.AItems = aShifts != null || prepacked || keepA && jc > 0 ? 0
                        : job.InPlaceA ? (job.Ms % mr != 0 ? 1 : 0)
                        : (job.MPanels + PanelsPerPackItem - 1) / PanelsPerPackItem;
                    For(job.BItems + job.AItems, pack, threads);
                    job.PlanItems(threads);
                    For(job.RowBlocks * job.ColBlocks, compute, threads);
                }
            }
        }
    }

    // Panels one pack item fills: B's rows are then read in runs of 8·NR values (packing them row by row across the
    // panels ran SGEMM 1.02–1.05× faster with 8 at n = 1024 and 2048, 1.00–1.04× with 4), and a 1,024-column block
    // still makes four items per thread on two threads.
    private const int PanelsPerPackItem = 8;

    // A deep product (many K blocks, one block of rows and of columns) on several threads in two parallel phases
    // instead of two per K block: B for every K block is packed first, shared; then each work item, a range of row
    // panels over all columns, runs the K blocks in order, packing its own A panels (unless A is read in place, shifted
    // or packed whole already) into its thread's buffer. Every tile sums the same K blocks in the same order and
    // finishes them the same way, so the bits are those of the block-by-block loop.
    private static void RunDeep(Job template, int m, int n, int k, int kBlocks, int kcMax, int ncMax, T beta,
                                GemmEpilogue<T>? epilogue, int threads, T* wholeA, long aBlock)
    {
        int mr = TK.MR, nr = TK.NR;
        template.Jc = 0;
        template.Nc = n;
        template.NPanels = (n + nr - 1) / nr;
        template.Ic = 0;
        template.Ms = m;
        template.MPanels = (m + mr - 1) / mr;
        template.AItems = 0;
        template.BItems = (template.NPanels + PanelsPerPackItem - 1) / PanelsPerPackItem;
        // Row ranges only (every item takes all the columns): a few per thread, so that the claiming evens out.
        int items = Math.Min(template.MPanels, 4 * threads);
        template.RowsPer = (template.MPanels + items - 1) / items;
        template.RowBlocks = (template.MPanels + template.RowsPer - 1) / template.RowsPer;
        template.ColsPer = template.NPanels;
        template.ColBlocks = 1;
        T* packedB = (T*)GemmScratch.B.Get((nuint)((long)kcMax * ncMax * kBlocks * sizeof(T)));
        var jobs = new Job[kBlocks];
        for (int kb = 0; kb < kBlocks; kb++)
        {
            var j = jobs[kb] = template.Clone();
            j.Pc = kb * kcMax;
            j.Kc = Math.Min(kcMax, k - j.Pc);
            j.Beta = kb == 0 ? beta : T.One;
            j.Post = kb == kBlocks - 1 ? epilogue : null;
            j.PackedB = packedB + (long)kb * kcMax * ncMax;
            if (wholeA != null) j.PackedA = wholeA + kb * aBlock;
        }
        int bItems = template.BItems;
        CortadoThreads.ParallelFor(kBlocks * bItems, i => jobs[i / bItems].PackItem(i % bItems));
        // A is packed by each item for itself unless it is read in place (all but a partial last panel), shifted, or
        // packed whole by the caller.
        bool ownA = wholeA == null && template.AShifts == null;
        CortadoThreads.ParallelFor(template.RowBlocks, item =>
        {
            int ip0 = item * template.RowsPer, ip1 = Math.Min(template.MPanels, ip0 + template.RowsPer);
            T* own = ownA ? (T*)GemmScratch.A.Get((nuint)((long)template.RowsPer * mr * kcMax * sizeof(T))) : null;
            for (int kb = 0; kb < kBlocks; kb++)
            {
                var j = jobs[kb];
                if (ownA)
                {
                    // This item's panels at their own offsets (ip·MR·kc) from a base that puts panel ip0 at `own`.
                    j = j.Clone();
                    j.PackedA = own - (nint)ip0 * mr * j.Kc;
                    j.PackRows(ip0, ip1);
                }
                j.ComputeItem(item);
            }
        });
    }

    // A product whose A is read in place at shifts, on several threads, split by columns: each thread takes a range of
    // whole column panels through every K block, packing its own B panels into its own buffer, with no barrier between
    // K blocks (the row-block loop of Run has two per K block and block of rows). Each thread reads all of A, which
    // only a shifted A (a convolution's input, read where it lies) makes cheap. Every tile sums the same K blocks in the
    // same order and finishes them the same way, so the bits are those of the block-by-block loop.
    private static void RunColumns(Job template, int m, int n, int k, int kBlocks, int kcMax, int msMax, T beta,
                                   GemmEpilogue<T>? epilogue, int threads)
    {
        int mr = TK.MR, nr = TK.NR;
        int nPanels = (n + nr - 1) / nr;
        CortadoThreads.ParallelFor(threads, item =>
        {
            // Contiguous ranges of panels, their sizes differing by one at most.
            int p0 = (int)((long)nPanels * item / threads), p1 = (int)((long)nPanels * (item + 1) / threads);
            var j = template.Clone();
            j.Jc = p0 * nr;
            j.Nc = Math.Min(n, p1 * nr) - j.Jc;
            j.NPanels = p1 - p0;
            j.PackedB = (T*)GemmScratch.B.Get((nuint)((long)kcMax * j.NPanels * nr * sizeof(T)));
            j.RowBlocks = j.ColBlocks = 1;
            j.ColsPer = j.NPanels;
            for (int kb = 0; kb < kBlocks; kb++)
            {
                j.Pc = kb * kcMax;
                j.Kc = Math.Min(kcMax, k - j.Pc);
                j.Beta = kb == 0 ? beta : T.One;
                j.Post = kb == kBlocks - 1 ? epilogue : null;
                for (int jp = 0; jp < j.NPanels; jp++) j.PackB(jp);
                for (int ic = 0; ic < m; ic += msMax)
                {
                    j.Ic = ic;
                    j.Ms = Math.Min(msMax, m - ic);
                    j.MPanels = (j.Ms + mr - 1) / mr;
                    j.RowsPer = j.MPanels;
                    j.ComputeItem(0);
                }
            }
        });
    }

    /// <summary>
    /// Elements <see cref="PackWholeA"/> writes for an m×k op(A), or 0 when A that size is not packed whole (more
    /// rows than one block).
    /// </summary>
    public static long WholeALength(int m, int k)
    {
        if (m <= 0 || k <= 0) return 0;
        var (kBlocks, kcMax, msMax) = Blocks(m, k);
        return m <= msMax ? (long)msMax * kcMax * kBlocks : 0;
    }

    // K blocks, their depth, and rows of A per block, for an m×k op(A): they depend on nothing else (the K blocks fix
    // every element's order of summation).
    private static (int KBlocks, int KcMax, int MsMax) Blocks(int m, int k)
    {
        int mr = TK.MR;
        int kBlocks = (k + GemmBlocking.KC - 1) / GemmBlocking.KC;
        return (kBlocks, (k + kBlocks - 1) / kBlocks, Math.Min(RoundUp(m, mr), RoundUp(Math.Max(GemmBlocking.MS, mr), mr)));
    }

    /// <summary>
    /// Packs all of op(A) (m×k) into <paramref name="dst"/> (<see cref="WholeALength"/> elements) as <see cref="Run"/>
    /// keeps it, every K block side by side, so that several products with this A (a convolution's weights over
    /// chunks of samples) pass it as packedWholeA and pack nothing. The panels are the ones Run packs itself.
    /// </summary>
    public static void PackWholeA(bool transA, int m, int k, T* a, nint lda, T* dst, bool allowParallel)
    {
        int mr = TK.MR;
        var (kBlocks, kcMax, msMax) = Blocks(m, k);
        int panels = (m + mr - 1) / mr;
        var job = new Job { TransA = transA, A = a, Lda = lda, Ic = 0, Ms = m, MPanels = panels };
        Action<int> pack = job.PackItem;
        int threads = allowParallel && (long)m * k >= 1 << 16 ? CortadoThreads.Count : 1;
        for (int kb = 0; kb < kBlocks; kb++)
        {
            job.Pc = kb * kcMax;
            job.Kc = Math.Min(kcMax, k - job.Pc);
            job.PackedA = dst + (long)kb * msMax * kcMax;
            For((panels + PanelsPerPackItem - 1) / PanelsPerPackItem, pack, threads);
        }
    }

    /// <summary>Largest packed A kept whole over the column blocks of one call.</summary>
    private const long KeepPackedABytes = 4L << 20;

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;

    private static void For(int count, Action<int> body, int threads)
    {
        if (threads > 1) CortadoThreads.ParallelFor(count, body);
        else for (int i = 0; i < count; i++) body(i);
    }

    /// <summary>C = beta·C; beta = 0 writes zeros without reading C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScaleC(int m, int n, T beta, T* c, nint ldc)
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] = beta * row[j];
        }
    }

    /// <summary>State of one GEMM call shared by its pack and compute work items.</summary>
    private sealed class Job
    {
        public bool TransA, TransB, TransC, InPlaceA;
        public T Alpha, Beta;
        public T* A, B, C, PackedA, PackedB;
        public nint* AShifts;
        public ShiftedRows ARows;
        public PanelSource<T>? BSource;
        public GemmEpilogue<T>? Post;
        public nint Lda, Ldb, Ldc;
        public int Jc, Nc, NPanels, Pc, Kc, Ic, Ms, MPanels;
        public int AItems, BItems;
        public int RowBlocks, ColBlocks, RowsPer, ColsPer;

        // Splits the Ms×Nc block into items. Any split gives the same bits; this one keeps an item's
        // A rows within L2 and, with several threads, makes a multiple of the thread count (at least two
        // per thread) so that the claiming evens out.
        public void PlanItems(int threads)
        {
            int mcPanels = Math.Max(1, GemmBlocking.MC / TK.MR);
            int rows = (MPanels + mcPanels - 1) / mcPanels;
            int cols = 1;
            if (threads > 1)
            {
                int best = -1;
                for (int c = 1; c <= NPanels && best < 0; c++)
                    if (rows * c >= 2 * threads && rows * c % threads == 0) best = c;
                if (best > 0) cols = best;
                else
                {
                    cols = NPanels;
                    if (rows * cols < 2 * threads) rows = Math.Min(MPanels, (2 * threads + cols - 1) / cols);
                }
            }
            RowsPer = (MPanels + rows - 1) / rows;
            ColsPer = (NPanels + cols - 1) / cols;
            RowBlocks = (MPanels + RowsPer - 1) / RowsPer;
            ColBlocks = (NPanels + ColsPer - 1) / ColsPer;
        }

        public Job Clone() => (Job)MemberwiseClone();

        // Packs the A panels [ip0, ip1) this block's compute reads from PackedA (with A read in place, only a partial last
        // panel).
        public void PackRows(int ip0, int ip1)
        {
            if (InPlaceA)
            {
                if (ip1 == MPanels && Ms % TK.MR != 0) PackA(MPanels - 1);
                return;
            }
            for (int ip = ip0; ip < ip1; ip++) PackA(ip);
        }

        public void PackItem(int item)
        {
            if (item < BItems)
            {
                int p0 = item * PanelsPerPackItem, p1 = Math.Min(NPanels, p0 + PanelsPerPackItem);
                PackBPanels(p0, p1);
            }
            else if (InPlaceA)
            {
                PackA(MPanels - 1); // the partial last panel, zero-padded
            }
            else
            {
                int p0 = (item - BItems) * PanelsPerPackItem, p1 = Math.Min(MPanels, p0 + PanelsPerPackItem);
                for (int ip = p0; ip < p1; ip++) PackA(ip);
            }
        }

        // Packed A panel ip: Kc steps of MR values (rows ip·MR … of this block), rows past the edge zero.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(int ip)
        {
            int mr = TK.MR, kc = Kc;
            int rows = Math.Min(mr, Ms - ip * mr);
            T* dst = PackedA + (nint)ip * mr * kc;
            int i0 = Ic + ip * mr;
            if (!TransA)
            {
                // op(A)[i, p] = A[i·lda + p]: rows are contiguous, so the panel is a transpose of them.
                PanelTranspose<T>.Run(A + i0 * Lda + Pc, Lda, rows, kc, dst, mr);
                for (int r = rows; r < mr; r++)
                    for (int p = 0; p < kc; p++) dst[p * mr + r] = T.Zero;
            }
            else
            {
                // op(A)[i, p] = A[p·lda + i]: each panel step is a contiguous run of the stored row p.
                for (int p = 0; p < kc; p++)
                    CopyRun(A + (Pc + p) * Lda + i0, dst + p * mr, rows, mr);
            }
        }

        // Packs B panels [jp0, jp1). A stored, untransposed B is read a row at a time across all of them (one run of
        // (jp1 − jp0)·NR values per row) rather than panel by panel, which read NR values of each of kc rows ldb apart
        // (rows 4 KiB apart share one L1 set). The same values go to the same places either way.
        public void PackBPanels(int jp0, int jp1)
        {
            if (BSource != null || TransB || jp1 - jp0 < 2 || !GemmBlocking.PackBRows)
            {
                for (int jp = jp0; jp < jp1; jp++) PackB(jp);
                return;
            }
            int nr = TK.NR, kc = Kc;
            nint panel = (nint)nr * kc;
            T* dst0 = PackedB + (nint)jp0 * panel;
            for (int p = 0; p < kc; p++)
            {
                T* src = B + (Pc + p) * Ldb + Jc + jp0 * nr;
                T* dst = dst0 + p * nr;
                for (int jp = jp0; jp < jp1; jp++, src += nr, dst += panel)
                    CopyRun(src, dst, Math.Min(nr, Nc - jp * nr), nr);
            }
        }

        // Packed B panel jp: Kc steps of NR values (columns jp·NR … of this block), columns past the edge zero.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackB(int jp)
        {
            int nr = TK.NR, kc = Kc;
            int cols = Math.Min(nr, Nc - jp * nr);
            T* dst = PackedB + (nint)jp * nr * kc;
            int j0 = Jc + jp * nr;
            if (BSource is { } source)
            {
                source.Pack(Pc, kc, j0, cols, dst, nr);
            }
            else if (!TransB)
            {
                // op(B)[p, j] = B[p·ldb + j]: a contiguous run per step.
                for (int p = 0; p < kc; p++)
                    CopyRun(B + (Pc + p) * Ldb + j0, dst + p * nr, cols, nr);
            }
            else
            {
                // op(B)[p, j] = B[j·ldb + p]: stored rows are contiguous, so the panel is a transpose of them.
                PanelTranspose<T>.Run(B + j0 * Ldb + Pc, Ldb, cols, kc, dst, nr);
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) dst[p * nr + j] = T.Zero;
            }
        }

        // dst[0..count) = src[0..count), then zeros up to `width`.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CopyRun(T* src, T* dst, int count, int width)
        {
            // Widest vectors first, then narrower ones for the rest (a 12-float A step is 8 + 4).
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + Vector512<T>.Count <= count; j += Vector512<T>.Count) Vector512.Load(src + j).Store(dst + j);
            if (Vector256.IsHardwareAccelerated)
                for (; j + Vector256<T>.Count <= count; j += Vector256<T>.Count) Vector256.Load(src + j).Store(dst + j);
            if (Vector128.IsHardwareAccelerated)
                for (; j + Vector128<T>.Count <= count; j += Vector128<T>.Count) Vector128.Load(src + j).Store(dst + j);
            for (; j < count; j++) dst[j] = src[j];
            for (; j < width; j++) dst[j] = T.Zero;
        }

        // c[j] = alpha·t[j] + beta·c[j] for j < cols (c not read when beta is 0), multiplied and added unfused as the
        // micro-kernels' own epilogue does: full vectors first, then one at a time.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void FinishRow(T* c, T* t, int cols, T alpha, T beta)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var va = Vector512.Create(alpha);
                var vb = Vector512.Create(beta);
                if (beta == T.Zero)
                    for (; j + Vector512<T>.Count <= cols; j += Vector512<T>.Count) (va * Vector512.Load(t + j)).Store(c + j);
                else
                    for (; j + Vector512<T>.Count <= cols; j += Vector512<T>.Count) (va * Vector512.Load(t + j) + vb * Vector512.Load(c + j)).Store(c + j);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var va = Vector256.Create(alpha);
                var vb = Vector256.Create(beta);
                if (beta == T.Zero)
                    for (; j + Vector256<T>.Count <= cols; j += Vector256<T>.Count) (va * Vector256.Load(t + j)).Store(c + j);
                else
                    for (; j + Vector256<T>.Count <= cols; j += Vector256<T>.Count) (va * Vector256.Load(t + j) + vb * Vector256.Load(c + j)).Store(c + j);
            }
            if (beta == T.Zero)
                for (; j < cols; j++) c[j] = alpha * t[j];
            else
                for (; j < cols; j++) c[j] = alpha * t[j] + beta * c[j];
        }

        // One micro-kernel call, with A read in place (row stride Lda) or from its packed panel.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Tile(bool inPlace, int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta)
        {
            if (AShifts != null) TK.RunShifted(kc, a, AShifts + Pc, b, c, ldc, alpha, beta);
            else if (inPlace) TK.RunRows(kc, a, Lda, b, c, ldc, alpha, beta);
            else TK.Run(kc, a, b, c, ldc, alpha, beta);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void ComputeItem(int item)
        {
            int mr = TK.MR, nr = TK.NR, kc = Kc;
            int rb = item / ColBlocks, cb = item % ColBlocks;
            int ip0 = rb * RowsPer, ip1 = Math.Min(MPanels, ip0 + RowsPer);
            int jp0 = cb * ColsPer, jp1 = Math.Min(NPanels, jp0 + ColsPer);
            T alpha = Alpha, beta = Beta;
            T* tile = stackalloc T[mr * nr];
            // Row panels outer, column panels inner: the A micro-panel (MR×KC, the broadcast side) stays in L1 while
            // the item's B micro-panels stream from L2. The other order kept a whole B micro-panel (KC×NR, 32 KiB for
            // float32 at 512 bits) in L1 beside the streaming A panel, which left L1 too full and ran about 12 % slower.
            for (int ip = ip0; ip < ip1; ip++)
            {
                int rows = Math.Min(mr, Ms - ip * mr);
                // A full row panel of a row-major A is read where it is stored; the partial one from its packed copy.
                // Shifted rows are all read in place.
                bool inPlace = InPlaceA && rows == mr;
                T* ap = AShifts != null ? A + ARows.Offset(Ic + ip * mr)
                    : inPlace ? A + (nint)(Ic + ip * mr) * Lda + Pc : PackedA + (nint)ip * mr * kc;
                for (int jp = jp0; jp < jp1; jp++)
                {
                    T* bp = PackedB + (nint)jp * nr * kc;
                    int cols = Math.Min(nr, Nc - jp * nr);
                    if (TransC)
                    {
                        // Cᵀ storage: finish every tile through the scratch tile, column by column of C.
                        T* ct = C + (Ic + ip * mr) + (nint)(Jc + jp * nr) * Ldc;
                        Tile(inPlace, kc, ap, bp, tile, nr, T.One, T.Zero);
                        for (int j = 0; j < cols; j++)
                        {
                            T* ccol = ct + j * Ldc;
                            if (beta == T.Zero)
                                for (int i = 0; i < rows; i++) ccol[i] = alpha * tile[i * nr + j];
                            else
                                for (int i = 0; i < rows; i++) ccol[i] = alpha * tile[i * nr + j] + beta * ccol[i];
                        }
                        continue;
                    }
                    T* cp = C + (Ic + ip * mr) * Ldc + Jc + jp * nr;
                    if (GemmBlocking.PrefetchC == 1 && Sse.IsSupported)
                        for (int i = 0; i < rows; i++)
                        {
                            Sse.Prefetch0(cp + i * Ldc);
                            Sse.Prefetch0((byte*)(cp + i * Ldc) + 64);
                        }
                    else if (GemmBlocking.PrefetchC == 2 && Sse.IsSupported)
                        for (int i = 0; i < rows; i++)
                        {
                            Sse.Prefetch1(cp + i * Ldc);
                            Sse.Prefetch1((byte*)(cp + i * Ldc) + 64);
                        }
                    if (rows == mr && cols == nr)
                    {
                        Tile(inPlace, kc, ap, bp, cp, Ldc, alpha, beta);
                    }
                    else
                    {
                        // Raw sums into the scratch tile (alpha 1 and beta 0 are exact), then the same epilogue.
                        Tile(inPlace, kc, ap, bp, tile, nr, T.One, T.Zero);
                        for (int i = 0; i < rows; i++) FinishRow(cp + i * Ldc, tile + i * nr, cols, alpha, beta);
                    }
                }
            }
            if (Post is { } post)
            {
                // The item's block of C is complete: finish it while it is still in cache.
                int r0 = Ic + ip0 * mr, r1 = Ic + Math.Min(Ms, ip1 * mr);
                int c0 = Jc + jp0 * nr, c1 = Jc + Math.Min(Nc, jp1 * nr);
                if (TransC) post.Apply(C + c0 * Ldc + r0, Ldc, c0, c1 - c0, r0, r1 - r0);
                else post.Apply(C + r0 * Ldc + c0, Ldc, r0, r1 - r0, c0, c1 - c0);
            }
        }
    }
}

/// <summary>Transposing copies for packing panels (shared by the GEMM driver and the convolutions' panel sources).</summary>
internal static unsafe class PanelTranspose<T> where T : unmanaged
{
    // dst[p·stride + r] = src[r·ld + p] for r < rows, p < kc: 4×4 register transposes where SSE/AVX have them.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(T* src, nint ld, int rows, int kc, T* dst, int stride)
    {
        int r = 0;
        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            for (; r + 4 <= rows; r += 4)
            {
                float* s0 = (float*)src + r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
                float* d = (float*)dst + r;
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                {
                    Vector128<float> r0 = Sse.LoadVector128(s0 + p), r1 = Sse.LoadVector128(s1 + p);
                    Vector128<float> r2 = Sse.LoadVector128(s2 + p), r3 = Sse.LoadVector128(s3 + p);
                    Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackLow(r2, r3);
                    Vector128<float> t2 = Sse.UnpackHigh(r0, r1), t3 = Sse.UnpackHigh(r2, r3);
                    float* dp = d + (nint)p * stride;
                    Sse.Store(dp, Sse.MoveLowToHigh(t0, t1));
                    Sse.Store(dp + stride, Sse.MoveHighToLow(t1, t0));
                    Sse.Store(dp + 2 * stride, Sse.MoveLowToHigh(t2, t3));
                    Sse.Store(dp + 3 * stride, Sse.MoveHighToLow(t3, t2));
                }
                for (; p < kc; p++)
                {
                    float* dp = d + (nint)p * stride;
                    dp[0] = s0[p];
                    dp[1] = s1[p];
                    dp[2] = s2[p];
                    dp[3] = s3[p];
                }
            }
        }
        else if (typeof(T) == typeof(double) && Avx.IsSupported)
        {
            for (; r + 4 <= rows; r += 4)
            {
                double* s0 = (double*)src + r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
                double* d = (double*)dst + r;
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                {
                    Vector256<double> r0 = Avx.LoadVector256(s0 + p), r1 = Avx.LoadVector256(s1 + p);
                    Vector256<double> r2 = Avx.LoadVector256(s2 + p), r3 = Avx.LoadVector256(s3 + p);
                    Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                    Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                    double* dp = d + (nint)p * stride;
                    Avx.Store(dp, Avx.Permute2x128(t0, t2, 0x20));
                    Avx.Store(dp + stride, Avx.Permute2x128(t1, t3, 0x20));
                    Avx.Store(dp + 2 * stride, Avx.Permute2x128(t0, t2, 0x31));
                    Avx.Store(dp + 3 * stride, Avx.Permute2x128(t1, t3, 0x31));
                }
                for (; p < kc; p++)
                {
                    double* dp = d + (nint)p * stride;
                    dp[0] = s0[p];
                    dp[1] = s1[p];
                    dp[2] = s2[p];
                    dp[3] = s3[p];
                }
            }
        }
        for (; r < rows; r++)
        {
            T* s = src + r * ld;
            T* d = dst + r;
            for (int p = 0; p < kc; p++) d[(nint)p * stride] = s[p];
        }
    }
}
