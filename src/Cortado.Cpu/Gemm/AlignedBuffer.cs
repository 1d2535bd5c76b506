// Native 64-byte-aligned scratch memory for packed GEMM panels and im2col columns, cached per thread.
using System.Runtime.InteropServices;

namespace Cortado.Cpu.Gemm;

/// <summary>
/// A growable block of native memory aligned to a cache line (so packed panels load without splits).
/// Each thread keeps its own instances (see <see cref="GemmScratch"/>); the memory is released by the
/// finalizer when the owning thread dies.
/// </summary>
internal sealed unsafe class AlignedBuffer
{
    private void* _ptr;
    private nuint _bytes;

    /// <summary>A pointer to at least <paramref name="bytes"/> bytes; earlier contents are not kept when it grows.</summary>
    public void* Get(nuint bytes)
    {
        if (bytes > _bytes || _ptr == null)
        {
            if (_ptr != null) NativeMemory.AlignedFree(_ptr);
            _ptr = null;
            // Grow geometrically so a sequence of slightly larger requests does not reallocate each time.
            nuint size = Math.Max(Math.Max(bytes, _bytes + _bytes / 2), 4096);
            _ptr = NativeMemory.AlignedAlloc(size, 64);
            _bytes = size;
        }
        return _ptr;
    }

    ~AlignedBuffer()
    {
        if (_ptr != null) NativeMemory.AlignedFree(_ptr);
    }
}

/// <summary>Per-thread scratch buffers: packed A, packed B, im2col columns, a staging matrix and a panel's unfolded block for convolutions.</summary>
internal static class GemmScratch
{
    [ThreadStatic] private static AlignedBuffer? t_a;
    [ThreadStatic] private static AlignedBuffer? t_b;
    [ThreadStatic] private static AlignedBuffer? t_cols;
    [ThreadStatic] private static AlignedBuffer? t_stage;
    [ThreadStatic] private static AlignedBuffer? t_block;
    [ThreadStatic] private static AlignedBuffer? t_transposed;
    [ThreadStatic] private static AlignedBuffer? t_shifts;
    [ThreadStatic] private static AlignedBuffer? t_wholeA;
    [ThreadStatic] private static AlignedBuffer? t_flipped;

    /// <summary>This thread's buffer for packed A panels.</summary>
    public static AlignedBuffer A => t_a ??= new AlignedBuffer();

    /// <summary>This thread's buffer for packed B panels.</summary>
    public static AlignedBuffer B => t_b ??= new AlignedBuffer();

    /// <summary>This thread's buffer for im2col columns.</summary>
    public static AlignedBuffer Cols => t_cols ??= new AlignedBuffer();

    /// <summary>This thread's buffer for gathered or not yet scattered convolution outputs.</summary>
    public static AlignedBuffer Stage => t_stage ??= new AlignedBuffer();

    /// <summary>This thread's buffer for a panel source's unfolded block (a panel's worth of im2col rows).</summary>
    public static AlignedBuffer Block => t_block ??= new AlignedBuffer();

    /// <summary>This thread's buffer for a product computed as Cᵀ, summed row-major before it is transposed into C.</summary>
    public static AlignedBuffer Transposed => t_transposed ??= new AlignedBuffer();

    /// <summary>This thread's buffer for a shifted A's step shifts (<see cref="ShiftPanel{T}"/>).</summary>
    public static AlignedBuffer Shifts => t_shifts ??= new AlignedBuffer();

    /// <summary>This thread's buffer for an A packed whole and shared by several products (<see cref="GemmKernels.PackWholeA{T}"/>).</summary>
    public static AlignedBuffer WholeA => t_wholeA ??= new AlignedBuffer();

    /// <summary>This thread's buffer for a convolution's flipped, transposed weights (its input gradient as a forward pass).</summary>
    public static AlignedBuffer Flipped => t_flipped ??= new AlignedBuffer();
}
