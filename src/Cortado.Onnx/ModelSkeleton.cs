// Loading a model without holding its weights twice: the file's large initializers become references to the file itself.
using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Cortado.Onnx;

/// <summary>
/// Builds a copy of a model file in which each large initializer of the main graph keeps its name, type and dims but
/// not its raw_data: the bytes are described instead as external data at their offset in the model file itself
/// (location = the file's name, data_location = EXTERNAL). Parsing that copy costs little memory, and the importer
/// then reads every weight straight from the file into its tensor, so the process holds the weights once while loading
/// (not as protobuf byte strings and then as tensors).
/// <para>
/// The copy is built at the protobuf wire level and only where it is certain to mean the same model: a tensor is
/// rewritten only when it has exactly one raw_data field whose length is what its dims and fixed-size data type need,
/// and no typed, segment or external fields. Anything unusual (a malformed varint, a length past the end, a group
/// wire type) makes <see cref="TryBuild"/> return null, and the caller parses the file as it is, which reports the
/// problem with the usual errors.
/// </para>
/// </summary>
internal static class ModelSkeleton
{
    /// <summary>Initializers with fewer raw bytes than this stay inline.</summary>
    public const int MinDeferredBytes = 4096;

    // Field numbers (onnx.proto): ModelProto.graph, GraphProto.initializer, TensorProto's fields.
    private const int ModelGraph = 7, GraphInitializer = 5;
    private const int TensorDims = 1, TensorDataType = 2, TensorRawData = 9, TensorExternalData = 13, TensorDataLocation = 14;

    /// <summary>
    /// The rewritten model bytes, or null when the file has no large initializers to defer, when they are less than half
    /// of it, or when anything in it is not plainly well formed. <paramref name="fileName"/> is the location the external
    /// references name (the model file's name in its own directory).
    /// </summary>
    public static byte[]? TryBuild(SafeFileHandle file, long length, string fileName)
    {
        try
        {
            var reader = new Reader(file, length);
            int deferred = 0;
            // ModelProto: each graph field rewritten; in it, each large enough initializer.
            var output = Rewrite(reader, length, ModelGraph, (start, end) =>
                Rewrite(reader, end, GraphInitializer, (tensorStart, tensorEnd) =>
                {
                    var tensor = tensorEnd - tensorStart >= MinDeferredBytes ? RewriteTensor(reader, tensorStart, tensorEnd, fileName) : null;
                    if (tensor != null) deferred++;
                    return tensor;
                }).WrittenSpan.ToArray());
            // The copy is held whole while it is parsed: worth it only when it leaves most of the file behind (a
            // model of small or typed tensors is better parsed from the file as a stream).
            return deferred == 0 || output.WrittenCount > length / 2 ? null : output.WrittenSpan.ToArray();
        }
        catch (FormatException) { return null; }
    }

    // The fields of one message, from the reader's position to `end`, copied as they are, except each length-delimited
    // field number `field`, whose contents [start, end) in the file `child` rewrites (null: copy it as it is). The reader
    // ends at `end`.
    private static ArrayBufferWriter<byte> Rewrite(Reader reader, long end, int field, Func<long, long, byte[]?> child)
    {
        var output = new ArrayBufferWriter<byte>();
        while (reader.Position < end)
        {
            long fieldStart = reader.Position;
            ulong tag = reader.Varint();
            if ((int)(tag >> 3) == field && (tag & 7) == 2)
            {
                long len = reader.Length();
                long start = reader.Position, stop = start + len;
                if (stop > end) throw new FormatException();
                var rewritten = child(start, stop);
                if (rewritten is null) reader.CopyRange(fieldStart, stop, output);
                else
                {
                    WriteVarint(output, tag);
                    WriteVarint(output, (ulong)rewritten.Length);
                    output.Write(rewritten);
                }
                reader.Position = stop;
            }
            else
            {
                reader.SkipValue((int)(tag & 7));
                if (reader.Position > end) throw new FormatException();
                reader.CopyRange(fieldStart, reader.Position, output);
            }
        }
        if (reader.Position != end) throw new FormatException();
        return output;
    }

