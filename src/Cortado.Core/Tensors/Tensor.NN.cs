// Linear algebra and neural-network functions on tensors: matmul, conv2d, pooling, softmax.
using Cortado.Ops;

namespace Cortado;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with NumPy semantics (torch.matmul): 1-D operands are treated as a row (left) or
    /// column (right) vector and that dimension is removed again; batch dimensions broadcast.
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Rank == 0 || other.Rank == 0) throw new ShapeMismatchException($"op 'matmul': operands must not be scalars, got {ShapeUtil.Format(Shape)} and {ShapeUtil.Format(other.Shape)}");
        if (Rank > 2 && other.Rank == 2 && Size(-1) == other.Size(0))
        {
            // [..., M, K] @ [K, N] is one [(…·M), K] @ [K, N] GEMM: one packing of the shared matrix instead of one
            // per batch entry, and a backward pass whose weight gradient is a single GEMM rather than per-batch
            // products summed afterwards.
            var lead = Dims[..^1];
            var flat = Reshape(ShapeUtil.Numel(lead), Size(-1)).MatMul(other);
            return flat.Reshape([.. lead, other.Size(1)]);
        }
        var a = Rank == 1 ? Unsqueeze(0) : this;
        var b = other.Rank == 1 ? other.Unsqueeze(1) : other;
        var y = Op.Apply(new MatMulOp(), a, b);
        if (other.Rank == 1) y = y.Squeeze(-1);
        if (Rank == 1) y = y.Squeeze(other.Rank == 1 ? -1 : -2);
        return y;
    }

    /// <summary>
    /// y = x·Wᵀ + b (torch.nn.functional.linear) for x [..., in], weight [out, in], bias [out] or null; y [..., out].
    /// Float operands of one dtype run as one <see cref="LinearOp"/> (leading dims folded into N), which applies an
    /// <paramref name="activation"/> to each block of y as the GEMM finishes it (with a gradient wanted, only ReLU);
    /// other combinations compose MatMul and Add with type promotion and take no activation.
    /// </summary>
    public Tensor Linear(Tensor weight, Tensor? bias = null, Backends.Activation activation = default)
    {
        ArgumentNullException.ThrowIfNull(weight);
        bool fused = DType is DType.Float32 or DType.Float64 && weight.DType == DType && weight.Rank == 2 && Rank >= 2
                     && Size(-1) == weight.Size(1) && (bias is null || (bias.DType == DType && bias.Rank == 1));
        if (!fused)
        {
            if (!activation.IsNone)
                throw new NotSupportedException($"linear: a fused {activation} needs float32 or float64 operands of one dtype, an input of rank ≥ 2 and a [out, in] weight");
            var y = MatMul(weight.T);
            return bias is null ? y : y + bias;
        }
        if (Rank > 2)
        {
            var lead = Dims[..^1];
            return Reshape(ShapeUtil.Numel(lead), Size(-1)).Linear(weight, bias, activation).Reshape([.. lead, weight.Size(0)]);
        }
        var op = new LinearOp(activation);
        return bias is null ? Op.Apply(op, this, weight) : Op.Apply(op, this, weight, bias);
    }

    /// <summary>
    /// 2-D convolution (torch.nn.functional.conv2d); see <see cref="Conv2dOp"/> for shapes. A
    /// <paramref name="residual"/> of the output's shape is added to it, then an <paramref name="activation"/> applied,
    /// by the kernel as it writes the output (a fused epilogue: <c>act(conv2d(x, w, b) + residual)</c>); with a
    /// gradient wanted, only ReLU is allowed.
    /// </summary>
    public Tensor Conv2d(Tensor weight, Tensor? bias = null, (int h, int w)? stride = null, (int h, int w)? padding = null, (int h, int w)? dilation = null, int groups = 1,
                         Backends.Activation activation = default, Tensor? residual = null)
    {
        var (sh, sw) = stride ?? (1, 1);
        var (ph, pw) = padding ?? (0, 0);
        var (dh, dw) = dilation ?? (1, 1);
        var op = new Conv2dOp(sh, sw, ph, pw, dh, dw, groups, activation, residual is not null);
        Tensor[] inputs = bias is null ? [this, weight] : [this, weight, bias];
        return Op.Apply(op, residual is null ? inputs : [.. inputs, residual]);
    }

    /// <summary>Max pooling (torch.nn.functional.max_pool2d); stride defaults to the kernel size.</summary>
    public Tensor MaxPool2d((int h, int w) kernel, (int h, int w)? stride = null, (int h, int w)? padding = null, (int h, int w)? dilation = null)
    {
        var (sh, sw) = stride ?? kernel;
        var (ph, pw) = padding ?? (0, 0);
        var (dh, dw) = dilation ?? (1, 1);
        return Op.Apply(new MaxPool2dOp(kernel.h, kernel.w, sh, sw, ph, pw, dh, dw), this);
    }

    /// <summary>Average pooling (torch.nn.functional.avg_pool2d); stride defaults to the kernel size.</summary>
    public Tensor AvgPool2d((int h, int w) kernel, (int h, int w)? stride = null, (int h, int w)? padding = null, bool countIncludePad = true)
    {
        var (sh, sw) = stride ?? kernel;
        var (ph, pw) = padding ?? (0, 0);
        return Op.Apply(new AvgPool2dOp(kernel.h, kernel.w, sh, sw, ph, pw, countIncludePad), this);
    }

    /// <summary>y = exp(x − max) / Σ exp(x − max) along <paramref name="axis"/> (torch.softmax).</summary>
    public Tensor Softmax(int axis = -1) => Op.Apply(new SoftmaxOp(axis, false), this);

    /// <summary>y = x − max − ln Σ exp(x − max) along <paramref name="axis"/> (torch.log_softmax).</summary>
    public Tensor LogSoftmax(int axis = -1) => Op.Apply(new SoftmaxOp(axis, true), this);
}
