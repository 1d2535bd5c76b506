// Element-wise activations that kernels apply to their own freshly written output (a fused epilogue).
using System.Numerics;
using System.Numerics.Tensors;

namespace Cortado.Backends;

/// <summary>The activations a kernel can apply to its output as it finishes it.</summary>
public enum ActivationKind
{
    /// <summary>No activation.</summary>
    None,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>x for x ≥ 0, alpha·x below (P0 = alpha).</summary>
    LeakyRelu,
    /// <summary>min(max(x, P0), P1); a NaN bound is absent (ReLU6 is Clip(0, 6)).</summary>
    Clip,
    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>max(0, min(1, alpha·x + beta)) (P0 = alpha, P1 = beta).</summary>
    HardSigmoid,
    /// <summary>x·max(0, min(1, x/6 + 1/2)).</summary>
    HardSwish,
}

/// <summary>
/// An activation with its parameters (<see cref="ActivationKind"/> says what P0 and P1 mean). <see cref="Apply{T}"/>
/// is the one implementation, used by fused kernels and by the graph's fused ops alike, so applying it inside a
/// kernel gives the same bits as applying it to the finished tensor.
/// </summary>
public readonly record struct Activation(ActivationKind Kind, double P0 = double.NaN, double P1 = double.NaN)
{
    /// <summary>No activation.</summary>
    public static Activation None => default;

    /// <summary>max(x, 0).</summary>
    public static Activation Relu => new(ActivationKind.Relu);

    /// <summary>True for <see cref="ActivationKind.None"/>.</summary>
    public bool IsNone => Kind == ActivationKind.None;

    /// <summary>The activation named like the ONNX op (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish).</summary>
    public static Activation Parse(string name, double p0 = double.NaN, double p1 = double.NaN) =>
        Enum.TryParse<ActivationKind>(name, ignoreCase: false, out var kind) && kind != ActivationKind.None && kind.ToString() == name
            ? new Activation(kind, p0, p1)
            : throw new ArgumentException($"unknown activation '{name}' (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish)", nameof(name));

    /// <summary>Applies the activation to <paramref name="y"/> in place.</summary>
    public void Apply<T>(Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T p0 = T.CreateChecked(P0), p1 = T.CreateChecked(P1);
        switch (Kind)
        {
            case ActivationKind.None:
                break;
            case ActivationKind.Relu:
                TensorPrimitives.Max(y, T.Zero, y);
                break;
            case ActivationKind.Sigmoid:
                InChunks(y, static c => TensorPrimitives.Sigmoid(c, c));
                break;
            case ActivationKind.Tanh:
                InChunks(y, static c => TensorPrimitives.Tanh(c, c));
                break;
            case ActivationKind.Clip:
                if (!T.IsNaN(p0)) TensorPrimitives.Max(y, p0, y);
                if (!T.IsNaN(p1)) TensorPrimitives.Min(y, p1, y);
                break;
            case ActivationKind.LeakyRelu:
                for (int i = 0; i < y.Length; i++) if (y[i] < T.Zero) y[i] *= p0;
                break;
            case ActivationKind.HardSigmoid:
                for (int i = 0; i < y.Length; i++) y[i] = T.Max(T.Zero, T.Min(T.One, p0 * y[i] + p1));
                break;
            case ActivationKind.HardSwish:
            {
                T sixth = T.One / T.CreateChecked(6), half = T.One / T.CreateChecked(2);
                for (int i = 0; i < y.Length; i++) y[i] *= T.Max(T.Zero, T.Min(T.One, sixth * y[i] + half));
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown activation");
        }
    }

    private delegate void ChunkOp<T>(Span<T> chunk);

    // Runs op on 64-byte chunks only, the last one zero-padded in a buffer, so that every element takes the same code
    // path whatever the span's length and its position in it: TensorPrimitives computes short spans and tails
    // differently from whole vectors (tanh and sigmoid round differently there), and a fused kernel applies the
    // activation to blocks whose lengths differ from the whole tensor's.
    private static void InChunks<T>(Span<T> y, ChunkOp<T> op) where T : unmanaged
    {
        int chunk = 64 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        int i = 0;
        for (; i + chunk <= y.Length; i += chunk) op(y.Slice(i, chunk));
        if (i == y.Length) return;
        Span<T> buf = stackalloc T[chunk];
        buf.Clear();
        y[i..].CopyTo(buf);
        op(buf);
        buf[..(y.Length - i)].CopyTo(y[i..]);
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        ActivationKind.LeakyRelu => $"LeakyRelu({P0})",
        ActivationKind.Clip => $"Clip({P0}, {P1})",
        ActivationKind.HardSigmoid => $"HardSigmoid({P0}, {P1})",
        _ => Kind.ToString(),
    };
}
