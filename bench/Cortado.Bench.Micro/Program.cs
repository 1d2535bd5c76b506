// Entry point of the micro-benchmarks: BenchmarkDotNet's switcher, so `--filter`, `--job` and `--exporters`
// work as BenchmarkDotNet documents them. The default job runs in this process (no generated project), a
// short run: 3 warm-ups and 5 measured iterations of one launch.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5).AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(Cortado.Bench.Micro.Sgemm).Assembly).Run(args, config);
