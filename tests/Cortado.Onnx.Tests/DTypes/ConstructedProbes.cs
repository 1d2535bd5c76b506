// Probes built here, with expected values computed here, for ops and dtypes the node-test corpus does not reach.
using Cortado.Graph;
using Google.Protobuf;
using Onnx;

namespace Cortado.Onnx.Tests.DTypes;

/// <summary>
/// One-node models assembled in code. Most are float32 "bases" with small integer data that the rewriter then carries to
/// the other dtypes; ops whose dtype lives in subgraphs, attributes or sampling get one probe per dtype here.
/// </summary>
internal static class ConstructedProbes
{
    public static IEnumerable<Probe> For(string domain, string op)
    {
        if (!Builders.TryGetValue(domain + ":" + op, out var build)) return [];
        return build();
    }

    private const string Fused = "com.cortado";

    private static readonly Dictionary<string, Func<IEnumerable<Probe>>> Builders = new(StringComparer.Ordinal)
    {
        ["ai.onnx:Cast"] = () => CastProbes(like: false),
        ["ai.onnx:CastLike"] = () => CastProbes(like: true),
        ["ai.onnx:SequenceConstruct"] = SequenceConstruct,
        ["ai.onnx:SequenceAt"] = SequenceAt,
        ["ai.onnx:SequenceEmpty"] = SequenceEmpty,
        ["ai.onnx:SequenceErase"] = SequenceErase,
        ["ai.onnx:SequenceLength"] = SequenceLength,
        ["ai.onnx:SplitToSequence"] = SplitToSequence,
        ["ai.onnx:ConcatFromSequence"] = ConcatFromSequence,
        ["ai.onnx:SequenceMap"] = SequenceMap,
        ["ai.onnx:Optional"] = OptionalProbe,
        ["ai.onnx:If"] = If,
        ["ai.onnx:Loop"] = Loop,
        ["ai.onnx:Scan"] = Scan,
        ["ai.onnx:LpNormalization"] = LpNormalization,
        ["ai.onnx:LpPool"] = LpPool,
        ["ai.onnx:GlobalLpPool"] = GlobalLpPool,
        ["ai.onnx:MatMul"] = MatMul,
        ["ai.onnx:Gemm"] = Gemm,
        ["ai.onnx:Einsum"] = Einsum,
        ["ai.onnx:PRelu"] = PRelu,
        ["ai.onnx:ReduceMean"] = ReduceMean,
        ["ai.onnx:ReduceL2"] = ReduceL2,
        ["ai.onnx:Equal"] = EqualBool,
        ["ai.onnx:Unique"] = UniqueBool,
        ["ai.onnx:Sign"] = SignUnsigned,
        ["ai.onnx:Shrink"] = ShrinkUnsigned,
        ["ai.onnx:DequantizeLinear"] = DequantizeInt8,
        ["ai.onnx:QuantizeLinear"] = QuantizeInt8,
        ["ai.onnx:QLinearMatMul"] = QLinearMatMulInt8,
        ["ai.onnx:QLinearConv"] = QLinearConvInt8,
        ["ai.onnx:DFT"] = DftLength,
        ["ai.onnx:GRU"] = () => SequenceLens("GRU", "test_gru_defaults"),
        ["ai.onnx:RNN"] = () => SequenceLens("RNN", "test_simple_rnn_defaults"),
        ["ai.onnx:RandomUniform"] = () => RandomProbes("RandomUniform"),
        ["ai.onnx:RandomNormal"] = () => RandomProbes("RandomNormal"),
        ["ai.onnx:RandomUniformLike"] = () => RandomProbes("RandomUniformLike"),
        ["ai.onnx:RandomNormalLike"] = () => RandomProbes("RandomNormalLike"),
        ["ai.onnx:Bernoulli"] = BernoulliProbes,
        [Fused + ":FusedMatMul"] = () => FusedProbes("FusedMatMul"),
        [Fused + ":FusedGemm"] = () => FusedProbes("FusedGemm"),
        [Fused + ":FusedConv"] = () => FusedProbes("FusedConv"),
    };

    // ---- model building ----

    private static TypeProto TensorType(DType t) => new() { TensorType = new TypeProto.Types.Tensor { ElemType = ProbeValues.OnnxCode(t) } };

    private static TypeProto SeqType(DType t) => new() { SequenceType = new TypeProto.Types.Sequence { ElemType = TensorType(t) } };

    private static TypeProto OptType(TypeProto inner) => new() { OptionalType = new TypeProto.Types.Optional { ElemType = inner } };

    private static ValueInfoProto V(string name, TypeProto type) => new() { Name = name, Type = type };

    private static ValueInfoProto V(string name, DType t) => V(name, TensorType(t));

