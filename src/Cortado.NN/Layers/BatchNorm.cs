// Batch normalisation over the batch (and spatial) dimensions.
using Cortado.Ops;

namespace Cortado.NN;

/// <summary>
/// Batch normalisation (torch.nn.BatchNorm1d/2d): y = (x − μ)/√(σ² + ε)·γ + β per channel (dimension 1).
/// Training mode normalises with the batch's mean and biased variance and updates the running
/// statistics as r ← (1 − momentum)·r + momentum·batch (unbiased variance); evaluation mode uses the
/// running statistics.
/// </summary>
public class BatchNorm : Module
{
    private readonly int _rank;
    private readonly double _eps, _momentum;

    /// <summary>γ [C].</summary>
    public Tensor Weight { get; }

    /// <summary>β [C].</summary>
    public Tensor Bias { get; }

    /// <summary>Running mean [C].</summary>
    public Tensor RunningMean { get; }

    /// <summary>Running variance [C].</summary>
    public Tensor RunningVar { get; }

    /// <summary>Number of batches seen in training (int64 scalar).</summary>
    public Tensor NumBatchesTracked { get; }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }

    /// <summary>
    /// When set, training-mode statistics are taken over the whole global batch of all data-parallel replicas
    /// (SyncBatchNorm) rather than over this process's shard; null for local statistics.
    /// </summary>
    public IBatchNormSync? Sync { get; set; }

    protected BatchNorm(int numFeatures, int rank, double eps, double momentum, DType dtype = DType.Float32)
    {
        NumFeatures = numFeatures;
        _rank = rank;
        _eps = eps;
        _momentum = momentum;
        Weight = RegisterParameter("weight", Tensor.Ones([numFeatures], dtype));
        Bias = RegisterParameter("bias", Tensor.Zeros([numFeatures], dtype));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros([numFeatures], dtype));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones([numFeatures], dtype));
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Zeros([], DType.Int64));
    }

    public override Tensor Forward(Tensor input)
    {
        bool ok = _rank == 4 ? input.Rank == 4 : input.Rank is 2 or 3;
        if (!ok || input.Size(1) != NumFeatures)
            throw new ShapeMismatchException($"{GetType().Name}({NumFeatures}): input shape {ShapeUtil.Format(input.Shape)} must be {(_rank == 4 ? $"[N, {NumFeatures}, H, W]" : $"[N, {NumFeatures}] or [N, {NumFeatures}, L]")}");
        var axes = Enumerable.Range(0, input.Rank).Where(a => a != 1).ToArray();
        var bshape = Enumerable.Range(0, input.Rank).Select(a => a == 1 ? NumFeatures : 1).ToArray();
        Tensor mean, var;
        if (Training)
        {
            int n = input.Numel / NumFeatures;
            if (n <= 1) throw new ShapeMismatchException($"{GetType().Name}: training needs more than one value per channel, got input shape {ShapeUtil.Format(input.Shape)}");
            Tensor d;
            if (Sync == null && input.DType is DType.Float32 or DType.Float64 && Weight.DType == input.DType)
            {
                // One kernel for the statistics and the output, one for the gradients.
                var op = new BatchNormTrainOp(_eps);
                var y = Op.Apply(op, input, Weight, Bias);
                UpdateRunning(op.Mean.Cast(RunningMean.DType), op.Var.Cast(RunningVar.DType), n);
                return y;
            }
            if (Sync == null)
            {
                mean = input.Mean(axes, keepDim: true);
                d = input - mean;
                var = (d * d).Mean(axes, keepDim: true);
            }
            else
            {
                // Global sums of x and x² over every replica's shard (differentiable), then the moments.
                var sums = Sync.SumAcrossReplicas(Tensor.Concat([input.Sum(axes), input.Square().Sum(axes)]));
                long total = Sync.TotalCount(n);
                if (total <= 1) throw new ShapeMismatchException($"{GetType().Name}: training needs more than one value per channel over all replicas");
                mean = sums.Slice(0, 0, NumFeatures).Mul(1.0 / total).Reshape(bshape);
                var = (sums.Slice(0, NumFeatures, 2 * NumFeatures).Mul(1.0 / total).Reshape(bshape) - mean.Square()).Clamp(0);
                d = input - mean;
                n = (int)Math.Min(total, int.MaxValue);
            }
            UpdateRunning(mean.Detach().Reshape(NumFeatures), var.Detach().Reshape(NumFeatures), n);
            var xhat = d * (var + _eps).Rsqrt();
            return xhat * Weight.Reshape(bshape) + Bias.Reshape(bshape);
        }
        mean = RunningMean.Reshape(bshape);
        var = RunningVar.Reshape(bshape);
        return (input - mean) * (var + _eps).Rsqrt() * Weight.Reshape(bshape) + Bias.Reshape(bshape);
    }

    // r ← (1 − momentum)·r + momentum·batch, with the batch variance made unbiased over its n values.
    private void UpdateRunning(Tensor mean, Tensor biasedVar, int n)
    {
        using (Autograd.NoGradScope())
        {
            var v = biasedVar * ((double)n / (n - 1));
            RunningMean.CopyFrom(RunningMean * (1 - _momentum) + mean * _momentum);
            RunningVar.CopyFrom(RunningVar * (1 - _momentum) + v * _momentum);
            NumBatchesTracked.CopyFrom(NumBatchesTracked.Add(1.0));
        }
    }
}

/// <summary>Combines batch-norm statistics across data-parallel replicas (implemented by distributed training).</summary>
public interface IBatchNormSync
{
    /// <summary>The element-wise sum of <paramref name="local"/> over all replicas; gradients flow back to every replica.</summary>
    Tensor SumAcrossReplicas(Tensor local);

    /// <summary>The sum of <paramref name="local"/> over all replicas (values per channel in the global batch).</summary>
    long TotalCount(long local);
}

/// <summary>Batch normalisation of [N, C] or [N, C, L] inputs (torch.nn.BatchNorm1d).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1) : BatchNorm(numFeatures, 2, eps, momentum);

/// <summary>Batch normalisation of [N, C, H, W] inputs (torch.nn.BatchNorm2d).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1) : BatchNorm(numFeatures, 4, eps, momentum);
