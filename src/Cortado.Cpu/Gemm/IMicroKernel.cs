// The contract of a GEMM register-blocked micro-kernel, implemented once per vector width and dtype.
using System.Runtime.CompilerServices;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// A micro-kernel computes one MR×NR tile of C from a packed A micro-panel (kc steps of MR values,
/// column after column) and a packed B micro-panel (kc steps of NR values, row after row):
/// C = alpha·acc + beta·C, where acc[i, j] = Σ_p A[p·MR + i]·B[p·NR + j] accumulated in order p = 0, 1, …
/// When beta is 0, C is written without being read (NaN or garbage in C does not leak).
/// The epilogue multiplies and adds without fusing, so a tile finished through a scratch buffer by
/// <see cref="GemmDriver{T, TK}"/> rounds exactly like one finished in place.
/// </summary>
internal unsafe interface IMicroKernel<T> where T : unmanaged
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>True when this machine executes the kernel's instructions natively.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>Computes a full MR×NR tile at <paramref name="c"/> (row stride <paramref name="ldc"/>).</summary>
    static abstract void Run(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta);

    /// <summary>
    /// <see cref="Run"/> with A read in place from MR rows of a row-major matrix (row i at a + i·lda, step p at
    /// offset p) instead of a packed panel: the same multiply-adds in the same order, so the same bits.
    /// </summary>
    static abstract void RunRows(int kc, T* a, nint lda, T* b, T* c, nint ldc, T alpha, T beta);

    /// <summary>
    /// <see cref="Run"/> with A read in place at a shift per step: A[i, p] = a[i + shifts[p]] (rows consecutive in
    /// memory, see <see cref="ShiftPanel{T}"/>); shifts[kc] must exist. The same multiply-adds in the same order.
    /// </summary>
    static abstract void RunShifted(int kc, T* a, nint* shifts, T* b, T* c, nint ldc, T alpha, T beta);
}

/// <summary>Where a micro-kernel reads A: element i (i &lt; MR) of the current step p, then the next step.</summary>
internal interface IAPanel<T> where T : unmanaged
{
    /// <summary>A[row i, step p] for the current step.</summary>
    T At(int i);

    /// <summary>Moves to step p + 1.</summary>
    void Next();
}

/// <summary>A packed A micro-panel: step p holds MR consecutive values.</summary>
internal unsafe struct PackedPanel<T>(T* a, int mr) : IAPanel<T> where T : unmanaged
{
    private T* _a = a;
    private readonly nint _mr = mr;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly T At(int i) => _a[i];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next() => _a += _mr;
}

/// <summary>
/// Rows of a stored row-major A read in place (row i at a + i·lda, contiguous in p), at most 12 rows: three base
/// pointers (rows 0, 4, 8) and three row offsets keep the addressing to a base plus a scaled index register.
/// </summary>
internal unsafe struct RowPanel<T>(T* a, nint lda) : IAPanel<T> where T : unmanaged
{
    private T* _r0 = a, _r4 = a + 4 * lda, _r8 = a + 8 * lda;
    private readonly nint _l1 = lda, _l2 = 2 * lda, _l3 = 3 * lda;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly T At(int i) =>
        *((i < 4 ? _r0 : i < 8 ? _r4 : _r8) + ((i & 3) == 0 ? 0 : (i & 3) == 1 ? _l1 : (i & 3) == 2 ? _l2 : _l3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next()
    {
        _r0++;
        _r4++;
        _r8++;
    }
}

/// <summary>
/// Rows of A that lie one after another in memory, read in place at a fixed shift per step: A[i, p] = a[i + shifts[p]].
/// A convolution's output pixels over a padded copy of its input have this form: every tap (channel, kernel row,
/// kernel column) is one shift (<see cref="Conv.ShiftedLayout"/>). The table holds an entry past the last step,
/// which <see cref="Next"/> reads after it.
/// </summary>
internal unsafe struct ShiftPanel<T>(T* a, nint* shifts) : IAPanel<T> where T : unmanaged
{
    private readonly T* _a = a;
    private nint* _shift = shifts;
    private T* _row = a + *shifts;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly T At(int i) => _row[i];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Next()
    {
        _shift++;
        _row = _a + *_shift;
    }
}

/// <summary>
/// Where the rows of a shifted A start when they are a convolution's output pixels without the padded columns: row
/// i = ((sample · <see cref="Lines"/>) + line) · <see cref="Width"/> + column starts at sample · <see cref="PlanePitch"/>
/// + line · <see cref="Pitch"/> + column. A tile of rows must not cross a line, so the tile height divides
/// <see cref="Width"/>. The default (Width 0) is row i at i.
/// </summary>
internal readonly struct ShiftedRows(int width, int pitch, int lines, long planePitch)
{
    /// <summary>Rows per line (output columns); 0 when rows lie one after another.</summary>
    public readonly int Width = width;

    /// <summary>Elements from one line to the next (the padded plane's row length).</summary>
    public readonly int Pitch = pitch;

    /// <summary>Lines per sample (output rows).</summary>
    public readonly int Lines = lines;

    /// <summary>Elements from one sample's plane to the next.</summary>
    public readonly long PlanePitch = planePitch;

    /// <summary>Offset of row <paramref name="i"/> in A.</summary>
    public nint Offset(int i)
    {
        if (Width == 0) return i;
        int line = i / Width, col = i - line * Width;
        int sample = line / Lines;
        return (nint)(sample * PlanePitch + (long)(line - sample * Lines) * Pitch + col);
    }
}
