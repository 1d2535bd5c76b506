// A dtype probe: a one-node ONNX model, its feeds and expected outputs, run through the importer and the inference session.
using Cortado.Graph;
using Cortado.Graph.Kernels;
using Onnx;

namespace Cortado.Onnx.Tests.DTypes;

/// <summary>How a probe ended.</summary>
internal enum Verdict
{
    /// <summary>Every output matched its expected value.</summary>
    Pass,
    /// <summary>The run finished but an output differs (or the run's own check failed).</summary>
    Mismatch,
    /// <summary>The importer or the engine refused with a Cortado exception (a typed error).</summary>
    Rejected,
    /// <summary>Any other exception, or the time limit.</summary>
    Crash,
}

internal sealed record Outcome(Verdict Verdict, string Why);

/// <summary>
/// A model with one node (the op under test), the values fed to its graph inputs, and the values its graph outputs
/// must hold (within <see cref="Rtol"/>/<see cref="Atol"/> for floats, exactly otherwise). <see cref="Check"/> replaces
/// the comparison for outputs that are judged by distribution; <see cref="ConformanceDir"/> runs an unmodified node
/// test by the conformance protocol instead (for random ops whose references are checked by distribution there).
/// </summary>
internal sealed record Probe(string Name, ModelProto Model, Dictionary<string, object> Feeds, Dictionary<string, object> Expected, double Rtol, double Atol)
{
    public Func<IReadOnlyDictionary<string, object>, string?>? Check { get; init; }

    public string? ConformanceDir { get; init; }

    /// <summary>False for probes built for one dtype on purpose, which the rewriter leaves alone.</summary>
    public bool Rewritable { get; init; } = true;

    public NodeProto Node => Model.Graph.Node[0];

    public string Domain => Node.Domain is "" or "ai.onnx" ? "ai.onnx" : Node.Domain;

