// `cortado conformance DIR`: runs every ONNX backend test under DIR and prints one result per test and a summary.
using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cortado.Onnx;

namespace Cortado.Cli.Commands;

internal static class ConformanceCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("dir") { Description = "directory of ONNX backend tests (DIR/<test>/model.onnx, test_data_set_*/)" };
        var filter = new Option<string?>("--filter") { Description = "run only tests whose name matches this regular expression" };
        var relL2 = new Option<double?>("--rel-l2") { Description = "judge float outputs by relative L2 error ≤ X instead of element-wise tolerance" };
        var timeout = new Option<double>("--timeout") { Description = "seconds a single test may run", DefaultValueFactory = _ => 60 };
        var json = new Option<bool>("--json") { Description = "print one JSON object per test and a JSON summary as the last line" };
        var opt = Common.Optimization();
        var cmd = new Command("conformance", "run ONNX backend node tests and report which pass") { dir, filter, relL2, timeout, json, opt.noOptimize, opt.disablePass, opt.noArena };
        cmd.SetAction(p =>
        {
            var root = p.GetValue(dir)!;
            if (!Directory.Exists(root)) throw new IOException($"test directory '{root}' does not exist");
            var re = p.GetValue(filter) is string f ? new Regex(f, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)) : null;
            bool asJson = p.GetValue(json);
            var limit = TimeSpan.FromSeconds(p.GetValue(timeout));
            var options = Common.SessionOptions(p, opt);
            int passed = 0, failed = 0;
            foreach (var test in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(test);
                if (re is not null && !re.IsMatch(name)) continue;
                var r = OnnxConformance.RunTest(test, p.GetValue(relL2), limit, options);
                if (r.Pass) passed++; else failed++;
                if (asJson)
                    Console.WriteLine(r.Why is null ? JsonSerializer.Serialize(new { test = r.Test, pass = r.Pass })
                        : JsonSerializer.Serialize(new { test = r.Test, pass = r.Pass, why = r.Why }));
                else Console.WriteLine((r.Pass ? $"PASS {r.Test}" : $"FAIL {r.Test}") + (r.Why is null ? "" : $": {r.Why}"));
            }
            if (asJson) Console.WriteLine(JsonSerializer.Serialize(new { passed, failed, total = passed + failed }));
            else Console.WriteLine($"passed {passed} of {passed + failed}");
            return 0;
        });
        return cmd;
    }
}
