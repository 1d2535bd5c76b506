// Base of every op in the catalogue: forward, shape inference and gradient, defined once.
namespace Cortado.Ops;

/// <summary>
/// One operation of the catalogue. An instance carries the op's attributes (axes, strides …) and,
/// after <see cref="Forward"/>, whatever it saved for the backward pass, so an eager call creates a
/// fresh instance. Forward runs kernels of the current backend; <see cref="Backward"/> is written in
/// terms of other tensor ops, so gradients are themselves differentiable. An operation that is a
/// composition of others is not an <see cref="Op"/>: it is a method calling them, and needs neither a
/// kernel nor a gradient of its own.
/// </summary>
public abstract class Op
{
    /// <summary>Catalogue name (PyTorch/ONNX-like, e.g. "matmul", "conv2d").</summary>
    public abstract string Name { get; }

    /// <summary>Output shape for the given input shapes; throws <see cref="ShapeMismatchException"/> naming the op and shapes when they do not fit.</summary>
    public abstract int[] InferShape(int[][] inputShapes);

    /// <summary>Output dtype for the given input dtypes (the first input's by default).</summary>
    public virtual DType InferDType(DType[] inputDTypes) => inputDTypes[0];

    /// <summary>Computes the output. Called with gradient recording off.</summary>
    public abstract Tensor Forward(Tensor[] inputs);

    /// <summary>True when the op has a gradient.</summary>
    public virtual bool Differentiable => true;

    /// <summary>
    /// Whether the tape will record this application, so that <see cref="Backward"/> may run: set by
    /// <see cref="Apply"/> before <see cref="Forward"/> (true when Forward is called some other way). An op may
    /// skip what only its backward needs (max pooling's indices) when it is false.
    /// </summary>
    public bool GradientWanted { get; private set; } = true;

    /// <summary>
    /// Gradients with respect to each input given the gradient of the output (null where an input has
    /// none, e.g. an integer index). <paramref name="output"/> is the value Forward returned.
    /// </summary>
    public virtual Tensor?[] Backward(Tensor[] inputs, Tensor output, Tensor gradOutput) =>
        throw new CortadoException($"op '{Name}' has no gradient");

    /// <summary>Runs the op eagerly: forward without recording, then a tape entry when any input requires a gradient.</summary>
    public static Tensor Apply(Op op, params Tensor[] inputs)
    {
        Tensor y;
        bool wanted = false;
        if (Autograd.IsEnabled && op.Differentiable)
            foreach (var x in inputs)
                if (x.RequiresGrad)
                {
                    wanted = true;
                    break;
                }
        op.GradientWanted = wanted;
        using (Autograd.NoGradScope())
            y = op.Forward(inputs);
        // An op may return an input unchanged (expand to the same shape); record on a fresh alias so the
        // input keeps its own tape entry.
        foreach (var x in inputs)
            if (ReferenceEquals(x, y))
            {
                y = x.Detach();
                break;
            }
        if (wanted)
        {
            y.GradFn = new GradNode(op, inputs, y);
            y.RequiresGradInternal = true;
        }
        return y;
    }

    /// <summary>A message prefix naming this op.</summary>
    protected string Where => $"op '{Name}'";
}
