// Neural-network primitives with kernels of their own: convolution, pooling, softmax.
using Cortado.Backends;

namespace Cortado.Ops;

/// <summary>Shared checks for NCHW window ops.</summary>
internal static class Window
{
    public static DType FloatCompute(Tensor x, string where)
    {
        if (!x.DType.IsFloating()) throw new DTypeMismatchException($"{where} needs a floating input, got {x.DType.Name()}");
        return x.DType == DType.Float64 ? DType.Float64 : DType.Float32;
    }

    public static void Require4D(Tensor x, string where, string what)
    {
        if (x.Rank != 4) throw new ShapeMismatchException($"{where}: {what} must be 4-D [N, C, H, W], got shape {ShapeUtil.Format(x.Shape)}");
    }

    /// <summary>Geometry of a pooling window over x [N, C, H, W]; padding may be at most half the kernel (PyTorch's rule).</summary>
    public static Conv2dGeometry Pool(ReadOnlySpan<int> x, int kH, int kW, int strideH, int strideW, int padH, int padW, int dilH, int dilW, string where)
    {
        if (x.Length != 4) throw new ShapeMismatchException($"{where}: input must be 4-D [N, C, H, W], got {ShapeUtil.Format(x)}");
        if (padH * 2 > kH || padW * 2 > kW) throw new ShapeMismatchException($"{where}: padding ({padH},{padW}) must be at most half the kernel ({kH},{kW})");
        var g = new Conv2dGeometry(x[0], x[1], x[2], x[3], x[1], kH, kW, strideH, strideW, padH, padW, dilH, dilW, x[1]);
        CheckOutput(g, where);
        return g;
    }

    public static void CheckOutput(Conv2dGeometry g, string where)
    {
        if (g.OutH <= 0 || g.OutW <= 0)
            throw new ShapeMismatchException($"{where}: input {g.H}x{g.W} is too small for kernel {g.KH}x{g.KW} (padding {g.PadH},{g.PadW}, dilation {g.DilationH},{g.DilationW}); output would be {g.OutH}x{g.OutW}");
    }
}

