// Ops that change how elements are viewed or laid out: reshape, permute, expand, slice, copy, cast.
using Cortado.Backends;

namespace Cortado.Ops;

/// <summary>y = x with a new shape (torch.reshape): a view when x is contiguous, otherwise a copy.</summary>
public sealed class ReshapeOp(int[] shape) : Op
{
    public override string Name => "reshape";

    /// <summary>Resolves one -1 entry against <paramref name="numel"/> elements.</summary>
    public static int[] Resolve(int[] shape, int numel, ReadOnlySpan<int> from)
    {
        var s = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ShapeMismatchException($"reshape to {ShapeUtil.Format(shape)}: only one dimension may be -1");
                infer = i;
            }
            else if (s[i] < 0) throw new ShapeMismatchException($"reshape to {ShapeUtil.Format(shape)}: negative dimension");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0) throw new ShapeMismatchException($"cannot reshape {ShapeUtil.Format(from)} ({numel} elements) to {ShapeUtil.Format(shape)}");
            s[infer] = (int)(numel / known);
        }
        else if (known != numel) throw new ShapeMismatchException($"cannot reshape {ShapeUtil.Format(from)} ({numel} elements) to {ShapeUtil.Format(shape)}");
        return s;
    }

    public override int[] InferShape(int[][] s) => Resolve(shape, ShapeUtil.Numel(s[0]), s[0]);

    public override Tensor Forward(Tensor[] x)
    {
        var target = Resolve(shape, x[0].Numel, x[0].Shape);
        var c = x[0].Contiguous();
        return new Tensor(c.Storage, target, ShapeUtil.ContiguousStrides(target), c.Offset);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g) => [g.Reshape(x[0].Dims)];
}

/// <summary>y = x with dimensions reordered (torch.permute): a view.</summary>
public sealed class PermuteOp(int[] perm) : Op
{
    public override string Name => "permute";

    private int[] Check(int rank)
    {
        if (perm.Length != rank) throw new ShapeMismatchException($"{Where}: permutation {ShapeUtil.Format(perm)} does not match rank {rank}");
        var p = new int[rank];
        var seen = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            p[i] = ShapeUtil.NormAxis(perm[i], rank);
            if (seen[p[i]]) throw new ShapeMismatchException($"{Where}: {ShapeUtil.Format(perm)} repeats axis {p[i]}");
            seen[p[i]] = true;
        }
        return p;
    }

    public override int[] InferShape(int[][] s)
    {
        var p = Check(s[0].Length);
        return p.Select(i => s[0][i]).ToArray();
    }

    public override Tensor Forward(Tensor[] x)
    {
        var t = x[0];
        var p = Check(t.Rank);
        var shape = new int[p.Length];
        var strides = new int[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            shape[i] = t._shape[p[i]];
            strides[i] = t._strides[p[i]];
        }
        return new Tensor(t.Storage, shape, strides, t.Offset);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var p = Check(x[0].Rank);
        var inv = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inv[p[i]] = i;
        return [g.Permute(inv)];
    }
}

/// <summary>y = x broadcast to a larger shape (torch.expand): a view with stride 0 on new dimensions.</summary>
public sealed class ExpandOp(int[] shape) : Op
{
    public override string Name => "expand";

    public override int[] InferShape(int[][] s)
    {
        var from = s[0];
        if (shape.Length < from.Length) throw new ShapeMismatchException($"{Where}: cannot expand {ShapeUtil.Format(from)} to fewer dimensions {ShapeUtil.Format(shape)}");
        var o = new int[shape.Length];
        int lead = shape.Length - from.Length;
        for (int i = 0; i < shape.Length; i++)
        {
            int d = i < lead ? 1 : from[i - lead];
            int want = shape[i] == -1 ? d : shape[i];
            if (d != want && d != 1) throw new ShapeMismatchException($"{Where}: cannot expand {ShapeUtil.Format(from)} to {ShapeUtil.Format(shape)}");
            o[i] = want;
        }
        return o;
    }

    public override Tensor Forward(Tensor[] x) => View(x[0], InferShape([x[0].Dims]));

    /// <summary>The expanded view, without recording.</summary>
    internal static Tensor View(Tensor t, int[] target)
    {
        if (ShapeUtil.Equal(t.Shape, target)) return t;
        var strides = new int[target.Length];
        int lead = target.Length - t.Rank;
        for (int i = 0; i < target.Length; i++)
        {
            if (i < lead) strides[i] = 0;
            else strides[i] = t._shape[i - lead] == 1 && target[i] != 1 ? 0 : t._strides[i - lead];
        }
        return new Tensor(t.Storage, target, strides, t.Offset);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g) => [g.SumTo(x[0].Dims)];
}

