// InferenceSession: results against scalar references, dynamic batch, concurrent runs, plan lifetimes, unsupported ops.
using Cortado.Graph;
using Xunit;
using static Cortado.Graph.Tests.G;

namespace Cortado.Graph.Tests;

public class SessionTests
{
    // y = relu(x @ w + b), then softmax over the last axis.
    private static Graph Mlp(float[] w, float[] b)
    {
        var g = new Graph { Name = "mlp" };
        g.Inputs.Add(V("x", DType.Float32, "N", 4));
        g.Initializers["w"] = T(w, 4, 3);
        g.Initializers["b"] = T(b, 3);
        g.Nodes.Add(N("MatMul", ["x", "w"], ["xw"], "mm"));
        g.Nodes.Add(N("Add", ["xw", "b"], ["z"], "add"));
        g.Nodes.Add(N("Relu", ["z"], ["h"], "relu"));
        g.Nodes.Add(N("Softmax", ["h"], ["y"], "softmax", ("axis", AttrValue.Of(-1L))));
        g.Outputs.Add(V("y", DType.Float32, "N", 3));
        return g;
    }

    private static double[] Reference(float[] x, float[] w, float[] b, int n)
    {
        var y = new double[n * 3];
        for (int i = 0; i < n; i++)
        {
            var h = new double[3];
            for (int j = 0; j < 3; j++)
            {
                double s = b[j];
                for (int k = 0; k < 4; k++) s += (double)x[i * 4 + k] * w[k * 3 + j];
                h[j] = Math.Max(0, s);
            }
            double mx = h.Max(), sum = h.Sum(v => Math.Exp(v - mx));
            for (int j = 0; j < 3; j++) y[i * 3 + j] = Math.Exp(h[j] - mx) / sum;
        }
        return y;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void MlpMatchesReferenceForAnyBatch(int n)
    {
        var (w, b) = (Rand(12, 1), Rand(3, 2));
        var s = new InferenceSession(Mlp(w, b));
        var x = Rand(n * 4, 3 + n);
        var y = s.Run(new Dictionary<string, Tensor> { ["x"] = T(x, n, 4) })["y"];
        Assert.Equal([n, 3], y.Dims);
        var expect = Reference(x, w, b, n);
        var got = y.ToArray<float>();
        for (int i = 0; i < expect.Length; i++) Assert.True(Math.Abs(got[i] - expect[i]) < 1e-5, $"element {i}: {got[i]} vs {expect[i]}");
    }

    [Fact]
    public void RunsAreStepBoundaries()
    {
        // What a run allocates outside the arena (here its 1 MiB output, arena off) is garbage by the next run: every
        // 16 MiB of it, a run's end collects the young generation (StepCollector) rather than letting it pile up.
        var g = new Graph { Name = "relu" };
        g.Inputs.Add(V("x", DType.Float32, 1, 262144));
        g.Nodes.Add(N("Relu", ["x"], ["y"], "relu"));
        g.Outputs.Add(V("y", DType.Float32, 1, 262144));
        var s = new InferenceSession(g, new SessionOptions { UseArena = false });
        var feeds = new Dictionary<string, Tensor> { ["x"] = T(Rand(262144, 9), 1, 262144) };
        long before = Cortado.Memory.StepCollector.Collections;
        for (int i = 0; i < 40; i++) s.Run(feeds);
        Assert.True(Cortado.Memory.StepCollector.Collections - before >= 2,
                    $"40 runs of 1 MiB each made {Cortado.Memory.StepCollector.Collections - before} step collections");
    }

    [Fact]
    public void ConcurrentRunsOnOneSessionAreIndependent()
    {
        var (w, b) = (Rand(12, 5), Rand(3, 6));
        var s = new InferenceSession(Mlp(w, b));
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int n = 1 + i % 5;
            var x = Rand(n * 4, 100 + i);
            var got = s.Run(new Dictionary<string, Tensor> { ["x"] = T(x, n, 4) })["y"].ToArray<float>();
            var expect = Reference(x, w, b, n);
            for (int j = 0; j < expect.Length; j++)
                if (Math.Abs(got[j] - expect[j]) > 1e-5) errors.Add($"run {i} element {j}: {got[j]} vs {expect[j]}");
        });
        Assert.Empty(errors);
    }

    [Fact]
    public void PlanFreesIntermediatesAfterLastUse()
    {
        // Unoptimized, so the plan has the graph's four nodes (the passes would fuse MatMul, Add and Relu).
        var s = new InferenceSession(Mlp(Rand(12, 1), Rand(3, 2)), new SessionOptions { Optimize = false });
        var p = s.Plan;
        int Slot(string name) => p.SlotNames.ToList().IndexOf(name);
        Assert.Equal(4, p.Steps.Count);
        // xw is written by step 0 and read last by step 1, which frees it; y (an output) is never freed.
        Assert.Equal(0, p.FirstWrite[Slot("xw")]);
        Assert.Equal(1, p.LastRead[Slot("xw")]);
        Assert.Contains(Slot("xw"), p.Steps[1].Free);
        Assert.Equal(p.Steps.Count, p.LastRead[Slot("y")]);
        Assert.DoesNotContain(p.Steps, st => st.Free.Contains(Slot("y")) || st.Free.Contains(Slot("w")));
    }

    [Fact]
    public void UnsupportedOpIsNamedAtSessionCreation()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 2));
        g.Nodes.Add(N("FancyNewOp", ["x"], ["y"], "fancy"));
        g.Outputs.Add(new ValueInfo("y", null, null));
        var e = Assert.Throws<UnsupportedOpException>(() => new InferenceSession(g));
        Assert.Contains("unsupported op FancyNewOp", e.Message);
    }

    [Fact]
    public void MissingAndWrongInputsAreReported()
    {
        var s = new InferenceSession(Mlp(Rand(12, 1), Rand(3, 2)));
        Assert.Throws<CortadoException>(() => s.Run(new Dictionary<string, Tensor>()));
        Assert.Throws<DTypeMismatchException>(() => s.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros([1, 4], DType.Float64) }));
        Assert.Throws<ShapeMismatchException>(() => s.Run(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(4) }));
    }

    [Fact]
    public void IfRunsTheChosenBranchReadingOuterValues()
    {
        Graph Branch(string op)
        {
            var b = new Graph { Name = op };
            b.Nodes.Add(N(op, ["x"], ["r_" + op]));
            b.Outputs.Add(new ValueInfo("r_" + op, null, null));
            return b;
        }
        var g = new Graph();
        g.Inputs.Add(V("c", DType.Bool));
        g.Inputs.Add(V("x", DType.Float32, 2));
        g.Nodes.Add(N("If", ["c"], ["y"], "if", ("then_branch", AttrValue.Of(Branch("Neg"))), ("else_branch", AttrValue.Of(Branch("Abs")))));
        g.Outputs.Add(new ValueInfo("y", null, null));
        var s = new InferenceSession(g);
        var x = T([-1.5f, 2f], 2);
        Tensor Run(bool c) => s.Run(new Dictionary<string, Tensor> { ["c"] = new Tensor(new Storage<bool>([c])), ["x"] = x })["y"];
        Assert.Equal([1.5f, -2f], Run(true).ToArray<float>());
        Assert.Equal([1.5f, 2f], Run(false).ToArray<float>());
    }
}

