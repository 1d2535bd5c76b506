// Optimization passes: each runs on a small graph, and the graph is run with and without it; outputs must agree and
// node counts show what the pass did.
using Cortado.Graph;
using Cortado.Graph.Passes;
using Xunit;
using static Cortado.Graph.Tests.G;

namespace Cortado.Graph.Tests;

public class PassTests
{
    private static readonly SessionOptions Unoptimized = new() { Optimize = false };

    // Applies one pass to a copy of g and checks the copy computes what g computes (within tol).
    private static Graph ApplyAndCompare(Graph g, IGraphPass pass, Dictionary<string, Tensor> feeds, double tol = 1e-5, int expectRewrites = -1)
    {
        var before = new InferenceSession(g, Unoptimized).Run(feeds);
        var h = g.Clone();
        int k = pass.Run(h);
        if (expectRewrites >= 0) Assert.Equal(expectRewrites, k);
        var after = new InferenceSession(h, Unoptimized).Run(feeds);
        foreach (var (name, want) in before)
        {
            var got = after[name];
            Assert.Equal(want.Dims, got.Dims);
            var (w, a) = (want.ToArray<double>(), got.ToArray<double>());
            for (int i = 0; i < w.Length; i++)
                Assert.True(Math.Abs(w[i] - a[i]) <= tol * (1 + Math.Abs(w[i])), $"{pass.Name}: output {name}[{i}] {a[i]} vs {w[i]}");
        }
        return h;
    }

    private static Dictionary<string, Tensor> Feed(string name, Tensor t) => new() { [name] = t };

    private static Tensor RandT(int seed, params int[] shape) => T(Rand(shape.Aggregate(1, (p, d) => p * d), seed), shape);