    // The tensor without its raw_data and with an external reference to the same bytes in the model file; null when
    // the tensor is anything but a plain raw_data tensor of a fixed-size type whose length matches its dims.
    private static byte[]? RewriteTensor(Reader reader, long start, long end, string fileName)
    {
        reader.Position = start;
        long numel = 1;
        int dataType = 0, rawCount = 0;
        long rawFieldStart = 0, rawStart = 0, rawLength = 0;
        while (reader.Position < end)
        {
            long fieldStart = reader.Position;
            ulong tag = reader.Varint();
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            switch (field)
            {
                case TensorDims when wire == 0:
                    numel = MultiplyDim(numel, reader.Varint());
                    break;
                case TensorDims when wire == 2:
                {
                    long packedLength = reader.Length();
                    long packedEnd = reader.Position + packedLength;
                    if (packedEnd > end) return null;
                    while (reader.Position < packedEnd) numel = MultiplyDim(numel, reader.Varint());
                    if (reader.Position != packedEnd) return null;
                    break;
                }
                case TensorDataType when wire == 0:
                    ulong dt = reader.Varint();
                    if (dt > int.MaxValue) return null;
                    dataType = (int)dt;
                    break;
                case TensorRawData when wire == 2:
                    rawCount++;
                    rawFieldStart = fieldStart;
                    rawLength = reader.Length();
                    rawStart = reader.Position;
                    reader.Position = rawStart + rawLength;
                    break;
                case 8 or 12 when wire == 2: // name, doc_string
                    reader.SkipValue(wire);
                    break;
                default:
                    return null; // typed data, segments, external data or an unknown field: leave the tensor as it is
            }
            if (numel < 0 || reader.Position > end) return null;
        }
        int size = OnnxDataTypes.RawElementSize(dataType);
        if (rawCount != 1 || size <= 0 || numel > long.MaxValue / size || numel * size != rawLength) return null;

        var output = new ArrayBufferWriter<byte>();
        long rawEnd = rawStart + rawLength;
        reader.CopyRange(start, rawFieldStart, output);
        reader.CopyRange(rawEnd, end, output);
        WriteEntry(output, "location", fileName);
        WriteEntry(output, "offset", rawStart.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WriteEntry(output, "length", rawLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WriteVarint(output, (TensorDataLocation << 3) | 0);
        WriteVarint(output, 1); // EXTERNAL
        return output.WrittenSpan.ToArray();
    }

    // numel × d, or -1 once the product leaves the range a tensor could have (the caller then leaves the tensor inline).
    private static long MultiplyDim(long numel, ulong d)
    {
        if (numel < 0 || d > int.MaxValue) return -1;
        return numel > long.MaxValue / Math.Max(1L, (long)d) ? -1 : numel * (long)d;
    }

    // One StringStringEntryProto { key = 1; value = 2; } as TensorProto.external_data.
    private static void WriteEntry(ArrayBufferWriter<byte> output, string key, string value)
    {
        byte[] k = System.Text.Encoding.UTF8.GetBytes(key), v = System.Text.Encoding.UTF8.GetBytes(value);
        int inner = 1 + VarintSize((ulong)k.Length) + k.Length + 1 + VarintSize((ulong)v.Length) + v.Length;
        WriteVarint(output, (TensorExternalData << 3) | 2);
        WriteVarint(output, (ulong)inner);
        WriteVarint(output, (1 << 3) | 2);
        WriteVarint(output, (ulong)k.Length);
        output.Write(k);
        WriteVarint(output, (2 << 3) | 2);
        WriteVarint(output, (ulong)v.Length);
        output.Write(v);
    }

    private static int VarintSize(ulong v)
    {
        int n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    private static void WriteVarint(ArrayBufferWriter<byte> output, ulong v)
    {
        var span = output.GetSpan(10);
        int n = 0;
        while (v >= 0x80) { span[n++] = (byte)(v | 0x80); v >>= 7; }
        span[n++] = (byte)v;
        output.Advance(n);
    }

    // Reads the file at positions through a small window; every read past the end throws FormatException.
    private sealed class Reader(SafeFileHandle file, long length)
    {
        private readonly byte[] _window = new byte[1 << 16];
        private long _windowStart = -1;
        private int _windowCount;

        public long Position { get; set; }

        private byte Byte()
        {
            if (Position >= length) throw new FormatException();
            if (_windowStart < 0 || Position < _windowStart || Position >= _windowStart + _windowCount)
            {
                _windowStart = Position;
                _windowCount = RandomAccess.Read(file, _window, Position);
                if (_windowCount <= 0) throw new FormatException();
            }
            return _window[Position++ - _windowStart];
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 70; shift += 7)
            {
                byte b = Byte();
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw new FormatException();
        }

        // A length-delimited field's length, checked against the file's end.
        public long Length()
        {
            ulong len = Varint();
            if (len > (ulong)(length - Position)) throw new FormatException();
            return (long)len;
        }

        public void SkipValue(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Position += 8; break;
                case 2:
                    long len = Length(); // read before Position: "Position += Length()" would add to the old position
                    Position += len;
                    break;
                case 5: Position += 4; break;
                default: throw new FormatException(); // groups (3, 4) and invalid wire types
            }
            if (Position > length) throw new FormatException();
        }

        public void CopyRange(long from, long to, ArrayBufferWriter<byte> output)
        {
            if (from > to || to > length) throw new FormatException();
            while (from < to)
            {
                int n = (int)Math.Min(1 << 16, to - from);
                int got = RandomAccess.Read(file, output.GetSpan(n)[..n], from);
                if (got <= 0) throw new FormatException();
                output.Advance(got);
                from += got;
            }
        }
    }
}
