// Memory planning: values whose lifetimes overlap never share bytes, and values that do not overlap reuse them.
using Cortado.Graph;
using Xunit;
using static Cortado.Graph.Tests.G;

namespace Cortado.Graph.Tests;

public class MemoryPlanTests
{
    // x → r1 → r2 → r3 → y: each intermediate is read only by the next node.
    private static Graph Chain()
    {
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, "N", 8));
        g.Nodes.Add(N("Relu", ["x"], ["r1"], "a"));
        g.Nodes.Add(N("Neg", ["r1"], ["r2"], "b"));
        g.Nodes.Add(N("Exp", ["r2"], ["r3"], "c"));
        g.Nodes.Add(N("Abs", ["r3"], ["y"], "d"));
        g.Outputs.Add(V("y", DType.Float32, "N", 8));
        return g;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void AChainNeedsTwoBuffersNotThree(int n)
    {
        var s = new InferenceSession(Chain(), new SessionOptions { Optimize = false });
        var plan = s.PlanMemory(new Dictionary<string, Tensor> { ["x"] = T(Rand(8 * n, n), n, 8) });
        long one = (32L * n + MemoryPlan.Alignment - 1) / MemoryPlan.Alignment * MemoryPlan.Alignment;
        Assert.Equal(3 * one, plan.TotalBytes);
        Assert.Equal(2 * one, plan.PeakLiveBytes);
        Assert.Equal(2 * one, plan.ArenaBytes);
        Assert.Equal(plan.Offsets["r1"].Offset, plan.Offsets["r3"].Offset); // r1 is dead when r3 is written
        Assert.NotEqual(plan.Offsets["r1"].Offset, plan.Offsets["r2"].Offset);
        Assert.False(plan.Offsets.ContainsKey("y"));                          // outputs belong to the caller
    }

    [Fact]
    public void OverlappingLifetimesNeverShareBytes()
    {
        // A diamond with a long-lived value: a is read by the last node, so it overlaps everything.
        var g = new Graph();
        g.Inputs.Add(V("x", DType.Float32, 4, 16));
        g.Nodes.Add(N("Relu", ["x"], ["a"], "n0"));
        g.Nodes.Add(N("Exp", ["a"], ["b"], "n1"));
        g.Nodes.Add(N("Concat", ["b", "b"], ["c"], "n2", ("axis", AttrValue.Of(1L))));
        g.Nodes.Add(N("Neg", ["c"], ["d"], "n3"));
        g.Nodes.Add(N("ReduceSum", ["d"], ["e"], "n4", ("keepdims", AttrValue.Of(1L))));
        g.Nodes.Add(N("Add", ["a", "e"], ["y"], "n5"));
        g.Outputs.Add(new ValueInfo("y", DType.Float32, null));
        var s = new InferenceSession(g, new SessionOptions { Optimize = false });
        var mem = s.PlanMemory(new Dictionary<string, Tensor> { ["x"] = T(Rand(64, 3), 4, 16) });
        var p = s.Plan;
        int Slot(string v) => p.SlotNames.ToList().IndexOf(v);
        var names = mem.Offsets.Keys.ToList();
        Assert.Equal(["a", "b", "c", "d", "e"], names.Order());
        foreach (var u in names)
            foreach (var v in names)
            {
                if (u == v) continue;
                bool live = p.FirstWrite[Slot(u)] <= p.LastRead[Slot(v)] && p.FirstWrite[Slot(v)] <= p.LastRead[Slot(u)];
                var (ou, bu) = mem.Offsets[u];
                var (ov, bv) = mem.Offsets[v];
                bool overlapBytes = ou < ov + bv && ov < ou + bu;
                Assert.False(live && overlapBytes, $"{u} [{ou}, {ou + bu}) and {v} [{ov}, {ov + bv}) are alive together and share bytes");
            }
        Assert.True(mem.ArenaBytes >= mem.PeakLiveBytes && mem.ArenaBytes < mem.TotalBytes);
    }
}
