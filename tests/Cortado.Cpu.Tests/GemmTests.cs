// Tests of the CPU GEMM kernels against a float64 triple loop: shapes, transposes, strides, batches, alpha/beta, widths, threads.
using Cortado.Cpu.Gemm;
using Cortado.Threading;
using Xunit;
using Xunit.Sdk;

namespace Cortado.Cpu.Tests;

[Collection(GemmTestCollection.Name)]
public sealed class GemmTests
{
    /// <summary>One batched GEMM problem over flat storages, with padding in every leading dimension.</summary>
    private sealed record Problem(bool TA, bool TB, int M, int N, int K, int Lda, int Ldb, int Ldc,
                                  int StrideA, int StrideB, int StrideC, int Batch, double Alpha, double Beta)
    {
        public int RowsA => TA ? K : M;
        public int ColsA => TA ? M : K;
        public int RowsB => TB ? N : K;
        public int ColsB => TB ? K : N;

        public static Problem Make(bool ta, bool tb, int m, int n, int k, int pad = 0, int batch = 1,
                                   bool shareA = false, bool shareB = false, double alpha = 1, double beta = 0)
        {
            int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
            int sa = shareA ? 0 : (ta ? k : m) * lda + pad;
            int sb = shareB ? 0 : (tb ? n : k) * ldb + pad;
            int sc = m * ldc + pad;
            return new Problem(ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, batch, alpha, beta);
        }

        public int Len(int rows, int cols, int ld, int stride) =>
            rows == 0 || cols == 0 ? 1 : (Batch - 1) * stride + (rows - 1) * ld + cols;
    }

    private static double[] RandomArray(int length, int seed)
    {
        var r = new Random(seed);
        var d = new double[length];
        for (int i = 0; i < length; i++) d[i] = r.NextDouble() * 2 - 1;
        return d;
    }

