// Flat, garbage-collected element buffers that tensors view.
using System.Runtime.InteropServices;

namespace Cortado;

/// <summary>
/// A flat buffer of elements of one dtype. Tensors are views (shape, strides, offset) over a storage;
/// several tensors may share one. Buffers are ordinary managed arrays: nothing needs disposing.
/// </summary>
public abstract class Storage
{
    /// <summary>Element type.</summary>
    public abstract DType DType { get; }

    /// <summary>Number of elements.</summary>
    public abstract int Length { get; }

    /// <summary>The underlying array (float[], double[], …).</summary>
    public abstract Array Array { get; }

    /// <summary>The elements as little-endian bytes (this machine's order).</summary>
    public abstract Span<byte> AsBytes();

    /// <summary>Allocates a zero-filled storage.</summary>
    public static Storage Allocate(DType dtype, int length) => Allocate(dtype, length, zeroed: true);

    /// <summary>
    /// As <see cref="Allocate(DType, int)"/>; with <paramref name="zeroed"/> false the elements are unspecified (the
    /// runtime may skip clearing a large array) except for bool, which is always zero-filled.
    /// </summary>
    public static Storage Allocate(DType dtype, int length, bool zeroed)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "storage length must be non-negative");
        T[] A<T>() => zeroed ? new T[length] : GC.AllocateUninitializedArray<T>(length);
        return dtype switch
        {
            DType.Float32 => new Storage<float>(A<float>()),
            DType.Float64 => new Storage<double>(A<double>()),
            DType.Int32 => new Storage<int>(A<int>()),
            DType.Int64 => new Storage<long>(A<long>()),
            DType.Bool => new Storage<bool>(new bool[length]),
            DType.Float16 => new Storage<Half>(A<Half>()),
            DType.BFloat16 => new Storage<BFloat16>(A<BFloat16>()),
            DType.Int8 => new Storage<sbyte>(A<sbyte>()),
            DType.UInt8 => new Storage<byte>(A<byte>()),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }
}

/// <summary>A storage of CLR element type <typeparamref name="T"/>.</summary>
public sealed class Storage<T> : Storage where T : unmanaged
{
    /// <summary>The elements.</summary>
    public T[] Data { get; }

    /// <summary>Wraps an array without copying.</summary>
    public Storage(T[] data)
    {
        Data = data;
        DType = DTypeInfo.Of<T>();
    }

    public override DType DType { get; }
    public override int Length => Data.Length;
    public override Array Array => Data;
    public override Span<byte> AsBytes() => MemoryMarshal.AsBytes(Data.AsSpan());
}