public class SessionProfileTests
{
    [Fact]
    public void ProfileCountsEveryNodeOfEveryRun()
    {
        var g = new Graph { Name = "chain" };
        g.Inputs.Add(V("x", DType.Float32, "N", 4));
        g.Nodes.Add(N("Relu", ["x"], ["a"], "first"));
        g.Nodes.Add(N("Neg", ["a"], ["b"], "second"));
        g.Nodes.Add(N("Relu", ["b"], ["y"], "third"));
        g.Outputs.Add(V("y", DType.Float32, "N", 4));
        var feeds = new Dictionary<string, Tensor> { ["x"] = T(Rand(8, 1), 2, 4) };

        Assert.Null(new InferenceSession(g).Profile);
        var s = new InferenceSession(g, new SessionOptions { Optimize = false, Profile = true });
        for (int i = 0; i < 3; i++) s.Run(feeds);
        var nodes = s.Profile!.Nodes();
        Assert.Equal(["first", "second", "third"], nodes.Select(n => n.Name));
        Assert.All(nodes, n => Assert.Equal(3, n.Calls));
        Assert.All(nodes, n => Assert.True(n.TotalMs >= 0));
        var ops = s.Profile.ByOpType();
        Assert.Equal(["Neg", "Relu"], ops.Select(o => o.OpType).Order());
        var relu = ops.Single(o => o.OpType == "Relu");
        Assert.Equal((2, 6L), (relu.Nodes, relu.Calls));
        Assert.Equal(nodes.Where(n => n.OpType == "Relu").Sum(n => n.TotalMs), relu.TotalMs, 9);

        s.Profile.Reset();
        Assert.Empty(s.Profile.Nodes());
        s.Run(feeds);
        Assert.All(s.Profile.Nodes(), n => Assert.Equal(1, n.Calls));
    }
}
