// A per-thread hook through which new tensors may take their elements from a caller's buffer (an inference arena).
namespace Cortado.Memory;

/// <summary>
/// Supplies the elements of new tensors. <see cref="Tensor.Empty"/> (and everything built on it) asks the allocator
/// installed on the calling thread first; when it declines, the tensor gets a fresh garbage-collected array as usual.
/// What it returns for <see cref="Tensor.Empty"/> must be zero-filled, as a fresh array is;
/// <see cref="Tensor.Uninitialized"/> asks with <c>zeroed: false</c>, and then the bytes may hold anything.
/// </summary>
public interface ITensorAllocator
{
    /// <summary>
    /// Provides <paramref name="length"/> zeroed elements of <paramref name="dtype"/> starting at
    /// <paramref name="offset"/> in <paramref name="storage"/>, or returns false to let the caller allocate.
    /// </summary>
    bool TryAllocate(DType dtype, int length, out Storage storage, out int offset);

    /// <summary>As <see cref="TryAllocate(DType, int, out Storage, out int)"/>; zeroing may be skipped when <paramref name="zeroed"/> is false.</summary>
    bool TryAllocate(DType dtype, int length, out Storage storage, out int offset, bool zeroed) =>
        TryAllocate(dtype, length, out storage, out offset);
}

/// <summary>The allocator installed on the current thread (none by default). Worker threads never inherit it.</summary>
public static class TensorAllocator
{
    [ThreadStatic] private static ITensorAllocator? _current;

    /// <summary>The current thread's allocator, or null.</summary>
    public static ITensorAllocator? Current => _current;

    /// <summary>Installs <paramref name="allocator"/> (null: none) on this thread until the returned scope is disposed.</summary>
    public static Scope Use(ITensorAllocator? allocator)
    {
        var previous = _current;
        _current = allocator;
        return new Scope(previous);
    }

    /// <summary>Restores the allocator that was current before <see cref="Use"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ITensorAllocator? _previous;
        internal Scope(ITensorAllocator? previous) => _previous = previous;

        /// <summary>Puts the previous allocator back.</summary>
        public void Dispose() => _current = _previous;
    }
}
