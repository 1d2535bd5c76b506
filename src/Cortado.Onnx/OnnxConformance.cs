// Runs ONNX backend tests (model.onnx + test_data_set_*/input_N.pb, output_N.pb) through the inference session and judges them.
using System.Text.Json;
using Cortado.Graph;

namespace Cortado.Onnx;

/// <summary>Outcome of one backend test: passed, or why not.</summary>
public sealed record ConformanceResult(string Test, bool Pass, string? Why);

/// <summary>
/// The ONNX backend-test protocol: import <c>DIR/model.onnx</c>, feed every <c>test_data_set_*/input_N.pb</c> to the
/// N-th graph input that is not an initializer, and compare with <c>output_N.pb</c> for the N-th graph output. An output
/// passes when dtype and shape match and every element satisfies |out − ref| ≤ atol + rtol·|ref| (NaN equals NaN;
/// integers and bools must be equal), rtol 1e-3 and atol 1e-7 unless the test's data.json gives "rtol"/"atol"; with a
/// relative-L2 bound, float outputs pass when ‖out − ref‖ / ‖ref‖ ≤ the bound instead. Models with random ops are judged by
/// distribution (<see cref="RandomCheck"/>), and their passing result's reason says so.
/// </summary>
public static class OnnxConformance
{
    /// <summary>Default relative tolerance.</summary>
    public const double DefaultRtol = 1e-3;
    /// <summary>Default absolute tolerance.</summary>
    public const double DefaultAtol = 1e-7;

