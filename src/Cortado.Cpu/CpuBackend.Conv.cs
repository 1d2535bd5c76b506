// Convolution kernels of the CPU backend: argument checks, then im2col + GEMM in Conv/.
using Cortado.Backends;
using Cortado.Cpu.Conv;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public unsafe void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, Conv2dGeometry g, Activation activation = default, Tensor? residual = null)
    {
        const string op = "conv2d";
        CheckConv(op, g, x, w);
        CheckConvTensor(op, "input", x, [g.N, g.C, g.H, g.W]);
        CheckConvTensor(op, "weight", w, [g.OutC, g.C / g.Groups, g.KH, g.KW]);
        CheckConvTensor(op, "output", y, [g.N, g.OutC, g.OutH, g.OutW]);
        if (bias != null) CheckConvTensor(op, "bias", bias, [g.OutC]);
        SameDType(op, x, w, y, bias);
        if (residual != null)
        {
            CheckConvTensor(op, "residual", residual, [g.N, g.OutC, g.OutH, g.OutW]);
            SameDType(op, x, residual, y, null);
            if (ReferenceEquals(residual.Storage, y.Storage) && residual.Offset < y.Offset + y.Numel && y.Offset < residual.Offset + residual.Numel)
                throw new ArgumentException($"{op}: the residual shares memory with the output");
        }
        if (y.Numel == 0) return;
        if (x.DType == DType.Float32)
        {
            fixed (float* px = x.Data<float>(), pw = w.Data<float>(), py = y.Data<float>(), pb = bias?.Data<float>(), pr = residual?.Data<float>())
                ConvDriver<float>.Forward(px + x.Offset, pw + w.Offset, bias == null ? null : pb + bias.Offset, py + y.Offset, g, activation,
                                          residual == null ? null : pr + residual.Offset);
        }
        else
        {
            fixed (double* px = x.Data<double>(), pw = w.Data<double>(), py = y.Data<double>(), pb = bias?.Data<double>(), pr = residual?.Data<double>())
                ConvDriver<double>.Forward(px + x.Offset, pw + w.Offset, bias == null ? null : pb + bias.Offset, py + y.Offset, g, activation,
                                           residual == null ? null : pr + residual.Offset);
        }
    }

    /// <inheritdoc />
    public unsafe void Conv2dBackwardInput(Tensor dy, Tensor w, Tensor dx, Conv2dGeometry g)
    {
        const string op = "conv2d_backward_input";
        CheckConv(op, g, dy, w);
        CheckConvTensor(op, "output gradient", dy, [g.N, g.OutC, g.OutH, g.OutW]);
        CheckConvTensor(op, "weight", w, [g.OutC, g.C / g.Groups, g.KH, g.KW]);
        CheckConvTensor(op, "input gradient", dx, [g.N, g.C, g.H, g.W]);
        SameDType(op, dy, w, dx, null);
        if (dx.Numel == 0) return;
        if (dy.DType == DType.Float32)
        {
            fixed (float* pdy = dy.Data<float>(), pw = w.Data<float>(), pdx = dx.Data<float>())
                ConvDriver<float>.BackwardInput(pdy + dy.Offset, pw + w.Offset, pdx + dx.Offset, g);
        }
        else
        {
            fixed (double* pdy = dy.Data<double>(), pw = w.Data<double>(), pdx = dx.Data<double>())
                ConvDriver<double>.BackwardInput(pdy + dy.Offset, pw + w.Offset, pdx + dx.Offset, g);
        }
    }

    /// <inheritdoc />
    public unsafe void Conv2dBackwardWeight(Tensor x, Tensor dy, Tensor dw, Conv2dGeometry g)
    {
        const string op = "conv2d_backward_weight";
        CheckConv(op, g, x, dy);
        CheckConvTensor(op, "input", x, [g.N, g.C, g.H, g.W]);
        CheckConvTensor(op, "output gradient", dy, [g.N, g.OutC, g.OutH, g.OutW]);
        CheckConvTensor(op, "weight gradient", dw, [g.OutC, g.C / g.Groups, g.KH, g.KW]);
        SameDType(op, x, dy, dw, null);
        if (dw.Numel == 0) return;
        if (x.DType == DType.Float32)
        {
            fixed (float* px = x.Data<float>(), pdy = dy.Data<float>(), pdw = dw.Data<float>())
                ConvDriver<float>.BackwardWeight(px + x.Offset, pdy + dy.Offset, pdw + dw.Offset, g);
        }
        else
        {
            fixed (double* px = x.Data<double>(), pdy = dy.Data<double>(), pdw = dw.Data<double>())
                ConvDriver<double>.BackwardWeight(px + x.Offset, pdy + dy.Offset, pdw + dw.Offset, g);
        }
    }

    private void CheckConv(string op, Conv2dGeometry g, Tensor first, Tensor second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.DType != DType.Float32 && first.DType != DType.Float64) throw Missing(op, first.DType);
        if (g.N < 0 || g.C < 1 || g.H < 1 || g.W < 1 || g.OutC < 1 || g.KH < 1 || g.KW < 1 || g.Groups < 1)
            throw new ShapeMismatchException($"{op}: invalid geometry {g}");
        if (g.StrideH < 1 || g.StrideW < 1 || g.DilationH < 1 || g.DilationW < 1 || g.PadH < 0 || g.PadW < 0)
            throw new ShapeMismatchException($"{op}: stride and dilation must be ≥ 1 and padding ≥ 0, got {g}");
        if (g.C % g.Groups != 0 || g.OutC % g.Groups != 0)
            throw new ShapeMismatchException($"{op}: {g.Groups} groups do not divide input channels {g.C} and output channels {g.OutC}");
        if (g.OutH < 1 || g.OutW < 1)
            throw new ShapeMismatchException($"{op}: input {g.H}x{g.W} is too small for kernel {g.KH}x{g.KW} (padding {g.PadH},{g.PadW}, dilation {g.DilationH},{g.DilationW})");
    }

    // The kernels index raw memory from the geometry, so each tensor must be contiguous with exactly that shape.
    private static void CheckConvTensor(string op, string what, Tensor t, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!ShapeUtil.Equal(t.Shape, shape))
            throw new ShapeMismatchException($"{op}: {what} has shape {ShapeUtil.Format(t.Shape)} but the geometry needs {ShapeUtil.Format(shape)}");
        if (!t.IsContiguous)
            throw new ShapeMismatchException($"{op}: {what} of shape {ShapeUtil.Format(t.Shape)} must be contiguous");
        if ((long)t.Offset + t.Numel > t.Storage.Length)
            throw new ShapeMismatchException($"{op}: {what} of shape {ShapeUtil.Format(t.Shape)} at offset {t.Offset} overruns its storage of {t.Storage.Length}");
    }

    private static void SameDType(string op, Tensor a, Tensor b, Tensor c, Tensor? d)
    {
        if (a.DType != b.DType || a.DType != c.DType || (d != null && d.DType != a.DType))
            throw new DTypeMismatchException($"{op}: tensors must share one dtype, got {a.DType.Name()}, {b.DType.Name()}, {c.DType.Name()}{(d != null ? ", " + d.DType.Name() : "")}");
    }
}
