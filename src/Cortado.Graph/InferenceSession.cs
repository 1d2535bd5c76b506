// Runs a graph: a plan computed once, kernels per node, intermediates freed after their last reader.
using System.Diagnostics;

namespace Cortado.Graph;

/// <summary>
/// Executes a <see cref="Graph"/>. The constructor validates the graph, binds every node (and every node of every
/// subgraph) to a kernel of <see cref="Kernels.OnnxKernels"/> — throwing <see cref="UnsupportedOpException"/> naming
/// the first op without one — and computes the <see cref="ExecutionPlan"/>. <see cref="Run"/> keeps all per-call
/// state in locals, so one session serves concurrent calls; shapes are taken from the fed tensors, so any
/// dimension (the batch size in particular) may differ between calls. With <see cref="SessionOptions.UseArena"/>,
/// the first run at new input shapes records its allocations into a <see cref="MemoryPlan"/>, and later runs at those
/// shapes take their tensors from an arena laid out by it (one set of buffers per concurrent run).
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
        if (Options.Profile) Profile = new SessionProfile(Plan);
    }

    /// <summary>Time per node of the runs so far; null unless <see cref="SessionOptions.Profile"/> is set.</summary>
    public SessionProfile? Profile { get; }

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
        return Collect(RunMain(CheckFeeds(inputs)));
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
    /// The arena layout of runs at the shapes of <paramref name="inputs"/> (<see cref="MemoryPlan"/>): recorded by
    /// running the graph once on them unless a run at these shapes already did.
    /// </summary>
    public MemoryPlan PlanMemory(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var feeds = CheckFeeds(inputs.ToDictionary(kv => kv.Key, kv => (object)kv.Value));
        string key = ShapeKey(feeds);
        lock (_arenas)
            if (_arenas.TryGetValue(key, out var known)) return known.Plan;
        return Record(key, feeds).plan;
    }

    // Inputs' element types and shapes: runs with the same key allocate the same tensors.
    private static string ShapeKey(object?[] feeds) => string.Join(";", feeds.Select(KeyOf));

    private static string KeyOf(object? value) => value switch
    {
        Tensor t => $"{t.DType.Name()}[{string.Join(",", t.Dims)}]",
        TensorSequence s => $"seq({string.Join(",", s.Items.Select(KeyOf))})",
        OptionalValue o => $"opt({KeyOf(o.Value)})",
        null => "-",
        _ => value.GetType().Name,
    };

    private (object[] outputs, MemoryPlan plan) Record(string key, object?[] feeds)
    {
        var recorder = new RecordingMemory(Plan);
        var outs = Execute(Graph, feeds, _ => null, recorder);
        var plan = recorder.Finish();
        // Arrays are indexed by int: an arena past that is not used.
        bool usable = plan.ArenaBytesByDType.All(kv => kv.Value / kv.Key.SizeOf() <= Array.MaxLength);
        lock (_arenas)
        {
            if (usable && !_arenas.ContainsKey(key))
            {
                if (_arenas.Count >= MaxArenaShapes)
                    _arenas.Remove(_arenas.MinBy(kv => kv.Value.LastUse).Key);
                _arenas[key] = new ArenaEntry(plan) { LastUse = ++_arenaClock };
            }
        }
        return (outs, plan);
    }

    // Runs the main graph, from the arena of these shapes when there is one (recording it first when not). A run's
    // end is a step boundary (StepCollector): what the run allocated outside the arena is garbage by then, except
    // its outputs, and a young-generation collection every GarbageBytes of it keeps that garbage from piling up for
    // as long as the runtime's own budget allows (on a host with a large L3 cache, a run of ResNet-50 at batch 8
    // left its 1.4 MiB each time, and 30 runs raised the peak working set by 40 MiB).
    private object[] RunMain(object?[] feeds)
    {
        try
        {
            return RunFromArena(feeds);
        }
        finally
        {
            Memory.StepCollector.StepBoundary(GarbageBytes);
        }
    }

    /// <summary>
    /// Bytes allocated outside the arena after which a run's end collects the young generation (at most
    /// <c>StepCollector.ThresholdBytes</c>; 0 there turns it off). A collection then finds little alive: on ResNet-50
    /// at batch 8, 4 MiB kept 30 runs' peak working set within 4 MiB of three runs' (16 MiB: 12 MiB above).
    /// </summary>
    public const long GarbageBytes = 4L << 20;

    private object[] RunFromArena(object?[] feeds)
    {
        if (!Options.UseArena) return Execute(Graph, feeds, _ => null, null);
        string key = ShapeKey(feeds);
        ArenaEntry? entry;
        lock (_arenas)
        {
            if (_arenas.TryGetValue(key, out entry)) entry.LastUse = ++_arenaClock;
        }
        if (entry is null) return Record(key, feeds).outputs;
        // Each concurrent run takes its own set of arena buffers; they go back to the pool when it ends.
        if (!entry.Pool.TryTake(out var buffers))
            buffers = entry.Plan.ArenaBytesByDType.ToDictionary(kv => kv.Key, kv => Storage.Allocate(kv.Key, (int)(kv.Value / kv.Key.SizeOf())));
        try
        {
            return Execute(Graph, feeds, _ => null, new ArenaMemory(entry.Plan, buffers));
        }
        finally
        {
            entry.Pool.Add(buffers);
        }
    }

    /// <summary>Input shapes whose arenas a session keeps at most (the least recently used goes first).</summary>
    public const int MaxArenaShapes = 4;

    private readonly Dictionary<string, ArenaEntry> _arenas = new(StringComparer.Ordinal);
    private long _arenaClock;

    private sealed class ArenaEntry(MemoryPlan plan)
    {
        public MemoryPlan Plan { get; } = plan;
        public System.Collections.Concurrent.ConcurrentBag<Dictionary<DType, Storage>> Pool { get; } = [];
        public long LastUse { get; set; }
    }

    private Dictionary<string, object> Collect(object[] outs)
    {
        var result = new Dictionary<string, object>();
        for (int i = 0; i < outs.Length; i++) result[Graph.Outputs[i].Name] = outs[i];
        return result;
    }

    private object[] Execute(Graph g, IReadOnlyList<object?> feeds, Func<string, object?> outer, RunMemory? memory)
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
            long started = Stopwatch.GetTimestamp();
            try
            {
                var ctx = new KernelContext(step.Node, ins, (sub, f, o) => Execute(sub, f, o, null), Lookup);
                if (memory is null) res = step.Kernel(ctx);
                else
                {
                    // Subgraphs run inside the step, so their allocations count as the step's.
                    memory.BeginStep(step.Index);
                    using (Memory.TensorAllocator.Use(memory)) res = step.Kernel(ctx);
                }
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
            if (Profile is { } profile && ReferenceEquals(g, Graph)) profile.Add(step.Index, Stopwatch.GetTimestamp() - started);
            memory?.EndStep(step, res);
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
