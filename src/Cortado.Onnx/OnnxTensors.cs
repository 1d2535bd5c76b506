// Converting ONNX TensorProto values (initializers, test-data .pb files) into Cortado tensors.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Onnx;

namespace Cortado.Onnx;

/// <summary>Reads ONNX tensors into Cortado <see cref="Tensor"/>s.</summary>
public static class OnnxTensors
{
    /// <summary>Largest single TensorProto file <see cref="Load"/> accepts (2 GiB).</summary>
    public const long MaxFileBytes = OnnxModel.MaxFileBytes;

    /// <summary>
    /// Reads a file holding one serialized TensorProto (the input_N.pb / output_N.pb files of ONNX test data sets) and
    /// converts it with <see cref="ToTensor(TensorProto, string?)"/>; errors name the file.
    /// </summary>
    public static Tensor Load(string path) => ToTensor(LoadProto(path), Path.GetDirectoryName(Path.GetFullPath(path)), path);

    /// <summary>Reads a file holding one serialized TensorProto without converting it.</summary>
    public static TensorProto LoadProto(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists) throw new OnnxFormatException($"ONNX tensor file '{path}' does not exist");
        if (info.Length > MaxFileBytes)
            throw new OnnxFormatException($"ONNX tensor file '{path}' is {info.Length} bytes, larger than the {MaxFileBytes}-byte limit");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return OnnxModel.ParseMessage<TensorProto>(fs, path);
    }

    /// <summary>
    /// Converts <paramref name="proto"/> to a contiguous Cortado tensor of the same shape. Supported element types:
    /// float32, float64, float16, bfloat16, int8, uint8, int32, int64 and bool, stored as little-endian raw_data, in the
    /// typed fields (float_data, double_data, int64_data, or int32_data, which per the ONNX spec holds the values of
    /// int8/uint8/bool and the bit patterns of float16/bfloat16), or in an external file resolved relative to
    /// <paramref name="modelDirectory"/> that must stay inside it. Bool values are true for any non-zero byte or entry.
    /// Throws <see cref="OnnxFormatException"/> for other element types, dims that do not fit an int shape, or data whose
    /// length does not match the dims.
    /// </summary>
    public static Tensor ToTensor(TensorProto proto, string? modelDirectory) => ToTensor(proto, modelDirectory, null);

    private static Tensor ToTensor(TensorProto proto, string? modelDirectory, string? file)
    {
        ArgumentNullException.ThrowIfNull(proto);
        string where = file is null ? $"ONNX tensor '{proto.Name}'" : $"ONNX tensor '{proto.Name}' in '{file}'";
        var dtype = OnnxDataTypes.ToDType(proto.DataType)
            ?? throw new OnnxFormatException($"{where}: element type {OnnxDataTypes.Name(proto.DataType)} is not supported");
        var seg = TensorChecks.CheckData(proto, where, modelDirectory);
        long numel = TensorChecks.Numel(proto, where);
        if (numel > Array.MaxLength) throw new OnnxFormatException($"{where}: {numel} elements are more than one tensor can hold");
        var shape = new int[proto.Dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (proto.Dims[i] > int.MaxValue) throw new OnnxFormatException($"{where}: dimension {i} ({proto.Dims[i]}) does not fit a 32-bit size");
            shape[i] = (int)proto.Dims[i];
        }
        int n = (int)numel;

        // Fixed-size numeric data in another file is read straight into the tensor's array.
        if (seg is ExternalSegment direct)
        {
            switch (dtype)
            {
                case DType.Float32: return Make(ReadExternal<float>(direct, n, where), shape);
                case DType.Float64: return Make(ReadExternal<double>(direct, n, where), shape);
                case DType.Int64: return Make(ReadExternal<long>(direct, n, where), shape);
                case DType.Int32: return Make(ReadExternal<int>(direct, n, where), shape);
            }
        }

        ReadOnlySpan<byte> raw = default;
        bool fromRaw = false;
        byte[]? external = null;
        if (seg is ExternalSegment s) { external = TensorChecks.ReadSegment(s, where); raw = external; fromRaw = true; }
        else if (proto.HasRawData) { raw = proto.RawData.Span; fromRaw = true; }

        return dtype switch
        {
            DType.Float32 => Make(fromRaw ? FromRaw<float>(raw, n) : [.. proto.FloatData], shape),
            DType.Float64 => Make(fromRaw ? FromRaw<double>(raw, n) : [.. proto.DoubleData], shape),
            DType.Int64 => Make(fromRaw ? FromRaw<long>(raw, n) : [.. proto.Int64Data], shape),
            DType.Int32 => Make(fromRaw ? FromRaw<int>(raw, n) : [.. proto.Int32Data], shape),
            DType.Int8 => Make(fromRaw ? MemoryMarshal.Cast<byte, sbyte>(raw).ToArray() : proto.Int32Data.Select(v => (sbyte)v).ToArray(), shape),
            DType.UInt8 => Make(fromRaw ? raw.ToArray() : proto.Int32Data.Select(v => (byte)v).ToArray(), shape),
            DType.Bool => Make(fromRaw ? BoolsFromBytes(raw) : proto.Int32Data.Select(v => v != 0).ToArray(), shape),
            DType.Float16 => Make(fromRaw
                ? Array.ConvertAll(FromRaw<ushort>(raw, n), BitConverter.UInt16BitsToHalf)
                : proto.Int32Data.Select(v => BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(), shape),
            DType.BFloat16 => Make(fromRaw
                ? Array.ConvertAll(FromRaw<ushort>(raw, n), b => new BFloat16(b))
                : proto.Int32Data.Select(v => new BFloat16((ushort)v)).ToArray(), shape),
            _ => throw new OnnxFormatException($"{where}: element type {OnnxDataTypes.Name(proto.DataType)} is not supported"),
        };
    }

    /// <summary>
    /// Converts <paramref name="tensor"/> to a TensorProto named <paramref name="name"/> with little-endian raw_data (bool as
    /// one byte per element, float16/bfloat16 as their 16-bit patterns).
    /// </summary>
    public static TensorProto FromTensor(Tensor tensor, string name = "")
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var p = new TensorProto { Name = name, DataType = (int)OnnxDataTypes.FromDType(tensor.DType) };
        foreach (var d in tensor.Shape) p.Dims.Add(d);
        var bytes = tensor.AsBytes().ToArray();
        if (!BitConverter.IsLittleEndian)
            throw new OnnxFormatException("writing ONNX tensors on a big-endian machine is not supported");
        p.RawData = Google.Protobuf.ByteString.CopyFrom(bytes);
        return p;
    }

    /// <summary>Writes <paramref name="tensor"/> as one serialized TensorProto to <paramref name="path"/> (the format of ONNX test data).</summary>
    public static void Save(Tensor tensor, string path, string name = "")
    {
        var proto = FromTensor(tensor, name);
        using var fs = File.Create(path);
        using var cos = new Google.Protobuf.CodedOutputStream(fs);
        proto.WriteTo(cos);
    }

    // Tensor.FromArray reads an empty shape as "1-D"; a 0-d ONNX tensor must stay a scalar, so storage is wrapped directly.
    private static Tensor Make<T>(T[] data, int[] shape) where T : unmanaged => new(new Storage<T>(data), shape);

    // External data is little-endian like raw_data; its length was checked against the dims before.
    private static T[] ReadExternal<T>(ExternalSegment seg, int n, string where) where T : unmanaged
    {
        var result = new T[n];
        TensorChecks.ReadSegment(seg, MemoryMarshal.AsBytes(result.AsSpan()), where);
        if (!BitConverter.IsLittleEndian) SwapBytes(result);
        return result;
    }

    // raw_data is little-endian by the ONNX spec; the length was checked against the dims before.
    private static T[] FromRaw<T>(ReadOnlySpan<byte> raw, int n) where T : unmanaged
    {
        var result = new T[n];
        raw[..(n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>())].CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        if (!BitConverter.IsLittleEndian) SwapBytes(result);
        return result;
    }

    private static void SwapBytes<T>(T[] values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (size == 2) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ushort>(bytes), MemoryMarshal.Cast<byte, ushort>(bytes));
        else if (size == 4) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, uint>(bytes), MemoryMarshal.Cast<byte, uint>(bytes));
        else if (size == 8) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, ulong>(bytes), MemoryMarshal.Cast<byte, ulong>(bytes));
    }

    private static bool[] BoolsFromBytes(ReadOnlySpan<byte> raw)
    {
        var result = new bool[raw.Length];
        for (int i = 0; i < raw.Length; i++) result[i] = raw[i] != 0;
        return result;
    }
}
