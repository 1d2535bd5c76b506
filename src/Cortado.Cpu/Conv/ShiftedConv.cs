// The shifted-input convolution: output pixels are the GEMM's rows, read in place from a padded copy of the input.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Backends;
using Cortado.Cpu.Gemm;
using Cortado.Threading;

namespace Cortado.Cpu.Conv;

/// <summary>
/// Where the shifted-input convolution (<see cref="ConvAlgorithm.Shifted"/>) keeps a chunk of samples.
/// <para>
/// The input is copied once, zero-padded, into planes of <see cref="Hq"/>×<see cref="Wq"/>: one per channel, per
/// phase (the padded rows r ≡ a and columns t ≡ b modulo the strides that some tap meets) and per sample, in the order
/// [channel][row phase][column phase][sample][Hq][Wq]. Output pixel (sample j, row oh, column ow) is GEMM row
/// q = j·Hq·Wq + oh·Wq + ow, and tap (c, kh, kw) reads it at q + shift(c, kh, kw): every tap is one constant shift
/// of the pixel index. Rows with ow ≥ OutW or oh ≥ OutH are computed and dropped.
/// </para>
/// <para>
/// So y = W·cols(x) becomes Yᵀ = A·Wᵀ with A[q, p] = xs[q + shift[p]] read in place by the micro-kernels
/// (<see cref="ShiftPanel{T}"/>): no column panel is packed. Each output is the same sum in the same order as the
/// im2col and implicit GEMMs form it (the factors of each product swapped), so all three give the same bits.
/// </para>
/// </summary>
internal readonly struct ShiftedLayout
{
    private readonly int[] _rowPhase, _colPhase;

    /// <summary>Samples in the chunk.</summary>
    public readonly int Samples;

    /// <summary>Rows and columns of one plane.</summary>
    public readonly int Hq, Wq;

    /// <summary>Row and column phases some tap meets.</summary>
    public readonly int RowPhases, ColPhases;

    /// <summary>
    /// GEMM rows: every pixel of the chunk's planes up to the last sample's last output row, or with whole rows only the
    /// output pixels (<see cref="Rows"/>).
    /// </summary>
    public readonly int M;

    /// <summary>
    /// Where each GEMM row starts when the rows are the output pixels alone (samples × OutH × OutW, the padded columns
    /// skipped; see <see cref="GemmKernels.GemmShiftedRows{T}"/>); the default when rows are every plane pixel.
    /// </summary>
    public readonly ShiftedRows Rows;

    // Rows up to the last sample's last output row, padded columns included: what the tiles read at most.
    private readonly int _paddedM;

    /// <summary>Rows of Yᵀ from one sample to the next, and from one output row to the next.</summary>
    public int RowsPerSample => Rows.Width > 0 ? _g.OutH * _g.OutW : Hq * Wq;

    /// <inheritdoc cref="RowsPerSample"/>
    public int RowsPerLine => Rows.Width > 0 ? _g.OutW : Wq;

    /// <summary>Elements of all planes (channels of one group × phases × samples × Hq·Wq).</summary>
    public readonly long PlaneElements;

    private readonly Conv2dGeometry _g;

    public ShiftedLayout(in Conv2dGeometry g, int samples, bool wholeRows = false)
    {
        _g = g;
        Samples = samples;
        (Hq, Wq) = PlaneSize(g);
        _rowPhase = Phases(g.KH, g.DilationH, g.StrideH, out RowPhases);
        _colPhase = Phases(g.KW, g.DilationW, g.StrideW, out ColPhases);
        _paddedM = PaddedRows(g, samples);
        M = wholeRows ? checked(samples * g.OutH * g.OutW) : _paddedM;
        Rows = wholeRows ? new ShiftedRows(g.OutW, Wq, g.OutH, (long)Hq * Wq) : default;
        PlaneElements = (long)(g.C / g.Groups) * RowPhases * ColPhases * samples * Hq * Wq;
    }

    // Rows and columns of one plane: the padded input a stride phase of the output reads.
    private static (int Hq, int Wq) PlaneSize(in Conv2dGeometry g)
    {
        int hp = (g.OutH - 1) * g.StrideH + (g.KH - 1) * g.DilationH + 1;
        int wp = (g.OutW - 1) * g.StrideW + (g.KW - 1) * g.DilationW + 1;
        return ((hp - 1) / g.StrideH + 1, (wp - 1) / g.StrideW + 1);
    }

    /// <summary>
    /// GEMM rows of <paramref name="samples"/> samples over every plane pixel (<see cref="M"/> without whole rows),
    /// without building the layout.
    /// </summary>
    public static int PaddedRows(in Conv2dGeometry g, int samples)
    {
        var (hq, wq) = PlaneSize(g);
        return checked((samples - 1) * hq * wq + g.OutH * wq);
    }

    // Index of each phase that a tap meets among those met (-1 for the others).
    private static int[] Phases(int k, int dilation, int stride, out int count)
    {
        var index = new int[stride];
        Array.Fill(index, -1);
        for (int t = 0; t < k; t++) index[t * dilation % stride] = 0;
        count = 0;
        for (int p = 0; p < stride; p++)
            if (index[p] >= 0) index[p] = count++;
        return index;
    }

    private long PlaneStart(int c, int rowPhase, int colPhase) =>
        (((long)c * RowPhases + _rowPhase[rowPhase]) * ColPhases + _colPhase[colPhase]) * Samples * Hq * Wq;

    /// <summary>Elements the copy needs: the planes, then zeros as far as a tile of <paramref name="mr"/> rows reads.</summary>
    public long Length(int mr) => Math.Max(PlaneElements, MaxShift() + (_paddedM + mr - 1) / mr * (long)mr);

    private long MaxShift()
    {
        long max = 0;
        int c = _g.C / _g.Groups - 1;
        for (int kh = 0; kh < _g.KH; kh++)
            for (int kw = 0; kw < _g.KW; kw++)
                max = Math.Max(max, Shift(c, kh, kw));
        return max;
    }

    private long Shift(int c, int kh, int kw)
    {
        int rt = kh * _g.DilationH, ct = kw * _g.DilationW;
        return PlaneStart(c, rt % _g.StrideH, ct % _g.StrideW) + (long)(rt / _g.StrideH) * Wq + ct / _g.StrideW;
    }

    /// <summary>Writes the shift of every tap in im2col order (channel, kernel row, kernel column), then one more entry.</summary>
    public unsafe void WriteShifts(nint* shifts)
    {
        int k = 0, cg = _g.C / _g.Groups;
        for (int c = 0; c < cg; c++)
            for (int kh = 0; kh < _g.KH; kh++)
                for (int kw = 0; kw < _g.KW; kw++)
                    shifts[k++] = (nint)Shift(c, kh, kw);
        shifts[k] = shifts[k - 1];
    }

    /// <summary>
    /// Copies channels [c0, c1) of a group (x at its first channel of the chunk's first sample, samples
    /// <paramref name="sampleStride"/> apart) into their planes of <paramref name="xs"/>, zeros where the padding is.
    /// </summary>
    public unsafe void Fill<T>(T* x, nint sampleStride, int c0, int c1, T* xs) where T : unmanaged
    {
        var g = _g;
        int hw = g.H * g.W, plane = Hq * Wq;
        for (int c = c0; c < c1; c++)
            for (int a = 0; a < g.StrideH; a++)
            {
                if (_rowPhase[a] < 0) continue;
                for (int b = 0; b < g.StrideW; b++)
                {
                    if (_colPhase[b] < 0) continue;
                    T* dst0 = xs + PlaneStart(c, a, b);
                    // Columns t whose source column t·sw + b − pad lies inside the image: [t0, t1).
                    int t0 = Math.Min(Wq, Math.Max(0, (g.PadW - b + g.StrideW - 1) / g.StrideW));
                    int last = g.W - 1 + g.PadW - b;
                    int t1 = last < 0 ? t0 : Math.Max(t0, Math.Min(Wq, last / g.StrideW + 1));
                    for (int j = 0; j < Samples; j++)
                        for (int i = 0; i < Hq; i++)
                        {
                            T* dst = dst0 + (nint)j * plane + (nint)i * Wq;
                            int sr = i * g.StrideH + a - g.PadH;
                            if (sr < 0 || sr >= g.H)
                            {
                                new Span<T>(dst, Wq).Clear();
                                continue;
                            }
                            new Span<T>(dst, t0).Clear();
                            T* src = x + j * sampleStride + (nint)c * hw + (nint)sr * g.W + (t0 * g.StrideW + b - g.PadW);
                            if (g.StrideW == 1) new ReadOnlySpan<T>(src, t1 - t0).CopyTo(new Span<T>(dst + t0, t1 - t0));
                            else for (int t = 0; t < t1 - t0; t++) dst[t0 + t] = src[(nint)t * g.StrideW];
                            new Span<T>(dst + t1, Wq - t1).Clear();
                        }
                }
            }
    }

    /// <summary>Zeros from the end of the planes to <paramref name="length"/> (rows a partial tile reads past the last pixel).</summary>
    public unsafe void ClearTail<T>(T* xs, long length) where T : unmanaged
    {
        if (length > PlaneElements) new Span<T>(xs + PlaneElements, checked((int)(length - PlaneElements))).Clear();
    }
}