    private static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    private static ModelProto Model(NodeProto node, ValueInfoProto[] inputs, ValueInfoProto[] outputs, int opset = 17)
    {
        var g = new GraphProto { Name = "probe" };
        g.Node.Add(node);
        g.Input.AddRange(inputs);
        g.Output.AddRange(outputs);
        var m = new ModelProto { IrVersion = 8, Graph = g, ProducerName = "cortado-dtype-probe" };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (node.Domain.Length > 0) m.OpsetImport.Add(new OperatorSetIdProto { Domain = node.Domain, Version = 1 });
        return m;
    }

    private static GraphProto Body(string name, NodeProto[] nodes, ValueInfoProto[] inputs, ValueInfoProto[] outputs)
    {
        var g = new GraphProto { Name = name };
        g.Node.AddRange(nodes);
        g.Input.AddRange(inputs);
        g.Output.AddRange(outputs);
        return g;
    }

    private static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    private static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    private static AttributeProto Str(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    private static AttributeProto Graph(string name, GraphProto g) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = g };

    private static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    private static Tensor F(double[] v, params int[] shape) => ProbeValues.Make(DType.Float32, v, shape);
    private static Tensor L(params long[] v) => ProbeValues.Make(DType.Int64, v.Select(x => (double)x).ToArray(), v.Length);
    private static Tensor Scalar(DType t, double v) => ProbeValues.Make(t, [v]);