    // C_b = alpha·op(A_b)·op(B_b) + beta·C_b in float64 from the inputs as given, plus the per-element
    // bound Σ|alpha·a·b| + |beta·c| that scales the rounding tolerance.
    private static (double[] c, double[] scale) Reference(Problem p, double[] a, double[] b, double[] c0)
    {
        var c = (double[])c0.Clone();
        var scale = new double[c.Length];
        for (int bt = 0; bt < p.Batch; bt++)
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++)
                {
                    double s = 0, abs = 0;
                    for (int q = 0; q < p.K; q++)
                    {
                        double av = a[bt * p.StrideA + (p.TA ? q * p.Lda + i : i * p.Lda + q)];
                        double bv = b[bt * p.StrideB + (p.TB ? j * p.Ldb + q : q * p.Ldb + j)];
                        s += av * bv;
                        abs += Math.Abs(av * bv);
                    }
                    int ci = bt * p.StrideC + i * p.Ldc + j;
                    double old = p.Beta == 0 ? 0 : p.Beta * c[ci];
                    c[ci] = p.Alpha * s + old;
                    scale[ci] = Math.Abs(p.Alpha) * abs + Math.Abs(old);
                }
        return (c, scale);
    }

    private static float[] Run32(Problem p, double[] a, double[] b, double[] c0)
    {
        var ta = Tensor.FromArray(a.Select(v => (float)v).ToArray());
        var tb = Tensor.FromArray(b.Select(v => (float)v).ToArray());
        var tc = Tensor.FromArray(c0.Select(v => (float)v).ToArray());
        CpuBackend.Instance.Gemm(p.TA, p.TB, p.M, p.N, p.K, p.Alpha, ta, p.Lda, p.StrideA, tb, p.Ldb, p.StrideB,
                                 p.Beta, tc, p.Ldc, p.StrideC, p.Batch);
        return tc.Data<float>();
    }

    private static double[] Run64(Problem p, double[] a, double[] b, double[] c0)
    {
        var tc = Tensor.FromArray((double[])c0.Clone());
        CpuBackend.Instance.Gemm(p.TA, p.TB, p.M, p.N, p.K, p.Alpha, Tensor.FromArray(a), p.Lda, p.StrideA,
                                 Tensor.FromArray(b), p.Ldb, p.StrideB, p.Beta, tc, p.Ldc, p.StrideC, p.Batch);
        return tc.Data<double>();
    }

    // Checks both dtypes against the float64 reference; elements outside the C matrices (padding) must stay untouched.
    private static void Check(Problem p, int seed = 1, Action<double[]>? prepareC = null)
    {
        var a = RandomArray(p.Len(p.RowsA, p.ColsA, p.Lda, p.StrideA), seed);
        var b = RandomArray(p.Len(p.RowsB, p.ColsB, p.Ldb, p.StrideB), seed + 1);
        var c0 = RandomArray(p.Len(p.M, p.N, p.Ldc, p.StrideC), seed + 2);
        prepareC?.Invoke(c0);
        // Inputs rounded to float32 first, so both dtypes are checked against the same exact sums.
        a = a.Select(v => (double)(float)v).ToArray();
        b = b.Select(v => (double)(float)v).ToArray();
        c0 = c0.Select(v => (double)(float)v).ToArray();
        var (expected, scale) = Reference(p, a, b, c0);
        var inC = new bool[c0.Length];
        for (int bt = 0; bt < p.Batch; bt++)
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++) inC[bt * p.StrideC + i * p.Ldc + j] = true;
        var got32 = Run32(p, a, b, c0);
        var got64 = Run64(p, a, b, c0);
        for (int idx = 0; idx < expected.Length; idx++)
        {
            double e = inC[idx] ? expected[idx] : c0[idx];
            double tol32 = inC[idx] ? 2e-6 * (p.K + 4) * scale[idx] + 1e-30 : 0;
            double tol64 = inC[idx] ? 1e-14 * (p.K + 4) * scale[idx] + 1e-300 : 0;
            Compare(p, idx, e, got32[idx], tol32, "float32");
            Compare(p, idx, e, got64[idx], tol64, "float64");
        }
    }

    private static void Compare(Problem p, int idx, double expected, double actual, double tol, string dtype)
    {
        if (double.IsNaN(expected) && double.IsNaN(actual)) return;
        if (!(Math.Abs(actual - expected) <= tol))
            throw new XunitException($"{dtype} {p} width {GemmKernels.ActiveWidth}: element {idx} is {actual:G9}, expected {expected:G9} (tolerance {tol:G3})");
    }

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 3, 3 }, { 17, 17, 17 }, { 1, 40, 9 }, { 33, 1, 5 }, { 13, 33, 1 },
        { 12, 32, 8 }, { 25, 65, 300 }, { 255, 31, 255 }, { 3, 255, 17 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllTransposes(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Check(Problem.Make(ta, tb, m, n, k), seed: m * 31 + n * 7 + k);
    }

    [Fact]
    public void LargeShapes()
    {
        Check(Problem.Make(false, false, 1023, 35, 257), seed: 5);
        Check(Problem.Make(true, true, 37, 1023, 255), seed: 6);
        Check(Problem.Make(false, true, 100, 90, 1023), seed: 7);
    }

    [Fact]
    public void PaddedLeadingDimensions()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Check(Problem.Make(ta, tb, 19, 45, 23, pad: 5, alpha: -0.75, beta: 0.5), seed: 11);
    }

    [Fact]
    public void AlphaBeta()
    {
        Check(Problem.Make(false, false, 14, 35, 29, alpha: 2.5, beta: -1.25), seed: 21);
        Check(Problem.Make(true, false, 14, 35, 600, alpha: -0.5, beta: 1), seed: 22);
        Check(Problem.Make(false, true, 30, 70, 40, alpha: 1, beta: 3), seed: 23);
    }

    [Fact]
    public void BetaZeroIgnoresNaNInC()
    {
        Check(Problem.Make(false, false, 26, 40, 300, pad: 2), seed: 31, prepareC: c => Array.Fill(c, double.NaN));
        Check(Problem.Make(true, true, 5, 7, 3), seed: 32, prepareC: c => Array.Fill(c, double.PositiveInfinity));
    }

    [Fact]
    public void AlphaZeroAndEmptyKScaleC()
    {
        // alpha = 0: A·B is not evaluated (NaN in A does not reach C); C = beta·C.
        var p = Problem.Make(false, false, 4, 5, 3, alpha: 0, beta: 2);
        var a = Enumerable.Repeat(double.NaN, 12).ToArray();
        var b = RandomArray(15, 1);
        var c = RandomArray(20, 2);
        var got = Run64(p, a, b, c);
        for (int i = 0; i < 20; i++) Assert.Equal(2 * c[i], got[i]);
        // k = 0 with beta = 0: C becomes zero even if it held NaN.
        var q = Problem.Make(false, false, 4, 5, 0, alpha: 1, beta: 0);
        var got32 = Run32(q, [0.0], [0.0], Enumerable.Repeat(double.NaN, 20).ToArray());
        Assert.All(got32, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BatchedWithSharedOperands()
    {
        Check(Problem.Make(false, false, 9, 20, 13, batch: 4), seed: 41);
        Check(Problem.Make(false, false, 9, 20, 13, batch: 3, shareB: true), seed: 42);          // stacks into one tall GEMM
        Check(Problem.Make(false, true, 9, 20, 13, pad: 3, batch: 3, shareB: true), seed: 43);   // padded: per-batch GEMMs
        Check(Problem.Make(true, false, 9, 20, 13, batch: 5, shareA: true, alpha: 0.5, beta: -1), seed: 44);
        Check(Problem.Make(true, true, 40, 50, 300, batch: 3, shareA: true), seed: 45);
    }

    [Fact]
    public void SharedOutputAccumulatesBatchesInOrder()
    {
        // strideC = 0: each batch updates the same C, so with beta = 1 the result is C0 + Σ_b A_b·B_b.
        int m = 6, n = 10, k = 7, batch = 3;
        var a = RandomArray(batch * m * k, 1);
        var b = RandomArray(batch * k * n, 2);
        var c = RandomArray(m * n, 3);
        var tc = Tensor.FromArray((double[])c.Clone(), m, n);
        CpuBackend.Instance.Gemm(false, false, m, n, k, 1, Tensor.FromArray(a), k, m * k, Tensor.FromArray(b), n, k * n, 1, tc, n, 0, batch);
        var got = tc.Data<double>();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double e = c[i * n + j];
                for (int bt = 0; bt < batch; bt++)
                    for (int q = 0; q < k; q++) e += a[bt * m * k + i * k + q] * b[bt * k * n + q * n + j];
                Assert.True(Math.Abs(e - got[i * n + j]) < 1e-12, $"element ({i},{j}): {got[i * n + j]} vs {e}");
            }
    }

    [Fact]
    public void TensorOffsetsAreHonoured()
    {
        int m = 5, n = 6, k = 4;
        var a = RandomArray(3 + m * k, 1);
        var b = RandomArray(7 + k * n, 2);
        var ta = new Tensor(new Storage<double>(a), [m, k], [k, 1], 3);
        var tb = new Tensor(new Storage<double>(b), [k, n], [n, 1], 7);
        var storageC = new double[2 + m * n];
        var tc = new Tensor(new Storage<double>(storageC), [m, n], [n, 1], 2);
        CpuBackend.Instance.Gemm(false, false, m, n, k, 1, ta, k, 0, tb, n, 0, 0, tc, n, 0, 1);
        Assert.Equal(0.0, storageC[0]);
        Assert.Equal(0.0, storageC[1]);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double e = 0;
                for (int q = 0; q < k; q++) e += a[3 + i * k + q] * b[7 + q * n + j];
                Assert.True(Math.Abs(e - storageC[2 + i * n + j]) < 1e-13);
            }
    }

    [Fact]
    public void RejectsOutOfRangeAndMixedOperands()
    {
        var a = Tensor.FromArray(new float[10]);
        var b = Tensor.FromArray(new float[12]);
        var c = Tensor.FromArray(new float[6]);
        Assert.Throws<ShapeMismatchException>(() =>
            CpuBackend.Instance.Gemm(false, false, 3, 2, 4, 1, a, 4, 0, b, 2, 0, 0, c, 2, 0, 1)); // A needs 12 elements
        Assert.Throws<ArgumentException>(() =>
            CpuBackend.Instance.Gemm(false, false, 2, 2, 4, 1, a, 3, 0, b, 2, 0, 0, c, 2, 0, 1)); // lda < k
        Assert.Throws<DTypeMismatchException>(() =>
            CpuBackend.Instance.Gemm(false, false, 1, 1, 1, 1, a, 1, 0, Tensor.FromArray(new double[1]), 1, 0, 0, c, 1, 0, 1));
        Assert.Throws<MissingKernelException>(() =>
            CpuBackend.Instance.Gemm(false, false, 1, 1, 1, 1, Tensor.FromArray(new int[1]), 1, 0, Tensor.FromArray(new int[1]), 1, 0, 0, Tensor.FromArray(new int[1]), 1, 0, 1));
    }

    public static TheoryData<int> Widths => new() { 512, 256, 128, 0 };

    [Theory]
    [MemberData(nameof(Widths))]
    public void EachVectorWidth(int width)
    {
        if (!GemmKernels.IsWidthSupported(width)) return; // this machine lacks the instructions; nothing to run
        var saved = GemmKernels.ForceWidth;
        try
        {
            GemmKernels.ForceWidth = width;
            Assert.Equal(width, GemmKernels.ActiveWidth);
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    Check(Problem.Make(ta, tb, 29, 67, 270, pad: 1, alpha: 1.5, beta: -0.5), seed: width + 1);
                    Check(Problem.Make(ta, tb, 1, 3, 17), seed: width + 2);
                }
            Check(Problem.Make(false, false, 7, 9, 5, batch: 3, shareB: true), seed: width + 3);
            Check(Problem.Make(false, false, 26, 40, 30), seed: width + 4, prepareC: c => Array.Fill(c, double.NaN));
        }
        finally
        {
            GemmKernels.ForceWidth = saved;
        }
    }

    public static TheoryData<bool> Float32Tiles => new() { false, true };

    [Theory]
    [MemberData(nameof(Float32Tiles))]
    public void EachFloat32TileMatchesTheReference(bool wide)
    {
        // The 512-bit float32 kernel has two tiles (12×32 and 8×48), chosen per shape; each one forced must match the
        // float64 reference on every transpose, odd and tile-sized shapes, padded strides, alpha and beta, and NaN in C.
        if (!GemmKernels.IsWidthSupported(512)) return; // this machine lacks AVX-512; nothing to run
        var savedWidth = GemmKernels.ForceWidth;
        try
        {
            GemmKernels.ForceWidth = 512;
            GemmKernels.ForceWideTile = wide;
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (var (m, n, k) in new[] { (1, 1, 1), (3, 17, 255), (17, 255, 3), (8, 48, 9), (255, 97, 300), (16, 1023, 17) })
                        Check(Problem.Make(ta, tb, m, n, k, pad: 3, alpha: 1.5, beta: -0.5), seed: m + n + k + (wide ? 1 : 0));
            Check(Problem.Make(false, false, 26, 50, 30), seed: 5, prepareC: c => Array.Fill(c, double.NaN));
        }
        finally
        {
            GemmKernels.ForceWidth = savedWidth;
            GemmKernels.ForceWideTile = null;
        }
    }

    [Fact]
    public void ColumnBlocksGiveTheSameBits()
    {
        // B's block takes NC×KC values whatever K is, so shallow products run in fewer, wider column blocks than deep
        // ones. Blocks of 32 columns against the default: shallow and deep K, transposes, alpha and beta, 1 and 2
        // threads, the same bits.
        int savedThreads = CortadoThreads.Count, savedNc = GemmBlocking.NC;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                CortadoThreads.Count = threads;
                foreach (var (m, n, k) in new[] { (30, 3000, 16), (64, 3136, 70), (13, 2500, 300) })
                    foreach (bool ta in new[] { false, true })
                        foreach (bool tb in new[] { false, true })
                        {
                            var p = Problem.Make(ta, tb, m, n, k, alpha: 0.7, beta: 1.3);
                            var a = RandomArray(p.Len(p.RowsA, p.ColsA, p.Lda, p.StrideA), m);
                            var b = RandomArray(p.Len(p.RowsB, p.ColsB, p.Ldb, p.StrideB), n);
                            var c = RandomArray(p.Len(p.M, p.N, p.Ldc, p.StrideC), k);
                            GemmBlocking.NC = savedNc;
                            var wide = Run32(p, a, b, c).Select(v => (double)v).ToArray();
                            var wide64 = Run64(p, a, b, c);
                            GemmBlocking.NC = 32;
                            var narrow = Run32(p, a, b, c).Select(v => (double)v).ToArray();
                            BitEqual($"{p} threads {threads}: float32 blocks of 32 columns against the default", wide, narrow);
                            BitEqual($"{p} threads {threads}: float64 blocks of 32 columns against the default", wide64, Run64(p, a, b, c));
                        }
            }
        }
        finally
        {
            GemmBlocking.NC = savedNc;
            CortadoThreads.Count = savedThreads;
        }
    }

    [Fact]
    public void TheTwoFloat32TilesGiveTheSameBits()
    {
        // Every element is one chain of FMAs in K order in either tile, so switching tiles per shape changes no bit:
        // partial row and column panels of both, K in one and several blocks, A read in place, the swapped narrow
        // product, transposes, alpha and beta, 1 and 2 threads.
        if (!GemmKernels.IsWidthSupported(512)) return; // this machine lacks AVX-512; nothing to run
        var savedWidth = GemmKernels.ForceWidth;
        int savedThreads = CortadoThreads.Count;
        try
        {
            GemmKernels.ForceWidth = 512;
            foreach (int threads in new[] { 1, 2 })
            {
                CortadoThreads.Count = threads;
                foreach (var (m, n, k) in new[] { (64, 3136, 70), (30, 50, 600), (100, 3, 40), (13, 96, 257), (200, 700, 300), (1, 90, 33) })
                    foreach (bool ta in new[] { false, true })
                        foreach (bool tb in new[] { false, true })
                        {
                            var p = Problem.Make(ta, tb, m, n, k, pad: 1, alpha: 0.7, beta: 1.3);
                            var a = RandomArray(p.Len(p.RowsA, p.ColsA, p.Lda, p.StrideA), m);
                            var b = RandomArray(p.Len(p.RowsB, p.ColsB, p.Ldb, p.StrideB), n);
                            var c = RandomArray(p.Len(p.M, p.N, p.Ldc, p.StrideC), k);
                            GemmKernels.ForceWideTile = false;
                            var narrow = Run32(p, a, b, c).Select(v => (double)v).ToArray();
                            GemmKernels.ForceWideTile = true;
                            var wide = Run32(p, a, b, c).Select(v => (double)v).ToArray();
                            BitEqual($"{p} threads {threads}: 8×48 tile against 12×32", narrow, wide);
                        }
            }
        }
        finally
        {
            GemmKernels.ForceWidth = savedWidth;
            GemmKernels.ForceWideTile = null;
            CortadoThreads.Count = savedThreads;
        }
    }

    [Fact]
    public void StagedTransposedProductsGiveTheSameBits()
    {
        // A narrow product runs as Cᵀ; summing Cᵀ in a row-major buffer and transposing it into C once must give the
        // bits of finishing each tile in C: every width, both thread counts and dtypes, transposes, K in one and in
        // several blocks, beta 0 (C holds NaN, never read) and beta ≠ 0.
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (var (m, n, k) in new[] { (100, 3, 40), (70, 5, 600), (300, 1, 17) })
                        foreach (bool ta in new[] { false, true })
                            foreach (bool tb in new[] { false, true })
                                foreach (double beta in new[] { 0.0, 1.3 })
                                {
                                    var a = Tensor.FromArray(RandomArray(m * k, m + k)).Cast(dt);
                                    var b = Tensor.FromArray(RandomArray(k * n, n + k)).Cast(dt);
                                    var c0 = Tensor.FromArray(beta == 0 ? Enumerable.Repeat(double.NaN, m * n).ToArray() : RandomArray(m * n, 9)).Cast(dt);
                                    double[] Run(bool staged)
                                    {
                                        GemmBlocking.StageTransposedC = staged;
                                        var c = c0.Clone();
                                        CpuBackend.Instance.Gemm(ta, tb, m, n, k, 0.7, a, ta ? m : k, 0, b, tb ? k : n, 0, beta, c, n, 0, 1);
                                        return c.Cast(DType.Float64).ToArray<double>();
                                    }
                                    BitEqual($"width {width}, {threads} threads, {dt.Name()}, m={m} n={n} k={k} transA {ta} transB {tb} beta {beta}: staged Cᵀ against in place",
                                             Run(false), Run(true));
                                }
            });
        }
        finally
        {
            GemmBlocking.StageTransposedC = true;
        }
    }

    [Fact]
    public void ScalarWidthIsAlwaysAvailable() => Assert.True(GemmKernels.IsWidthSupported(0));

    [Fact]
    public void EdgeTilesRoundLikeFullTiles()
    {
        // Rows 0..4 of a 30-row product lie in full register tiles; computed alone they form an edge tile.
        // The two epilogues must agree bit for bit (no fused multiply-add in one but not the other).
        int n = 70, k = 300;
        var a = RandomArray(30 * k, 1).Select(v => (float)v).ToArray();
        var b = RandomArray(k * n, 2).Select(v => (float)v).ToArray();
        var c0 = RandomArray(30 * n, 3).Select(v => (float)v).ToArray();
        var full = Tensor.FromArray((float[])c0.Clone());
        var part = Tensor.FromArray(c0.Take(5 * n).ToArray());
        CpuBackend.Instance.Gemm(false, false, 30, n, k, 0.7, Tensor.FromArray(a), k, 0, Tensor.FromArray(b), n, 0, 1.3, full, n, 0, 1);
        CpuBackend.Instance.Gemm(false, false, 5, n, k, 0.7, Tensor.FromArray(a), k, 0, Tensor.FromArray(b), n, 0, 1.3, part, n, 0, 1);
        var f = full.Data<float>();
        var pp = part.Data<float>();
        for (int i = 0; i < 5 * n; i++)
            Assert.True(BitConverter.SingleToInt32Bits(f[i]) == BitConverter.SingleToInt32Bits(pp[i]), $"element {i}: {f[i]:R} vs {pp[i]:R}");
    }

    // Runs body under every supported forced GEMM width on 1 and 2 threads.
    private static void EveryWidthAndThreadCount(Action<int, int> body)
    {
        var savedWidth = GemmKernels.ForceWidth;
        int savedThreads = CortadoThreads.Count;
        try
        {
            foreach (int width in new[] { 512, 256, 128, 0 })
            {
                if (!GemmKernels.IsWidthSupported(width)) continue;
                GemmKernels.ForceWidth = width;
                foreach (int threads in new[] { 1, 2 })
                {
                    CortadoThreads.Count = threads;
                    body(width, threads);
                }
            }
        }
        finally
        {
            GemmKernels.ForceWidth = savedWidth;
            CortadoThreads.Count = savedThreads;
        }
    }

    private static void BitEqual(string what, double[] expected, double[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
                throw new XunitException($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
    }

    // C = 0.7·op(A)·op(B) + 1.3·C on random m×k, k×n and m×n operands with a switch off and then on: the same bits.
    private static void SameBitsEitherWay(DType dt, int m, int n, int k, bool ta, bool tb, Action<bool> set, string what)
    {
        var a = Tensor.FromArray(RandomArray(m * k, m + n)).Cast(dt);
        var b = Tensor.FromArray(RandomArray(k * n, k)).Cast(dt);
        var c0 = Tensor.FromArray(RandomArray(m * n, 5)).Cast(dt);
        double[] Run(bool on)
        {
            set(on);
            var c = c0.Clone();
            CpuBackend.Instance.Gemm(ta, tb, m, n, k, 0.7, a, ta ? m : k, 0, b, tb ? k : n, 0, 1.3, c, n, 0, 1);
            return c.Cast(DType.Float64).ToArray<double>();
        }
        BitEqual($"{dt.Name()}, m={m} n={n} k={k} transA {ta} transB {tb}, {what}", Run(false), Run(true));
    }

    [Fact]
    public void DeepProductsGiveTheBitsOfTheBlockLoop()
    {
        // Products with at least three K blocks and one block of rows and columns run on several threads in two phases
        // (all of B packed, then row ranges through every K block), A packed by each item or read in place; every
        // element must match the K-block-by-K-block loop bit for bit.
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (var (m, n, k) in new[] { (517, 49, 4608), (100, 70, 800), (13, 200, 1500), (64, 17, 3000), (300, 33, 769) })
                        foreach (bool ta in new[] { false, true })
                            foreach (bool tb in new[] { false, true })
                                SameBitsEitherWay(dt, m, n, k, ta, tb, deep => GemmBlocking.DeepProducts = deep,
                                                  $"width {width}, {threads} threads, deep against block loop");
            });
        }
        finally
        {
            GemmBlocking.DeepProducts = true;
        }
    }

    [Fact]
    public void ReadingAInPlaceGivesTheBitsOfAPackedA()
    {
        // A row-major A is read where it is stored when C has few column panels; only its partial last row panel is
        // packed. Every element must match the all-packed path bit for bit: every width, dtype, both thread counts,
        // partial row and column panels, K in one and in two blocks, alpha and beta, B either way round.
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (var (m, n, k) in new[] { (13, 5, 7), (30, 33, 300), (25, 64, 270), (48, 16, 520), (12, 1, 3) })
                        foreach (bool tb in new[] { false, true })
                            SameBitsEitherWay(dt, m, n, k, false, tb, inPlace => GemmBlocking.ReadAInPlace = inPlace,
                                              $"width {width}, {threads} threads, A in place against packed");
            });
        }
        finally
        {
            GemmBlocking.ReadAInPlace = true;
        }
    }

    [Fact]
    public void BPackedRowByRowGivesTheBitsOfPanelByPanel()
    {
        // An untransposed B is packed a stored row at a time across several column panels; every element must match
        // packing panel by panel: partial last panels, K in several blocks, several column blocks (n > NC), every width,
        // dtype and both thread counts.
        try
        {
            EveryWidthAndThreadCount((width, threads) =>
            {
                foreach (var dt in new[] { DType.Float32, DType.Float64 })
                    foreach (var (m, n, k) in new[] { (40, 100, 70), (30, 300, 600), (8, 1100, 300), (20, 1100, 50), (13, 65, 9) })
                        SameBitsEitherWay(dt, m, n, k, false, false, rows => GemmBlocking.PackBRows = rows,
                                          $"width {width}, {threads} threads, B packed by rows against by panels");
            });
        }
        finally
        {
            GemmBlocking.PackBRows = true;
        }
    }

    [Fact]
    public void OneRowRoundsLikeARowOfATallProduct()
    {
        // A single row of C skips the panels (RowGemv) but must give the bits of the same row inside a product of many
        // rows, which runs the packed micro-kernels: every width, both dtypes, transposes, K in several blocks, vector
        // tails in N, alpha and beta, and 1 and 2 threads (n·k large enough to split).
        EveryWidthAndThreadCount((width, threads) =>
        {
            foreach (var (n, k) in new[] { (37, 600), (4000, 700), (5, 3) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        foreach (double beta in new[] { 0.0, 1.0, -0.5 })
                        {
                            int m = 30;
                            var tall = Problem.Make(ta, tb, m, n, k, alpha: 0.7, beta: beta);
                            var a = RandomArray(m * k, n + k);
                            var b = RandomArray(k * n, n);
                            var c = RandomArray(m * n, 3);
                            // Row 0 of op(A) alone: for transposed A, column 0 of the stored K×M matrix.
                            var a1 = ta ? Enumerable.Range(0, k).Select(p => a[p * m]).ToArray() : a.Take(k).ToArray();
                            var one = Problem.Make(ta, tb, 1, n, k, alpha: 0.7, beta: beta);
                            var c1 = c.Take(n).ToArray();
                            string what = $"width {width} threads {threads} n={n} k={k} transA {ta} transB {tb} beta {beta}: one row against the tall product's";
                            BitEqual("float32 " + what, Run32(tall, a, b, c).Take(n).Select(v => (double)v).ToArray(), Run32(one, a1, b, c1).Select(v => (double)v).ToArray());
                            BitEqual("float64 " + what, Run64(tall, a, b, c).Take(n).ToArray(), Run64(one, a1, b, c1));
                        }
            // A transposed A with a padded leading dimension: its row is gathered first.
            foreach (bool tb in new[] { false, true })
                Check(Problem.Make(true, tb, 1, 40, 300, pad: 2, alpha: 1.5, beta: 0.5), seed: width + 7);
        });
    }

    [Fact]
    public void NarrowProductsRoundLikeWideOnes()
    {
        // A product with few columns is computed as Cᵀ = Bᵀ·Aᵀ; each of its columns must match bit for bit
        // the same column of a wide product, which is computed directly.
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                int m = 100, k = 300, wide = 64;
                var a = RandomArray(m * k, 1);
                var b = RandomArray(k * wide, 2);
                var c = RandomArray(m * wide, 3);
                foreach (int narrow in new[] { 1, 3 })
                {
                    // B restricted to its first `narrow` columns, stored in the chosen layout.
                    var wideP = Problem.Make(ta, tb, m, wide, k, alpha: 0.8, beta: 1.7);
                    var narrowP = Problem.Make(ta, tb, m, narrow, k, alpha: 0.8, beta: 1.7);
                    var bw = new double[k * wide];
                    var bn = new double[k * narrow];
                    var cn = new double[m * narrow];
                    for (int p = 0; p < k; p++)
                        for (int j = 0; j < wide; j++)
                        {
                            double v = b[p * wide + j];
                            bw[tb ? j * k + p : p * wide + j] = v;
                            if (j < narrow) bn[tb ? j * k + p : p * narrow + j] = v;
                        }
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < narrow; j++) cn[i * narrow + j] = c[i * wide + j];
                    var gw = Run32(wideP, a, bw, c);
                    var gn = Run32(narrowP, a, bn, cn);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < narrow; j++)
                            Assert.True(BitConverter.SingleToInt32Bits(gw[i * wide + j]) == BitConverter.SingleToInt32Bits(gn[i * narrow + j]),
                                $"transA {ta} transB {tb} n={narrow}: element ({i},{j}) {gn[i * narrow + j]:R} vs {gw[i * wide + j]:R}");
                }
            }
    }

    [Fact]
    public void BitIdenticalAcrossThreadCounts()
    {
        var cases = new[]
        {
            Problem.Make(false, false, 300, 200, 520, alpha: 0.9, beta: 0.4),
            Problem.Make(true, true, 130, 260, 300),
            Problem.Make(false, false, 16, 24, 40, batch: 12),                  // small: split over the batch
            Problem.Make(false, false, 40, 300, 260, batch: 4, shareB: true),   // stacked into one GEMM
        };
        int saved = CortadoThreads.Count;
        try
        {
            foreach (var p in cases)
            {
                var a = RandomArray(p.Len(p.RowsA, p.ColsA, p.Lda, p.StrideA), 1);
                var b = RandomArray(p.Len(p.RowsB, p.ColsB, p.Ldb, p.StrideB), 2);
                var c = RandomArray(p.Len(p.M, p.N, p.Ldc, p.StrideC), 3);
                CortadoThreads.Count = 1;
                var one32 = Run32(p, a, b, c);
                var one64 = Run64(p, a, b, c);
                foreach (int threads in new[] { 2, 3 })
                {
                    CortadoThreads.Count = threads;
                    var many32 = Run32(p, a, b, c);
                    var many64 = Run64(p, a, b, c);
                    for (int i = 0; i < one32.Length; i++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(one32[i]) == BitConverter.SingleToInt32Bits(many32[i]), $"{p} float32 element {i} differs with {threads} threads");
                        Assert.True(BitConverter.DoubleToInt64Bits(one64[i]) == BitConverter.DoubleToInt64Bits(many64[i]), $"{p} float64 element {i} differs with {threads} threads");
                    }
                }
            }
        }
        finally
        {
            CortadoThreads.Count = saved;
        }
    }
}
