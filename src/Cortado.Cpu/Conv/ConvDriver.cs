// Convolution through im2col + GEMM: forward, gradient with respect to the input, and to the weight.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Backends;
using Cortado.Cpu.Gemm;
using Cortado.Threading;

namespace Cortado.Cpu.Conv;

/// <summary>How a convolution forward pass forms its GEMM's column matrix.</summary>
internal enum ConvAlgorithm
{
    /// <summary>Chosen per shape by timing both at first use.</summary>
    Auto,

    /// <summary>im2col into a stored column matrix, then GEMM.</summary>
    Im2Col,

    /// <summary>GEMM whose column panels are packed straight from the input (<see cref="Im2ColPanels{T}"/>).</summary>
    Implicit,

    /// <summary>
    /// GEMM over output pixels × output channels whose rows are read in place from a padded copy of the input, each
    /// tap a constant shift (<see cref="ShiftedLayout"/>): nothing is unfolded or packed but the weights.
    /// </summary>
    Shifted,
}

/// <summary>
/// NCHW convolution kernels on raw pointers (x [N,C,H,W], w [OC, C/G, KH, KW], y [N, OC, OH, OW]).
/// Per chunk of samples and group: forward y_g = W_g·cols(x_g) (+ bias), backward input
/// cols = W_gᵀ·dy_g then col2im, backward weight dW_g = Σ dy_g·cols(x_g)ᵀ with chunks added in order.
/// A chunk is one sample when the output has enough pixels to make a wide GEMM; otherwise several
/// samples sit side by side in one column matrix (its size depends only on the shapes). A 1×1,
/// stride-1, unpadded convolution of a single sample uses x itself as the column matrix; depthwise
/// convolutions (one input channel per group) go to <see cref="DepthwiseConv{T}"/>. Work is split
/// over chunks (each written by one thread) or inside each GEMM; both give the same bits, as every
/// element's sum runs in the same order whatever the split. The forward pass stores the column matrix (im2col), has
/// the GEMM pack its panels straight from x (implicit GEMM, no column matrix), or turns the product around with
/// output pixels as rows read in place from a padded copy of x (<see cref="ShiftedConv{T}"/>); every output is the
/// same sum in the same order in all three, so are the bits, and the fastest is chosen per shape at first use.
/// </summary>
internal static unsafe class ConvDriver<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The forward algorithm for every shape, for tests and benchmarks; <see cref="ConvAlgorithm.Auto"/> (the
    /// default) chooses per shape (<see cref="ChooseForward"/>).
    /// </summary>
    internal static ConvAlgorithm ForwardAlgorithm = ConvAlgorithm.Auto;

    // CORTADO_CONV_TRACE=1 prints each timed choice to stderr.
    private static readonly bool s_trace = Environment.GetEnvironmentVariable("CORTADO_CONV_TRACE") == "1";

    // The algorithm chosen for each shape and thread count, tried at first use.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Conv2dGeometry, int), ConvAlgorithm> s_chosen = new();

    /// <summary>Multiply-adds below which a shape is not timed: it takes the implicit GEMM, which stores no columns.</summary>
    internal const long TuneMinMacs = 1L << 22;

    /// <summary>Timed runs of each algorithm when a shape is first seen (alternating; the faster minimum wins).</summary>
    internal const int TuneTrials = 3;

    /// <summary>The algorithm a forward pass of <paramref name="g"/> uses now (Auto when it is not chosen yet).</summary>
    internal static ConvAlgorithm Chosen(in Conv2dGeometry g) =>
        ForwardAlgorithm != ConvAlgorithm.Auto ? ForwardAlgorithm
        : s_chosen.TryGetValue((g, CortadoThreads.Count), out var a) ? a : ConvAlgorithm.Auto;

    // The three forms sum every output in the same order, so they give the same bits: the choice is speed only, and
    // timing it on the caller's own tensors changes nothing but y, which every run overwrites.
    private static ConvAlgorithm ChooseForward(T* x, T* w, T* bias, T* y, in Conv2dGeometry g, Activation act, T* residual)
    {
        if (ForwardAlgorithm != ConvAlgorithm.Auto) return ForwardAlgorithm;
        var key = (g, CortadoThreads.Count);
        if (s_chosen.TryGetValue(key, out var known)) return known;
        ConvAlgorithm choice = ConvAlgorithm.Implicit;
        if ((long)g.N * g.OutC * g.OutH * g.OutW * (g.C / g.Groups) * g.KH * g.KW >= TuneMinMacs)
        {
            ReadOnlySpan<ConvAlgorithm> candidates = [ConvAlgorithm.Im2Col, ConvAlgorithm.Implicit, ConvAlgorithm.Shifted];
            Span<long> best = [long.MaxValue, long.MaxValue, long.MaxValue];
            for (int t = 0; t < TuneTrials; t++)
                for (int i = 0; i < candidates.Length; i++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    ForwardWith(candidates[i], x, w, bias, y, g, act, residual);
                    best[i] = Math.Min(best[i], System.Diagnostics.Stopwatch.GetTimestamp() - t0);
                }
            // The implicit GEMM unless another form was strictly faster.
            int pick = 1;
            for (int i = 0; i < candidates.Length; i++)
                if (best[i] < best[pick]) pick = i;
            choice = candidates[pick];
            if (s_trace)
            {
                static string Ms(long ticks) => (ticks * 1e3 / System.Diagnostics.Stopwatch.Frequency).ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
                Console.Error.WriteLine($"conv choice {g.N}x{g.C}x{g.H}x{g.W} -> {g.OutC}, {g.KH}x{g.KW} stride {g.StrideH}, groups {g.Groups}, " +
                                        $"{CortadoThreads.Count} threads: im2col {Ms(best[0])} ms, implicit {Ms(best[1])} ms, shifted {Ms(best[2])} ms: {choice}");
            }
        }
        s_chosen[key] = choice;
        return choice;
    }

    /// <summary>
    /// Whether the weights are packed once per call when a pass runs several chunks of samples (each chunk's GEMM then
    /// packs no A) rather than again in every chunk. The bits are the same either way; tests and benchmarks switch it.
    /// </summary>
    internal static bool PackWeightsOnce = true;

    // The weights (one group's) as every chunk's GEMM takes them, packed once; none when there is one chunk or several
    // groups, or the products would not pack them whole.
    private static WholeA PackWeights(bool transA, int m, int n, int k, T* w, nint ldw, int chunks, int groups, bool panels) =>
        PackWeightsOnce && chunks > 1 && groups == 1
            ? GemmKernels.PackWholeA(transA, m, n, k, w, ldw, GemmScratch.WholeA, panels)
            : default;

    /// <summary>
    /// Largest column matrix (bytes) one sample's explicit im2col builds at once; wider outputs are unfolded and multiplied
    /// a slice of output rows at a time (ResNet's 7×7 stem would otherwise hold 7.4 MB of columns per thread). The bits
    /// are the same either way (each output's sum runs over K alone); tests switch it.
    /// </summary>
    internal static long ColumnSliceBytes = 1L << 20;

    /// <summary>Fewest columns (output pixels) a slice keeps, so each slice's GEMM stays wide.</summary>
    private const int MinSliceColumns = 1024;

    // Output rows per slice of one sample's columns: all of them when they fit ColumnSliceBytes, else equal slices of at
    // least MinSliceColumns columns that do.
    internal static int SliceRows(int rowsK, int outH, int outW, int elementSize)
    {
        long rowBytes = (long)rowsK * outW * elementSize;
        if (rowBytes * outH <= ColumnSliceBytes) return outH;
        int rows = (int)Math.Max(ColumnSliceBytes / rowBytes, (MinSliceColumns + outW - 1) / outW);
        if (rows >= outH) return outH;
        int slices = (outH + rows - 1) / rows;
        return (outH + slices - 1) / slices;
    }

    /// <summary>GEMM width (output pixels) a chunk of samples aims for.</summary>
    private const int TargetColumns = 256;

    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;

    // Samples per chunk: one when a sample's output is wide enough, else enough to reach TargetColumns,
    // evened out over the batch. Depends on the shapes only, never on the thread count.
    private static int SamplesPerChunk(in Conv2dGeometry g) => SamplesPerChunk(g.N, g.OutH * g.OutW, TargetColumns);

    /// <summary>
    /// Samples per chunk of a batch of <paramref name="n"/>: one when a sample's GEMM extent (<paramref name="perSample"/>)
    /// reaches <paramref name="target"/>, else enough samples to reach it, evened out over the batch.
    /// </summary>
    internal static int SamplesPerChunk(int n, int perSample, int target)
    {
        if (perSample >= target || n <= 1) return 1;
        int s = Math.Min(n, (target + perSample - 1) / perSample);
        int chunks = (n + s - 1) / s;
        return (n + chunks - 1) / chunks;
    }

    // Whole chunks per thread when there are enough of them to share evenly, or when each is too small
    // for a split inside its GEMMs to pay off.
    internal static bool SplitOverChunks(int chunks, long macsPerChunk)
    {
        int threads = CortadoThreads.Count;
        if (threads <= 1 || chunks <= 1) return false;
        if (chunks % threads == 0 || chunks >= 4 * threads) return true;
        return macsPerChunk < 4 * GemmBlocking.ParallelThreshold;
    }

    // Runs body over [0, count) in ranges, in parallel when asked and worth it.
    internal static void ForRanges(int count, long elements, bool parallel, Action<int, int> body)
    {
        int threads = CortadoThreads.Count;
        if (!parallel || threads <= 1 || count < 2 || elements < (1 << 16))
        {
            body(0, count);
            return;
        }
        int chunks = Math.Min(count, 4 * threads);
        int per = (count + chunks - 1) / chunks;
        chunks = (count + per - 1) / per;
        CortadoThreads.ParallelFor(chunks, i => body(i * per, Math.Min(count, (i + 1) * per)));
    }

    // Copies rows of `rows` values between a [samples][rows·len] layout (sample stride `sampleStride`)
    // and a [rows][samples·len] matrix (row stride `ld`).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(T* src, nint sampleStride, int samples, int rows, int len, T* dst, nint ld)
    {
        for (int j = 0; j < samples; j++)
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<T>(src + j * sampleStride + (nint)r * len, len).CopyTo(new Span<T>(dst + r * ld + (nint)j * len, len));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(T* src, nint ld, int samples, int rows, int len, T* dst, nint sampleStride)
    {
        for (int j = 0; j < samples; j++)
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<T>(src + r * ld + (nint)j * len, len).CopyTo(new Span<T>(dst + j * sampleStride + (nint)r * len, len));
    }

    /// <summary>
    /// y = act(conv2d(x, w) + bias + residual) (bias and residual may be null; residual has y's shape and must not
    /// overlap it); every element of y is written, none read.
    /// </summary>
    public static void Forward(T* x, T* w, T* bias, T* y, Conv2dGeometry g, Activation act = default, T* residual = null)
    {
        if (DepthwiseConv<T>.Applies(g))
        {
            DepthwiseConv<T>.Forward(x, w, bias, y, g, act, residual);
            return;
        }
        ForwardWith(ChooseForward(x, w, bias, y, g, act, residual), x, w, bias, y, g, act, residual);
    }

    private static void ForwardWith(ConvAlgorithm algorithm, T* x, T* w, T* bias, T* y, Conv2dGeometry g, Activation act, T* residual)
    {
        if (algorithm == ConvAlgorithm.Shifted)
        {
            ShiftedConv<T>.Forward(x, w, bias, y, g, act, residual);
            return;
        }
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups;
        int rowsK = cg * g.KH * g.KW;
        int ohw = g.OutH * g.OutW, hw = g.H * g.W;
        bool pointwise = IsPointwise(g);
        int spc = SamplesPerChunk(g), chunks = (g.N + spc - 1) / spc;
        nint px = (nint)x, pw = (nint)w, pb = (nint)bias, py = (nint)y, pr = (nint)residual;
        var shape = new Im2ColPanels<T>.Shape(g);
        // When K is summed in one block, adding the bias in the GEMM's epilogue rounds exactly like starting C from it,
        // and saves a pass over the output; the residual and the activation are always applied there, to each block
        // as it is finished (for a chunk of several samples, whose staging matrix does not have y's layout, after the
        // scatter).
        bool biasAtEnd = rowsK <= GemmBlocking.KC;
        // A full chunk's product: from implicit panels, or a stored matrix (x itself for a one-sample 1×1 chunk).
        bool chunkPanels = algorithm == ConvAlgorithm.Implicit && !(spc == 1 && pointwise) && !GemmKernels.WouldSwap<T>(ocg, spc * ohw);
        var whole = PackWeights(false, ocg, spc * ohw, rowsK, w, rowsK, chunks, g.Groups, chunkPanels);

        void Chunk(int ch, bool inner)
        {
            int n0 = ch * spc, cnt = Math.Min(spc, g.N - n0);
            nint ld = (nint)cnt * ohw;
            T* wt = (T*)pw;
            T* b = (T*)pb;
            // One sample writes straight into y; a chunk of several goes through a staging matrix.
            T* stage = cnt == 1 ? null : (T*)GemmScratch.Stage.Get((nuint)((long)ocg * ld * sizeof(T)));
            // The GEMM packs its column panels from x itself unless it would run as Cᵀ (few output pixels).
            bool implicitCols = algorithm == ConvAlgorithm.Implicit && !GemmKernels.WouldSwap<T>(ocg, (int)ld);
            // One sample's columns are unfolded and multiplied a slice of output rows at a time (all rows at once
            // unless the column matrix would pass ColumnSliceBytes).
            int sliceRows = cnt == 1 ? SliceRows(rowsK, g.OutH, g.OutW, sizeof(T)) : g.OutH;
            nint cld = cnt == 1 ? (nint)sliceRows * g.OutW : ld;
            T* cols = cnt == 1 && pointwise || implicitCols ? null : (T*)GemmScratch.Cols.Get((nuint)((long)rowsK * cld * sizeof(T)));
            nint pc = (nint)cols;
            for (int gi = 0; gi < g.Groups; gi++)
            {
                T* xg = (T*)px + (nint)n0 * g.C * hw + (nint)gi * cg * hw;
                T* yg = (T*)py + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                T* outp = cnt == 1 ? yg : stage;
                double beta = 0;
                T* rg = pr == 0 ? null : (T*)pr + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                // A staged chunk gets its residual and activation after the scatter, in y's layout.
                bool late = cnt > 1 && rg != null;
                var post = new BiasActivationEpilogue<T>(b != null && biasAtEnd ? b + gi * ocg : null, late ? default : act,
                                                         late ? null : rg, ohw);
                var epilogue = post.IsEmpty ? null : post;
                if (b != null && !biasAtEnd)
                {
                    // The bias is the GEMM's starting C, so y = W·cols + bias in one pass.
                    for (int o = 0; o < ocg; o++) new Span<T>(outp + o * ld, (int)ld).Fill(b[gi * ocg + o]);
                    beta = 1;
                }
                T* wg = wt + (nint)gi * ocg * rowsK;
                if (cnt == 1 && pointwise)
                {
                    GemmKernels.Gemm(false, false, ocg, ohw, cg, 1.0, wg, rowsK, 0, xg, hw, 0, beta, yg, ohw, 0, 1, inner, epilogue, whole);
                    continue;
                }
                if (implicitCols)
                {
                    var panels = new Im2ColPanels<T>(xg, (nint)g.C * hw, shape);
                    GemmKernels.GemmPanels(ocg, (int)ld, rowsK, 1.0, wg, rowsK, panels, beta, outp, ld, inner, epilogue, whole);
                    if (cnt > 1) Scatter(stage, ld, cnt, ocg, ohw, yg, (nint)g.OutC * ohw);
                    if (late) FinishLate(yg, rg, cnt, ocg, ohw, (nint)g.OutC * ohw, act);
                    continue;
                }
                nint xgp = (nint)xg;
                if (sliceRows < g.OutH)
                {
                    for (int oh0 = 0; oh0 < g.OutH; oh0 += sliceRows)
                    {
                        int oh1 = Math.Min(g.OutH, oh0 + sliceRows);
                        nint q0 = (nint)oh0 * g.OutW, nq = (nint)(oh1 - oh0) * g.OutW;
                        ForRanges(cg, (long)rowsK * nq, inner, (c0, c1) =>
                        {
                            for (int c = c0; c < c1; c++) Im2Col<T>.Unfold((T*)xgp, (T*)pc, nq, c, c + 1, g, oh0, oh1);
                        });
                        var slicePost = new BiasActivationEpilogue<T>(b != null && biasAtEnd ? b + gi * ocg : null, act,
                                                                      rg == null ? null : rg + q0, ohw);
                        GemmKernels.Gemm(false, false, ocg, (int)nq, rowsK, 1.0, wg, rowsK, 0, cols, nq, 0, beta, yg + q0, ohw, 0, 1, inner,
                                         slicePost.IsEmpty ? null : slicePost, whole);
                    }
                    continue;
                }
                ForRanges(cnt * cg, (long)rowsK * ld, inner, (r0, r1) =>
                {
                    // Range over (sample, channel) pairs: rows of different pairs never overlap.
                    for (int r = r0; r < r1; r++)
                    {
                        int j = r / cg, c = r % cg;
                        Im2Col<T>.Unfold((T*)xgp + (nint)j * g.C * hw, (T*)pc + (nint)j * ohw, ld, c, c + 1, g);
                    }
                });
                GemmKernels.Gemm(false, false, ocg, (int)ld, rowsK, 1.0, wg, rowsK, 0, cols, ld, 0, beta, outp, ld, 0, 1, inner, epilogue, whole);
                if (cnt > 1) Scatter(stage, ld, cnt, ocg, ohw, yg, (nint)g.OutC * ohw);
                if (late) FinishLate(yg, rg, cnt, ocg, ohw, (nint)g.OutC * ohw, act);
            }
        }

        if (SplitOverChunks(chunks, (long)g.OutC * spc * ohw * rowsK)) CortadoThreads.ParallelFor(chunks, ch => Chunk(ch, false));
        else for (int ch = 0; ch < chunks; ch++) Chunk(ch, true);
    }

    // y = act(y + residual) over `rows` channel planes of `samples` samples (plane stride len, sample stride sampleStride).
    private static void FinishLate(T* y, T* residual, int samples, int rows, int len, nint sampleStride, Activation act)
    {
        for (int j = 0; j < samples; j++)
            for (int r = 0; r < rows; r++)
            {
                nint at = j * sampleStride + (nint)r * len;
                Kernels.RowFinish.Apply(new Span<T>(y + at, len), false, T.Zero, new ReadOnlySpan<T>(residual + at, len), act);
            }
    }

    /// <summary>
    /// Whether the weight gradient packs its transposed column panels straight from x (<see cref="Im2ColPanelsT{T}"/>)
    /// instead of storing the column matrix first; the bits are the same either way. Tests switch it.
    /// </summary>
    internal static bool ImplicitWeightGradient = true;

    /// <summary>
    /// Whether a narrow dW packs implicitly with threads inside its item too when its panels are gathered (cheap enough
    /// for the GEMM's pack phase, where the row runs were not). Benchmarks switch it; the bits are the same.
    /// </summary>
    internal static bool GatheredPanelsAnyWidth = true;

    /// <summary>Fewest dW columns (input channels × taps) for which an item with threads inside packs implicitly.</summary>
    private const int ImplicitMinRows = 256;

    /// <summary>dx = ∂L/∂x given dy and w; dx is overwritten.</summary>
    public static void BackwardInput(T* dy, T* w, T* dx, Conv2dGeometry g)
    {
        if (DepthwiseConv<T>.Applies(g))
        {
            DepthwiseConv<T>.BackwardInput(dy, w, dx, g);
            return;
        }
        if (AsForward(g) is Conv2dGeometry gf)
        {
            // At stride 1, dx is the forward convolution of dy with the kernel flipped and its channel axes swapped, at
            // padding d·(k − 1) − p: no column matrix is stored and folded, and the forward forms and their per-shape
            // choice apply.
            T* wf = (T*)GemmScratch.Flipped.Get((nuint)((long)g.OutC * (g.C / g.Groups) * g.KH * g.KW * sizeof(T)));
            FlipWeights(w, wf, g);
            Forward(dy, wf, null, dx, gf);
            return;
        }
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups;
        int rowsK = cg * g.KH * g.KW;
        int ohw = g.OutH * g.OutW, hw = g.H * g.W;
        bool pointwise = IsPointwise(g);
        int spc = SamplesPerChunk(g), chunks = (g.N + spc - 1) / spc;
        nint pdy = (nint)dy, pw = (nint)w, pdx = (nint)dx;
        // Narrow float32 images fold by gathering each plane's taps (same bits, see FoldGather).
        using var gather = pointwise && spc == 1 ? null : FoldGather.For<T>(g);
        var whole = PackWeights(true, rowsK, spc * ohw, ocg, w, rowsK, chunks, g.Groups, panels: false);

        void Chunk(int ch, bool inner)
        {
            int n0 = ch * spc, cnt = Math.Min(spc, g.N - n0);
            nint ld = (nint)cnt * ohw;
            T* wt = (T*)pw;
            T* dxs = (T*)pdx + (nint)n0 * g.C * hw;
            if (cnt == 1 && pointwise)
            {
                // dx_g = W_gᵀ·dy_g written straight into dx.
                T* dys = (T*)pdy + (nint)n0 * g.OutC * ohw;
                for (int gi = 0; gi < g.Groups; gi++)
                    GemmKernels.Gemm(true, false, cg, ohw, ocg, 1.0, wt + (nint)gi * ocg * rowsK, rowsK, 0,
                                     dys + (nint)gi * ocg * ohw, ohw, 0, 0.0, dxs + (nint)gi * cg * hw, hw, 0, 1, inner, packedA: whole);
                return;
            }
            if (gather == null) new Span<T>(dxs, cnt * g.C * hw).Clear();
            T* cols = (T*)GemmScratch.Cols.Get((nuint)((long)rowsK * ld * sizeof(T)));
            T* stage = cnt == 1 ? null : (T*)GemmScratch.Stage.Get((nuint)((long)ocg * ld * sizeof(T)));
            nint pc = (nint)cols;
            for (int gi = 0; gi < g.Groups; gi++)
            {
                T* dyg = (T*)pdy + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                if (cnt > 1)
                {
                    Gather(dyg, (nint)g.OutC * ohw, cnt, ocg, ohw, stage, ld);
                    dyg = stage;
                }
                GemmKernels.Gemm(true, false, rowsK, (int)ld, ocg, 1.0, wt + (nint)gi * ocg * rowsK, rowsK, 0,
                                 dyg, ld, 0, 0.0, cols, ld, 0, 1, inner, packedA: whole);
                // Each (sample, channel) pair's rows fold only into that channel of that sample's dx.
                nint dg = (nint)(dxs + (nint)gi * cg * hw);
                ForRanges(cnt * cg, (long)rowsK * ld, inner, (r0, r1) =>
                {
                    for (int r = r0; r < r1; r++)
                    {
                        int j = r / cg, c = r % cg;
                        if (gather != null)
                            gather.Fold((float*)pc + (nint)c * g.KH * g.KW * ld + (nint)j * ohw, ld, (float*)dg + (nint)j * g.C * hw + (nint)c * hw);
                        else
                            Im2Col<T>.FoldAdd((T*)pc + (nint)j * ohw, ld, (T*)dg + (nint)j * g.C * hw, c, c + 1, g);
                    }
                });
            }
        }

        if (SplitOverChunks(chunks, (long)g.OutC * spc * ohw * rowsK)) CortadoThreads.ParallelFor(chunks, ch => Chunk(ch, false));
        else for (int ch = 0; ch < chunks; ch++) Chunk(ch, true);
    }

    /// <summary>
    /// Whether the input gradient of a stride-1 convolution runs as a forward convolution of dy (<see cref="AsForward"/>)
    /// rather than as Wᵀ·dy folded back into dx: null (the default) where the shape rule of <see cref="AsForward"/>
    /// takes it, true wherever it exists, false never. Both are deterministic and independent of the thread count;
    /// they sum in different orders, so their bits differ, and the choice therefore depends on the shape alone, never
    /// on timing. Tests and benchmarks switch it.
    /// </summary>
    internal static bool? InputGradientAsForward;

    /// <summary>
    /// Smallest input image (H·W) and channel count whose input gradient runs as a forward convolution by default:
    /// from `bench --op dgrad` (2026-12-07), 1.08–1.39× on 16×16 to 56×56 images of 64–256 channels, but 0.7–0.97× on
    /// 8×8 and smaller ones at two threads and 0.3× for LeNet's six channels (a product six columns wide).
    /// </summary>
    internal const int AsForwardMinPixels = 196, AsForwardMinChannels = 32;

    /// <summary>
    /// The forward geometry whose output is the input gradient of <paramref name="g"/> (dy as input, channel axes
    /// swapped, padding d·(k − 1) − p), or null where the gradient is not taken that way: stride above 1, a 1×1 kernel
    /// (already a plain product), padding beyond the kernel's reach, or (by default) an image or channel count under
    /// <see cref="AsForwardMinPixels"/> and <see cref="AsForwardMinChannels"/>.
    /// </summary>
    internal static Conv2dGeometry? AsForward(in Conv2dGeometry g)
    {
        if (InputGradientAsForward == false || g.StrideH != 1 || g.StrideW != 1 || g.KH * g.KW == 1) return null;
        if (InputGradientAsForward == null && ((long)g.H * g.W < AsForwardMinPixels || g.C / g.Groups < AsForwardMinChannels)) return null;
        int ph = g.DilationH * (g.KH - 1) - g.PadH, pw = g.DilationW * (g.KW - 1) - g.PadW;
        if (ph < 0 || pw < 0) return null;
        var f = new Conv2dGeometry(g.N, g.OutC, g.OutH, g.OutW, g.C, g.KH, g.KW, 1, 1, ph, pw, g.DilationH, g.DilationW, g.Groups);
        return f.OutH == g.H && f.OutW == g.W ? f : null;
    }

    // wf[gi·cg + c, o, kh, kw] = w[gi·ocg + o, c, KH − 1 − kh, KW − 1 − kw] for each group gi.
    private static void FlipWeights(T* w, T* wf, in Conv2dGeometry g)
    {
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups, kk = g.KH * g.KW;
        for (int gi = 0; gi < g.Groups; gi++)
            for (int o = 0; o < ocg; o++)
                for (int c = 0; c < cg; c++)
                {
                    T* src = w + ((nint)(gi * ocg + o) * cg + c) * kk;
                    T* dst = wf + ((nint)(gi * cg + c) * ocg + o) * kk;
                    for (int t = 0; t < kk; t++) dst[t] = src[kk - 1 - t];
                }
    }

    /// <summary>dw = ∂L/∂w given x and dy, summed over chunks of samples in order; dw is overwritten.</summary>
    public static void BackwardWeight(T* x, T* dy, T* dw, Conv2dGeometry g)
    {
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups;
        int kk = g.KH * g.KW, rowsK = cg * kk;
        int ohw = g.OutH * g.OutW, hw = g.H * g.W;
        if (g.N == 0)
        {
            new Span<T>(dw, g.OutC * rowsK).Clear();
            return;
        }
        if (DepthwiseConv<T>.Applies(g))
        {
            DepthwiseConv<T>.BackwardWeight(x, dy, dw, g);
            return;
        }
        if (ThinWeightGradient<T>.Applies(g))
        {
            ThinWeightGradient<T>.Run(x, dy, dw, g);
            return;
        }
        bool pointwise = IsPointwise(g);
        int spc = SamplesPerWeightChunk(g, rowsK), chunks = (g.N + spc - 1) / spc;
        nint px = (nint)x, pdy = (nint)dy, pdw = (nint)dw;
        var shape = new Im2ColPanels<T>.Shape(g);

        // Work items own disjoint column ranges of dW (a group and a range of its input channels), so
        // each loops over all chunks in order and no sum is split between threads. When there are too
        // few for the threads, each group is one item and the threads work inside the unfolding and GEMMs.
        int threads = CortadoThreads.Count;
        int target = threads > 1 ? 2 * threads : 1;
        int chunksPerGroup = Math.Min(cg, Math.Max(1, (target + g.Groups - 1) / g.Groups));
        int per = (cg + chunksPerGroup - 1) / chunksPerGroup;
        chunksPerGroup = (cg + per - 1) / per;
        bool splitItems = threads > 1 && g.Groups * chunksPerGroup >= threads &&
                          (g.Groups * chunksPerGroup % threads == 0 || g.Groups * chunksPerGroup >= 2 * threads);
        if (!splitItems)
        {
            chunksPerGroup = 1;
            per = cg;
        }
        int items = g.Groups * chunksPerGroup;

        void Item(int item, bool inner)
        {
            int gi = item / chunksPerGroup, c0 = item % chunksPerGroup * per, c1 = Math.Min(cg, c0 + per);
            int rows = (c1 - c0) * kk;
            T* dwp = (T*)pdw + (nint)gi * ocg * rowsK + (nint)c0 * kk;
            nint ldMax = (nint)spc * ohw;
            // Packing panels from x runs inside the GEMM's pack phase, whose items are groups of panels: with threads
            // working inside this item and few panels (a narrow dW), the stored columns' parallel unfolding wins.
            bool implicitPanels = ImplicitWeightGradient && (!inner || CortadoThreads.Count == 1 || rows >= ImplicitMinRows
                                                             || GatheredPanelsAnyWidth && Im2ColPanels<T>.GathersFor(g, GemmKernels.PanelWidth<T>(ocg, rows)));
            T* cols = pointwise && spc == 1 || implicitPanels ? null : (T*)GemmScratch.Cols.Get((nuint)((long)rows * ldMax * sizeof(T)));
            T* stage = spc == 1 ? null : (T*)GemmScratch.Stage.Get((nuint)((long)ocg * ldMax * sizeof(T)));
            for (int ch = 0; ch < chunks; ch++)
            {
                int n0 = ch * spc, cnt = Math.Min(spc, g.N - n0);
                nint ld = (nint)cnt * ohw;
                T* xg = (T*)px + (nint)n0 * g.C * hw + (nint)gi * cg * hw;
                T* dyg = (T*)pdy + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                double beta = ch == 0 ? 0.0 : 1.0;
                if (cnt == 1 && pointwise)
                {
                    GemmKernels.Gemm(false, true, ocg, rows, ohw, 1.0, dyg, ohw, 0, xg + (nint)c0 * hw, hw, 0,
                                     beta, dwp, rowsK, 0, 1, inner);
                    continue;
                }
                if (cnt > 1)
                {
                    Gather(dyg, (nint)g.OutC * ohw, cnt, ocg, ohw, stage, ld);
                    dyg = stage;
                }
                if (implicitPanels)
                {
                    // colsᵀ packed panel by panel straight from x: the column matrix is never stored.
                    var panels = new Im2ColPanelsT<T>(xg + (nint)c0 * hw, (nint)g.C * hw, shape);
                    GemmKernels.GemmPanels(ocg, rows, (int)ld, 1.0, dyg, ld, panels, beta, dwp, rowsK, inner);
                    continue;
                }
                // Unfold writes rows at their index within the group; shift the base so row c0·kk lands at cols[0].
                nint xgp = (nint)xg, cb = (nint)(cols - (nint)c0 * kk * ld);
                int nch = c1 - c0;
                ForRanges(cnt * nch, (long)rows * ld, inner, (r0, r1) =>
                {
                    // Range over (sample, channel) pairs: rows of different pairs never overlap.
                    for (int r = r0; r < r1; r++)
                    {
                        int j = r / nch, c = c0 + r % nch;
                        Im2Col<T>.Unfold((T*)xgp + (nint)j * g.C * hw, (T*)cb + (nint)j * ohw, ld, c, c + 1, g);
                    }
                });
                GemmKernels.Gemm(false, true, ocg, rows, (int)ld, 1.0, dyg, ld, 0, cols, ld, 0,
                                 beta, dwp, rowsK, 0, 1, inner);
            }
        }

        if (splitItems) CortadoThreads.ParallelFor(items, i => Item(i, false));
        else for (int i = 0; i < items; i++) Item(i, true);
    }

    // Samples per chunk of the weight gradient, whose GEMMs sum over the chunk's pixels (K = samples·OH·OW):
    // enough for a deep K, within a column buffer of about 4M elements. Depends on the shapes only.
    private static int SamplesPerWeightChunk(in Conv2dGeometry g, int rowsK)
    {
        const int TargetK = 4096;
        const long Budget = 1L << 22;
        int ohw = g.OutH * g.OutW;
        int s = Math.Clamp((TargetK + ohw - 1) / ohw, 1, Math.Max(1, g.N));
        while (s > 1 && (long)rowsK * s * ohw > Budget) s--;
        int chunks = (g.N + s - 1) / s;
        return (g.N + chunks - 1) / chunks;
    }
}
