// col2im by gathering: each input-gradient element sums its own window taps from the column matrix.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cortado.Backends;
using Cortado.Cpu.Kernels;

namespace Cortado.Cpu.Conv;

/// <summary>
/// The fold of <see cref="Im2Col{T}.FoldAdd"/> for float32 planes of narrow images, turned around: instead of adding
/// each column-matrix row into the plane run by run (runs as short as the output rows), every 8 elements of the
/// plane gather their window taps, tap after tap in the fold's order, from zero. For each tap and group of 8 plane
/// elements the offsets into the tap's row and the mask of taps that exist are computed once per geometry; a tap
/// outside the output (or not on the stride) adds +0, which changes no sum (the sums start at +0 and never become
/// −0), so the plane gets the bits of the fold.
/// </summary>
internal sealed unsafe class FoldGather : IDisposable
{
    private readonly int _taps, _groups, _hw;
    private readonly int* _index, _mask;

    private FoldGather(in Conv2dGeometry g)
    {
        _taps = g.KH * g.KW;
        _hw = g.H * g.W;
        _groups = (_hw + 7) / 8;
        nuint n = (nuint)((long)_taps * _groups * 8);
        _index = (int*)NativeMemory.AlignedAlloc(n * sizeof(int), 32);
        _mask = (int*)NativeMemory.AlignedAlloc(n * sizeof(int), 32);
        for (int t = 0; t < _taps; t++)
        {
            int kh = t / g.KW, kw = t - kh * g.KW;
            for (int e = 0; e < _groups * 8; e++)
            {
                int at = t * _groups * 8 + e;
                _index[at] = 0;
                _mask[at] = 0;
                if (e >= _hw) continue;
                int ih = e / g.W, iw = e - ih * g.W;
                // The output pixel whose window puts tap (kh, kw) on (ih, iw), if it exists.
                int hNum = ih + g.PadH - kh * g.DilationH, wNum = iw + g.PadW - kw * g.DilationW;
                if (hNum < 0 || wNum < 0 || hNum % g.StrideH != 0 || wNum % g.StrideW != 0) continue;
                int oh = hNum / g.StrideH, ow = wNum / g.StrideW;
                if (oh >= g.OutH || ow >= g.OutW) continue;
                _index[at] = oh * g.OutW + ow;
                _mask[at] = -1;
            }
        }
    }

    /// <summary>
    /// Output rows narrower than this many pixels fold by gathering (float32 with AVX2, kernels of at most 9 taps); 0
    /// turns it off. Tests compare both; the bits are the same. ResNet-18's 3×3 input gradients at 2×2 to 16×16 ran
    /// 1.1–1.4× faster; LeNet's 5×5 one (25 gathers per 8 elements, most of them masked) ran 0.88–0.96×, hence the tap
    /// limit (`Cortado.Bench.Gemm --op fold`).
    /// </summary>
    public static int BelowWidth = 20;

    private const int MaxTaps = 9;

    /// <summary>The tables for <paramref name="g"/> when its float32 fold gathers here, else null.</summary>
    public static FoldGather? For<T>(in Conv2dGeometry g) where T : unmanaged =>
        typeof(T) == typeof(float) && g.OutW < BelowWidth && Avx2.IsSupported && VectorPaths.Enabled
        && (long)g.H * g.W <= 1 << 16 && g.KH * g.KW <= MaxTaps ? new FoldGather(g) : null;

    /// <summary>
    /// Writes one channel's plane of dx (H·W values, overwritten): the sum of its taps from <paramref name="cols"/>, row
    /// (kh, kw) of this channel and sample at cols + (kh·KW + kw)·<paramref name="ld"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fold(float* cols, nint ld, float* plane)
    {
        int groups = _groups, taps = _taps, full = _hw / 8;
        for (int grp = 0; grp < groups; grp++)
        {
            var sum = Vector256<float>.Zero;
            int* ix = _index + grp * 8, mk = _mask + grp * 8;
            float* row = cols;
            for (int t = 0; t < taps; t++, row += ld, ix += groups * 8, mk += groups * 8)
                sum += Avx2.GatherMaskVector256(Vector256<float>.Zero, row, Vector256.Load(ix), Vector256.Load(mk).AsSingle(), 4);
            if (grp < full)
                sum.Store(plane + grp * 8);
            else
                for (int e = 0; e < _hw - grp * 8; e++) plane[grp * 8 + e] = sum.GetElement(e);
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_index);
        NativeMemory.AlignedFree(_mask);
    }
}
