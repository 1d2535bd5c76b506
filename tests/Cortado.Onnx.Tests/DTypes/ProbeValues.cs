// Element conversions for dtype probes, written here rather than taken from Cortado's Cast so that no expected value comes from the code under test.
namespace Cortado.Onnx.Tests.DTypes;

internal static class ProbeValues
{
    /// <summary>The nine dtypes Cortado holds, in the order the operator list names them.</summary>
    public static readonly DType[] All =
        [DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int8, DType.UInt8, DType.Int32, DType.Int64, DType.Bool];

    public static bool IsFloat(DType t) => t is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    public static bool IsUnsigned(DType t) => t is DType.UInt8 or DType.Bool;

    /// <summary>Every element as float64, read from the tensor's own storage type.</summary>
    public static double[] Read(Tensor t)
    {
        if (!t.IsContiguous) t = t.Contiguous();
        int n = t.Numel, o = t.Offset;
        var r = new double[n];
        switch (t.DType)
        {
            case DType.Float32: { var d = t.Data<float>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.Float64: { var d = t.Data<double>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.Float16: { var d = t.Data<Half>(); for (int i = 0; i < n; i++) r[i] = (double)d[o + i]; break; }
            case DType.BFloat16: { var d = t.Data<BFloat16>(); for (int i = 0; i < n; i++) r[i] = BitConverter.UInt32BitsToSingle((uint)d[o + i].Bits << 16); break; }
            case DType.Int8: { var d = t.Data<sbyte>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.UInt8: { var d = t.Data<byte>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.Int32: { var d = t.Data<int>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.Int64: { var d = t.Data<long>(); for (int i = 0; i < n; i++) r[i] = d[o + i]; break; }
            case DType.Bool: { var d = t.Data<bool>(); for (int i = 0; i < n; i++) r[i] = d[o + i] ? 1 : 0; break; }
            default: throw new ArgumentException($"dtype {t.DType} has no reader");
        }
        return r;
    }

    /// <summary>
    /// A tensor of <paramref name="dtype"/> holding <paramref name="v"/>: floats round to nearest even, integers must be
    /// integral and in range (an exception otherwise: the caller chose values that do not fit), bools are v ≠ 0.
    /// </summary>
    public static Tensor Make(DType dtype, double[] v, params int[] shape)
    {
        Storage s = dtype switch
        {
            DType.Float32 => new Storage<float>(v.Select(x => (float)x).ToArray()),
            DType.Float64 => new Storage<double>((double[])v.Clone()),
            DType.Float16 => new Storage<Half>(v.Select(x => (Half)x).ToArray()),
            DType.BFloat16 => new Storage<BFloat16>(v.Select(x => new BFloat16(BFloat16Bits((float)x))).ToArray()),
            DType.Int8 => new Storage<sbyte>(v.Select(x => checked((sbyte)Integral(x))).ToArray()),
            DType.UInt8 => new Storage<byte>(v.Select(x => checked((byte)Integral(x))).ToArray()),
            DType.Int32 => new Storage<int>(v.Select(x => checked((int)Integral(x))).ToArray()),
            DType.Int64 => new Storage<long>(v.Select(x => checked((long)Integral(x))).ToArray()),
            DType.Bool => new Storage<bool>(v.Select(x => x != 0).ToArray()),
            _ => throw new ArgumentException($"dtype {dtype} has no maker"),
        };
        return new Tensor(s, shape);
    }

    private static double Integral(double x) =>
        x == Math.Floor(x) && double.IsFinite(x) ? x : throw new ArgumentException($"{x} is not an integer");

    // Round to nearest even on the float32 bits; NaN stays a quiet NaN.
    private static ushort BFloat16Bits(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((u >> 16) | 0x40);
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }

    /// <summary>x rounded to <paramref name="dtype"/> (floats) as float64; integers and bools are not rounded here.</summary>
    public static double Round(DType dtype, double x) => dtype switch
    {
        DType.Float32 => (float)x,
        DType.Float16 => (double)(Half)x,
        DType.BFloat16 => BitConverter.UInt32BitsToSingle((uint)BFloat16Bits((float)x) << 16),
        _ => x,
    };

    /// <summary>True when <paramref name="x"/> is held exactly by <paramref name="dtype"/>.</summary>
    public static bool Holds(DType dtype, double x) => dtype switch
    {
        DType.Float64 => true,
        DType.Float32 or DType.Float16 or DType.BFloat16 => double.IsNaN(x) || Round(dtype, x) == x,
        DType.Bool => x is 0 or 1,
        _ => x == Math.Floor(x) && x >= Min(dtype) && x <= Max(dtype),
    };

    public static double Min(DType t) => t switch
    {
        DType.Int8 => sbyte.MinValue,
        DType.UInt8 or DType.Bool => 0,
        DType.Int32 => int.MinValue,
        DType.Int64 => -(double)(1L << 53),
        _ => double.NegativeInfinity,
    };

    public static double Max(DType t) => t switch
    {
        DType.Int8 => sbyte.MaxValue,
        DType.UInt8 => byte.MaxValue,
        DType.Bool => 1,
        DType.Int32 => int.MaxValue,
        DType.Int64 => (double)(1L << 53),
        DType.Float16 => 65504,
        _ => double.PositiveInfinity,
    };

    /// <summary>The largest integer n such that every integer of magnitude ≤ n is held exactly (a bound for ranks).</summary>
    public static double ExactIntegers(DType t) => t switch
    {
        DType.Float16 => 2048,
        DType.BFloat16 => 256,
        DType.Float32 => 1 << 24,
        DType.Int8 => sbyte.MaxValue,
        DType.UInt8 => byte.MaxValue,
        DType.Bool => 1,
        DType.Int32 => int.MaxValue,
        _ => 1L << 53,
    };

    /// <summary>The ONNX TensorProto element type code of a dtype.</summary>
    public static int OnnxCode(DType t) => (int)OnnxDataTypes.FromDType(t);

    /// <summary>The dtype named as in the schema data ("float32", "int64"), or null for types Cortado does not hold.</summary>
    public static DType? FromName(string name) => All.Cast<DType?>().FirstOrDefault(d => d!.Value.Name() == name);

    /// <summary>The element dtype of a schema type string ("float32", "seq(int64)", "optional(seq(bool))"), or null.</summary>
    public static DType? ElementOf(string type)
    {
        while (type.EndsWith(')') && type.IndexOf('(') is int p and > 0) type = type[(p + 1)..^1];
        return FromName(type);
    }
}