/// <summary>
/// Finishes the shifted convolution's Yᵀ (pixels × channels) block by block: transposes each block's valid pixels
/// into y (NCHW) and applies bias, residual and activation there, as <see cref="BiasActivationEpilogue{T}"/> does.
/// </summary>
internal sealed unsafe class ShiftedOutput<T>(ShiftedLayout layout, in Conv2dGeometry g, T* y, nint sampleStride,
                                              T* bias, Activation act, T* residual) : GemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _outH = g.OutH, _outW = g.OutW, _plane = layout.RowsPerSample, _wq = layout.RowsPerLine;
    private readonly nint _ohw = (nint)g.OutH * g.OutW;

    public override void Apply(T* c, nint ldc, int row0, int rows, int col0, int cols)
    {
        int q = row0, q1 = row0 + rows;
        while (q < q1)
        {
            int j = q / _plane, r = q - j * _plane, oh = r / _wq, ow = r - oh * _wq;
            int end = Math.Min(q1, q - ow + _wq);
            if (oh < _outH && ow < _outW)
            {
                int len = Math.Min(end, q - ow + _outW) - q;
                nint at = j * sampleStride + col0 * _ohw + (nint)oh * _outW + ow;
                PanelTranspose<T>.Run(c + (nint)(q - row0) * ldc, ldc, len, cols, y + at, checked((int)_ohw));
                if (bias != null || residual != null || !act.IsNone)
                    for (int ch = 0; ch < cols; ch++)
                        BiasActivationEpilogue<T>.Finish(new Span<T>(y + at + ch * _ohw, len), bias, col0 + ch,
                                                         residual == null ? default : new ReadOnlySpan<T>(residual + at + ch * _ohw, len), act);
            }
            q = end;
        }
    }
}

