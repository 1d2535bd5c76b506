// Runs a graph: a plan computed once, kernels per node, intermediates freed after their last reader.
namespace Cortado.Graph;

/// <summary>
/// Executes a <see cref="Graph"/>. The constructor validates the graph, binds every node (and every node of every
/// subgraph) to a kernel of <see cref="Kernels.OnnxKernels"/> — throwing <see cref="UnsupportedOpException"/> naming
/// the first op without one — and computes the <see cref="ExecutionPlan"/>. <see cref="Run"/> keeps all per-call
/// state in locals, so one session serves concurrent calls; shapes are taken from the fed tensors, so any
/// dimension (the batch size in particular) may differ between calls.
/// </summary>
public sealed class InferenceSession
{
    private readonly Dictionary<Graph, ExecutionPlan> _plans = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Creates a session for <paramref name="graph"/>. With <see cref="SessionOptions.Optimize"/> (the default) the
    /// session optimizes a copy of the graph; <paramref name="graph"/> itself is never modified.
    /// </summary>
    public InferenceSession(Graph graph, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Options = options ?? new SessionOptions();
        GraphValidator.Validate(graph);
        if (Options.Optimize)
        {
            graph = graph.Clone();
            Optimization = Passes.GraphOptimizer.Optimize(graph, Options.DisabledPasses);
            GraphValidator.Validate(graph);
        }
        Graph = graph;
        Plan = BuildPlans(graph);
    }

    /// <summary>The graph this session runs (the optimized copy when the session optimizes).</summary>
    public Graph Graph { get; }

    /// <summary>The settings the session was created with.</summary>
    public SessionOptions Options { get; }

    /// <summary>What the optimization passes changed; null when the session does not optimize.</summary>
    public Passes.OptimizationReport? Optimization { get; }

    /// <summary>The schedule of the main graph.</summary>
    public ExecutionPlan Plan { get; }

    /// <summary>Names of the inputs a caller feeds (graph inputs that are not initializers).</summary>
    public IReadOnlyList<string> InputNames => Graph.RequiredInputs.Select(i => i.Name).ToList();

    /// <summary>Names of the graph outputs.</summary>
    public IReadOnlyList<string> OutputNames => Graph.Outputs.Select(o => o.Name).ToList();

    private ExecutionPlan BuildPlans(Graph g)
    {
        var plan = ExecutionPlan.Build(g, node => Kernels.OnnxKernels.Resolve(node));
        _plans[g] = plan;
        foreach (var n in g.Nodes) foreach (var sub in n.Subgraphs) BuildPlans(sub);
        return plan;
    }