    /// <summary>
    /// Runs the test in <paramref name="dir"/>; never throws for a failing model: every error becomes the result's
    /// reason. A test still running after <paramref name="timeout"/> fails as timed out (its thread is abandoned).
    /// </summary>
    public static ConformanceResult RunTest(string dir, double? relL2, TimeSpan timeout, SessionOptions? options = null)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        var task = Task.Factory.StartNew(() => RunUnguarded(dir, relL2, options), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!task.Wait(timeout)) return new ConformanceResult(name, false, $"timed out after {timeout.TotalSeconds:0} s");
            var (pass, why) = task.Result;
            return new ConformanceResult(name, pass, why);
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException ?? e;
            return new ConformanceResult(name, false, Reason(inner));
        }
    }

    private static string Reason(Exception e)
    {
        string msg = e.Message.Split('\n')[0];
        if (msg.Length > 240) msg = msg[..240];
        return e is CortadoException ? msg : $"{e.GetType().Name}: {msg}";
    }

    // (pass, why): a failure's reason, or for a pass the note that outputs were judged by distribution.
    private static (bool, string?) RunUnguarded(string dir, double? relL2, SessionOptions? options)
    {
        var (rtol, atol) = Tolerances(dir);
        var graph = OnnxImporter.Load(Path.Combine(dir, "model.onnx"));
        var session = new InferenceSession(graph, options);
        var inputs = graph.RequiredInputs.ToList();
        var sets = Directory.GetDirectories(dir, "test_data_set_*").Order(StringComparer.Ordinal).ToList();
        if (sets.Count == 0) return (false, "no test_data_set_* directories");
        var random = RandomCheck.For(graph);
        string? note = null;
        // With the arena on, the first run at a set's shapes records the memory plan and the second runs from the
        // arena: both must match.
        int runs = options?.UseArena ?? true ? 2 : 1;
        foreach (var set in sets)
        {
            var feeds = new Dictionary<string, object>();
            for (int i = 0; i < inputs.Count; i++)
            {
                var f = Path.Combine(set, $"input_{i}.pb");
                if (File.Exists(f)) feeds[inputs[i].Name] = OnnxValues.Load(f, inputs[i].Kind);
            }
            for (int run = 0; run < runs; run++)
            {
                var outs = session.RunValues(feeds);
                var expectedOuts = new Dictionary<string, Tensor>();
                for (int i = 0; i < graph.Outputs.Count; i++)
                {
                    var f = Path.Combine(set, $"output_{i}.pb");
                    if (!File.Exists(f)) continue;
                    var expected = OnnxValues.Load(f, graph.Outputs[i].Kind);
                    if (random is not null && expected is Tensor et) { expectedOuts[graph.Outputs[i].Name] = et; continue; }
                    var why = CompareValues(outs[graph.Outputs[i].Name], expected, rtol, atol, relL2);
                    if (why is not null) return (false, $"{graph.Outputs[i].Name}{(run > 0 ? " (run from the arena)" : "")}: {why}");
                }
                if (random is not null)
                {
                    var (ok, what) = random.Check(graph, feeds, outs, expectedOuts, rtol, atol);
                    if (!ok) return (false, "random op checked by distribution: " + what);
                    if (what is not null) note = "random op checked by distribution: " + what;
                }
            }
        }
        return (true, note);
    }

    /// <summary>
    /// The element-wise tolerances of the backend test in <paramref name="dir"/>: rtol and atol from its data.json
    /// when it names them, else <see cref="DefaultRtol"/> and <see cref="DefaultAtol"/>.
    /// </summary>
    public static (double rtol, double atol) Tolerances(string dir)
    {
        var file = Path.Combine(dir, "data.json");
        double rtol = DefaultRtol, atol = DefaultAtol;
        if (!File.Exists(file)) return (rtol, atol);
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        if (doc.RootElement.ValueKind == JsonValueKind.Object)
        {
            if (doc.RootElement.TryGetProperty("rtol", out var r) && r.TryGetDouble(out double rv)) rtol = rv;
            if (doc.RootElement.TryGetProperty("atol", out var a) && a.TryGetDouble(out double av)) atol = av;
        }
        return (rtol, atol);
    }

    // Tensors element-wise; sequences item by item; optionals by presence, then content.
    private static string? CompareValues(object actual, object expected, double rtol, double atol, double? relL2)
    {
        switch (expected)
        {
            case Tensor e:
                return actual is Tensor a ? Compare(a, e, rtol, atol, relL2) : $"got {actual}, expected a tensor";
            case TensorSequence es:
                if (actual is not TensorSequence s) return $"got {actual}, expected {es}";
                if (s.Items.Count != es.Items.Count) return $"sequence of {s.Items.Count} vs expected {es.Items.Count}";
                for (int i = 0; i < es.Items.Count; i++)
                    if (Compare(s.Items[i], es.Items[i], rtol, atol, relL2) is string why) return $"item {i}: {why}";
                return null;
            case OptionalValue eo:
                var ao = actual as OptionalValue;
                object? av = ao is null ? actual : ao.Value;
                if (eo.Value is null) return av is null ? null : $"got {actual}, expected an empty optional";
                return av is null ? "got an empty optional" : CompareValues(av, eo.Value, rtol, atol, relL2);
            default:
                return $"cannot compare {expected}";
        }
    }

    /// <summary>
    /// Null when <paramref name="actual"/> matches <paramref name="expected"/> (see the class summary), else the reason:
    /// dtype or shape mismatch, or the first element out of tolerance with the largest error seen.
    /// </summary>
    public static string? Compare(Tensor actual, Tensor expected, double rtol = DefaultRtol, double atol = DefaultAtol, double? relL2 = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        if (actual.DType != expected.DType) return $"dtype {actual.DType.Name()} vs expected {expected.DType.Name()}";
        if (!actual.Shape.SequenceEqual(expected.Shape)) return $"shape {ShapeUtil.Format(actual.Shape)} vs expected {ShapeUtil.Format(expected.Shape)}";
        if (!actual.DType.IsFloating())
        {
            var a = actual.ToArray<long>(); var e = expected.ToArray<long>();
            for (int i = 0; i < e.Length; i++)
                if (a[i] != e[i]) return $"element {i}: {a[i]} vs expected {e[i]}";
            return null;
        }
        var x = actual.ToArray<double>(); var y = expected.ToArray<double>();
        if (relL2 is double bound)
        {
            double num = 0, den = 0;
            for (int i = 0; i < y.Length; i++) { double d = x[i] - y[i]; num += d * d; den += y[i] * y[i]; }
            double rel = Math.Sqrt(num / den);
            return rel <= bound ? null : $"relative L2 error {rel:E2} > {bound}";
        }
        int bad = -1;
        double worst = 0;
        for (int i = 0; i < y.Length; i++)
        {
            if (double.IsNaN(y[i]) && double.IsNaN(x[i])) continue;
            if (x[i] == y[i]) continue;
            double err = Math.Abs(x[i] - y[i]);
            if (!(err <= atol + rtol * Math.Abs(y[i])))
            {
                if (bad < 0) bad = i;
                if (!(err <= worst)) worst = err;
            }
        }
        return bad < 0 ? null : $"element {bad}: {x[bad]:G7} vs expected {y[bad]:G7}; max error {worst:G3}";
    }
}