    private static Dictionary<string, object> Values(params (string, object)[] v) => v.ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);

    private static Probe P(string name, ModelProto m, Dictionary<string, object> feeds, Dictionary<string, object> expected,
        double rtol = OnnxConformance.DefaultRtol, double atol = OnnxConformance.DefaultAtol) => new(name, m, feeds, expected, rtol, atol);

    // A probe made for one dtype combination, not a base for rewrites.
    private static Probe Fixed(string name, ModelProto m, Dictionary<string, object> feeds, Dictionary<string, object> expected) =>
        new(name, m, feeds, expected, 0, 0) { Rewritable = false };

    // Small integer data, so that every dtype the rewriter targets holds it and integer arithmetic is exact.
    private static double[] Ramp(int n, int lo, int span) => Enumerable.Range(0, n).Select(i => (double)(lo + (i * 7 + 3) % span)).ToArray();

    // ---- Cast and CastLike: every (from, to) pair, converted here ----

    private static IEnumerable<Probe> CastProbes(bool like)
    {
        foreach (var from in ProbeValues.All)
            foreach (var to in ProbeValues.All)
            {
                var values = new List<double> { 0, 1, 2, 3, 7, 100 };
                bool signedFrom = from is not (DType.UInt8 or DType.Bool), signedTo = to is not (DType.UInt8 or DType.Bool);
                if (signedFrom && signedTo) values.AddRange([-1, -3, -100]);
                if (ProbeValues.IsFloat(from)) values.AddRange(signedTo ? [0.5, 2.75, -2.75] : [0.5, 2.75]);
                if (ProbeValues.IsFloat(from) && ProbeValues.IsFloat(to)) values.AddRange([1e-3, double.PositiveInfinity, double.NegativeInfinity, double.NaN]);
                if (from == DType.Bool) values = [0, 1, 1, 0];
                // Values as the source dtype holds them (rounded to a 16-bit float where it has fewer bits).
                var src = values.Select(v => ProbeValues.Round(from, v)).ToArray();
                var dst = src.Select(v => to switch
                {
                    DType.Bool => v != 0 ? 1 : 0,
                    _ when ProbeValues.IsFloat(to) => ProbeValues.Round(to, v),
                    _ => Math.Truncate(v), // ONNX casts floats to integers toward zero
                }).ToArray();
                var x = ProbeValues.Make(from, src, src.Length);
                var y = ProbeValues.Make(to, dst, dst.Length);
                ModelProto m;
                Dictionary<string, object> feeds;
                if (like)
                {
                    m = Model(Node("CastLike", ["x", "like"], ["y"]), [V("x", from), V("like", to)], [V("y", to)]);
                    feeds = Values(("x", x), ("like", ProbeValues.Make(to, [0], 1)));
                }
                else
                {
                    m = Model(Node("Cast", ["x"], ["y"], Int("to", ProbeValues.OnnxCode(to))), [V("x", from)], [V("y", to)]);
                    feeds = Values(("x", x));
                }
                yield return Fixed($"{(like ? "castlike" : "cast")} {from.Name()} to {to.Name()}", m, feeds, Values(("y", y)));
            }
    }

    // ---- sequences and optionals (float32 bases; the rewriter moves them to every dtype) ----

    private static Tensor A => F([1, -2, 3.5, 4, 0, -6], 2, 3);
    private static Tensor B => F([7, 8.25, -9, 10, 11, 12], 2, 3);
    private static Tensor C => F([-13, 14, 15, 16.5, 17, 0], 2, 3);

    private static IEnumerable<Probe> SequenceConstruct()
    {
        var m = Model(Node("SequenceConstruct", ["a", "b"], ["s"]), [V("a", DType.Float32), V("b", DType.Float32)], [V("s", SeqType(DType.Float32))]);
        yield return P("sequence construct", m, Values(("a", A), ("b", B)), Values(("s", new TensorSequence([A, B], DType.Float32))), 0, 0);
    }

    private static IEnumerable<Probe> SequenceAt()
    {
        var m = Model(Node("SequenceAt", ["s", "i"], ["y"]), [V("s", SeqType(DType.Float32)), V("i", DType.Int64)], [V("y", DType.Float32)]);
        yield return P("sequence at -1", m, Values(("s", new TensorSequence([A, B, C])), ("i", Scalar(DType.Int64, -1))), Values(("y", C)), 0, 0);
    }

    private static IEnumerable<Probe> SequenceEmpty()
    {
        var m = Model(Node("SequenceEmpty", [], ["s"], Int("dtype", 1)), [], [V("s", SeqType(DType.Float32))]);
        yield return P("sequence empty", m, [], Values(("s", new TensorSequence([], DType.Float32))), 0, 0);
    }

    private static IEnumerable<Probe> SequenceErase()
    {
        var m = Model(Node("SequenceErase", ["s", "i"], ["r"]), [V("s", SeqType(DType.Float32)), V("i", DType.Int64)], [V("r", SeqType(DType.Float32))]);
        yield return P("sequence erase 1", m, Values(("s", new TensorSequence([A, B, C])), ("i", Scalar(DType.Int64, 1))),
            Values(("r", new TensorSequence([A, C], DType.Float32))), 0, 0);
    }

    private static IEnumerable<Probe> SequenceLength()
    {
        var m = Model(Node("SequenceLength", ["s"], ["n"]), [V("s", SeqType(DType.Float32))], [V("n", DType.Int64)]);
        yield return P("sequence length", m, Values(("s", new TensorSequence([A, B, C]))), Values(("n", Scalar(DType.Int64, 3))), 0, 0);
    }

    private static IEnumerable<Probe> SplitToSequence()
    {
        var x = F(Ramp(12, -5, 11), 4, 3);
        var xs = ProbeValues.Read(x);
        var m = Model(Node("SplitToSequence", ["x", "split"], ["s"], Int("axis", 0)), [V("x", DType.Float32), V("split", DType.Int64)], [V("s", SeqType(DType.Float32))]);
        var parts = new TensorSequence([F(xs[..3], 1, 3), F(xs[3..], 3, 3)], DType.Float32);
        yield return P("split to sequence [1, 3]", m, Values(("x", x), ("split", L(1, 3))), Values(("s", parts)), 0, 0);
    }

    private static IEnumerable<Probe> ConcatFromSequence()
    {
        var m = Model(Node("ConcatFromSequence", ["s"], ["y"], Int("axis", 1)), [V("s", SeqType(DType.Float32))], [V("y", DType.Float32)]);
        var a = ProbeValues.Read(A); var b = ProbeValues.Read(B);
        var y = F([.. a[..3], .. b[..3], .. a[3..], .. b[3..]], 2, 6);
        yield return P("concat from sequence axis 1", m, Values(("s", new TensorSequence([A, B]))), Values(("y", y)), 0, 0);
    }

    private static IEnumerable<Probe> OptionalProbe()
    {
        var m = Model(Node("Optional", ["x"], ["o"]), [V("x", DType.Float32)], [V("o", OptType(TensorType(DType.Float32)))]);
        yield return P("optional of a tensor", m, Values(("x", A)), Values(("o", new OptionalValue(A))), 0, 0);
    }

    // Values of any dtype for the control-flow probes: 0 … 5 (bools: false, true, true …).
    private static Tensor Six(DType t, int offset = 0) => ProbeValues.Make(t, Enumerable.Range(offset, 6).Select(i => (double)(t == DType.Bool ? i % 2 : i)).ToArray(), 2, 3);

    private static IEnumerable<Probe> SequenceMap()
    {
        foreach (var t in ProbeValues.All)
        {
            // The body returns each item and, as a second output sequence, the additional input once per item.
            var body = Body("body", [Node("Identity", ["item"], ["out"]), Node("Identity", ["extra"], ["out2"])],
                [V("item", t), V("extra", t)], [V("out", t), V("out2", t)]);
            var m = Model(Node("SequenceMap", ["s", "x"], ["r", "r2"], Graph("body", body)), [V("s", SeqType(t)), V("x", t)], [V("r", SeqType(t)), V("r2", SeqType(t))]);
            var items = new TensorSequence([Six(t), Six(t, 1)], t);
            var x = Six(t, 2);
            yield return Fixed($"sequence map identity {t.Name()}", m, Values(("s", items), ("x", x)), Values(("r", items), ("r2", new TensorSequence([x, x], t))));
        }
    }

    private static IEnumerable<Probe> If()
    {
        foreach (var t in ProbeValues.All)
            foreach (bool cond in new[] { true, false })
            {
                var then = Body("then", [Node("Identity", ["x"], ["tx"])], [], [V("tx", t)]);
                var els = Body("else", [Node("Identity", ["y"], ["ey"])], [], [V("ey", t)]);
                var m = Model(Node("If", ["c"], ["r"], Graph("then_branch", then), Graph("else_branch", els)),
                    [V("c", DType.Bool), V("x", t), V("y", t)], [V("r", t)]);
                var x = Six(t); var y = Six(t, 1);
                yield return Fixed($"if {cond} {t.Name()}", m, Values(("c", ProbeValues.Make(DType.Bool, [cond ? 1 : 0])), ("x", x), ("y", y)),
                    Values(("r", cond ? x : y)));
            }
    }

    private static IEnumerable<Probe> Loop()
    {
        foreach (var t in ProbeValues.All)
        {
            // Three iterations carry v unchanged and emit it as a scan output each time.
            var body = Body("body", [Node("Identity", ["cond_in"], ["cond_out"]), Node("Identity", ["v_in"], ["v_out"]), Node("Identity", ["v_in"], ["scan"])],
                [V("iter", DType.Int64), V("cond_in", DType.Bool), V("v_in", t)], [V("cond_out", DType.Bool), V("v_out", t), V("scan", t)]);
            var m = Model(Node("Loop", ["m", "c", "v"], ["v_final", "stacked"], Graph("body", body)),
                [V("m", DType.Int64), V("c", DType.Bool), V("v", t)], [V("v_final", t), V("stacked", t)]);
            var v = Six(t);
            var vs = ProbeValues.Read(v);
            var stacked = ProbeValues.Make(t, [.. vs, .. vs, .. vs], 3, 2, 3);
            yield return Fixed($"loop carries {t.Name()}", m, Values(("m", Scalar(DType.Int64, 3)), ("c", ProbeValues.Make(DType.Bool, [1])), ("v", v)),
                Values(("v_final", v), ("stacked", stacked)));
        }
    }

    private static IEnumerable<Probe> Scan()
    {
        foreach (var t in ProbeValues.All)
        {
            // One state carried unchanged; the scan output repeats the scanned rows.
            var body = Body("body", [Node("Identity", ["s_in"], ["s_out"]), Node("Identity", ["row"], ["row_out"])],
                [V("s_in", t), V("row", t)], [V("s_out", t), V("row_out", t)]);
            var m = Model(Node("Scan", ["s", "x"], ["s_final", "rows"], Graph("body", body), Int("num_scan_inputs", 1)),
                [V("s", t), V("x", t)], [V("s_final", t), V("rows", t)], opset: 16);
            var s = ProbeValues.Make(t, [1], 1);
            var x = Six(t);
            yield return Fixed($"scan rows {t.Name()}", m, Values(("s", s), ("x", x)), Values(("s_final", s), ("rows", x)));
        }
    }

    // ---- float ops the corpus lacks: references in float64 ----

    private static IEnumerable<Probe> LpNormalization()
    {
        var xs = new double[] { 1, -2, 3, 0.5, 4, 0, -1.5, 2, -3, 1, 1, 1 };
        var x = F(xs, 3, 4);
        foreach (int p in new[] { 1, 2 })
        {
            var y = new double[12];
            for (int r = 0; r < 3; r++)
            {
                double norm = 0;
                for (int c = 0; c < 4; c++) norm += p == 1 ? Math.Abs(xs[r * 4 + c]) : xs[r * 4 + c] * xs[r * 4 + c];
                if (p == 2) norm = Math.Sqrt(norm);
                for (int c = 0; c < 4; c++) y[r * 4 + c] = xs[r * 4 + c] / norm;
            }
            var m = Model(Node("LpNormalization", ["x"], ["y"], Int("axis", 1), Int("p", p)), [V("x", DType.Float32)], [V("y", DType.Float32)]);
            yield return P($"lp normalization p{p}", m, Values(("x", x)), Values(("y", F(y, 3, 4))));
        }
    }

    private static IEnumerable<Probe> LpPool()
    {
        const int H = 5, W = 5, K = 3;
        var xs = Enumerable.Range(0, 2 * H * W).Select(i => ((i * 13 + 5) % 17 - 8) / 4.0).ToArray();
        foreach (int p in new[] { 1, 2, 3 })
        {
            int oh = H - K + 1, ow = W - K + 1;
            var y = new double[2 * oh * ow];
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = 0;
                        for (int a = 0; a < K; a++) for (int b = 0; b < K; b++) s += Math.Pow(Math.Abs(xs[(c * H + i + a) * W + j + b]), p);
                        y[(c * oh + i) * ow + j] = Math.Pow(s, 1.0 / p);
                    }
            var m = Model(Node("LpPool", ["x"], ["y"], Ints("kernel_shape", K, K), Int("p", p)), [V("x", DType.Float32)], [V("y", DType.Float32)]);
            yield return P($"lp pool p{p}", m, Values(("x", F(xs, 1, 2, H, W))), Values(("y", F(y, 1, 2, oh, ow))));
        }
    }

    private static IEnumerable<Probe> GlobalLpPool()
    {
        var xs = Enumerable.Range(0, 24).Select(i => ((i * 5 + 2) % 11 - 5) / 2.0).ToArray();
        foreach (int p in new[] { 1, 2 })
        {
            var y = new double[2];
            for (int c = 0; c < 2; c++) y[c] = Math.Pow(Enumerable.Range(0, 12).Sum(i => Math.Pow(Math.Abs(xs[c * 12 + i]), p)), 1.0 / p);
            var m = Model(Node("GlobalLpPool", ["x"], ["y"], Int("p", p)), [V("x", DType.Float32)], [V("y", DType.Float32)]);
            yield return P($"global lp pool p{p}", m, Values(("x", F(xs, 1, 2, 3, 4))), Values(("y", F(y, 1, 2, 1, 1))));
        }
    }

    // ---- integer arithmetic: integral float32 bases, exact references ----

    private static double[] MatMulRef(double[] a, double[] b, int m, int k, int n, bool transB = false)
    {
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int q = 0; q < k; q++) y[i * n + j] += a[i * k + q] * (transB ? b[j * k + q] : b[q * n + j]);
        return y;
    }

    private static IEnumerable<Probe> MatMul()
    {
        var a = Ramp(6, -3, 7); var b = Ramp(12, -2, 6);
        var m = Model(Node("MatMul", ["a", "b"], ["y"]), [V("a", DType.Float32), V("b", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("matmul small integers", m, Values(("a", F(a, 2, 3)), ("b", F(b, 3, 4))), Values(("y", F(MatMulRef(a, b, 2, 3, 4), 2, 4))));
    }

    private static IEnumerable<Probe> Gemm()
    {
        var a = Ramp(6, -3, 7); var b = Ramp(12, -2, 6); var c = Ramp(4, -4, 9);
        var y = MatMulRef(a, b, 2, 3, 4, transB: true);
        for (int i = 0; i < y.Length; i++) y[i] += c[i % 4];
        var m = Model(Node("Gemm", ["a", "b", "c"], ["y"], Int("transB", 1)), [V("a", DType.Float32), V("b", DType.Float32), V("c", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("gemm transB small integers", m, Values(("a", F(a, 2, 3)), ("b", F(b, 4, 3)), ("c", F(c, 4))), Values(("y", F(y, 2, 4))));
    }

    private static IEnumerable<Probe> Einsum()
    {
        // Non-negative data so that the unsigned rewrite holds it too.
        var a = Ramp(6, 0, 4); var b = Ramp(12, 0, 3);
        var m = Model(Node("Einsum", ["a", "b"], ["y"], Str("equation", "ij,jk->ik")), [V("a", DType.Float32), V("b", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("einsum ij,jk->ik small integers", m, Values(("a", F(a, 2, 3)), ("b", F(b, 3, 4))), Values(("y", F(MatMulRef(a, b, 2, 3, 4), 2, 4))));
    }

    private static IEnumerable<Probe> PRelu()
    {
        var x = Ramp(6, -4, 9); var slope = new double[] { 2, 0, 3 };
        var y = x.Select((v, i) => v < 0 ? v * slope[i % 3] : v).ToArray();
        var m = Model(Node("PRelu", ["x", "slope"], ["y"]), [V("x", DType.Float32), V("slope", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("prelu small integers", m, Values(("x", F(x, 2, 3)), ("slope", F(slope, 3))), Values(("y", F(y, 2, 3))));
    }

    private static IEnumerable<Probe> ReduceMean()
    {
        // Row means that are whole numbers, so every integer rounding rule agrees.
        var m = Model(Node("ReduceMean", ["x"], ["y"], Ints("axes", 1)), [V("x", DType.Float32)], [V("y", DType.Float32)], opset: 17);
        yield return P("reduce mean whole", m, Values(("x", F([1, 3, 5, -7, 2, 2], 2, 3))), Values(("y", F([3, -1], 2, 1))));
    }

    private static IEnumerable<Probe> ReduceL2()
    {
        var m = Model(Node("ReduceL2", ["x"], ["y"], Ints("axes", 1)), [V("x", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("reduce l2 pythagorean", m, Values(("x", F([3, 4, 6, -8], 2, 2))), Values(("y", F([5, 10], 2, 1))));
    }

    private static IEnumerable<Probe> EqualBool()
    {
        var m = Model(Node("Equal", ["a", "b"], ["y"]), [V("a", DType.Float32), V("b", DType.Float32)], [V("y", DType.Bool)]);
        yield return P("equal of 0/1 values", m, Values(("a", F([0, 1, 1, 0], 4)), ("b", F([0, 0, 1, 1], 4))),
            Values(("y", ProbeValues.Make(DType.Bool, [1, 0, 1, 0], 4))), 0, 0);
    }

    private static IEnumerable<Probe> UniqueBool()
    {
        var m = Model(Node("Unique", ["x"], ["y", "idx", "inv", "cnt"], Int("sorted", 1)), [V("x", DType.Float32)],
            [V("y", DType.Float32), V("idx", DType.Int64), V("inv", DType.Int64), V("cnt", DType.Int64)]);
        yield return P("unique of 0/1 values", m, Values(("x", F([1, 0, 0, 1, 1], 5))),
            Values(("y", F([0, 1], 2)), ("idx", L(1, 0)), ("inv", L(1, 0, 0, 1, 1)), ("cnt", L(2, 3))), 0, 0);
    }

    private static IEnumerable<Probe> SignUnsigned()
    {
        var m = Model(Node("Sign", ["x"], ["y"]), [V("x", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("sign of non-negative integers", m, Values(("x", F([0, 1, 5, 200], 4))), Values(("y", F([0, 1, 1, 1], 4))), 0, 0);
    }

    private static IEnumerable<Probe> ShrinkUnsigned()
    {
        var m = Model(Node("Shrink", ["x"], ["y"], Float("lambd", 1.5f), Float("bias", 1f)), [V("x", DType.Float32)], [V("y", DType.Float32)]);
        yield return P("shrink of non-negative integers", m, Values(("x", F([0, 1, 2, 5, 100], 5))), Values(("y", F([0, 0, 1, 4, 99], 5))), 0, 0);
    }

    // ---- quantization at int8 ----

    private static double RoundEven(double v) => Math.Round(v, MidpointRounding.ToEven);

    private static IEnumerable<Probe> DequantizeInt8()
    {
        var x = new double[] { -128, -3, 0, 5, 127 };
        var y = x.Select(v => (v - 1) * 0.5).ToArray();
        var m = Model(Node("DequantizeLinear", ["x", "s", "z"], ["y"]), [V("x", DType.Int8), V("s", DType.Float32), V("z", DType.Int8)], [V("y", DType.Float32)]);
        yield return P("dequantize int8", m, Values(("x", ProbeValues.Make(DType.Int8, x, 5)), ("s", Scalar(DType.Float32, 0.5)), ("z", Scalar(DType.Int8, 1))),
            Values(("y", F(y, 5))), 0, 0);
    }

    private static IEnumerable<Probe> QuantizeInt8()
    {
        var x = new double[] { -300, -10, -3, 0, 3, 5, 100, 300 };
        var y = x.Select(v => Math.Clamp(RoundEven(v / 2) - 1, -128, 127)).ToArray();
        var m = Model(Node("QuantizeLinear", ["x", "s", "z"], ["y"]), [V("x", DType.Float32), V("s", DType.Float32), V("z", DType.Int8)], [V("y", DType.Int8)]);
        yield return P("quantize int8 with saturation", m, Values(("x", F(x, 8)), ("s", Scalar(DType.Float32, 2)), ("z", Scalar(DType.Int8, -1))),
            Values(("y", ProbeValues.Make(DType.Int8, y, 8))), 0, 0);
    }

    private static IEnumerable<Probe> QLinearMatMulInt8()
    {
        var a = new double[] { -3, 5, 7, -1, 0, 2 }; var b = new double[] { 1, -2, 3, 4, -5, 6 };
        double sa = 0.5, za = 1, sb = 0.25, zb = -1, sy = 0.75, zy = 2;
        var ac = a.Select(v => v - za).ToArray(); var bc = b.Select(v => v - zb).ToArray();
        var prod = MatMulRef(ac, bc, 2, 3, 2);
        var y = prod.Select(v => Math.Clamp(RoundEven(v * sa * sb / sy) + zy, -128, 127)).ToArray();
        var i8 = DType.Int8;
        var m = Model(Node("QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"]),
            [V("a", i8), V("sa", DType.Float32), V("za", i8), V("b", i8), V("sb", DType.Float32), V("zb", i8), V("sy", DType.Float32), V("zy", i8)], [V("y", i8)]);
        yield return P("qlinear matmul int8", m, Values(("a", ProbeValues.Make(i8, a, 2, 3)), ("sa", Scalar(DType.Float32, sa)), ("za", Scalar(i8, za)),
            ("b", ProbeValues.Make(i8, b, 3, 2)), ("sb", Scalar(DType.Float32, sb)), ("zb", Scalar(i8, zb)), ("sy", Scalar(DType.Float32, sy)), ("zy", Scalar(i8, zy))),
            Values(("y", ProbeValues.Make(i8, y, 2, 2))), 0, 0);
    }

    private static IEnumerable<Probe> QLinearConvInt8()
    {
        // One image 1×1×3×3, two 2×2 filters, stride 1, no padding; bias int32.
        var x = new double[] { -3, 5, 7, -1, 0, 2, 4, -6, 8 };
        var w = new double[] { 1, -2, 3, 4, -1, 0, 2, 5 };
        var bias = new double[] { 10, -20 };
        double sx = 0.5, zx = 1, sw = 0.25, sy = 0.5, zy = -3;
        var y = new double[2 * 2 * 2];
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                {
                    double acc = bias[o];
                    for (int a = 0; a < 2; a++) for (int b = 0; b < 2; b++) acc += (x[(i + a) * 3 + j + b] - zx) * w[o * 4 + a * 2 + b];
                    y[(o * 2 + i) * 2 + j] = Math.Clamp(RoundEven(acc * sx * sw / sy) + zy, -128, 127);
                }
        var i8 = DType.Int8;
        var m = Model(Node("QLinearConv", ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy", "b"], ["y"]),
            [V("x", i8), V("sx", DType.Float32), V("zx", i8), V("w", i8), V("sw", DType.Float32), V("zw", i8), V("sy", DType.Float32), V("zy", i8), V("b", DType.Int32)], [V("y", i8)]);
        yield return P("qlinear conv int8", m, Values(("x", ProbeValues.Make(i8, x, 1, 1, 3, 3)), ("sx", Scalar(DType.Float32, sx)), ("zx", Scalar(i8, zx)),
            ("w", ProbeValues.Make(i8, w, 2, 1, 2, 2)), ("sw", Scalar(DType.Float32, sw)), ("zw", Scalar(i8, 0)), ("sy", Scalar(DType.Float32, sy)), ("zy", Scalar(i8, zy)),
            ("b", ProbeValues.Make(DType.Int32, bias, 2))), Values(("y", ProbeValues.Make(i8, y, 1, 2, 2, 2))), 0, 0);
    }

    // ---- node tests given an optional input that does not change their result ----

    private static Probe? NodeTest(string op, string name) => NodeTestProbes.For("ai.onnx", op).FirstOrDefault(p => p.Name == name);

    // A copy of a node test with input slot `slot` fed by a new graph input `name` holding `value`.
    private static Probe WithInput(Probe p, int slot, string name, Tensor value, string label)
    {
        var m = p.Model.Clone();
        var n = m.Graph.Node[0];
        while (n.Input.Count <= slot) n.Input.Add("");
        n.Input[slot] = name;
        m.Graph.Input.Add(V(name, value.DType));
        var feeds = new Dictionary<string, object>(p.Feeds, StringComparer.Ordinal) { [name] = value };
        return p with { Name = $"{p.Name} {label}", Model = m, Feeds = feeds };
    }

    private static IEnumerable<Probe> DftLength()
    {
        if (NodeTest("DFT", "test_dft") is not Probe p) yield break;
        // dft_length equal to the signal length along the axis changes nothing.
        var x = (Tensor)p.Feeds.Values.First();
        int axis = (int)(p.Node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1);
        yield return WithInput(p, 1, "dft_length", Scalar(DType.Int64, x.Shape[axis]), "with dft_length");
    }

    private static IEnumerable<Probe> SequenceLens(string op, string test)
    {
        if (NodeTest(op, test) is not Probe p) yield break;
        // Every sequence at full length: the same result as without sequence_lens.
        var x = (Tensor)p.Feeds[p.Node.Input[0]];
        int seq = x.Shape[0], batch = x.Shape[1];
        yield return WithInput(p, 4, "sequence_lens", ProbeValues.Make(DType.Int32, Enumerable.Repeat((double)seq, batch).ToArray(), batch), "with sequence_lens");
    }

    // ---- sampling ops: judged by range and moments ----

    private static IEnumerable<Probe> RandomProbes(string op)
    {
        bool like = op.EndsWith("Like", StringComparison.Ordinal), normal = op.StartsWith("RandomNormal", StringComparison.Ordinal);
        const int N = 4000;
        double low = -1, high = 3, mean = 2, scale = 0.5;
        var floats = new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 };
        var cases = like
            ? ProbeValues.All.Select(t1 => (T1: t1, T2: DType.Float32)).Concat(floats.Select(t2 => (T1: DType.Float32, T2: t2)))
            : floats.Select(t => (T1: DType.Float32, T2: t));
        foreach (var (t1, t2) in cases.Distinct())
        {
            var attrs = new List<AttributeProto> { Int("dtype", ProbeValues.OnnxCode(t2)), Float("seed", 7f) };
            attrs.AddRange(normal ? [Float("mean", (float)mean), Float("scale", (float)scale)] : [Float("low", (float)low), Float("high", (float)high)]);
            if (!like) attrs.Add(Ints("shape", 40, N / 40));
            var node = Node(op, like ? ["x"] : [], ["y"], [.. attrs]);
            var m = Model(node, like ? [V("x", t1)] : [], [V("y", t2)]);
            var feeds = like ? Values(("x", ProbeValues.Make(t1, new double[N], 40, N / 40))) : [];
            string? Check(IReadOnlyDictionary<string, object> outs)
            {
                if (outs["y"] is not Tensor y) return "no tensor output";
                if (y.DType != t2) return $"dtype {y.DType.Name()}, expected {t2.Name()}";
                if (!y.Shape.SequenceEqual(new[] { 40, N / 40 })) return $"shape {ShapeUtil.Format(y.Shape)}";
                var v = ProbeValues.Read(y);
                double mu = v.Average(), sd = Math.Sqrt(v.Sum(x => (x - mu) * (x - mu)) / v.Length);
                // Expected moments, with five standard errors of the sample mean and a 10% band on the deviation.
                double em = normal ? mean : (low + high) / 2, es = normal ? scale : (high - low) / Math.Sqrt(12);
                if (!normal && v.Any(x => x < low || x > high)) return $"a sample outside [{low}, {high}]";
                if (Math.Abs(mu - em) > 5 * es / Math.Sqrt(N) + 0.01) return $"mean {mu:G4}, expected {em} ± {5 * es / Math.Sqrt(N):G2}";
                if (Math.Abs(sd - es) > 0.1 * es) return $"standard deviation {sd:G4}, expected {es:G4}";
                return null;
            }
            yield return new Probe($"{op.ToLowerInvariant()} {t1.Name()} to {t2.Name()}", m, feeds, [], 0, 0) { Check = Check, Rewritable = false };
        }
    }

    private static IEnumerable<Probe> BernoulliProbes()
    {
        // Probabilities of exactly 0 and 1 make the samples certain.
        var p = new double[] { 0, 1, 1, 0, 1, 0, 0, 1 };
        foreach (var t1 in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 })
            foreach (var t2 in ProbeValues.All)
            {
                if (t1 != DType.Float32 && t2 != DType.Float32) continue;
                var m = Model(Node("Bernoulli", ["p"], ["y"], Int("dtype", ProbeValues.OnnxCode(t2))), [V("p", t1)], [V("y", t2)]);
                yield return Fixed($"bernoulli certain {t1.Name()} to {t2.Name()}", m, Values(("p", ProbeValues.Make(t1, p, 8))), Values(("y", ProbeValues.Make(t2, p, 8))));
            }
    }

    // ---- Cortado's fused ops: one probe per float dtype ----

    private static IEnumerable<Probe> FusedProbes(string op)
    {
        foreach (var t in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 })
        {
            var relu = Str("activation", "Relu");
            NodeProto node;
            Dictionary<string, object> feeds;
            double[] y;
            int[] yShape;
            if (op == "FusedConv")
            {
                // x 1×1×3×3, w 2×1×2×2, bias 2: a valid convolution, then Relu.
                var x = Ramp(9, -4, 9); var w = Ramp(8, -2, 5); var b = new double[] { 1, -3 };
                y = new double[8];
                for (int o = 0; o < 2; o++)
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++)
                        {
                            double acc = b[o];
                            for (int a = 0; a < 2; a++) for (int c = 0; c < 2; c++) acc += x[(i + a) * 3 + j + c] * w[o * 4 + a * 2 + c];
                            y[(o * 2 + i) * 2 + j] = Math.Max(acc, 0);
                        }
                yShape = [1, 2, 2, 2];
                node = Node(op, ["x", "w", "b"], ["y"], relu);
                feeds = Values(("x", ProbeValues.Make(t, x, 1, 1, 3, 3)), ("w", ProbeValues.Make(t, w, 2, 1, 2, 2)), ("b", ProbeValues.Make(t, b, 2)));
            }
            else
            {
                // FusedMatMul and FusedGemm (transB) both compute A·Wᵀ + bias with W as [N, K].
                var a = Ramp(6, -3, 7); var w = Ramp(12, -2, 6); var b = Ramp(4, -4, 9);
                y = MatMulRef(a, w, 2, 3, 4, transB: true).Select((v, i) => Math.Max(v + b[i % 4], 0)).ToArray();
                yShape = [2, 4];
                node = op == "FusedGemm" ? Node(op, ["a", "w", "b"], ["y"], relu, Int("transB", 1)) : Node(op, ["a", "w", "b"], ["y"], relu);
                feeds = Values(("a", ProbeValues.Make(t, a, 2, 3)), ("w", ProbeValues.Make(t, w, 4, 3)), ("b", ProbeValues.Make(t, b, 4)));
            }
            node.Domain = Fused;
            var m = Model(node, feeds.Keys.Select(k => V(k, t)).ToArray(), [V("y", t)]);
            yield return Fixed($"{op} relu {t.Name()}", m, feeds, Values(("y", ProbeValues.Make(t, y, yShape))));
        }
    }
}
