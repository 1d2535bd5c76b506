// Fused optimizer updates: one pass over parameter, gradient and state instead of a chain of tensor ops.
using System.Numerics;
using System.Runtime.CompilerServices;
using Cortado.Cpu.Kernels;
using Cortado.Threading;

namespace Cortado.Cpu;

public sealed partial class CpuBackend
{
    // Elements per parallel chunk: element-wise work with no reduction, so the split changes no result.
    private const int OptimChunk = 1 << 16;

    /// <inheritdoc />
    public void AdamUpdate(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double beta1, double beta2, double eps, double invSqrtBc2, double stepSize)
    {
        CheckOptim("adam_update", param, grad, expAvg, expAvgSq);
        if (param.DType == DType.Float32) Adam<float>(param, grad, expAvg, expAvgSq, beta1, beta2, eps, invSqrtBc2, stepSize);
        else Adam<double>(param, grad, expAvg, expAvgSq, beta1, beta2, eps, invSqrtBc2, stepSize);
    }

    private static void Adam<T>(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double beta1, double beta2, double eps, double invSqrtBc2, double stepSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] p = param.Data<T>(), g = grad.Data<T>(), m = expAvg.Data<T>(), v = expAvgSq.Data<T>();
        int op = param.Offset, og = grad.Offset, om = expAvg.Offset, ov = expAvgSq.Offset;
        // The scalars as the tensor-op formula sees them: each converted to T on its own.
        T b1 = T.CreateTruncating(beta1), c1 = T.CreateTruncating(1 - beta1), b2 = T.CreateTruncating(beta2), c2 = T.CreateTruncating(1 - beta2);
        T e = T.CreateTruncating(eps), s2 = T.CreateTruncating(invSqrtBc2), step = T.CreateTruncating(stepSize);
        CortadoThreads.ParallelRanges(param.Numel, OptimChunk, (lo, hi) => AdamRange(
            p.AsSpan(op + lo, hi - lo), g.AsSpan(og + lo, hi - lo), m.AsSpan(om + lo, hi - lo), v.AsSpan(ov + lo, hi - lo), b1, c1, b2, c2, e, s2, step));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs a few times per step: skip the unoptimised tier
    private static void AdamRange<T>(Span<T> ps, ReadOnlySpan<T> gs, Span<T> ms, Span<T> vs, T b1, T c1, T b2, T c2, T e, T s2, T step)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = ps.Length, j = 0;
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            Vector<T> vb1 = new(b1), vc1 = new(c1), vb2 = new(b2), vc2 = new(c2), ve = new(e), vs2 = new(s2), vstep = new(step);
            for (; j + Vector<T>.Count <= n; j += Vector<T>.Count)
            {
                var gv = new Vector<T>(gs[j..]);
                var mv = new Vector<T>(ms[j..]) * vb1 + gv * vc1;
                var vv = new Vector<T>(vs[j..]) * vb2 + gv * gv * vc2;
                var pv = new Vector<T>(ps[j..]) - mv / (Vector.SquareRoot(vv) * vs2 + ve) * vstep;
                mv.CopyTo(ms[j..]);
                vv.CopyTo(vs[j..]);
                pv.CopyTo(ps[j..]);
            }
        }
        for (; j < n; j++)
        {
            T gj = gs[j];
            T mj = ms[j] * b1 + gj * c1;
            T vj = vs[j] * b2 + gj * gj * c2;
            ms[j] = mj;
            vs[j] = vj;
            ps[j] -= mj / (T.Sqrt(vj) * s2 + e) * step;
        }
    }

    /// <inheritdoc />
    public void SgdMomentumUpdate(Tensor param, Tensor grad, Tensor buffer, double lr, double momentum, double dampening)
    {
        CheckOptim("sgd_momentum_update", param, grad, buffer);
        if (param.DType == DType.Float32) Sgd<float>(param, grad, buffer, lr, momentum, dampening);
        else Sgd<double>(param, grad, buffer, lr, momentum, dampening);
    }

    private static void Sgd<T>(Tensor param, Tensor grad, Tensor buffer, double lr, double momentum, double dampening)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] p = param.Data<T>(), g = grad.Data<T>(), b = buffer.Data<T>();
        int op = param.Offset, og = grad.Offset, ob = buffer.Offset;
        T mu = T.CreateTruncating(momentum), damp = T.CreateTruncating(1 - dampening), rate = T.CreateTruncating(lr);
        CortadoThreads.ParallelRanges(param.Numel, OptimChunk, (lo, hi) => SgdRange(
            p.AsSpan(op + lo, hi - lo), g.AsSpan(og + lo, hi - lo), b.AsSpan(ob + lo, hi - lo), mu, damp, rate));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SgdRange<T>(Span<T> ps, ReadOnlySpan<T> gs, Span<T> bs, T mu, T damp, T rate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = ps.Length, j = 0;
        if (VectorPaths.Enabled && Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            Vector<T> vmu = new(mu), vd = new(damp), vr = new(rate);
            for (; j + Vector<T>.Count <= n; j += Vector<T>.Count)
            {
                var bv = new Vector<T>(bs[j..]) * vmu + new Vector<T>(gs[j..]) * vd;
                bv.CopyTo(bs[j..]);
                (new Vector<T>(ps[j..]) - bv * vr).CopyTo(ps[j..]);
            }
        }
        for (; j < n; j++)
        {
            T bj = bs[j] * mu + gs[j] * damp;
            bs[j] = bj;
            ps[j] -= bj * rate;
        }
    }

    private void CheckOptim(string op, Tensor param, params Tensor[] others)
    {
        ArgumentNullException.ThrowIfNull(param);
        if (param.DType is not (DType.Float32 or DType.Float64)) throw Missing(op, param.DType);
        foreach (var t in others.Prepend(param))
        {
            ArgumentNullException.ThrowIfNull(t);
            if (t.DType != param.DType)
                throw new DTypeMismatchException($"{op}: operands must share one dtype, got {t.DType.Name()} and {param.DType.Name()}");
            if (!ShapeUtil.Equal(t.Shape, param.Shape))
                throw new ShapeMismatchException($"{op}: operand shape {ShapeUtil.Format(t.Shape)} differs from the parameter's {ShapeUtil.Format(param.Shape)}");
            if (!t.IsContiguous)
                throw new ArgumentException($"{op}: operands must be contiguous, got strides {ShapeUtil.Format(t.Strides)} for shape {ShapeUtil.Format(t.Shape)}");
        }
    }
}
