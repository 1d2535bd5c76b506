// Runs from the memory arena: the same results as fresh allocation, outputs that survive later runs, views that keep
// their bytes alive, data-dependent steps, and concurrent runs.
using Cortado.Graph;
using Xunit;
using static Cortado.Graph.Tests.G;

namespace Cortado.Graph.Tests;

public class ArenaTests
{
    private static InferenceSession Session(Graph g, bool arena) => new(g, new SessionOptions { Optimize = false, UseArena = arena });

    private static float[] Out(InferenceSession s, string name, Tensor x) => s.Run(new Dictionary<string, Tensor> { ["x"] = x })[name].ToArray<float>();

    // a = Relu(x) is read only through b, a view of it (Reshape), and c is made after a's last direct reader:
    // the plan must keep a's bytes for b, or c would overwrite them.
    private static Graph ViewOutlivesItsBase()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 8));
        g.Initializers["shape"] = L([-1], 1);
        g.Nodes.Add(N("Relu", ["x"], ["a"], "relu"));
        g.Nodes.Add(N("Reshape", ["a", "shape"], ["b"], "flat"));
        g.Nodes.Add(N("Exp", ["x"], ["c"], "exp"));
        g.Nodes.Add(N("Reshape", ["c", "shape"], ["cf"], "flat2"));
        g.Nodes.Add(N("Neg", ["cf"], ["d"], "neg"));
        g.Nodes.Add(N("Add", ["b", "d"], ["y"], "add"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        return g;
    }

    [Fact]
    public void RunsFromTheArenaMatchFreshAllocationAtEveryShape()
    {
        var with = Session(ViewOutlivesItsBase(), true);
        var without = Session(ViewOutlivesItsBase(), false);
        foreach (int n in new[] { 3, 5, 3, 1, 5 })
            for (int rep = 0; rep < 3; rep++)
            {
                var x = T(Rand(8 * n, 10 * n + rep), n, 8);
                Assert.Equal(Out(without, "y", x), Out(with, "y", x));
            }
        var plan = with.PlanMemory(new Dictionary<string, Tensor> { ["x"] = T(Rand(40, 1), 5, 8) });
        Assert.True(plan.ArenaBytes > 0);
        Assert.Contains("a", plan.Offsets.Keys);
        Assert.DoesNotContain("y", plan.Offsets.Keys); // the caller's
    }

    [Fact]
    public void OutputsOfEarlierRunsSurviveLaterRuns()
    {
        var s = Session(ViewOutlivesItsBase(), true);
        var first = s.Run(new Dictionary<string, Tensor> { ["x"] = T(Rand(32, 1), 4, 8) })["y"];
        var copy = first.ToArray<float>();
        for (int i = 0; i < 4; i++) s.Run(new Dictionary<string, Tensor> { ["x"] = T(Rand(32, 2 + i), 4, 8) });
        Assert.Equal(copy, first.ToArray<float>());
    }

    [Fact]
    public void AnIntermediateThatIsAlsoAGraphOutputStaysOutOfTheArena()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 2, 8));
        g.Nodes.Add(N("Relu", ["x"], ["a"], "relu"));
        g.Nodes.Add(N("Exp", ["a"], ["b"], "exp"));
        g.Nodes.Add(N("Neg", ["b"], ["y"], "neg"));
        g.Outputs.Add(new ValueInfo("a", DType.Float32, null));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        var s = Session(g, true);
        var x = T(Rand(16, 3), 2, 8);
        var r1 = s.Run(new Dictionary<string, Tensor> { ["x"] = x });
        var a1 = r1["a"].ToArray<float>();
        s.Run(new Dictionary<string, Tensor> { ["x"] = T(Rand(16, 4), 2, 8) });
        var r3 = s.Run(new Dictionary<string, Tensor> { ["x"] = T(Rand(16, 5), 2, 8) });
        Assert.Equal(a1, r1["a"].ToArray<float>());
        Assert.NotSame(r1["a"].Storage, r3["a"].Storage);
        Assert.DoesNotContain("a", s.PlanMemory(new Dictionary<string, Tensor> { ["x"] = x }).Offsets.Keys);
    }

    [Fact]
    public void DataDependentStepsFallBackToFreshArrays()
    {
        // NonZero's output length depends on the data, not the shapes: later runs at the same shapes allocate differently.
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 16));
        g.Nodes.Add(N("Relu", ["x"], ["r"], "relu"));
        g.Nodes.Add(N("NonZero", ["r"], ["nz"], "nonzero"));
        g.Nodes.Add(N("Cast", ["nz"], ["f"], "cast", ("to", AttrValue.Of(1L))));
        g.Nodes.Add(N("Neg", ["f"], ["y"], "neg"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        var with = Session(g, true);
        var without = Session(g, false);
        for (int seed = 0; seed < 8; seed++)
        {
            var x = T(Rand(16, seed), 16);
            var got = with.Run(new Dictionary<string, Tensor> { ["x"] = x })["y"];
            var want = without.Run(new Dictionary<string, Tensor> { ["x"] = x })["y"];
            Assert.Equal(want.Dims, got.Dims);
            Assert.Equal(want.ToArray<float>(), got.ToArray<float>());
        }
    }

    [Fact]
    public void AValueOverBytesPlannedForAnotherIsCopiedOut()
    {
        // The If passes a or b through unchanged, by the data in c: the recorded run (c true) extends a's block, so a
        // later run with c false gets b's bytes, which Neg then reuses, unless the executor copies the output out.
        Graph Pass(string v)
        {
            var b = new Graph { Name = "pass_" + v };
            b.Nodes.Add(N("Identity", [v], ["o_" + v]));
            b.Outputs.Add(new ValueInfo("o_" + v, null, null));
            return b;
        }
        var g = new Graph();
        g.Inputs.Add(V("c", DType.Bool));
        g.Inputs.Add(V("x", DType.Float32, 4, 8));
        g.Nodes.Add(N("Relu", ["x"], ["a"], "relu"));
        g.Nodes.Add(N("Exp", ["x"], ["b"], "exp"));
        g.Nodes.Add(N("If", ["c"], ["p"], "if", ("then_branch", AttrValue.Of(Pass("a"))), ("else_branch", AttrValue.Of(Pass("b")))));
        g.Nodes.Add(N("Neg", ["x"], ["n"], "neg"));
        g.Nodes.Add(N("Add", ["p", "n"], ["y"], "add"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        var with = Session(g, true);
        var without = Session(g, false);
        foreach (bool c in new[] { true, false, false, true, false })
        {
            var feeds = new Dictionary<string, Tensor> { ["c"] = new Tensor(new Storage<bool>([c])), ["x"] = T(Rand(32, c ? 1 : 2), 4, 8) };
            Assert.Equal(without.Run(feeds)["y"].ToArray<float>(), with.Run(feeds)["y"].ToArray<float>());
        }
    }

    [Fact]
    public void ConcurrentRunsEachTakeTheirOwnArena()
    {
        var s = Session(ViewOutlivesItsBase(), true);
        var reference = Session(ViewOutlivesItsBase(), false);
        var inputs = Enumerable.Range(0, 16).Select(i => T(Rand(48, 100 + i), 6, 8)).ToArray();
        var expected = inputs.Select(x => Out(reference, "y", x)).ToArray();
        Out(s, "y", inputs[0]); // records the plan
        var got = new float[inputs.Length][];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => got[i % 16] = Out(s, "y", inputs[i % 16]));
        for (int i = 0; i < inputs.Length; i++) Assert.Equal(expected[i], got[i]);
    }
}
