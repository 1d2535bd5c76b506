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
    private readonly Im2ColPanels<T> _rows;
    private readonly Conv2dGeometry _g;

    /// <summary>
    /// Columns over <paramref name="x"/> (the first channel of the rows, in the first sample of the chunk; samples
    /// <paramref name="sampleStride"/> elements apart).
    /// </summary>
    public Im2ColPanelsT(T* x, nint sampleStride, Im2ColPanels<T>.Shape shape)
    {
        _rows = new Im2ColPanels<T>(x, sampleStride, shape);
        _g = shape.Geometry;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Pack(int p0, int kc, int j0, int cols, T* dst, int nr)
    {
        // Narrow images: each step's columns gathered straight from x (the same values).
        if (_rows.Gathers(nr) && _rows.PackTransposedGather(p0, kc, j0, cols, (float*)dst, nr)) return;
        // The block: `cols` rows of kc pixels each, unfolded as im2col would, then transposed into the panel.
        T* block = (T*)GemmScratch.Block.Get((nuint)((long)cols * kc * sizeof(T)));
        int* store = stackalloc int[4 * kc];
        var runs = new Im2ColPanels<T>.PixelRuns(_g, p0, kc, store);
        int khkw = _g.KH * _g.KW;
        int c = j0 / khkw, rem = j0 - c * khkw, kh = rem / _g.KW, kw = rem - kh * _g.KW;
        for (int j = 0; j < cols; j++)
        {
            _rows.UnfoldRow(c, kh, kw, runs, block + (nint)j * kc);
            Im2ColPanels<T>.NextTap(_g, ref c, ref kh, ref kw);
        }
        PanelTranspose<T>.Run(block, kc, cols, kc, dst, nr);
        for (int p = 0; p < kc; p++)
            for (int j = cols; j < nr; j++) dst[(nint)p * nr + j] = T.Zero;
    }
}
