// Safety checks on a TensorProto before any of its data is read: dims, element count, data length, external files.
using System.Globalization;
using Onnx;

namespace Cortado.Onnx;

/// <summary>Where an external tensor's bytes lie: a file inside the model's directory, a byte offset and a length.</summary>
internal readonly record struct ExternalSegment(string Path, long Offset, long Length);

internal static class TensorChecks
{
    /// <summary>Element count of <paramref name="t"/>'s dims; negative dims and overflowing products are errors.</summary>
    public static long Numel(TensorProto t, string where)
    {
        long n = 1;
        for (int i = 0; i < t.Dims.Count; i++)
        {
            long d = t.Dims[i];
            if (d < 0) throw new OnnxFormatException($"{where}: dimension {i} is negative ({d})");
            try { n = checked(n * d); }
            catch (OverflowException) { throw new OnnxFormatException($"{where}: dims [{string.Join(", ", t.Dims)}] overflow a 64-bit element count"); }
        }
        return n;
    }

    /// <summary>
    /// Checks that the data <paramref name="t"/> carries (raw_data, a typed field, or an external file) holds exactly
    /// the elements its dims declare; returns the external segment when the data lies in another file.
    /// </summary>
    public static ExternalSegment? CheckData(TensorProto t, string where, string? modelDirectory)
    {
        if (!t.HasDataType || t.DataType == 0)
            throw new OnnxFormatException($"{where}: no data type given");
        long numel = Numel(t, where);
        int size = OnnxDataTypes.RawElementSize(t.DataType);
        var typed = OnnxDataTypes.TypedField(t, numel);
        if (typed is null)
            throw new OnnxFormatException($"{where}: unsupported data type {OnnxDataTypes.Name(t.DataType)}");
        long rawBytes = -1;
        if (size > 0)
        {
            try { rawBytes = checked(numel * size); }
            catch (OverflowException) { throw new OnnxFormatException($"{where}: {numel} elements of {OnnxDataTypes.Name(t.DataType)} overflow a 64-bit byte count"); }
        }

        if (t.HasDataLocation && t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            if (size == 0) throw new OnnxFormatException($"{where}: {OnnxDataTypes.Name(t.DataType)} data cannot be stored externally");
            var seg = ResolveExternal(t, where, modelDirectory);
            if (seg.Length != rawBytes)
                throw new OnnxFormatException($"{where}: external data holds {seg.Length} bytes but dims [{string.Join(", ", t.Dims)}] of {OnnxDataTypes.Name(t.DataType)} need {rawBytes}");
            return seg;
        }
        if (t.HasRawData)
        {
            if (size == 0) throw new OnnxFormatException($"{where}: {OnnxDataTypes.Name(t.DataType)} data cannot be stored in raw_data");
            if (t.RawData.Length != rawBytes)
                throw new OnnxFormatException($"{where}: raw_data holds {t.RawData.Length} bytes but dims [{string.Join(", ", t.Dims)}] of {OnnxDataTypes.Name(t.DataType)} need {rawBytes}");
            return null;
        }
        var (field, count, needed) = typed.Value;
        if (count != needed)
            throw new OnnxFormatException($"{where}: {field} holds {count} values but dims [{string.Join(", ", t.Dims)}] of {OnnxDataTypes.Name(t.DataType)} need {needed}");
        return null;
    }