/// <summary>y = x[start:end:step] along one axis (torch.narrow / slicing): a view.</summary>
public sealed class SliceOp(int axis, int start, int end, int step = 1) : Op
{
    public override string Name => "slice";

    private (int a, int s, int n) Resolve(ReadOnlySpan<int> shape)
    {
        int a = ShapeUtil.NormAxis(axis, shape.Length);
        int dim = shape[a];
        if (step <= 0) throw new ShapeMismatchException($"{Where}: step must be positive, got {step}");
        int s = start < 0 ? Math.Max(0, start + dim) : Math.Min(start, dim);
        int e = end < 0 ? Math.Max(0, end + dim) : Math.Min(end, dim);
        int n = e > s ? (e - s + step - 1) / step : 0;
        return (a, s, n);
    }

    public override int[] InferShape(int[][] s)
    {
        var (a, _, n) = Resolve(s[0]);
        var o = (int[])s[0].Clone();
        o[a] = n;
        return o;
    }

    public override Tensor Forward(Tensor[] x)
    {
        var t = x[0];
        var (a, s, n) = Resolve(t.Shape);
        var shape = t.Dims;
        shape[a] = n;
        var strides = (int[])t._strides.Clone();
        strides[a] = t._strides[a] * step;
        return new Tensor(t.Storage, shape, strides, t.Offset + s * t._strides[a]);
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        var gx = Tensor.Empty(g.DType, x[0].Dims);
        var view = new SliceOp(axis, start, end, step).Forward([gx]);
        Backend.Current.Copy(g, view);
        return [gx];
    }
}

/// <summary>y = a contiguous copy of x (also torch.clone when forced).</summary>
public sealed class ContiguousOp(bool forceCopy = false) : Op
{
    public override string Name => forceCopy ? "clone" : "contiguous";
    public override int[] InferShape(int[][] s) => s[0];

    public override Tensor Forward(Tensor[] x)
    {
        if (!forceCopy && x[0].IsContiguous) return x[0];
        var y = Tensor.Uninitialized(x[0].DType, x[0].Dims);
        if (y.Numel > 0) Backend.Current.Copy(x[0], y);
        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g) => [g];
}

/// <summary>y = x converted to another dtype (torch .to(dtype)); the gradient is cast back.</summary>
public sealed class CastOp(DType to) : Op
{
    public override string Name => "cast";
    public override int[] InferShape(int[][] s) => s[0];
    public override DType InferDType(DType[] d) => to;
    public override bool Differentiable => to.IsFloating();

    public override Tensor Forward(Tensor[] x)
    {
        var y = Tensor.Uninitialized(to, x[0].Dims);
        if (y.Numel > 0) Backend.Current.Copy(x[0], y);
        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g) => [x[0].DType.IsFloating() ? g.Cast(x[0].DType) : null];
}

/// <summary>y = concatenation of the inputs along an axis (torch.cat).</summary>
public sealed class ConcatOp(int axis) : Op
{
    public override string Name => "concat";

    public override int[] InferShape(int[][] s)
    {
        if (s.Length == 0) throw new ShapeMismatchException($"{Where}: needs at least one tensor");
        int a = ShapeUtil.NormAxis(axis, s[0].Length);
        var o = (int[])s[0].Clone();
        for (int i = 1; i < s.Length; i++)
        {
            if (s[i].Length != o.Length) throw new ShapeMismatchException($"{Where}: tensor {i} has shape {ShapeUtil.Format(s[i])}, rank differs from {ShapeUtil.Format(s[0])}");
            for (int d = 0; d < o.Length; d++)
                if (d != a && s[i][d] != o[d]) throw new ShapeMismatchException($"{Where}: tensor {i} has shape {ShapeUtil.Format(s[i])}, incompatible with {ShapeUtil.Format(s[0])} outside axis {a}");
            o[a] += s[i][a];
        }
        return o;
    }

    public override DType InferDType(DType[] d) => d.Aggregate(DTypeInfo.Promote);

    public override Tensor Forward(Tensor[] x)
    {
        var shape = InferShape(x.Select(t => t.Dims).ToArray());
        var dt = InferDType(x.Select(t => t.DType).ToArray());
        int a = ShapeUtil.NormAxis(axis, shape.Length);
        var y = Tensor.Uninitialized(dt, shape); // the parts cover it
        int at = 0;
        foreach (var t in x)
        {
            int n = t._shape[a];
            if (n > 0 && t.Numel > 0) Backend.Current.Copy(t, new SliceOp(a, at, at + n).Forward([y]));
            at += n;
        }
        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor y, Tensor g)
    {
        int a = ShapeUtil.NormAxis(axis, y.Rank);
        var r = new Tensor?[x.Length];
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int n = x[i]._shape[a];
            r[i] = g.Slice(a, at, at + n);
            at += n;
        }
        return r;
    }
}
