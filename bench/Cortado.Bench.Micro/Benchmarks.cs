// Micro-benchmarks of the kernels the training workloads spend their time in, on the workloads' own shapes
// (../shared/peers/torch_ref.py). bench/compare-micro.sh runs them beside the same operations in PyTorch.
using BenchmarkDotNet.Attributes;
using Cortado.NN;
using Cortado.Threading;

namespace Cortado.Bench.Micro;

/// <summary>Square SGEMM (C = A·B) through <c>Tensor.MatMul</c>.</summary>
public class Sgemm
{
    private Tensor _a = null!, _b = null!;

    [Params(256, 1024)]
    public int N { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        CortadoThreads.Count = Threads;
        var gen = new Generator(1);
        _a = Tensor.Randn([N, N], gen);
        _b = Tensor.Randn([N, N], gen);
    }

    [Benchmark]
    public Tensor MatMul() => _a.MatMul(_b);
}

/// <summary>
/// Convolutions of the workloads at 2 threads: resnet18's 3×3, 64-channel convolution at 16×16 (its first
/// stage at 64×64 input, batch 16) and LeNet's first 5×5 convolution (batch 64), forward and forward +
/// backward (input and weight gradients).
/// </summary>
public class Convolution
{
    private Tensor _x = null!, _w = null!, _lx = null!, _lw = null!, _lb = null!;

    [GlobalSetup]
    public void Setup()
    {
        CortadoThreads.Count = 2;
        var gen = new Generator(2);
        _x = Tensor.Randn([16, 64, 16, 16], gen);
        _w = Tensor.Randn([64, 64, 3, 3], gen, std: 0.05);
        _lx = Tensor.Randn([64, 1, 28, 28], gen);
        _lw = Tensor.Randn([6, 1, 5, 5], gen, std: 0.2);
        _lb = Tensor.Zeros([6]);
    }

    [Benchmark]
    public Tensor Resnet3x3Forward()
    {
        using var _ = Autograd.NoGradScope();
        return _x.Conv2d(_w, padding: (1, 1));
    }

    [Benchmark]
    public Tensor? Resnet3x3ForwardBackward()
    {
        var x = _x.Detach();
        x.RequiresGrad = true;
        var w = _w.Detach();
        w.RequiresGrad = true;
        x.Conv2d(w, padding: (1, 1)).Sum().Backward();
        return w.Grad;
    }

    [Benchmark]
    public Tensor? LeNetConv1ForwardBackward()
    {
        var w = _lw.Detach();
        w.RequiresGrad = true;
        var b = _lb.Detach();
        b.RequiresGrad = true;
        _lx.Conv2d(w, b, padding: (2, 2)).Relu().Sum().Backward();
        return w.Grad;
    }
}

/// <summary>The lstm workload's 2-layer LSTM (256 → 256, batch 32 × 35 steps, batch-first) at 2 threads.</summary>
public class Recurrent
{
    private LSTM _lstm = null!;
    private Tensor _x = null!;

    [GlobalSetup]
    public void Setup()
    {
        CortadoThreads.Count = 2;
        var gen = new Generator(3);
        _lstm = new LSTM(256, 256, numLayers: 2, batchFirst: true, gen: gen);
        _x = Tensor.Randn([32, 35, 256], gen);
    }

    [Benchmark]
    public Tensor LstmForward()
    {
        using var _ = Autograd.NoGradScope();
        return _lstm.Forward(_x);
    }

    [Benchmark]
    public Tensor? LstmForwardBackward()
    {
        foreach (var p in _lstm.Parameters()) p.Grad = null;
        _lstm.Forward(_x).Sum().Backward();
        return _lstm.Parameters().First().Grad;
    }
}

/// <summary>Element-wise kernels on 4 M floats (16 MB) at 2 threads.</summary>
public class Elementwise
{
    private Tensor _a = null!, _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        CortadoThreads.Count = 2;
        var gen = new Generator(4);
        _a = Tensor.Randn([1 << 22], gen);
        _b = Tensor.Randn([1 << 22], gen);
    }

    [Benchmark]
    public Tensor Relu()
    {
        using var _ = Autograd.NoGradScope();
        return _a.Relu();
    }

    [Benchmark]
    public Tensor Add()
    {
        using var _ = Autograd.NoGradScope();
        return _a.Add(_b);
    }
}