    /// <summary>
    /// Resolves an external-data reference: the location must be a relative path that stays inside the model's directory
    /// after following symbolic links, the file must exist, and offset + length must lie within it.
    /// </summary>
    public static ExternalSegment ResolveExternal(TensorProto t, string where, string? modelDirectory)
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var kv in t.ExternalData)
        {
            switch (kv.Key)
            {
                case "location": location = kv.Value; break;
                case "offset": offset = ParseNonNegative(kv.Value, "offset", where); break;
                case "length": length = ParseNonNegative(kv.Value, "length", where); break;
                default: break; // "checksum" and unknown keys carry nothing needed to read the bytes
            }
        }
        if (string.IsNullOrEmpty(location)) throw new OnnxFormatException($"{where}: external data has no location");
        if (modelDirectory is null)
            throw new OnnxFormatException($"{where}: external data '{location}' needs the model's directory, and none is known");
        if (location.Contains('\0', StringComparison.Ordinal) || Path.IsPathRooted(location) || location.Contains(':', StringComparison.Ordinal)
            || location.StartsWith('/') || location.StartsWith('\\'))
            throw new OnnxFormatException($"{where}: external data location '{location}' is an absolute path; only paths inside the model's directory are allowed");
        foreach (var part in location.Split('/', '\\'))
            if (part == "..")
                throw new OnnxFormatException($"{where}: external data location '{location}' leaves the model's directory ('..')");

        string root = RealPath(Path.GetFullPath(modelDirectory), where);
        string full = RealPath(Path.GetFullPath(Path.Combine(root, location)), where);
        string rootPrefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootPrefix, StringComparison.Ordinal))
            throw new OnnxFormatException($"{where}: external data location '{location}' resolves to '{full}', outside the model's directory '{root}'");
        if (!File.Exists(full)) throw new OnnxFormatException($"{where}: external data file '{full}' does not exist");
        long fileLength = new FileInfo(full).Length;
        if (offset > fileLength)
            throw new OnnxFormatException($"{where}: external data offset {offset} lies beyond the end of '{full}' ({fileLength} bytes)");
        if (length < 0) length = fileLength - offset;
        if (length > fileLength - offset)
            throw new OnnxFormatException($"{where}: external data range [{offset}, {offset}+{length}) lies beyond the end of '{full}' ({fileLength} bytes)");
        return new ExternalSegment(full, offset, length);
    }

    private static long ParseNonNegative(string s, string key, string where)
    {
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            throw new OnnxFormatException($"{where}: external data {key} '{s}' is not a non-negative integer");
        return v;
    }

    // The path with every symbolic link along it followed, so that a link cannot smuggle a read outside the directory.
    private static string RealPath(string full, string where, int depth = 0)
    {
        if (depth > 32) throw new OnnxFormatException($"{where}: too many symbolic links while resolving '{full}'");
        string root = Path.GetPathRoot(full) ?? "/";
        string cur = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            cur = Path.Combine(cur, part);
            FileSystemInfo fi = Directory.Exists(cur) ? new DirectoryInfo(cur) : new FileInfo(cur);
            string? target = fi.LinkTarget;
            if (target is null) continue;
            string resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(cur) ?? root, target));
            cur = RealPath(resolved, where, depth + 1);
        }
        return cur;
    }

    /// <summary>Reads an external segment's bytes (its length was checked against the file before).</summary>
    public static byte[] ReadSegment(ExternalSegment seg, string where)
    {
        if (seg.Length > Array.MaxLength) throw new OnnxFormatException($"{where}: external data of {seg.Length} bytes is larger than one array can hold");
        var bytes = new byte[seg.Length];
        ReadSegment(seg, bytes, where);
        return bytes;
    }

    /// <summary>Reads an external segment's bytes into <paramref name="destination"/>, which must be exactly its length.</summary>
    public static void ReadSegment(ExternalSegment seg, Span<byte> destination, string where)
    {
        if (destination.Length != seg.Length)
            throw new OnnxFormatException($"{where}: external data of {seg.Length} bytes does not fit {destination.Length} bytes");
        try
        {
            using var handle = File.OpenHandle(seg.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long at = seg.Offset;
            while (!destination.IsEmpty)
            {
                int n = RandomAccess.Read(handle, destination, at);
                if (n == 0) throw new OnnxFormatException($"{where}: external data file '{seg.Path}' ended early");
                destination = destination[n..];
                at += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"{where}: external data file '{seg.Path}' could not be read: {e.Message}", e);
        }
    }
}
