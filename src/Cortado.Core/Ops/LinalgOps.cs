// Matrix multiplication with batch broadcasting.
using Cortado.Backends;

namespace Cortado.Ops;

/// <summary>
/// y = a @ b for a [..., M, K] and b [..., K, N] with NumPy broadcasting of the batch dimensions
/// (torch.matmul for rank ≥ 2; 1-D operands are handled by <see cref="Tensor.MatMul"/>). Transposed
/// views are passed to the GEMM kernel without copying.
/// </summary>
public sealed class MatMulOp : Op
{
    public override string Name => "matmul";
    public override DType InferDType(DType[] d) => DTypeInfo.Promote(d[0], d[1]);

    public override int[] InferShape(int[][] s)
    {
        var (a, b) = (s[0], s[1]);
        if (a.Length < 2 || b.Length < 2) throw new ShapeMismatchException($"{Where}: operands need rank ≥ 2, got {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)}");
        if (a[^1] != b[^2]) throw new ShapeMismatchException($"{Where}: shapes {ShapeUtil.Format(a)} and {ShapeUtil.Format(b)} do not align ({a[^1]} vs {b[^2]})");
        var batch = ShapeUtil.Broadcast(a.AsSpan(0, a.Length - 2), b.AsSpan(0, b.Length - 2));
        return [.. batch, a[^2], b[^1]];
    }

    // A matrix operand as (tensor, leading dimension, batch stride, transposed) without copying when its
    // last two dims are row- or column-contiguous and its batch dims collapse to one stride.
    private static (Tensor t, int ld, int stride, bool trans) Prepare(Tensor x, int[] batch, int rows, int cols, DType dt)
    {
        x = x.Cast(dt);
        int r = x.Rank;
        int sr = x._strides[r - 2], sc = x._strides[r - 1];
        bool rowMajor = sc == 1 || cols == 1;
        bool colMajor = !rowMajor && (sr == 1 || rows == 1);
        int ld = rowMajor ? (rows == 1 ? Math.Max(cols, 1) : sr) : (cols == 1 ? Math.Max(rows, 1) : sc);
        bool okLd = rowMajor ? ld >= Math.Max(cols, 1) : colMajor && ld >= Math.Max(rows, 1);
        int batchN = ShapeUtil.Numel(batch);
        if (okLd)
        {
            if (r == 2) return (x, ld, 0, colMajor);
            // Batch dims of x (after broadcasting to `batch`) must all be 0-stride, or collapse to a single stride.
            var xb = ExpandOp.View(x, [.. batch, rows, cols]);
            int stride = -1;
            bool ok = true;
            bool allZero = true;
            int expected = -1;
            for (int i = batch.Length - 1; i >= 0; i--)
            {
                if (batch[i] == 1) continue;
                int st = xb._strides[i];
                if (st != 0) allZero = false;
                if (stride < 0) { stride = st; expected = st * batch[i]; }
                else if (st != expected) { ok = false; break; }
                else expected = st * batch[i];
            }
            if (allZero) return (xb, ld, 0, colMajor);
            if (ok && stride > 0) return (xb, ld, stride, colMajor);
        }
        var c = ExpandOp.View(x, [.. batch, rows, cols]).Contiguous();
        return (c, Math.Max(cols, 1), rows * cols, false);
    }

    public override Tensor Forward(Tensor[] inputs)
    {
        var shape = InferShape([inputs[0].Dims, inputs[1].Dims]);
        var outType = InferDType([inputs[0].DType, inputs[1].DType]);
        var dt = outType == DType.Float64 ? DType.Float64 : DType.Float32;
        if (!outType.IsFloating()) dt = DType.Float32;
        int m = shape[^2], n = shape[^1], k = inputs[0]._shape[^1];
        var batch = shape[..^2];
        int batchN = ShapeUtil.Numel(batch);
        var y = Tensor.Uninitialized(dt, shape); // every element is written (the GEMM with beta 0, or the fill for K = 0)
        if (y.Numel > 0)
        {
            if (k == 0) Backend.Current.Fill(y, 0);
            else
            {
                var (a, lda, sa, ta) = Prepare(inputs[0], batch, m, k, dt);
                var (b, ldb, sb, tb) = Prepare(inputs[1], batch, k, n, dt);
                Backend.Current.Gemm(ta, tb, m, n, k, 1.0, a, lda, sa, b, ldb, sb, 0.0, y, n, m * n, batchN);
            }
        }
        return y.DType == outType ? y : y.Cast(outType);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var (a, b) = (x[0], x[1]);
        Tensor? ga = a.RequiresGrad ? g.MatMul(b.Transpose(-1, -2)).SumTo(a.Dims) : null;
        Tensor? gb = b.RequiresGrad ? a.Transpose(-1, -2).MatMul(g).SumTo(b.Dims) : null;
        return [ga, gb];
    }
}

