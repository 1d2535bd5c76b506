// Batch normalisation in training mode: per-channel statistics and the normalised output in two passes, and the
// gradients in two more, instead of a dozen element-wise ops and their tape.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Cortado.Backends;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void BatchNormForward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y, Tensor mean, Tensor var)
    {
        const string name = "batch_norm";
        var (c, rows, s) = CheckNorm(name, x, gamma, y, mean, var);
        CheckChannel(name, "beta", beta, x.DType, c);
        switch (x.DType)
        {
            case DType.Float32: NormForward<float>(x, gamma, beta, eps, y, mean, var, c, rows, s); break;
            case DType.Float64: NormForward<double>(x, gamma, beta, eps, y, mean, var, c, rows, s); break;
            default: throw Missing(name, x.DType);
        }
    }

    /// <inheritdoc />
    public void BatchNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dx, Tensor? dgamma, Tensor? dbeta)
    {
        const string name = "batch_norm_backward";
        var (c, rows, s) = CheckNorm(name, x, gamma, dx, mean, var);
        if (dy.DType != x.DType || !ShapeUtil.Equal(dy.Shape, x.Shape) || !Dense(dy))
            throw new ShapeMismatchException($"{name}: dy must be contiguous {x.DType.Name()} of shape {ShapeUtil.Format(x.Shape)}, got {dy.DType.Name()} {ShapeUtil.Format(dy.Shape)}");
        if (dgamma != null) CheckChannel(name, "dgamma", dgamma, x.DType, c);
        if (dbeta != null) CheckChannel(name, "dbeta", dbeta, x.DType, c);
        switch (x.DType)
        {
            case DType.Float32: NormBackward<float>(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta, c, rows, s); break;
            case DType.Float64: NormBackward<double>(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta, c, rows, s); break;
            default: throw Missing(name, x.DType);
        }
    }

    // Channels, rows per channel (N) and row length (the product of the dims after C).
    private static (int c, int rows, int s) CheckNorm(string name, Tensor x, Tensor gamma, Tensor y, Tensor mean, Tensor var)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Rank < 2 || !Dense(x))
            throw new ShapeMismatchException($"{name}: x must be contiguous [N, C, …], got {ShapeUtil.Format(x.Shape)}");
        if (y.DType != x.DType || !ShapeUtil.Equal(y.Shape, x.Shape) || !Dense(y))
            throw new ShapeMismatchException($"{name}: the output must be contiguous {x.DType.Name()} of shape {ShapeUtil.Format(x.Shape)}, got {y.DType.Name()} {ShapeUtil.Format(y.Shape)}");
        int c = x.Shape[1];
        CheckChannel(name, "gamma", gamma, x.DType, c);
        CheckChannel(name, "mean", mean, DType.Float64, c);
        CheckChannel(name, "var", var, DType.Float64, c);
        int s = 1;
        for (int d = 2; d < x.Rank; d++) s *= x.Shape[d];
        return (c, x.Shape[0], s);
    }

    private static void CheckChannel(string name, string what, Tensor t, DType dtype, int c)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.DType != dtype || t.Rank != 1 || t.Shape[0] != c || !Dense(t))
            throw new ShapeMismatchException($"{name}: {what} must be contiguous {dtype.Name()} [{c}], got {t.DType.Name()} {ShapeUtil.Format(t.Shape)}");
    }

    private static void NormForward<T>(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor y, Tensor mean, Tensor var, int c, int rows, int s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xd = x.Data<T>();
        var yd = y.Data<T>();
        var gd = gamma.Data<T>();
        var bd = beta.Data<T>();
        var md = mean.Data<double>();
        var vd = var.Data<double>();
        int xo = x.Offset, yo = y.Offset, go = gamma.Offset, bo = beta.Offset, mo = mean.Offset, vo = var.Offset;
        long n = (long)rows * s;
        ForChannels<T>(c, n, s, (ch, tmp) =>
        {
            // Mean, then the mean of squared deviations (two passes: no cancellation); row sums in T, totals in float64.
            double sum = 0;
            for (int r = 0; r < rows; r++) sum += double.CreateTruncating(TensorPrimitives.Sum(new ReadOnlySpan<T>(xd, xo + (r * c + ch) * s, s)));
            double mu = sum / n;
            T muT = T.CreateTruncating(mu);
            double sq = 0;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(xd, xo + (r * c + ch) * s, s), muT, tmp);
                sq += double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(tmp));
            }
            double v = sq / n;
            md[mo + ch] = mu;
            vd[vo + ch] = v;
            // y = x·scale + shift with scale = γ/√(var + eps), shift = β − mean·scale.
            double scale = double.CreateTruncating(gd[go + ch]) / Math.Sqrt(v + eps);
            T sc = T.CreateTruncating(scale), sh = T.CreateTruncating(double.CreateTruncating(bd[bo + ch]) - mu * scale);
            for (int r = 0; r < rows; r++)
            {
                int at = (r * c + ch) * s;
                Affine(new ReadOnlySpan<T>(xd, xo + at, s), sc, sh, new Span<T>(yd, yo + at, s));
            }
        });
    }

    private static void NormBackward<T>(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor var, double eps, Tensor dx, Tensor? dgamma, Tensor? dbeta,
                                        int c, int rows, int s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dyd = dy.Data<T>();
        var xd = x.Data<T>();
        var gd = gamma.Data<T>();
        var md = mean.Data<double>();
        var vd = var.Data<double>();
        var dxd = dx.Data<T>();
        var dgd = dgamma?.Data<T>();
        var dbd = dbeta?.Data<T>();
        int dyo = dy.Offset, xo = x.Offset, go = gamma.Offset, mo = mean.Offset, vo = var.Offset, dxo = dx.Offset;
        int dgo = dgamma?.Offset ?? 0, dbo = dbeta?.Offset ?? 0;
        long n = (long)rows * s;
        ForChannels<T>(c, 2 * n, s, (ch, tmp) =>
        {
            double mu = md[mo + ch], invstd = 1 / Math.Sqrt(vd[vo + ch] + eps);
            T muT = T.CreateTruncating(mu);
            // Σ dy and Σ dy·(x − mean).
            double sdy = 0, sdyx = 0;
            for (int r = 0; r < rows; r++)
            {
                int at = (r * c + ch) * s;
                var g = new ReadOnlySpan<T>(dyd, dyo + at, s);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(xd, xo + at, s), muT, tmp);
                sdy += double.CreateTruncating(TensorPrimitives.Sum(g));
                sdyx += double.CreateTruncating(TensorPrimitives.Dot(g, tmp));
            }
            if (dbd != null) dbd[dbo + ch] = T.CreateTruncating(sdy);
            if (dgd != null) dgd[dgo + ch] = T.CreateTruncating(sdyx * invstd);
            // dx = k1·dy + k2·x + k3: k1 = γ·invstd, k2 = −k1·invstd²·Σdy(x − μ)/n, k3 = −k1·Σdy/n − k2·μ.
            double k1 = double.CreateTruncating(gd[go + ch]) * invstd;
            double k2 = -k1 * invstd * invstd * sdyx / n;
            double k3 = -k1 * sdy / n - k2 * mu;
            T a = T.CreateTruncating(k1), b = T.CreateTruncating(k2), k = T.CreateTruncating(k3);
            for (int r = 0; r < rows; r++)
            {
                int at = (r * c + ch) * s;
                var d = new Span<T>(dxd, dxo + at, s);
                Affine(new ReadOnlySpan<T>(xd, xo + at, s), b, k, d);
                TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<T>(dyd, dyo + at, s), a, d, d);
            }
        });
    }

    // y[i] = x[i]·a + b with one rounding (a fused multiply-add), in vector lanes and the scalar tail alike.
    private static void Affine<T>(ReadOnlySpan<T> x, T a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            Affine(MemoryMarshal.Cast<T, float>(x), float.CreateTruncating(a), float.CreateTruncating(b), MemoryMarshal.Cast<T, float>(y));
        else if (typeof(T) == typeof(double))
            Affine(MemoryMarshal.Cast<T, double>(x), double.CreateTruncating(a), double.CreateTruncating(b), MemoryMarshal.Cast<T, double>(y));
        else
            for (int i = 0; i < x.Length; i++) y[i] = T.FusedMultiplyAdd(x[i], a, b);
    }

    private static void Affine(ReadOnlySpan<float> x, float a, float b, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<float> va = new(a), vb = new(b);
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
                Vector.FusedMultiplyAdd(new Vector<float>(x.Slice(i)), va, vb).CopyTo(y.Slice(i));
        }
        for (; i < x.Length; i++) y[i] = MathF.FusedMultiplyAdd(x[i], a, b);
    }

    private static void Affine(ReadOnlySpan<double> x, double a, double b, Span<double> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            Vector<double> va = new(a), vb = new(b);
            for (; i + Vector<double>.Count <= x.Length; i += Vector<double>.Count)
                Vector.FusedMultiplyAdd(new Vector<double>(x.Slice(i)), va, vb).CopyTo(y.Slice(i));
        }
        for (; i < x.Length; i++) y[i] = Math.FusedMultiplyAdd(x[i], a, b);
    }

    // One channel per work item, on one thread each: the bits do not depend on the thread count. Each range of
    // channels gets one scratch row of s values for body to use.
    private static void ForChannels<T>(int c, long perChannel, int s, Action<int, T[]> body) =>
        Work.For(c, Work.ChunkFor(perChannel), perChannel * c, (c0, c1) =>
        {
            var tmp = new T[s];
            for (int ch = c0; ch < c1; ch++) body(ch, tmp);
        });
}
