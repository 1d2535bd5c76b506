// `cortado run MODEL.onnx --input NAME=FILE.pb … --output DIR`: runs an ONNX model on serialized tensors.
using System.CommandLine;
using Cortado.Graph;
using Cortado.Onnx;

namespace Cortado.Cli.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "ONNX model file (.onnx)" };
        var inputs = new Option<string[]>("--input") { Description = "NAME=FILE.pb: a graph input as a serialized ONNX TensorProto (repeatable)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output") { Description = "directory for the outputs, written as <name>.pb", DefaultValueFactory = _ => "." };
        var threads = Common.Threads();
        var opt = Common.Optimization();
        var cmd = new Command("run", "run an ONNX model on tensors stored as TensorProto files") { model, inputs, output, threads, opt.noOptimize, opt.disablePass, opt.noArena };
        cmd.SetAction(p =>
        {
            Common.ApplyThreads(p.GetValue(threads));
            var graph = OnnxImporter.Load(p.GetValue(model)!);
            var session = new InferenceSession(graph, Common.SessionOptions(p, opt));
            var feeds = new Dictionary<string, object>();
            foreach (var spec in p.GetValue(inputs) ?? [])
            {
                int eq = spec.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new ArgumentException($"--input '{spec}' must be NAME=FILE.pb");
                var name = spec[..eq];
                var kind = graph.Inputs.FirstOrDefault(i => i.Name == name)?.Kind ?? ValueKind.Tensor;
                feeds[name] = OnnxValues.Load(spec[(eq + 1)..], kind);
            }
            foreach (var name in session.InputNames)
                if (!feeds.ContainsKey(name)) throw new ArgumentException($"graph input '{name}' was not given (--input {name}=FILE.pb)");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var outs = session.RunValues(feeds);
            var elapsed = started.Elapsed;
            var dir = p.GetValue(output)!;
            Directory.CreateDirectory(dir);
            foreach (var (name, v) in outs)
            {
                var file = Path.Combine(dir, SafeName(name) + ".pb");
                OnnxValues.Save(v, file, name);
                Console.WriteLine($"{name}: {(v is Tensor t ? t.DType.Name() + ShapeUtil.Format(t.Shape) : v.ToString())} -> {file}");
            }
            Console.WriteLine($"ran {graph.Nodes.Count} nodes in {elapsed.TotalMilliseconds:0.0} ms");
            return 0;
        });
        return cmd;
    }

    // Output names may hold characters a file name cannot; those become '_'.
    private static string SafeName(string name)
    {
        var bad = Path.GetInvalidFileNameChars();
        var s = new string(name.Select(ch => bad.Contains(ch) ? '_' : ch).ToArray());
        return s.Length == 0 ? "output" : s;
    }
}