/// <summary>The forward pass of <see cref="ConvAlgorithm.Shifted"/>.</summary>
internal static unsafe class ShiftedConv<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>GEMM rows (pixels, dropped ones included) a chunk of samples aims for.</summary>
    private const int TargetRows = 1024;

    /// <summary>
    /// Whether GEMM rows are the output pixels alone (true), every plane pixel (false), or whichever computes fewer
    /// padded products (null, the default). Whole rows need a kernel whose tile height divides the output width
    /// (<see cref="GemmKernels.ShiftedRowsTile{T}"/>); elsewhere this is ignored. The bits are the same; tests and
    /// benchmarks switch it.
    /// </summary>
    internal static bool? WholeRows;

    // Whether a chunk's product takes whole output rows: where a kernel fits them and they waste fewer products than
    // the plane's padded columns with the usual tile.
    internal static bool UsesWholeRows(in Conv2dGeometry g, int samples)
    {
        int tile = GemmKernels.ShiftedRowsTile<T>();
        if (tile == 0 || g.OutW % tile != 0 || WholeRows == false) return false;
        if (WholeRows == true) return true;
        int ocg = g.OutC / g.Groups;
        int paddedM = ShiftedLayout.PaddedRows(g, samples);
        var (mr, nr) = GemmKernels.UnswappedTile<T>(paddedM, ocg);
        long paddedCost = (long)RoundUp(paddedM, mr) * RoundUp(ocg, nr);
        long wholeCost = (long)samples * g.OutH * g.OutW * RoundUp(ocg, GemmKernels.ShiftedRowsTileColumns);
        return wholeCost < paddedCost;
    }

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;

    // Samples per chunk: one when a sample's planes are tall enough, else enough to reach TargetRows, evened out over
    // the batch. Depends on the shapes only.
    private static int SamplesPerChunk(in Conv2dGeometry g) => ConvDriver<T>.SamplesPerChunk(g.N, ShiftedLayout.PaddedRows(g, 1), TargetRows);

    /// <summary>y = act(conv2d(x, w) + bias + residual), the same bits as the im2col and implicit GEMMs.</summary>
    public static void Forward(T* x, T* w, T* bias, T* y, Conv2dGeometry g, Activation act, T* residual)
    {
        int cg = g.C / g.Groups, ocg = g.OutC / g.Groups;
        int rowsK = cg * g.KH * g.KW;
        nint ohw = (nint)g.OutH * g.OutW, hw = (nint)g.H * g.W;
        int spc = SamplesPerChunk(g), chunks = (g.N + spc - 1) / spc;
        // As in the other forms: a bias added at the end rounds like starting from it only when K is one block.
        bool biasAtEnd = rowsK <= GemmBlocking.KC;
        nint px = (nint)x, pw = (nint)w, pb = (nint)bias, py = (nint)y, pr = (nint)residual;

        void Chunk(int ch, bool inner)
        {
            int n0 = ch * spc, cnt = Math.Min(spc, g.N - n0);
            bool whole = UsesWholeRows(g, cnt);
            var layout = new ShiftedLayout(g, cnt, whole);
            var (mr, _) = GemmKernels.UnswappedTile<T>(layout.M, ocg);
            long length = layout.Length(mr);
            nint xs = (nint)GemmScratch.Cols.Get((nuint)(length * sizeof(T)));
            nint* shifts = (nint*)GemmScratch.Shifts.Get((nuint)((rowsK + 1) * sizeof(nint)));
            layout.WriteShifts(shifts);
            T* s = (T*)GemmScratch.Stage.Get((nuint)((long)layout.M * ocg * sizeof(T)));
            layout.ClearTail((T*)xs, length);
            for (int gi = 0; gi < g.Groups; gi++)
            {
                nint xg = (nint)((T*)px + (nint)n0 * g.C * hw + (nint)gi * cg * hw);
                ConvDriver<T>.ForRanges(cg, layout.PlaneElements, inner, (c0, c1) => layout.Fill((T*)xg, (nint)g.C * hw, c0, c1, (T*)xs));
                T* b = pb == 0 ? null : (T*)pb + gi * ocg;
                double beta = 0;
                if (b != null && !biasAtEnd)
                {
                    // The bias is the GEMM's starting C, as in the other forms.
                    var row = new ReadOnlySpan<T>(b, ocg);
                    for (int q = 0; q < layout.M; q++) row.CopyTo(new Span<T>(s + (nint)q * ocg, ocg));
                    beta = 1;
                }
                T* yg = (T*)py + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                T* rg = pr == 0 ? null : (T*)pr + (nint)n0 * g.OutC * ohw + (nint)gi * ocg * ohw;
                var post = new ShiftedOutput<T>(layout, g, yg, (nint)g.OutC * ohw, biasAtEnd ? b : null, act, rg);
                T* wg = (T*)pw + (nint)gi * ocg * rowsK;
                if (whole) GemmKernels.GemmShiftedRows(layout.M, ocg, rowsK, (T*)xs, shifts, layout.Rows, true, wg, rowsK, beta, s, ocg, inner, post);
                else GemmKernels.GemmShifted(layout.M, ocg, rowsK, (T*)xs, shifts, true, wg, rowsK, beta, s, ocg, inner, post);
            }
        }

        if (ConvDriver<T>.SplitOverChunks(chunks, (long)g.OutC * spc * ohw * rowsK)) CortadoThreads.ParallelFor(chunks, ch => Chunk(ch, false));
        else for (int ch = 0; ch < chunks; ch++) Chunk(ch, true);
    }
}