/// <summary>
/// y = x·Wᵀ + b (torch.nn.functional.linear, ONNX Gemm with transB) for x [N, in], W [out, in] and the
/// optional b [out], all of one float dtype; y [N, out]. The bias is written into y before the GEMM
/// accumulates onto it (beta = 1), so no separate broadcast-add pass runs. An <paramref name="activation"/> is
/// applied by the GEMM to each block of y as it finishes it; with a gradient wanted only ReLU is allowed (its gradient
/// masks dy by y &gt; 0 first). The gradients are tensor ops (dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy) and so are
/// themselves differentiable.
/// </summary>
public sealed class LinearOp(Activation activation = default) : Op
{
    public override string Name => "linear";

    public override int[] InferShape(int[][] s)
    {
        var (x, w) = (s[0], s[1]);
        if (x.Length != 2 || w.Length != 2 || x[1] != w[1])
            throw new ShapeMismatchException($"{Where}: input {ShapeUtil.Format(x)} and weight {ShapeUtil.Format(w)} must be [N, in] and [out, in]");
        if (s.Length > 2 && (s[2].Length != 1 || s[2][0] != w[0]))
            throw new ShapeMismatchException($"{Where}: bias must be [{w[0]}], got {ShapeUtil.Format(s[2])}");
        return [x[0], w[0]];
    }

    public override Tensor Forward(Tensor[] inputs)
    {
        var shape = InferShape(inputs.Select(t => t.Dims).ToArray());
        var dt = inputs[0].DType;
        if (dt is not (DType.Float32 or DType.Float64) || inputs.Any(t => t.DType != dt))
            throw new DTypeMismatchException($"{Where}: operands must share one float dtype, got {string.Join(", ", inputs.Select(t => t.DType.Name()))}");
        if (GradientWanted && activation.Kind is not (ActivationKind.None or ActivationKind.Relu))
            throw new NotSupportedException($"{Where}: the fused activation {activation} has no gradient; apply it as its own op when training");
        var x = inputs[0].Contiguous();
        var w = inputs[1].Contiguous();
        int n = shape[0], o = shape[1], k = x.Size(1);
        // Every element is written: the bias copy (or zeros when K is 0), or the GEMM with beta 0.
        var y = Tensor.Uninitialized(dt, shape);
        if (y.Numel == 0) return y;
        bool bias = inputs.Length > 2;
        if (bias) Backend.Current.Copy(ExpandOp.View(inputs[2], shape), y);
        if (k > 0) Backend.Current.Gemm(false, true, n, o, k, 1, x, k, 0, w, k, 0, bias ? 1 : 0, y, o, 0, 1, activation);
        else
        {
            if (!bias) Backend.Current.Fill(y, 0);
            if (dt == DType.Float32) activation.Apply(y.AsSpan<float>());
            else activation.Apply(y.AsSpan<double>());
        }
        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        // A fused ReLU passes the gradient where it passed the value (y > 0).
        if (activation.Kind == ActivationKind.Relu) g = BinaryOp.ReluGrad(g, y);
        Tensor? gx = x[0].RequiresGrad ? g.MatMul(x[1]) : null;
        Tensor? gw = x[1].RequiresGrad ? g.T.MatMul(x[0]) : null;
        if (x.Length == 2) return [gx, gw];
        return [gx, gw, x[2].RequiresGrad ? g.Sum([0]) : null];
    }
}