    [Fact]
    public void ConstantFoldingTurnsConstantSubgraphsIntoInitializers()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 3));
        g.Initializers["w"] = T([1, 2, 3], 3);
        g.Nodes.Add(N("Constant", [], ["c"], "c", ("value", AttrValue.Of(T([0.5f, -1, 2], 3)))));
        g.Nodes.Add(N("Add", ["c", "w"], ["cw"], "add"));
        g.Nodes.Add(N("Exp", ["cw"], ["e"], "exp"));
        g.Nodes.Add(N("Mul", ["x", "e"], ["y"], "mul"));
        g.Outputs.Add(V("y", DType.Float32, "N", 3));
        var h = ApplyAndCompare(g, new ConstantFolding(), Feed("x", RandT(1, 2, 3)), expectRewrites: 3);
        Assert.Equal(["Mul"], h.Nodes.Select(n => n.OpType));
        Assert.Equal(new[] { MathF.Exp(1.5f), MathF.Exp(1), MathF.Exp(5) }, h.Initializers["e"].ToArray<float>());
    }

    [Fact]
    public void ConstantFoldingLeavesRandomOpsAndOverridableInitializers()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 3));
        g.Inputs.Add(V("bias", DType.Float32, 3));          // an initializer a caller may override
        g.Initializers["bias"] = T([1, 1, 1], 3);
        g.Nodes.Add(N("Neg", ["bias"], ["nb"], "neg"));
        g.Nodes.Add(N("RandomUniform", [], ["r"], "rand", ("shape", AttrValue.Of(new long[] { 3 })), ("seed", AttrValue.Of(1f))));
        g.Nodes.Add(N("Add", ["x", "nb"], ["s"], "add"));
        g.Nodes.Add(N("Mul", ["s", "r"], ["y"], "mul"));
        g.Outputs.Add(V("y", DType.Float32, 3));
        var h = g.Clone();
        Assert.Equal(0, new ConstantFolding().Run(h));
        Assert.Equal(4, h.Nodes.Count);
    }

    [Fact]
    public void IdentityEliminationRewiresReadersButKeepsGraphOutputNames()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 2, 3));
        g.Nodes.Add(N("Identity", ["x"], ["a"], "id1"));
        g.Nodes.Add(N("Dropout", ["a"], ["b"], "drop", ("ratio", AttrValue.Of(0.5f))));
        g.Nodes.Add(N("Relu", ["b"], ["c"], "relu"));
        g.Nodes.Add(N("Identity", ["c"], ["y"], "id2"));
        g.Outputs.Add(V("y", DType.Float32, 2, 3));
        var h = ApplyAndCompare(g, new IdentityElimination(), Feed("x", RandT(2, 2, 3)), tol: 0, expectRewrites: 2);
        Assert.Equal(["Relu", "Identity"], h.Nodes.Select(n => n.OpType));
        Assert.Equal("x", h.Nodes[0].Inputs[0]);
    }

    [Fact]
    public void DropoutInTrainingModeIsNotAPassThrough()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 4));
        g.Inputs.Add(V("t", DType.Bool));
        g.Nodes.Add(N("Dropout", ["x", "", "t"], ["d"], "drop"));
        g.Nodes.Add(N("Relu", ["d"], ["y"], "relu"));
        g.Outputs.Add(V("y", DType.Float32, 4));
        Assert.Equal(0, new IdentityElimination().Run(g.Clone()));
    }

    [Fact]
    public void DeadNodeEliminationDropsWhatNoOutputNeeds()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 3));
        g.Initializers["unused"] = T([1, 2, 3], 3);
        g.Initializers["w"] = T([2, 2, 2], 3);
        g.Nodes.Add(N("Mul", ["x", "w"], ["y"], "mul"));
        g.Nodes.Add(N("Exp", ["x"], ["e"], "exp"));
        g.Nodes.Add(N("Add", ["e", "unused"], ["dead"], "add"));
        g.Outputs.Add(V("y", DType.Float32, 3));
        var h = ApplyAndCompare(g, new DeadNodeElimination(), Feed("x", RandT(3, 3)), tol: 0, expectRewrites: 3);
        Assert.Equal(["Mul"], h.Nodes.Select(n => n.OpType));
        Assert.False(h.Initializers.ContainsKey("unused"));
        Assert.True(h.Initializers.ContainsKey("w"));
    }

    private static void AddBatchNorm(Graph g, string x, string y, int c, int seed)
    {
        var r = new Random(seed);
        float[] Vec(double lo, double hi) => Enumerable.Range(0, c).Select(_ => (float)(lo + r.NextDouble() * (hi - lo))).ToArray();
        g.Initializers["gamma"] = T(Vec(0.5, 2), c);
        g.Initializers["beta"] = T(Vec(-1, 1), c);
        g.Initializers["mean"] = T(Vec(-0.5, 0.5), c);
        g.Initializers["var"] = T(Vec(0.1, 3), c);
        g.Nodes.Add(N("BatchNormalization", [x, "gamma", "beta", "mean", "var"], [y], "bn", ("epsilon", AttrValue.Of(1e-3f))));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void BatchNormFoldsIntoConv(bool bias, int groups)
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 4, 6, 6));
        g.Initializers["W"] = RandT(4, 6, 4 / groups, 3, 3);
        if (bias) g.Initializers["B"] = RandT(5, 6);
        g.Nodes.Add(N("Conv", bias ? ["x", "W", "B"] : ["x", "W"], ["c"], "conv", ("pads", AttrValue.Of(new long[] { 1, 1, 1, 1 })), ("group", AttrValue.Of((long)groups))));
        AddBatchNorm(g, "c", "y", 6, 6);
        g.Outputs.Add(V("y", DType.Float32, "N", 6, 6, 6));
        var h = ApplyAndCompare(g, new BatchNormFolding(), Feed("x", RandT(7, 2, 4, 6, 6)), expectRewrites: 1);
        Assert.Equal(["Conv"], h.Nodes.Select(n => n.OpType));
        Assert.Equal("y", h.Nodes[0].Outputs[0]);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(1, false)]
    public void BatchNormFoldsIntoGemm(int transB, bool withC)
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 5));
        g.Initializers["B"] = transB == 1 ? RandT(8, 4, 5) : RandT(8, 5, 4);
        if (withC) g.Initializers["C"] = RandT(9, 4);
        g.Nodes.Add(N("Gemm", withC ? ["x", "B", "C"] : ["x", "B"], ["z"], "gemm", ("transB", AttrValue.Of((long)transB)), ("alpha", AttrValue.Of(0.5f)), ("beta", AttrValue.Of(2f))));
        AddBatchNorm(g, "z", "y", 4, 10);
        g.Outputs.Add(V("y", DType.Float32, "N", 4));
        var h = ApplyAndCompare(g, new BatchNormFolding(), Feed("x", RandT(11, 3, 5)), expectRewrites: 1);
        Assert.Equal(["Gemm"], h.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void BatchNormStaysWhenTheConvOutputHasOtherReaders()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 1, 2, 4, 4));
        g.Initializers["W"] = RandT(12, 2, 2, 1, 1);
        g.Nodes.Add(N("Conv", ["x", "W"], ["c"], "conv"));
        AddBatchNorm(g, "c", "b", 2, 13);
        g.Nodes.Add(N("Add", ["b", "c"], ["y"], "add"));
        g.Outputs.Add(V("y", DType.Float32, 1, 2, 4, 4));
        Assert.Equal(0, new BatchNormFolding().Run(g.Clone()));
    }

    [Fact]
    public void MatMulAddBecomesGemmForMatricesAndFusedMatMulAbove()
    {
        foreach (var (rank, op) in new[] { (2, "Gemm"), (3, "FusedMatMul") })
        {
            var g = new Graph();
            g.Inputs.Add(rank == 2 ? V("x", DType.Float32, "N", 4) : V("x", DType.Float32, "B", 5, 4));
            g.Initializers["w"] = RandT(14, 4, 3);
            g.Initializers["b"] = RandT(15, 3);
            g.Nodes.Add(N("MatMul", ["x", "w"], ["xw"], "mm"));
            g.Nodes.Add(N("Add", ["b", "xw"], ["y"], "add"));
            g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
            ShapeInference.Run(g);
            var x = rank == 2 ? RandT(16, 6, 4) : RandT(16, 2, 5, 4);
            var h = ApplyAndCompare(g, new MatMulAddFusion(), Feed("x", x), expectRewrites: 1);
            Assert.Equal([op], h.Nodes.Select(n => n.OpType));
            Assert.Equal(rank == 2 ? "" : FusedOps.Domain, h.Nodes[0].Domain);
        }
    }

    public static TheoryData<string, float[]> Activations => new()
    {
        { "Relu", [] }, { "Sigmoid", [] }, { "Tanh", [] }, { "HardSwish", [] }, { "LeakyRelu", [0.2f] }, { "HardSigmoid", [0.3f, 0.4f] }, { "Clip", [0, 0.25f] },
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void ActivationsFuseIntoConvAndGemm(string act, float[] args)
    {
        foreach (var producer in new[] { "Conv", "Gemm" })
        {
            var g = new Graph();
            bool conv = producer == "Conv";
            g.Inputs.Add(conv ? V("x", DType.Float32, "N", 3, 5, 5) : V("x", DType.Float32, "N", 6));
            g.Initializers["W"] = conv ? RandT(17, 4, 3, 3, 3) : RandT(17, 4, 6);
            g.Initializers["B"] = RandT(18, 4);
            g.Nodes.Add(conv ? N("Conv", ["x", "W", "B"], ["z"], "p") : N("Gemm", ["x", "W", "B"], ["z"], "p", ("transB", AttrValue.Of(1L))));
            var ins = new List<string> { "z" };
            var attrs = new List<(string, AttrValue)>();
            if (act == "Clip")
            {
                g.Initializers["lo"] = T([args[0]]);
                g.Initializers["hi"] = T([args[1]]);
                ins.AddRange(["lo", "hi"]);
            }
            else if (act == "LeakyRelu") attrs.Add(("alpha", AttrValue.Of(args[0])));
            else if (act == "HardSigmoid") { attrs.Add(("alpha", AttrValue.Of(args[0]))); attrs.Add(("beta", AttrValue.Of(args[1]))); }
            g.Nodes.Add(N(act, [.. ins], ["y"], "act", [.. attrs]));
            g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
            var x = conv ? RandT(19, 2, 3, 5, 5) : RandT(19, 3, 6);
            var h = ApplyAndCompare(g, new ActivationFusion(), Feed("x", x), expectRewrites: 1);
            Assert.Equal(["Fused" + producer], h.Nodes.Select(n => n.OpType));
            Assert.Equal(act, h.Nodes[0].GetString(FusedOps.ActivationAttr, ""));
        }
    }

    // x → Conv (2-D, or 1-D through the reference path) → Add with r (r first when residualFirst) → Relu.
    private static Graph ResidualGraph(bool twoD, bool bias, bool residualFirst, object[] rShape, bool convIsOutput = false)
    {
        var g = new Graph();
        g.Inputs.Add(twoD ? V("x", DType.Float32, "N", 3, 5, 5) : V("x", DType.Float32, "N", 3, 7));
        g.Inputs.Add(V("r", DType.Float32, rShape));
        g.Initializers["W"] = twoD ? RandT(30, 4, 3, 3, 3) : RandT(30, 4, 3, 3);
        g.Initializers["B"] = RandT(31, 4);
        var pads = AttrValue.Of(twoD ? new long[] { 1, 1, 1, 1 } : [0, 0]);
        g.Nodes.Add(N("Conv", bias ? ["x", "W", "B"] : ["x", "W"], ["z"], "conv", ("pads", pads)));
        g.Nodes.Add(N("Add", residualFirst ? ["r", "z"] : ["z", "r"], ["s"], "add"));
        g.Nodes.Add(N("Relu", ["s"], ["y"], "relu"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        if (convIsOutput) g.Outputs.Add(new ValueInfo("z", DType.Float32, null));
        ShapeInference.Run(g);
        return g;
    }

    [Fact]
    public void ResidualAddsFuseIntoTheConvolutionAndThenItsActivation()
    {
        foreach (bool twoD in new[] { true, false })
            foreach (bool bias in new[] { true, false })
                foreach (bool residualFirst in new[] { true, false })
                {
                    object[] shape = twoD ? ["N", 4, 5, 5] : ["N", 4, 5];
                    var g = ResidualGraph(twoD, bias, residualFirst, shape);
                    var feeds = new Dictionary<string, Tensor>
                    {
                        ["x"] = twoD ? RandT(32, 2, 3, 5, 5) : RandT(32, 2, 3, 7),
                        ["r"] = twoD ? RandT(33, 2, 4, 5, 5) : RandT(33, 2, 4, 5),
                    };
                    // The fused node adds the residual to the finished output, like the Add did: the same bits.
                    var h = ApplyAndCompare(g, new ResidualFusion(), feeds, tol: 0, expectRewrites: 1);
                    Assert.Equal(["FusedConv", "Relu"], h.Nodes.Select(n => n.OpType));
                    Assert.Equal(["x", "W", bias ? "B" : "", "r"], h.Nodes[0].Inputs);
                    Assert.Equal("s", h.Nodes[0].Outputs[0]);
                    var f = ApplyAndCompare(h, new ActivationFusion(), feeds, tol: 0, expectRewrites: 1);
                    Assert.Equal(["FusedConv"], f.Nodes.Select(n => n.OpType));
                    Assert.Equal("Relu", f.Nodes[0].GetString(FusedOps.ActivationAttr, ""));
                    Assert.Equal(4, f.Nodes[0].Inputs.Count);
                }
    }

    [Fact]
    public void ResidualFusionLeavesBroadcastsAndSharedOutputs()
    {
        // A residual that broadcasts, one whose batch size is not provably the output's, and a convolution output
        // that something else reads stay as they are.
        var feeds = new Dictionary<string, Tensor> { ["x"] = RandT(34, 2, 3, 5, 5), ["r"] = RandT(35, 1, 4, 1, 1) };
        ApplyAndCompare(ResidualGraph(true, true, false, [1, 4, 1, 1]), new ResidualFusion(), feeds, expectRewrites: 0);
        feeds["r"] = RandT(35, 2, 4, 5, 5);
        Assert.Equal(0, new ResidualFusion().Run(ResidualGraph(true, true, false, ["M", 4, 5, 5])));
        ApplyAndCompare(ResidualGraph(true, true, false, ["N", 4, 5, 5], convIsOutput: true), new ResidualFusion(), feeds, expectRewrites: 0);
    }

    [Fact]
    public void ShapeSimplificationFoldsKnownDimsAndCollapsesChains()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 3, 4));
        g.Initializers["one"] = new Tensor(new Storage<long>([1L]));   // a scalar index gives a scalar
        g.Initializers["zero"] = L([0], 1);
        g.Initializers["s1"] = L([-1, 12], 2);
        g.Initializers["s2"] = L([-1, 4, 3], 3);
        g.Nodes.Add(N("Shape", ["x"], ["shape"], "shape"));
        g.Nodes.Add(N("Gather", ["shape", "one"], ["d1"], "g1"));   // 3: folds
        g.Nodes.Add(N("Gather", ["shape", "zero"], ["d0"], "g0"));  // N: stays
        g.Nodes.Add(N("Reshape", ["x", "s1"], ["r1"], "r1"));
        g.Nodes.Add(N("Reshape", ["r1", "s2"], ["r2"], "r2"));
        g.Nodes.Add(N("Transpose", ["r2"], ["t1"], "t1", ("perm", AttrValue.Of(new long[] { 0, 2, 1 }))));
        g.Nodes.Add(N("Transpose", ["t1"], ["t2"], "t2", ("perm", AttrValue.Of(new long[] { 0, 2, 1 }))));
        g.Nodes.Add(N("Relu", ["t2"], ["y"], "relu"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        g.Outputs.Add(new ValueInfo("d1", DType.Int64, null));
        g.Outputs.Add(new ValueInfo("d0", DType.Int64, null));
        var h = ApplyAndCompare(g, new ShapeSimplification(), Feed("x", RandT(20, 2, 3, 4)), tol: 0);
        Assert.Equal(["Shape", "Gather", "Reshape", "Relu"], h.Nodes.Select(n => n.OpType));
        Assert.Equal([3L], h.Initializers["d1"].ToArray<long>());
        Assert.Equal(0, h.Initializers["d1"].Rank);
        Assert.Equal("x", h.Nodes[2].Inputs[0]);
        Assert.Equal("r2", h.Nodes[3].Inputs[0]);
    }

    [Fact]
    public void SessionOptimizesACopyAndPassesSwitchOffByName()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 4));
        g.Initializers["w"] = RandT(21, 4, 3);
        g.Initializers["b"] = RandT(22, 3);
        g.Nodes.Add(N("MatMul", ["x", "w"], ["xw"], "mm"));
        g.Nodes.Add(N("Add", ["xw", "b"], ["z"], "add"));
        g.Nodes.Add(N("Relu", ["z"], ["y"], "relu"));
        g.Outputs.Add(V("y", DType.Float32, "N", 3));
        var x = Feed("x", RandT(23, 5, 4));

        var all = new InferenceSession(g);
        Assert.Equal(["FusedGemm"], all.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal(3, g.Nodes.Count); // the caller's graph is untouched
        Assert.Equal(1, all.Optimization!.Rewrites["matmul-add-fusion"]);
        Assert.Equal(1, all.Optimization.Rewrites["activation-fusion"]);

        var noFusion = new InferenceSession(g, new SessionOptions { DisabledPasses = ["activation-fusion"] });
        Assert.Equal(["Gemm", "Relu"], noFusion.Graph.Nodes.Select(n => n.OpType));
        var none = new InferenceSession(g, Unoptimized);
        Assert.Null(none.Optimization);
        Assert.Equal(3, none.Graph.Nodes.Count);

        var (want, a, b) = (none.Run(x)["y"].ToArray<float>(), all.Run(x)["y"].ToArray<float>(), noFusion.Run(x)["y"].ToArray<float>());
        for (int i = 0; i < want.Length; i++)
        {
            Assert.Equal(want[i], a[i], 5);
            Assert.Equal(want[i], b[i], 5);
        }
        var e = Assert.Throws<ArgumentException>(() => new InferenceSession(g, new SessionOptions { DisabledPasses = ["no-such-pass"] }));
        Assert.Contains("constant-folding", e.Message);
    }

    [Fact]
    public void FixedInputDimsAreChecked()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 1, 4));
        g.Nodes.Add(N("Relu", ["x"], ["y"], "relu"));
        g.Outputs.Add(V("y", DType.Float32, 1, 4));
        var s = new InferenceSession(g);
        var e = Assert.Throws<ShapeMismatchException>(() => s.Run(Feed("x", RandT(24, 2, 4))));
        Assert.Contains("input 'x'", e.Message);
        Assert.Contains("dim 0 is 2, not 1", e.Message);
    }
}
