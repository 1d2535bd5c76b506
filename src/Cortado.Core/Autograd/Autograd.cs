// Reverse-mode automatic differentiation over the tape of GradNodes.
namespace Cortado;

/// <summary>
/// Reverse-mode autograd (PyTorch's <c>torch.autograd</c>). Ops on tensors that require gradients
/// record a <see cref="GradNode"/>; <see cref="Tensor.Backward"/> walks the nodes in reverse topological
/// order and accumulates into the <see cref="Tensor.Grad"/> of leaf tensors. Recording can be switched
/// off per thread with <see cref="NoGradScope"/> (torch.no_grad).
/// </summary>
public static class Autograd
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>True when ops record gradients on this thread.</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables gradient recording on this thread until the returned scope is disposed.</summary>
    public static NoGrad NoGradScope()
    {
        _disabledDepth++;
        return new NoGrad();
    }

    /// <summary>Ends a no-grad scope.</summary>
    public readonly struct NoGrad : IDisposable
    {
        public void Dispose() => _disabledDepth--;
    }

    /// <summary>
    /// Backpropagates <paramref name="grad"/> from <paramref name="root"/>. Leaves accumulate into
    /// <see cref="Tensor.Grad"/>; the graph is freed afterwards unless <paramref name="retainGraph"/>.
    /// </summary>
    public static void Backward(Tensor root, Tensor? grad = null, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!root.RequiresGrad) throw new CortadoException("Backward() on a tensor that does not require gradients");
        if (grad == null)
        {
            if (root.Numel != 1) throw new ShapeMismatchException($"Backward() without a gradient needs a one-element tensor, got shape {ShapeUtil.Format(root.Shape)}");
            grad = Tensor.OnesLike(root);
        }
        else if (!ShapeUtil.Equal(grad.Shape, root.Shape))
            throw new ShapeMismatchException($"gradient shape {ShapeUtil.Format(grad.Shape)} differs from tensor shape {ShapeUtil.Format(root.Shape)}");

        if (root.GradFn == null)
        {
            Accumulate(root, grad);
            root.OnGradReady();
            return;
        }

        // Topological order of nodes reachable from the root (iterative DFS: deep nets must not overflow the stack).
        var order = new List<GradNode>();
        var visited = new HashSet<GradNode>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(GradNode node, int next)>();
        stack.Push((root.GradFn, 0));
        visited.Add(root.GradFn);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (node.Freed) throw new CortadoException($"Backward() through op '{node.Op.Name}' whose graph was already freed; pass retainGraph: true to the first Backward()");
            var inputs = node.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((node, next + 1));
                var child = inputs[next].GradFn;
                if (child != null && inputs[next].RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(node);
        }

        // Edges into leaves that someone watches through GradReady, counted per leaf: when a leaf's count
        // reaches zero its gradient for this pass is complete and GradReady fires (distributed training starts
        // reducing it then, while the rest of the backward pass still runs). Unwatched leaves cost nothing.
        var pendingLeafEdges = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in order)
            foreach (var x in node.Inputs)
                if (x.GradFn == null && x.RequiresGrad && x.HasGradReadyHandlers) pendingLeafEdges[x] = pendingLeafEdges.GetValueOrDefault(x) + 1;

        var grads = new Dictionary<GradNode, Tensor>(ReferenceEqualityComparer.Instance) { [root.GradFn] = grad };
        using (NoGradScope())
        {
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var node = order[i];
                if (!grads.Remove(node, out var g))
                {
                    foreach (var x in node.Inputs) LeafEdgeDone(pendingLeafEdges, x);
                    continue;
                }
                var output = node.Output ?? throw new CortadoException($"Backward() through op '{node.Op.Name}' whose graph was already freed");
                var inGrads = node.Op.Backward(node.Inputs, output, g);
                for (int j = 0; j < node.Inputs.Length; j++)
                {
                    var x = node.Inputs[j];
                    var gx = inGrads[j];
                    if (gx == null || !x.RequiresGrad)
                    {
                        LeafEdgeDone(pendingLeafEdges, x);
                        continue;
                    }
                    if (!ShapeUtil.Equal(gx.Shape, x.Shape))
                        throw new ShapeMismatchException($"op '{node.Op.Name}' produced a gradient of shape {ShapeUtil.Format(gx.Shape)} for input {j} of shape {ShapeUtil.Format(x.Shape)}");
                    if (gx.DType != x.DType) gx = gx.Cast(x.DType);
                    if (x.GradFn == null)
                    {
                        Accumulate(x, gx);
                        LeafEdgeDone(pendingLeafEdges, x);
                    }
                    else if (grads.TryGetValue(x.GradFn, out var prev)) grads[x.GradFn] = prev.Add(gx);
                    else grads[x.GradFn] = gx;
                }
                if (!retainGraph)
                {
                    node.Freed = true;
                    node.Inputs = [];
                    node.Output = null;
                }
            }
        }
    }

    private static void LeafEdgeDone(Dictionary<Tensor, int> pending, Tensor x)
    {
        if (x.GradFn != null || !pending.TryGetValue(x, out int left)) return;
        if (left > 1) pending[x] = left - 1;
        else
        {
            pending.Remove(x);
            x.OnGradReady();
        }
    }

    private static void Accumulate(Tensor leaf, Tensor g)
    {
        // Hooks on leaves (e.g. gradient bucketing in distributed training) see each accumulated gradient.
        // The first gradient is copied (into the leaf's gradient buffer when it has one): an op may hand the
        // same tensor to several inputs.
        if (leaf.Grad == null) leaf.Grad = leaf.GradBuffer is { } buffer ? buffer.CopyFrom(g) : g.Clone();
        else leaf.Grad = leaf.Grad.Add(g);
        leaf.OnGradAccumulated();
    }
}