    public int Opset => (int)(Model.OpsetImport.FirstOrDefault(o => (o.Domain is "" or "ai.onnx" ? "ai.onnx" : o.Domain) == Domain)?.Version ?? 1);

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>Runs the probe; never throws.</summary>
    public Outcome Run()
    {
        if (ConformanceDir is string dir)
        {
            var r = OnnxConformance.RunTest(dir, null, Limit);
            return r.Pass ? new Outcome(Verdict.Pass, r.Why ?? "") : new Outcome(Verdict.Mismatch, r.Why ?? "");
        }
        var task = Task.Factory.StartNew(RunUnguarded, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!task.Wait(Limit)) return new Outcome(Verdict.Crash, $"timed out after {Limit.TotalSeconds:0} s");
            return task.Result;
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException ?? e;
            string msg = inner.Message.Split('\n')[0];
            return inner is CortadoException
                ? new Outcome(Verdict.Rejected, $"{inner.GetType().Name}: {msg}")
                : new Outcome(Verdict.Crash, $"{inner.GetType().Name}: {msg}");
        }
    }

    private Outcome RunUnguarded()
    {
        var graph = OnnxImporter.Import(Model);
        var session = new InferenceSession(graph);
        var outs = session.RunValues(Feeds);
        if (Check is not null)
        {
            var why = Check(outs);
            return why is null ? new Outcome(Verdict.Pass, "") : new Outcome(Verdict.Mismatch, why);
        }
        foreach (var (name, expected) in Expected)
        {
            if (!outs.TryGetValue(name, out var actual)) return new Outcome(Verdict.Mismatch, $"{name}: no such output");
            var why = Compare(actual, expected);
            if (why is not null) return new Outcome(Verdict.Mismatch, $"{name}: {why}");
        }
        return new Outcome(Verdict.Pass, "");
    }

    private string? Compare(object actual, object expected)
    {
        switch (expected)
        {
            case Tensor e:
                return actual is Tensor a ? OnnxConformance.Compare(a, e, Rtol, Atol) : $"got {actual}, expected a tensor";
            case TensorSequence es:
                if (actual is not TensorSequence s) return $"got {actual}, expected {es}";
                if (s.Items.Count != es.Items.Count) return $"{s.Items.Count} items, expected {es.Items.Count}";
                for (int i = 0; i < es.Items.Count; i++)
                    if (Compare(s.Items[i], es.Items[i]) is string w) return $"item {i}: {w}";
                if (es.ElementType is DType et && s.ElementType != et) return $"element type {s.ElementType?.Name()}, expected {et.Name()}";
                return null;
            case OptionalValue eo:
                object? av = actual is OptionalValue ao ? ao.Value : actual;
                if (eo.Value is null) return av is null ? null : $"got {actual}, expected an empty optional";
                return av is null ? "got an empty optional" : Compare(av, eo.Value);
            default:
                return $"cannot compare {expected}";
        }
    }

    /// <summary>
    /// Every input and output of the node whose type a type parameter gives, as (value name, parameter), the parameter
    /// named as in the op's newest recorded form (older forms are matched to it by formal name, so Identity-1's T is
    /// Identity-16's V). Ops outside the specification (Cortado's fused ops) have one parameter, T, for every value.
    /// </summary>
    public List<(string Value, string Param)> TypedValues()
    {
        var node = Node;
        var r = new List<(string, string)>();
        var versions = OnnxSchemas.Versions(Domain, node.OpType);
        if (versions.Count == 0)
        {
            foreach (var v in node.Input.Concat(node.Output)) if (v.Length > 0) r.Add((v, "T"));
            return r;
        }
        var at = OnnxSchemas.At(Domain, node.OpType, Opset) ?? versions[0];
        var newest = versions[^1];
        void Add(IReadOnlyList<OnnxFormalParameter> formals, IReadOnlyList<OnnxFormalParameter> newFormals, IList<string> actuals)
        {
            for (int i = 0; i < actuals.Count && formals.Count > 0; i++)
            {
                var f = formals[Math.Min(i, formals.Count - 1)];
                if (actuals[i].Length == 0 || (i >= formals.Count && f.Option != OnnxParamOption.Variadic)) continue;
                if (!at.TypeConstraints.ContainsKey(f.Type)) continue;
                int j = Math.Min(i, formals.Count - 1);
                var nf = j < newFormals.Count ? newFormals[j] : null;
                if (nf is null || nf.Name != f.Name || !newest.TypeConstraints.ContainsKey(nf.Type)) continue;
                r.Add((actuals[i], nf.Type));
            }
        }
        Add(at.Inputs, newest.Inputs, node.Input);
        Add(at.Outputs, newest.Outputs, node.Output);
        return r;
    }

    /// <summary>
    /// The dtype bound to each type parameter (see <see cref="TypedValues"/>), read from the declared types of the values;
    /// for a sequence or optional the element type. Null, with the reason, when a value's type is not one Cortado holds
    /// or two values disagree on a parameter.
    /// </summary>
    public Dictionary<string, DType>? Bindings(out string why)
    {
        why = "";
        var node = Node;
        var types = TypesByName(Model.Graph);
        var b = new Dictionary<string, DType>(StringComparer.Ordinal);
        foreach (var (value, param) in TypedValues())
        {
            if (!types.TryGetValue(value, out var dt)) continue;
            if (dt is not DType d) { why = $"'{value}' has a type Cortado does not hold"; return null; }
            if (b.TryGetValue(param, out var prev) && prev != d) { why = $"{param} is bound to both {prev.Name()} and {d.Name()}"; return null; }
            b[param] = d;
        }
        // A type given by an attribute binds its parameter even when no typed value carries it (SequenceEmpty, windows).
        foreach (var (param, attr) in ProbeRewriter.TypeAttributes(node.OpType))
            if (!b.ContainsKey(param) && node.Attribute.FirstOrDefault(a => a.Name == attr) is { } at && OnnxKernels.TryOnnxType(at.I) is DType ad)
                b[param] = ad;
        return b;
    }

    /// <summary>Element dtype (null when Cortado cannot hold it) of every typed value of the graph.</summary>
    public static Dictionary<string, DType?> TypesByName(GraphProto g)
    {
        var r = new Dictionary<string, DType?>(StringComparer.Ordinal);
        foreach (var v in g.Input.Concat(g.Output).Concat(g.ValueInfo))
            if (ElementCode(v.Type) is int code) r[v.Name] = OnnxKernels.TryOnnxType(code);
        foreach (var init in g.Initializer) r[init.Name] = OnnxKernels.TryOnnxType(init.DataType);
        return r;
    }

    /// <summary>The tensor element type code inside a (possibly sequence or optional) type, or null.</summary>
    public static int? ElementCode(TypeProto? t)
    {
        while (t is not null)
        {
            if (t.TensorType is { } tt) return tt.ElemType;
            t = t.SequenceType?.ElemType ?? t.OptionalType?.ElemType;
        }
        return null;
    }
}
