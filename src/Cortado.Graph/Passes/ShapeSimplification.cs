// Shape-op simplification: shape computations known before running become constants, and chains of reshapes or
// transposes collapse into one node.
namespace Cortado.Graph.Passes;

/// <summary>
/// Uses the statically inferred shapes (<see cref="ShapeInference"/>) to simplify shape arithmetic:
/// <list type="bullet">
/// <item><c>Shape(x)</c> where the requested dims of x are all known numbers becomes a constant;</item>
/// <item><c>Gather(Shape(x), i)</c> with constant indices that pick known dims becomes a constant (the batch dim of
/// a dynamic-batch model stays symbolic, the others fold);</item>
/// <item><c>Reshape(Reshape(x, s1), s2)</c> becomes <c>Reshape(x, s2)</c> when s2 is a constant without 0 entries
/// (which would copy dims of the intermediate);</item>
/// <item><c>Transpose(Transpose(x, p), q)</c> becomes one transpose with the composed permutation, and a transpose
/// with the identity permutation is removed.</item>
/// </list>
/// The constants it leaves are folded further by <see cref="ConstantFolding"/>; nodes it disconnects are removed by
/// <see cref="DeadNodeElimination"/>.
/// </summary>
public sealed class ShapeSimplification : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "shape-simplification";

    /// <inheritdoc/>
    public int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        try
        {
            ShapeInference.Run(graph);
        }
        catch (Exception e) when (e is CortadoException or ArithmeticException or IndexOutOfRangeException or ArgumentException or InvalidOperationException)
        {
            // Shapes that do not fit are reported by the kernels at run time, naming the node; nothing is simplified.
            return 0;
        }
        int changed = 0;
        // Who reads what, rebuilt only after a rewrite changed it.
        GraphUses? uses = null;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var n = graph.Nodes[i];
            if (n.Domain is not ("" or "ai.onnx")) continue;
            uses ??= new GraphUses(graph);
            bool done = n.OpType switch
            {
                "Shape" => FoldShape(graph, n),
                "Gather" => FoldShapeGather(graph, uses, n),
                "Reshape" => MergeReshapes(graph, uses, n),
                "Transpose" => MergeTransposes(graph, uses, n),
                _ => false,
            };
            if (!done) continue;
            changed++;
            uses = null;
            // Nodes at or before this one may have gone; look again from just before it.
            i = Math.Max(-1, i - 2);
        }
        return changed;
    }

    // The dims of x that Shape(x) reports, [start, end) after ONNX's clamping (opset 15).
    private static (IReadOnlyList<SymDim> dims, int start, int end)? ShapeRange(Graph g, Node shape)
    {
        if (!shape.HasInput(0) || g.TypeOf(shape.Inputs[0])?.Shape is not { } dims) return null;
        int r = dims.Count;
        long s = shape.GetInt("start", 0), e = shape.GetInt("end", r);
        if (s < 0) s += r;
        if (e < 0) e += r;
        s = Math.Clamp(s, 0, r);
        e = Math.Clamp(e, s, r);
        return (dims, (int)s, (int)e);
    }

    private static bool FoldShape(Graph g, Node n)
    {
        if (n.Outputs.Count != 1 || ShapeRange(g, n) is not var (dims, s, e)) return false;
        var values = new long[e - s];
        for (int k = s; k < e; k++)
        {
            if (dims[k].Value is not long v) return false;
            values[k - s] = v;
        }
        Replace(g, n, Tensor.FromArray(values, values.Length));
        return true;
    }

    private static bool FoldShapeGather(Graph g, GraphUses uses, Node gather)
    {
        if (gather.GetInt("axis", 0) != 0 || gather.Inputs.Count != 2 || gather.Outputs.Count != 1) return false;
        if (uses.Producer(gather.Inputs[0]) is not { OpType: "Shape", Domain: "" or "ai.onnx" } shape) return false;
        if (uses.Constant(gather.Inputs[1]) is not { } idx || idx.Rank > 1 || idx.DType is not (DType.Int64 or DType.Int32)) return false;
        if (ShapeRange(g, shape) is not var (dims, s, e)) return false;
        var picks = idx.ToArray<long>();
        var values = new long[picks.Length];
        int len = e - s;
        for (int k = 0; k < picks.Length; k++)
        {
            long p = picks[k] < 0 ? picks[k] + len : picks[k];
            if (p < 0 || p >= len || dims[s + (int)p].Value is not long v) return false;
            values[k] = v;
        }
        Replace(g, gather, idx.Rank == 0 ? new Tensor(new Storage<long>(values)) : Tensor.FromArray(values, values.Length));
        return true;
    }

    private static bool MergeReshapes(Graph g, GraphUses uses, Node second)
    {
        if (!second.HasInput(1) || uses.Constant(second.Inputs[1]) is not { } target || target.ToArray<long>().Contains(0)) return false;
        if (uses.Producer(second.Inputs[0]) is not { OpType: "Reshape", Domain: "" or "ai.onnx" } first) return false;
        if (!uses.OnlyReadBy(second.Inputs[0], second)) return false;
        g.ValueInfos.Remove(second.Inputs[0]);
        second.Inputs[0] = first.Inputs[0];
        g.Nodes.Remove(first);
        return true;
    }

    private static bool MergeTransposes(Graph g, GraphUses uses, Node t)
    {
        int rank = g.TypeOf(t.Inputs[0])?.Rank ?? -1;
        var perm = t.GetInts("perm") ?? (rank >= 0 ? Enumerable.Range(0, rank).Reverse().Select(v => (long)v).ToArray() : null);
        if (perm is null) return false;
        bool merged = false;
        if (uses.Producer(t.Inputs[0]) is { OpType: "Transpose", Domain: "" or "ai.onnx" } first && uses.OnlyReadBy(t.Inputs[0], t)
            && first.GetInts("perm") is { } p1 && p1.Length == perm.Length)
        {
            // y[i] = x1[perm[i]] = x[p1[perm[i]]].
            perm = perm.Select(q => p1[q]).ToArray();
            g.ValueInfos.Remove(t.Inputs[0]);
            t.Inputs[0] = first.Inputs[0];
            t.Attributes["perm"] = AttrValue.Of(perm);
            g.Nodes.Remove(first);
            merged = true;
        }
        bool identity = perm.Select((v, i) => v == i).All(b => b);
        if (!identity || uses.IsPinned(t.Outputs[0])) return merged;
        uses.Redirect(t.Outputs[0], t.Inputs[0]);
        g.ValueInfos.Remove(t.Outputs[0]);
        g.Nodes.Remove(t);
        return true;
    }

    // The node's output becomes an initializer and the node goes.
    private static void Replace(Graph g, Node n, Tensor value)
    {
        g.Initializers[n.Outputs[0]] = value;
        g.ValueInfos.Remove(n.Outputs[0]);
        g.Nodes.Remove(n);
    }
}
