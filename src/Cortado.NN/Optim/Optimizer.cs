// Base class of optimizers: parameter list, learning rate, per-parameter state that checkpoints save.
using System.Globalization;

namespace Cortado.NN;

/// <summary>
/// Updates parameters from their gradients (torch.optim.Optimizer). <see cref="Step"/> runs without
/// recording and skips parameters whose gradient is null. Per-parameter state (momentum buffers,
/// moment estimates) is kept as tensors and exported by <see cref="StateDict"/> under names
/// <c>state.{index}.{name}</c>, together with the step count and learning rate, so a training
/// checkpoint resumes exactly.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<(int, string), Tensor> _state = [];

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Learning rate of the next step (schedulers set it).</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate given at construction (schedulers scale it).</summary>
    public double InitialLearningRate { get; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount { get; private set; }

    protected Optimizer(IEnumerable<Tensor> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(parameters));
        foreach (var p in Parameters)
            if (!p.RequiresGrad) throw new ArgumentException("every optimized tensor must require gradients", nameof(parameters));
        if (learningRate < 0 || double.IsNaN(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learning rate must be ≥ 0");
        LearningRate = learningRate;
        InitialLearningRate = learningRate;
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        using (Autograd.NoGradScope())
        {
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i];
                if (p.Grad is null) continue;
                Update(i, p, p.Grad);
            }
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place given its gradient.</summary>
    protected abstract void Update(int index, Tensor param, Tensor grad);

    /// <summary>
    /// Clears every parameter's gradient (torch zero_grad(set_to_none=True)). This is a step boundary:
    /// with the gradients dropped, almost nothing the last step allocated is alive, so it also lets
    /// <see cref="Cortado.Memory.StepCollector"/> collect the young generation when enough was allocated.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.Grad = null;
        Cortado.Memory.StepCollector.StepBoundary();
    }

    /// <summary>
    /// True when <paramref name="param"/> and the given state tensors can be updated in place by a fused backend
    /// kernel: float32/float64, one dtype, contiguous and of one shape. State tensors are then updated in place,
    /// so tensors returned by <see cref="StateDict"/> change with later steps (as in PyTorch).
    /// </summary>
    protected static bool Fusable(Tensor param, params Tensor[] state)
    {
        ArgumentNullException.ThrowIfNull(param);
        ArgumentNullException.ThrowIfNull(state);
        if (param.DType is not (DType.Float32 or DType.Float64) || !param.IsContiguous) return false;
        foreach (var s in state)
            if (s.DType != param.DType || !s.IsContiguous || !ShapeUtil.Equal(s.Shape, param.Shape)) return false;
        return true;
    }

    /// <summary>The state tensor <paramref name="name"/> of parameter <paramref name="index"/>, or null when not yet created.</summary>
    protected Tensor? GetState(int index, string name) => _state.TryGetValue((index, name), out var t) ? t : null;

    /// <summary>Stores state tensor <paramref name="name"/> of parameter <paramref name="index"/>.</summary>
    protected void SetState(int index, string name, Tensor value) => _state[(index, name)] = value;

    /// <summary>State tensors, step count and learning rate by name.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>
        {
            ["step"] = Tensor.Scalar(StepCount, DType.Int64),
            ["lr"] = Tensor.Scalar(LearningRate, DType.Float64),
        };
        foreach (var ((i, name), t) in _state) d[string.Create(CultureInfo.InvariantCulture, $"state.{i}.{name}")] = t;
        return d;
    }

    /// <summary>Restores what <see cref="StateDict"/> produced; throws naming the entry when it does not fit these parameters.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.TryGetValue("step", out var step) || !state.TryGetValue("lr", out var lr))
            throw new CortadoFormatException("optimizer state lacks 'step' or 'lr'");
        var restored = new Dictionary<(int, string), Tensor>();
        foreach (var (key, t) in state)
        {
            if (key is "step" or "lr") continue;
            var parts = key.Split('.', 3);
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= Parameters.Count)
                throw new CortadoFormatException($"optimizer state entry '{key}' does not belong to an optimizer of {Parameters.Count} parameters");
            if (t.Rank > 0 && !ShapeUtil.Equal(t.Shape, Parameters[i].Shape))
                throw new CortadoFormatException($"optimizer state entry '{key}' has shape {ShapeUtil.Format(t.Shape)}, parameter {i} has {ShapeUtil.Format(Parameters[i].Shape)}");
            restored[(i, parts[2])] = t.Clone();
        }
        _state.Clear();
        foreach (var kv in restored) _state[kv.Key] = kv.Value;
        StepCount = (long)step.Item();
        LearningRate = lr.Item();
    }
}
