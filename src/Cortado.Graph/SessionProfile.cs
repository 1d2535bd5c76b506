// Per-node wall time of a session's runs, for finding where a model's latency goes.
using System.Diagnostics;

namespace Cortado.Graph;

/// <summary>
/// Time spent in each step of a session's main graph, summed over the runs since the last <see cref="Reset"/>.
/// Collected only when <see cref="SessionOptions.Profile"/> is set; concurrent runs add into the same counters.
/// A step's time includes the subgraphs it runs (If, Loop, Scan).
/// </summary>
public sealed class SessionProfile
{
    private readonly ExecutionPlan _plan;
    private readonly long[] _ticks;
    private readonly long[] _calls;

    internal SessionProfile(ExecutionPlan plan)
    {
        _plan = plan;
        _ticks = new long[plan.Steps.Count];
        _calls = new long[plan.Steps.Count];
    }

    internal void Add(int step, long ticks)
    {
        Interlocked.Add(ref _ticks[step], ticks);
        Interlocked.Increment(ref _calls[step]);
    }

    /// <summary>Clears the counters (for instance after warm-up runs).</summary>
    public void Reset()
    {
        for (int i = 0; i < _ticks.Length; i++) { Interlocked.Exchange(ref _ticks[i], 0); Interlocked.Exchange(ref _calls[i], 0); }
    }

    /// <summary>One row per step that ran, in plan order.</summary>
    public IReadOnlyList<NodeTime> Nodes()
    {
        var rows = new List<NodeTime>();
        for (int i = 0; i < _ticks.Length; i++)
        {
            long calls = Interlocked.Read(ref _calls[i]);
            if (calls == 0) continue;
            var node = _plan.Steps[i].Node;
            rows.Add(new NodeTime(i, node.Name, node.OpType, calls, Interlocked.Read(ref _ticks[i]) * 1000.0 / Stopwatch.Frequency));
        }
        return rows;
    }

    /// <summary>The rows of <see cref="Nodes"/> summed per op type, the most expensive first.</summary>
    public IReadOnlyList<OpTime> ByOpType() =>
        Nodes().GroupBy(n => n.OpType)
            .Select(g => new OpTime(g.Key, g.Count(), g.Sum(n => n.Calls), g.Sum(n => n.TotalMs)))
            .OrderByDescending(o => o.TotalMs).ToList();
}

/// <summary>Time of one step: its plan index, node name and op type, how often it ran and its summed milliseconds.</summary>
public sealed record NodeTime(int Step, string Name, string OpType, long Calls, double TotalMs);

/// <summary>Time of all nodes of one op type: how many nodes, how many calls in all and their summed milliseconds.</summary>
public sealed record OpTime(string OpType, int Nodes, long Calls, double TotalMs);
