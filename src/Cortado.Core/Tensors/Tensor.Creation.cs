// Creating tensors: from arrays, constants, ranges and random distributions.
using Cortado.Ops;

namespace Cortado;

public sealed partial class Tensor
{
    /// <summary>
    /// A new uninitialised-looking (zero-filled) contiguous tensor. Its elements come from the thread's
    /// <see cref="Memory.TensorAllocator"/> when one is installed and accepts, else from a fresh array.
    /// </summary>
    public static Tensor Empty(DType dtype, params int[] shape)
    {
        int numel = ShapeUtil.Numel(shape);
        if (Memory.TensorAllocator.Current is { } allocator && allocator.TryAllocate(dtype, numel, out var storage, out int offset))
            return new Tensor(storage, (int[])shape.Clone(), ShapeUtil.ContiguousStrides(shape), offset);
        return new(Storage.Allocate(dtype, numel), shape);
    }

    /// <summary>
    /// A new contiguous tensor whose elements are unspecified (torch.empty), for a kernel that writes every one of
    /// them: the thread's <see cref="Memory.TensorAllocator"/> may skip zeroing its bytes, and a fresh array is
    /// allocated without clearing where the runtime allows.
    /// </summary>
    public static Tensor Uninitialized(DType dtype, params int[] shape)
    {
        int numel = ShapeUtil.Numel(shape);
        if (Memory.TensorAllocator.Current is { } allocator && allocator.TryAllocate(dtype, numel, out var storage, out int offset, zeroed: false))
            return new Tensor(storage, (int[])shape.Clone(), ShapeUtil.ContiguousStrides(shape), offset);
        return new(Storage.Allocate(dtype, numel, zeroed: false), shape);
    }

    /// <summary>Zeros of <paramref name="shape"/> (torch.zeros).</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32) => Empty(dtype, shape);

    /// <summary>Zeros of <paramref name="shape"/>, float32.</summary>
    public static Tensor Zeros(params int[] shape) => Empty(DType.Float32, shape);

    /// <summary>Ones of <paramref name="shape"/> (torch.ones).</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32) => Full(shape, 1.0, dtype);

    /// <summary>Ones of <paramref name="shape"/>, float32.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1.0, DType.Float32);

    /// <summary>Every element set to <paramref name="value"/> (torch.full).</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32)
    {
        var t = Empty(dtype, shape);
        if (value != 0 && t.Numel > 0) Backends.Backend.Current.Fill(t, value);
        return t;
    }

    /// <summary>A zero-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => Full([], value, dtype);

    /// <summary>Zeros with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Empty(like.DType, like.Dims);

    /// <summary>Ones with the shape and dtype of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(like.Dims, 1.0, like.DType);

    /// <summary>Wraps <paramref name="data"/> without copying; its length must equal the shape's element count (a 1-D tensor when no shape is given).</summary>
    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length == 0) shape = [data.Length];
        if (ShapeUtil.Numel(shape) != data.Length)
            throw new ShapeMismatchException($"{data.Length} elements do not fill shape {ShapeUtil.Format(shape)}");
        return new Tensor(new Storage<T>(data), shape);
    }

    /// <summary>Copies <paramref name="data"/> into a new tensor of <paramref name="shape"/>.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, params int[] shape) where T : unmanaged => FromArray(data.ToArray(), shape);

    /// <summary>A 1-D float32 tensor of the given values.</summary>
    public static Tensor Of(params float[] values) => FromArray((float[])values.Clone());

    /// <summary>Values start, start+step, … below end (torch.arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32)
    {
        if (step == 0) throw new ArgumentException("arange step must not be zero", nameof(step));
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = start + i * step;
        return FromArray(v, n).Cast(dtype);
    }

    /// <summary>Integers 0 … n-1 as int64 (torch.arange(n)).</summary>
    public static Tensor Arange(int n) => Arange(0, n, 1, DType.Int64);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive (torch.linspace).</summary>
    public static Tensor Linspace(double start, double end, int steps, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var v = new double[steps];
        for (int i = 0; i < steps; i++) v[i] = steps == 1 ? start : start + (end - start) * i / (steps - 1);
        return FromArray(v, steps).Cast(dtype);
    }

    /// <summary>Uniform samples in [low, high) (torch.rand scaled).</summary>
    public static Tensor Rand(int[] shape, Generator? gen = null, double low = 0, double high = 1, DType dtype = DType.Float32)
    {
        gen ??= Generator.Default;
        var t = Empty(DType.Float64, shape);
        var d = t.AsSpan<double>();
        for (int i = 0; i < d.Length; i++) d[i] = low + (high - low) * gen.NextDouble();
        return t.Cast(dtype);
    }

    /// <summary>Uniform samples in [0, 1), float32.</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, null);

    /// <summary>Normal samples with the given mean and standard deviation (torch.randn scaled).</summary>
    public static Tensor Randn(int[] shape, Generator? gen = null, double mean = 0, double std = 1, DType dtype = DType.Float32)
    {
        gen ??= Generator.Default;
        var t = Empty(DType.Float64, shape);
        var d = t.AsSpan<double>();
        for (int i = 0; i < d.Length; i++) d[i] = mean + std * gen.NextNormal();
        return t.Cast(dtype);
    }

    /// <summary>Standard normal samples, float32.</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, null);

    /// <summary>Uniform integers in [low, high) as int64 (torch.randint).</summary>
    public static Tensor RandInt(long low, long high, int[] shape, Generator? gen = null)
    {
        if (high <= low) throw new ArgumentException($"randint needs low < high, got [{low}, {high})");
        gen ??= Generator.Default;
        var t = Empty(DType.Int64, shape);
        var d = t.AsSpan<long>();
        for (int i = 0; i < d.Length; i++) d[i] = low + gen.NextInt64(high - low);
        return t;
    }

    /// <summary>A contiguous tensor with the same values (this tensor itself when already contiguous).</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return this;
        return Op.Apply(new ContiguousOp(), this);
    }

    /// <summary>The values converted to <paramref name="dtype"/> (this tensor itself when already of that dtype).</summary>
    public Tensor Cast(DType dtype) => dtype == DType ? this : Op.Apply(new CastOp(dtype), this);

    /// <summary>A copy that shares nothing with this tensor (torch.clone); differentiable.</summary>
    public Tensor Clone() => Op.Apply(new ContiguousOp(forceCopy: true), this);
}
