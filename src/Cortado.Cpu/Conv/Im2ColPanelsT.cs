// Implicit GEMM for the weight gradient: packs the transposed column matrix's panels straight from the image.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Backends;
using Cortado.Cpu.Gemm;

namespace Cortado.Cpu.Conv;

/// <summary>
/// The transpose of <see cref="Im2Col{T}"/>'s column matrix as a <see cref="PanelSource{T}"/>: op(B)[p, j] is column
/// matrix row j (kernel row (c, kh, kw), counted from the source's first channel) at pixel p (sample·OH·OW + oh·OW +
/// ow). The weight gradient dW = dy·colsᵀ packs these panels: each is unfolded into a small row-major block (rows j,
/// pixels p, in L1) and transposed into the panel, so the full column matrix is never written to memory and read
/// back. The panels hold the values the stored matrix would give its transposed packing, so the bits are the same.
/// </summary>
internal sealed unsafe class Im2ColPanelsT<T> : PanelSource<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T* _x;
    private readonly nint _sampleStride;
    private readonly Im2ColPanels<T>.Shape _shape;

    /// <summary>
    /// Columns over <paramref name="x"/> (the first channel of the rows, in the first sample of the chunk; samples
    /// <paramref name="sampleStride"/> elements apart).
    /// </summary>
    public Im2ColPanelsT(T* x, nint sampleStride, Im2ColPanels<T>.Shape shape)
    {
        _x = x;
        _sampleStride = sampleStride;
        _shape = shape;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Pack(int p0, int kc, int j0, int cols, T* dst, int nr)
    {
        ref readonly var g = ref _shape.Geometry;
        int ow_ = g.OutW, ohw = g.OutH * g.OutW, khkw = g.KH * g.KW;
        nint hw = (nint)g.H * g.W;
        // The block: `cols` rows of kc pixels each, unfolded as im2col would, then transposed into the panel.
        T* block = (T*)GemmScratch.Block.Get((nuint)((long)cols * kc * sizeof(T)));
        // The pixel range as runs along one output row of one sample.
        int* runSample = stackalloc int[kc], runOh = stackalloc int[kc], runOw = stackalloc int[kc], runLen = stackalloc int[kc];
        int runs = 0;
        for (int off = 0, q = p0; off < kc; runs++)
        {
            int s = q / ohw, pix = q - s * ohw, oh = pix / ow_, ow = pix - oh * ow_;
            int len = Math.Min(ow_ - ow, kc - off);
            runSample[runs] = s;
            runOh[runs] = oh;
            runOw[runs] = ow;
            runLen[runs] = len;
            off += len;
            q += len;
        }
        int[] lo = _shape.Lo, hi = _shape.Hi, offsets = _shape.Offset;
        int c = j0 / khkw, rem = j0 - c * khkw, kh = rem / g.KW, kw = rem - kh * g.KW;
        for (int j = 0; j < cols; j++)
        {
            T* d = block + (nint)j * kc;
            int ihBase = kh * g.DilationH - g.PadH, l = lo[kw], h = hi[kw], iwOff = offsets[kw];
            for (int r = 0, off = 0; r < runs; off += runLen[r], r++)
            {
                int ow0 = runOw[r], ow1 = ow0 + runLen[r];
                int ih = runOh[r] * g.StrideH + ihBase;
                T* dd = d + off - ow0;
                int a = Math.Max(ow0, l), b = Math.Min(ow1, h);
                if ((uint)ih >= (uint)g.H || a >= b)
                {
                    for (int ow = ow0; ow < ow1; ow++) dd[ow] = T.Zero;
                    continue;
                }
                for (int ow = ow0; ow < a; ow++) dd[ow] = T.Zero;
                T* row = _x + runSample[r] * _sampleStride + c * hw + (nint)ih * g.W;
                int iw = a * g.StrideW + iwOff;
                if (g.StrideW == 1) Im2Col<T>.Copy(row + iw, dd + a, b - a);
                else if (g.StrideW == 2) Im2Col<T>.CopyEven(row + iw, dd + a, b - a, g.W - iw);
                else for (int ow = a, i = iw; ow < b; ow++, i += g.StrideW) dd[ow] = row[i];
                for (int ow = b; ow < ow1; ow++) dd[ow] = T.Zero;
            }
            if (++kw == g.KW)
            {
                kw = 0;
                if (++kh == g.KH)
                {
                    kh = 0;
                    c++;
                }
            }
        }
        PanelTranspose<T>.Run(block, kc, cols, kc, dst, nr);
        for (int p = 0; p < kc; p++)
            for (int j = cols; j < nr; j++) dst[(nint)p * nr + j] = T.Zero;
    }
}