    /// <summary>
    /// Runs the graph on <paramref name="inputs"/> (by graph input name) and returns every graph output by name.
    /// Inputs that are initializers may be omitted (their stored value is used). Throws
    /// <see cref="CortadoException"/> naming the input when a required input is missing or has the wrong dtype or
    /// rank, and rethrows kernel errors prefixed with the node that failed.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = RunValues(inputs.ToDictionary(kv => kv.Key, kv => (object)kv.Value));
        return values.ToDictionary(kv => kv.Key, kv => kv.Value as Tensor
            ?? throw new CortadoException($"output '{kv.Key}' is {kv.Value}, not a tensor; use RunValues"));
    }

    /// <summary>
    /// As <see cref="Run"/> for graphs whose inputs or outputs include <see cref="TensorSequence"/>s or
    /// <see cref="OptionalValue"/>s: every value is a tensor, a sequence or an optional.
    /// </summary>
    public IReadOnlyDictionary<string, object> RunValues(IReadOnlyDictionary<string, object> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return Collect(Execute(Graph, CheckFeeds(inputs), _ => null));
    }

    // The feeds in graph-input order, after checking names, dtypes and shapes against the graph's inputs.
    private object?[] CheckFeeds(IReadOnlyDictionary<string, object> inputs)
    {
        foreach (var name in inputs.Keys)
            if (!Graph.Inputs.Any(i => i.Name == name))
                throw new CortadoException($"'{name}' is not an input of the graph (inputs: {string.Join(", ", Graph.Inputs.Select(i => i.Name))})");
        var feeds = new object?[Graph.Inputs.Count];
        for (int i = 0; i < feeds.Length; i++)
        {
            var info = Graph.Inputs[i];
            if (inputs.TryGetValue(info.Name, out var v))
            {
                feeds[i] = v;
                if (v is not Tensor t) continue;
                if (info.DType is DType dt && dt != t.DType)
                    throw new DTypeMismatchException($"input '{info.Name}' must be {dt.Name()}, got {t.DType.Name()}");
                if (info.Shape is { } shape && shape.Count != t.Rank)
                    throw new ShapeMismatchException($"input '{info.Name}' must have rank {shape.Count} {SymDim.Format(shape)}, got shape {ShapeUtil.Format(t.Shape)}");
                // Fixed dims are part of the model's contract (the passes may have relied on them).
                if (info.Shape is { } fixedShape)
                    for (int d = 0; d < t.Rank; d++)
                        if (fixedShape[d].Value is long want && want != t.Shape[d])
                            throw new ShapeMismatchException($"input '{info.Name}' must have shape {SymDim.Format(fixedShape)}, got {ShapeUtil.Format(t.Shape)} (dim {d} is {t.Shape[d]}, not {want})");
            }
            else if (!Graph.Initializers.ContainsKey(info.Name))
                throw new CortadoException($"input '{info.Name}' was not given");
        }
        return feeds;
    }

    /// <summary>
    /// Runs the graph once on <paramref name="inputs"/> and plans the arena its intermediates need at these input
    /// shapes (<see cref="MemoryPlan"/>): sizes come from the tensors the run creates, lifetimes from <see cref="Plan"/>.
    /// </summary>
    public MemoryPlan PlanMemory(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var feeds = CheckFeeds(inputs.ToDictionary(kv => kv.Key, kv => (object)kv.Value));
        var bytes = new long[Plan.SlotNames.Count];
        // Storage already seen (inputs, constants, earlier outputs): a value over it is a view and needs no bytes.
        var seen = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        foreach (var f in feeds) if (f is Tensor t) seen.Add(t.Storage);
        foreach (var c in Plan.Constants.Values) seen.Add(c.Storage);
        Execute(Graph, feeds, _ => null, (step, res) =>
        {
            for (int o = 0; o < step.Outputs.Length && o < res.Length; o++)
                if (step.Outputs[o] >= 0 && res[o] is Tensor t && seen.Add(t.Storage))
                    bytes[step.Outputs[o]] = (long)t.Storage.Length * t.DType.SizeOf();
        });
        return MemoryPlan.Build(Plan, bytes);
    }

    private Dictionary<string, object> Collect(object[] outs)
    {
        var result = new Dictionary<string, object>();
        for (int i = 0; i < outs.Length; i++) result[Graph.Outputs[i].Name] = outs[i];
        return result;
    }

    private object[] Execute(Graph g, IReadOnlyList<object?> feeds, Func<string, object?> outer, Action<PlanStep, object?[]>? observe = null)
    {
        var plan = _plans[g];
        var slots = new object?[plan.SlotNames.Count];
        foreach (var (s, t) in plan.Constants) slots[s] = t;
        for (int i = 0; i < plan.InputSlots.Length && i < feeds.Count; i++)
            if (feeds[i] is object v) slots[plan.InputSlots[i]] = v;
        foreach (var (name, s) in plan.OuterSlots) slots[s] = outer(name);
        object? Lookup(string name)
        {
            // Nested subgraphs see this scope's live values, then the enclosing ones.
            for (int i = 0; i < plan.SlotNames.Count; i++) if (plan.SlotNames[i] == name && slots[i] is object v) return v;
            return outer(name);
        }
        foreach (var step in plan.Steps)
        {
            var ins = new object?[step.Inputs.Length];
            for (int i = 0; i < ins.Length; i++)
            {
                int s = step.Inputs[i];
                if (s < 0) continue;
                ins[i] = slots[s] ?? throw new CortadoException($"{step.Node.Describe(step.Index)}: input '{plan.SlotNames[s]}' has no value (an optional graph input was not fed?)");
            }
            object?[] res;
            try
            {
                res = step.Kernel(new KernelContext(step.Node, ins, (sub, f, o) => Execute(sub, f, o), Lookup));
            }
            catch (CortadoException e) when (!e.Message.StartsWith("node", StringComparison.Ordinal))
            {
                throw new CortadoException($"{step.Node.Describe(step.Index)}: {e.Message}", e);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidCastException or InvalidOperationException or OverflowException)
            {
                // Inputs a kernel does not expect (an index past the end, a tensor where a sequence belongs) are
                // reported against the node; the original exception stays as the inner one.
                throw new CortadoException($"{step.Node.Describe(step.Index)}: {e.GetType().Name}: {e.Message}", e);
            }
            observe?.Invoke(step, res);
            for (int o = 0; o < step.Outputs.Length; o++)
                if (step.Outputs[o] >= 0)
                    slots[step.Outputs[o]] = o < res.Length ? res[o] : null;
            foreach (var f in step.Free) slots[f] = null;
        }
        var result = new object[plan.OutputSlots.Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = slots[plan.OutputSlots[i]] ?? throw new CortadoException($"graph '{g.Name}': output '{g.Outputs[i].Name}' was not computed");
        return result;
    }
}
