// Autograd state of a tensor: whether it requires a gradient, its gradient and the node that made it.
namespace Cortado;

public sealed partial class Tensor
{
    internal bool RequiresGradInternal;

    /// <summary>
    /// Whether ops on this tensor are recorded for <see cref="Backward"/> (torch requires_grad). Only
    /// floating tensors may require gradients; setting it on a non-leaf is not allowed.
    /// </summary>
    public bool RequiresGrad
    {
        get => RequiresGradInternal;
        set
        {
            if (value && !DType.IsFloating()) throw new DTypeMismatchException($"only floating tensors can require gradients, this one is {DType.Name()}");
            if (GradFn != null && !value) throw new CortadoException("cannot clear RequiresGrad on a tensor computed by an op; use Detach()");
            RequiresGradInternal = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (fluent form of torch's requires_grad_()).</summary>
    public Tensor RequireGrad(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>Accumulated gradient of a leaf tensor after <see cref="Backward"/>; null before.</summary>
    public Tensor? Grad { get; set; }

    private Tensor? _gradBuffer;

    /// <summary>
    /// Where a backward pass writes this leaf's gradient when <see cref="Grad"/> is null: a contiguous tensor of
    /// the same shape and dtype that becomes <see cref="Grad"/>. Null (the default) makes a new tensor.
    /// Data-parallel training points it into its gradient buckets, so gradients land where they are
    /// reduced (PyTorch's <c>gradient_as_bucket_view</c>); a <see cref="Grad"/> kept from an earlier
    /// step is then overwritten by the next backward pass. Accumulating onto an existing gradient
    /// still makes a new tensor.
    /// </summary>
    public Tensor? GradBuffer
    {
        get => _gradBuffer;
        set
        {
            if (value != null && (value.DType != DType || !value.IsContiguous || !ShapeUtil.Equal(value.Shape, Shape)))
                throw new ShapeMismatchException(
                    $"a gradient buffer must be a contiguous {DType} tensor of shape {ShapeUtil.Format(Shape)}; got {value.DType} {ShapeUtil.Format(value.Shape)}{(value.IsContiguous ? "" : ", not contiguous")}");
            _gradBuffer = value;
        }
    }

    /// <summary>The tape node that produced this tensor; null for leaves.</summary>
    public GradNode? GradFn { get; internal set; }

    /// <summary>True for tensors not produced by a recorded op.</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>Raised after a gradient has been accumulated into this leaf's <see cref="Grad"/>.</summary>
    public event Action<Tensor>? GradAccumulated;

    internal void OnGradAccumulated() => GradAccumulated?.Invoke(this);

    /// <summary>
    /// Raised once per <see cref="Backward"/> pass when every gradient this pass sends to this leaf has been
    /// accumulated into <see cref="Grad"/> (PyTorch's post-accumulate-grad hook). Distributed training starts
    /// reducing a gradient at this point, while the rest of the backward pass still runs.
    /// </summary>
    public event Action<Tensor>? GradReady;

    internal void OnGradReady() => GradReady?.Invoke(this);

    internal bool HasGradReadyHandlers => GradReady != null;

    /// <summary>Backpropagates from this tensor (a scalar loss, or with an explicit gradient).</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autograd.Backward(this, gradient, retainGraph);

    /// <summary>A view of the same values cut from the tape (torch detach).</summary>
    public Tensor Detach() => new(Storage, _shape, _strides, Offset);
}