/// <summary>
/// y = conv2d(x, w) + bias (torch.nn.functional.conv2d): x [N, C, H, W], w [O, C/groups, KH, KW],
/// bias [O] (optional third input), y [N, O, OH, OW] with OH = (H + 2·padH − dilH·(KH−1) − 1)/strideH + 1.
/// With <paramref name="residual"/>, the last input is a tensor of y's shape added to it (a skip connection:
/// y = conv2d(x, w) + bias + r). With an <paramref name="activation"/>, the backend applies it to y as it finishes
/// each block of it (a fused epilogue); only ReLU then has a gradient (from y's sign), other activations run without
/// a tape only.
/// </summary>
public sealed class Conv2dOp(int strideH, int strideW, int padH, int padW, int dilH, int dilW, int groups, Activation activation = default,
                             bool residual = false) : Op
{
    public override string Name => "conv2d";

    // Inputs before the residual: x, w and the optional bias.
    private int Plain(int inputs) => residual ? inputs - 1 : inputs;

    private Conv2dGeometry Geometry(ReadOnlySpan<int> x, ReadOnlySpan<int> w)
    {
        if (x.Length != 4) throw new ShapeMismatchException($"{Where}: input must be 4-D [N, C, H, W], got {ShapeUtil.Format(x)}");
        if (w.Length != 4) throw new ShapeMismatchException($"{Where}: weight must be 4-D [O, C/groups, KH, KW], got {ShapeUtil.Format(w)}");
        if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0)
            throw new ShapeMismatchException($"{Where}: {groups} groups do not divide input channels {x[1]} and output channels {w[0]}");
        if (w[1] * groups != x[1])
            throw new ShapeMismatchException($"{Where}: input {ShapeUtil.Format(x)} has {x[1]} channels but weight {ShapeUtil.Format(w)} expects {w[1] * groups}");
        if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0)
            throw new ShapeMismatchException($"{Where}: stride and dilation must be ≥ 1 and padding ≥ 0");
        var g = new Conv2dGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], strideH, strideW, padH, padW, dilH, dilW, groups);
        Window.CheckOutput(g, Where);
        return g;
    }

    public override int[] InferShape(int[][] s)
    {
        var g = Geometry(s[0], s[1]);
        if (Plain(s.Length) > 2 && (s[2].Length != 1 || s[2][0] != g.OutC))
            throw new ShapeMismatchException($"{Where}: bias must have shape [{g.OutC}], got {ShapeUtil.Format(s[2])}");
        int[] y = [g.N, g.OutC, g.OutH, g.OutW];
        if (residual && !ShapeUtil.Equal(s[^1], y))
            throw new ShapeMismatchException($"{Where}: the residual must have the output's shape {ShapeUtil.Format(y)}, got {ShapeUtil.Format(s[^1])}");
        return y;
    }

    public override Tensor Forward(Tensor[] x)
    {
        var shape = InferShape(x.Select(t => t.Dims).ToArray());
        var g = Geometry(x[0].Shape, x[1].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        var xc = x[0].Cast(dt).Contiguous();
        var wc = x[1].Cast(dt).Contiguous();
        var bc = Plain(x.Length) > 2 ? x[2].Cast(dt).Contiguous() : null;
        var rc = residual ? x[^1].Cast(dt).Contiguous() : null;
        if (GradientWanted && activation.Kind is not (ActivationKind.None or ActivationKind.Relu))
            throw new NotSupportedException($"{Where}: the fused activation {activation} has no gradient; apply it as its own op when training");
        // Every element is written by the kernel, so the output need not be zeroed first.
        var y = Tensor.Uninitialized(dt, shape);
        if (y.Numel > 0) Backend.Current.Conv2d(xc, wc, bc, y, g, activation, rc);
        return y.DType == x[0].DType ? y : y.Cast(x[0].DType);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor gy)
    {
        var g = Geometry(x[0].Shape, x[1].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        // A fused ReLU passes the gradient where it passed the value (y > 0), as torch's relu does.
        if (activation.Kind == ActivationKind.Relu) gy = BinaryOp.ReluGrad(gy, y);
        var gc = gy.Cast(dt).Contiguous();
        Tensor? gx = null, gw = null, gb = null;
        if (x[0].RequiresGrad)
        {
            gx = Tensor.Empty(dt, x[0].Dims);
            Backend.Current.Conv2dBackwardInput(gc, x[1].Cast(dt).Contiguous(), gx, g);
        }
        if (x[1].RequiresGrad)
        {
            gw = Tensor.Empty(dt, x[1].Dims);
            Backend.Current.Conv2dBackwardWeight(x[0].Cast(dt).Contiguous(), gc, gw, g);
        }
        if (Plain(x.Length) > 2 && x[2].RequiresGrad) gb = gc.Sum([0, 2, 3]);
        Tensor?[] grads = Plain(x.Length) > 2 ? [gx, gw, gb] : [gx, gw];
        // The residual is added as is: its gradient is the (activation-masked) output gradient.
        if (residual) grads = [.. grads, x[^1].RequiresGrad ? gy.Cast(x[^1].DType) : null];
        return grads;
    }
}

/// <summary>Max pooling over KH×KW windows of x [N, C, H, W] (torch.nn.functional.max_pool2d); padding counts as −∞.</summary>
public sealed class MaxPool2dOp(int kH, int kW, int strideH, int strideW, int padH, int padW, int dilH = 1, int dilW = 1) : Op
{
    private Tensor? _indices;

    public override string Name => "max_pool2d";

    private Conv2dGeometry Geometry(ReadOnlySpan<int> x) => Window.Pool(x, kH, kW, strideH, strideW, padH, padW, dilH, dilW, Where);

    public override int[] InferShape(int[][] s)
    {
        var g = Geometry(s[0]);
        return [g.N, g.C, g.OutH, g.OutW];
    }

    public override Tensor Forward(Tensor[] x)
    {
        var g = Geometry(x[0].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        var xc = x[0].Cast(dt).Contiguous();
        // The kernel writes every output and index (−∞ and −1 for a window wholly in padding).
        var y = Tensor.Uninitialized(dt, g.N, g.C, g.OutH, g.OutW);
        // The indices serve only the backward pass; without a tape entry the kernel skips them.
        _indices = GradientWanted ? Tensor.Uninitialized(DType.Int64, y.Dims) : null;
        if (y.Numel > 0) Backend.Current.MaxPool2d(xc, y, _indices, g);
        return y.DType == x[0].DType ? y : y.Cast(x[0].DType);
    }

    /// <summary>Flat H·W index of each maximum from the last forward (torch's return_indices).</summary>
    public Tensor Indices => _indices ?? throw new InvalidOperationException("forward has not run with a gradient wanted");

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor gy)
    {
        var g = Geometry(x[0].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        var gx = Tensor.Empty(dt, x[0].Dims);
        Backend.Current.MaxPool2dBackward(gy.Cast(dt).Contiguous(), Indices, gx, g);
        return [gx];
    }
}

/// <summary>Average pooling over KH×KW windows of x [N, C, H, W] (torch.nn.functional.avg_pool2d).</summary>
public sealed class AvgPool2dOp(int kH, int kW, int strideH, int strideW, int padH, int padW, bool countIncludePad = true) : Op
{
    public override string Name => "avg_pool2d";

    private Conv2dGeometry Geometry(ReadOnlySpan<int> x) => Window.Pool(x, kH, kW, strideH, strideW, padH, padW, 1, 1, Where);

    public override int[] InferShape(int[][] s)
    {
        var g = Geometry(s[0]);
        return [g.N, g.C, g.OutH, g.OutW];
    }

    public override Tensor Forward(Tensor[] x)
    {
        var g = Geometry(x[0].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        var y = Tensor.Uninitialized(dt, g.N, g.C, g.OutH, g.OutW);
        if (y.Numel > 0) Backend.Current.AvgPool2d(x[0].Cast(dt).Contiguous(), y, g, countIncludePad);
        return y.DType == x[0].DType ? y : y.Cast(x[0].DType);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor gy)
    {
        var g = Geometry(x[0].Shape);
        var dt = Window.FloatCompute(x[0], Where);
        var gx = Tensor.Empty(dt, x[0].Dims);
        Backend.Current.AvgPool2dBackward(gy.Cast(dt).Contiguous(), gx, g, countIncludePad);
        return [gx];
    }
}

/// <summary>y = softmax(x) along an axis (or log-softmax), computed with the maximum subtracted (torch.softmax / log_softmax).</summary>
public sealed class SoftmaxOp(int axis, bool log) : Op
{
    public override string Name => log ? "log_softmax" : "softmax";
    public override int[] InferShape(int[][] s)
    {
        ShapeUtil.NormAxis(axis, s[0].Length);
        return s[0];
    }

    public override Tensor Forward(Tensor[] x)
    {
        var dt = Window.FloatCompute(x[0], Where);
        int a = ShapeUtil.NormAxis(axis, Math.Max(x[0].Rank, 1));
        var xc = x[0].Cast(dt).Contiguous();
        var y = Tensor.Uninitialized(dt, x[0].Dims);
        if (y.Numel > 0) Backend.Current.Softmax(xc, y, x[0].Rank == 0 ? 0 : a, log);
        return y.DType == x[0].DType ? y : y.Cast(x[0].DType);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var dt = Window.FloatCompute(x[0], Where);
        int a = ShapeUtil.NormAxis(axis, Math.Max(x[0].Rank, 1));
        var gx = Tensor.Empty(dt, x[0].Dims);
        if (gx.Numel > 0) Backend.Current.SoftmaxBackward(y.Cast(dt).Contiguous(), g.Cast(dt).Contiguous(), gx, x[0].Rank == 0 ? 0 : a, log);
        return [gx];
    }
}

/// <summary>
/// Batch normalisation in training mode (torch.nn.functional.batch_norm with training=True) over x [N, C, …] with γ
/// and β [C]: y = (x − μ)/√(σ² + eps)·γ + β with the batch's per-channel mean μ and biased variance σ², in one
/// backend kernel forward and one backward. <see cref="Mean"/> and <see cref="Var"/> (float64 [C]) hold the batch
/// statistics of the last forward, for the running statistics.
/// </summary>
public sealed class BatchNormTrainOp(double eps) : Op
{
    private Tensor? _mean, _var;

    public override string Name => "batch_norm";

    /// <summary>The per-channel mean of the last forward (float64 [C]).</summary>
    public Tensor Mean => _mean ?? throw new InvalidOperationException("forward has not run");

    /// <summary>The per-channel biased variance of the last forward (float64 [C]).</summary>
    public Tensor Var => _var ?? throw new InvalidOperationException("forward has not run");

    public override int[] InferShape(int[][] s)
    {
        if (s[0].Length < 2) throw new ShapeMismatchException($"{Where}: input must be [N, C, …], got {ShapeUtil.Format(s[0])}");
        int c = s[0][1];
        for (int i = 1; i < 3; i++)
            if (s[i].Length != 1 || s[i][0] != c)
                throw new ShapeMismatchException($"{Where}: {(i == 1 ? "weight" : "bias")} must be [{c}], got {ShapeUtil.Format(s[i])}");
        return s[0];
    }

    public override Tensor Forward(Tensor[] x)
    {
        InferShape(x.Select(t => t.Dims).ToArray());
        var dt = x[0].DType;
        if (dt is not (DType.Float32 or DType.Float64) || x[1].DType != dt || x[2].DType != dt)
            throw new DTypeMismatchException($"{Where}: input, weight and bias must share float32 or float64, got {x[0].DType.Name()}, {x[1].DType.Name()}, {x[2].DType.Name()}");
        int c = x[0].Shape[1];
        if (x[0].Numel / Math.Max(c, 1) <= 1)
            throw new ShapeMismatchException($"{Where}: training needs more than one value per channel, got input shape {ShapeUtil.Format(x[0].Shape)}");
        var y = Tensor.Uninitialized(dt, x[0].Dims);
        _mean = Tensor.Uninitialized(DType.Float64, c);
        _var = Tensor.Uninitialized(DType.Float64, c);
        Backend.Current.BatchNormForward(x[0].Contiguous(), x[1].Contiguous(), x[2].Contiguous(), eps, y, _mean, _var);
        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor gy)
    {
        var dt = x[0].DType;
        var dx = Tensor.Uninitialized(dt, x[0].Dims);
        var dg = x[1].RequiresGrad ? Tensor.Uninitialized(dt, x[1].Dims) : null;
        var db = x[2].RequiresGrad ? Tensor.Uninitialized(dt, x[2].Dims) : null;
        Backend.Current.BatchNormBackward(gy.Cast(dt).Contiguous(), x[0].Contiguous(), x[1].Contiguous(), Mean, Var, eps, dx, dg, db);
        return [x[0].RequiresGrad ? dx : null, dg, db];
    }
}
