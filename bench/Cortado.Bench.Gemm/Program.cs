// Micro-benchmark of the CPU backend's SGEMM/DGEMM and convolution: one JSON line per case, median of several runs.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using Cortado;
using Cortado.Backends;
using Cortado.Cpu;
using Cortado.Cpu.Gemm;
using Cortado.Threading;

var opts = Options.Parse(args);
if (opts.Width is int w) GemmKernels.ForceWidth = w;
if (opts.Kc is int kc && !opts.Ops.Contains("kc")) GemmBlocking.KC = kc;
if (opts.Mc is int mc) GemmBlocking.MC = mc;
if (opts.Nc is int nc) GemmBlocking.NC = nc;
var backend = CpuBackend.Instance;
var rng = new Random(1234);

foreach (var op in opts.Ops)
{
    foreach (int threads in opts.Threads)
    {
        CortadoThreads.Count = threads;
        if (op is "sgemm" or "dgemm")
        {
            foreach (int n in opts.Sizes)
            {
                var dt = op == "sgemm" ? DType.Float32 : DType.Float64;
                var a = Random(dt, n * n);
                var b = Random(dt, n * n);
                var c = Tensor.Empty(dt, n, n);
                int runs = opts.Runs ?? (n >= 2048 ? 9 : 21);
                // The register-only FMA rate of one core, measured just before: on a shared machine it says
                // what the core delivered at that moment (float32; float64 is half).
                double peak = 1e6 * 24 * 32 / Median(() => FmaPeak(1_000_000), 3) / 1e9;
                double t = Median(() => backend.Gemm(false, false, n, n, n, 1.0, a, n, 0, b, n, 0, 0.0, c, n, 0, 1), runs);
                double cpu = CpuClock.LastCpu;
                Emit(op, $"\"n\":{n},\"threads\":{threads},\"width\":{GemmKernels.ActiveWidth},\"ms\":{Fmt(t * 1e3)},\"gflops\":{Fmt(2.0 * n * n * n / t / 1e9)},\"gflops_per_cpu_s\":{Fmt(2.0 * n * n * n / cpu / 1e9)},\"core_fma_peak_f32\":{Fmt(peak)}");
            }
        }
        else if (op == "kernel")
        {
            // The 512-bit float micro-kernel alone on L1-resident panels: the ceiling the driver can reach now.
            double flop = threads * 2.0 * F32x512.MR * F32x512.NR * 256 * 2000;
            double t = Median(() => CortadoThreads.ParallelFor(threads, _ => KernelLoop<F32x512>(2000)), opts.Runs ?? 11);
            Emit("kernel", $"\"threads\":{threads},\"gflops\":{Fmt(flop / t / 1e9)},\"gflops_per_cpu_s\":{Fmt(flop / CpuClock.LastCpu / 1e9)}");
        }
        else if (op == "kernel7")
        {
            // The 7×32 float micro-kernel alone on L1-resident panels.
            double t = Median(() => CortadoThreads.ParallelFor(threads, _ => KernelLoop<F32x512Seven>(2000)), opts.Runs ?? 11);
            Emit("kernel7", $"\"threads\":{threads},\"gflops\":{Fmt(threads * 2.0 * F32x512Seven.MR * F32x512Seven.NR * 256 * 2000 / t / 1e9)}");
        }
        else if (op == "tune")
        {
            // Block-size variants measured in interleaved rounds (the machine is shared and noisy), each
            // against the FMA peak measured between them; prints the median of the rounds per variant.
            int n = opts.Sizes[0];
            var a = Random(DType.Float32, n * n);
            var b = Random(DType.Float32, n * n);
            var c = Tensor.Empty(DType.Float32, n, n);
            var variants = new List<(string name, int kc, int mc, int pf)>();
            foreach (int kcv in new[] { 256, 512 })
                foreach (int mcv in new[] { 120, 240 })
                    foreach (int pf in new[] { 0, 1, 2 })
                        variants.Add(($"kc{kcv} mc{mcv} prefetch-c{pf}", kcv, mcv, pf));
            var results = variants.Select(_ => new List<double>()).ToArray();
            var peaks = new List<double>();
            for (int round = 0; round < (opts.Runs ?? 5); round++)
            {
                peaks.Add(1e6 * 24 * 32 / Median(() => FmaPeak(1_000_000), 3) / 1e9);
                for (int v = 0; v < variants.Count; v++)
                {
                    (GemmBlocking.KC, GemmBlocking.MC, GemmBlocking.PrefetchC) = (variants[v].kc, variants[v].mc, variants[v].pf);
                    results[v].Add(2.0 * n * n * n / Median(() => backend.Gemm(false, false, n, n, n, 1.0, a, n, 0, b, n, 0, 0.0, c, n, 0, 1), 5) / 1e9);
                }
            }
            Emit("fmapeak", $"\"gflops_median\":{Fmt(MedianOf(peaks))},\"gflops_max\":{Fmt(peaks.Max())}");
            for (int v = 0; v < variants.Count; v++)
                Emit("tune", $"\"n\":{n},\"threads\":{threads},\"variant\":\"{variants[v].name}\",\"gflops_median\":{Fmt(MedianOf(results[v]))},\"gflops_max\":{Fmt(results[v].Max())}");
        }
        else if (op == "tiles")
        {
            // The two 512-bit float32 tiles (12×32 and 8×48) on GEMM shapes and ResNet-50's convolutions at batch 1,
            // alternating call by call so that the machine's drift hits both alike; median ms of each, and which
            // one the per-shape choice takes.
            (int M, int N, int K)[] shapes = [(1024, 1024, 1024), (2048, 2048, 2048), (64, 3136, 576), (128, 784, 1152), (256, 196, 2304), (512, 49, 4608)];
            foreach (var (m, n, k) in shapes)
            {
                var a = Random(DType.Float32, m * k);
                var b = Random(DType.Float32, k * n);
                var c = Tensor.Empty(DType.Float32, m, n);
                EmitTiles($"\"gemm\":\"{m}x{n}x{k}\"", GemmKernels.ChooseF32x512(m, n).Wide,
                          () => backend.Gemm(false, false, m, n, k, 1.0, a, k, 0, b, n, 0, 0.0, c, n, 0, 1), opts.Runs ?? (m >= 2048 ? 5 : 21));
            }
            (int C, int H, int O, int K)[] convs = [(64, 56, 64, 3), (256, 56, 64, 1), (64, 56, 256, 1), (128, 28, 128, 3), (512, 28, 128, 1), (256, 14, 256, 3), (1024, 14, 256, 1), (512, 7, 512, 3), (2048, 7, 512, 1)];
            foreach (var L in convs)
            {
                var g = new Conv2dGeometry(1, L.C, L.H, L.H, L.O, L.K, L.K, 1, 1, L.K / 2, L.K / 2, 1, 1, 1);
                var x = Random(DType.Float32, L.C * L.H * L.H, [1, L.C, L.H, L.H]);
                var wt = Random(DType.Float32, L.O * L.C * L.K * L.K, [L.O, L.C, L.K, L.K]);
                var y = Tensor.Empty(DType.Float32, 1, L.O, g.OutH, g.OutW);
                EmitTiles($"\"conv\":\"C{L.C} {L.H}x{L.H} O{L.O} k{L.K}\"", GemmKernels.ChooseF32x512(L.O, L.H * L.H).Wide,
                          () => backend.Conv2d(x, wt, null, y, g), opts.Runs ?? 21);
            }
            void EmitTiles(string what, bool chosenWide, Action run, int runs)
            {
                var times = Alternate(runs, v => GemmKernels.ForceWideTile = v == 1, run, warmEach: false);
                GemmKernels.ForceWideTile = null;
                Emit("tiles", $"{what},\"threads\":{threads},\"ms_12x32\":{Fmt(MedianOf(times[0]) * 1e3)},\"ms_8x48\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup_8x48\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"chosen\":\"{(chosenWide ? "8x48" : "12x32")}\"");
            }
        }
        else if (op == "gather")
        {
            // Implicit-GEMM panels (forward, and the weight gradient's transposed ones) packed from row runs against AVX2
            // gathers (Im2ColPanels.GatherBelowWidth), alternating call by call; float32, training (batch 16, 64) and
            // inference (batch 1) shapes.
            (int N, int C, int H, int O, int K, int P)[] layers =
            [
                (16, 64, 16, 64, 3, 1), (16, 128, 8, 128, 3, 1), (16, 256, 4, 256, 3, 1), (16, 512, 2, 512, 3, 1),
                (64, 1, 28, 6, 5, 2), (64, 6, 14, 16, 5, 0), (1, 256, 14, 256, 3, 1), (1, 512, 7, 512, 3, 1),
            ];
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Implicit;
            int saved = Cortado.Cpu.Conv.Im2ColPanels<float>.GatherBelowWidth;
            foreach (var L in layers)
            {
                var g = new Conv2dGeometry(L.N, L.C, L.H, L.H, L.O, L.K, L.K, 1, 1, L.P, L.P, 1, 1, 1);
                var x = Random(DType.Float32, L.N * L.C * L.H * L.H, [L.N, L.C, L.H, L.H]);
                var wt = Random(DType.Float32, L.O * L.C * L.K * L.K, [L.O, L.C, L.K, L.K]);
                var y = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                var dw = Tensor.Empty(DType.Float32, L.O, L.C, L.K, L.K);
                string shape = $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} p{L.P}\",\"threads\":{threads}";
                foreach (var (pass, run) in new (string, Action)[] { ("forward", () => backend.Conv2d(x, wt, null, y, g)), ("weight_gradient", () => backend.Conv2dBackwardWeight(x, y, dw, g)) })
                {
                    var times = Alternate(opts.Runs ?? 21, v => Cortado.Cpu.Conv.Im2ColPanels<float>.GatherBelowWidth = v == 0 ? 0 : int.MaxValue, run, warmEach: false);
                    Cortado.Cpu.Conv.Im2ColPanels<float>.GatherBelowWidth = saved;
                    Emit("conv2d_gather", $"{shape},\"pass\":\"{pass}\",\"runs_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"gather_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
                }
            }
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Auto;
        }
        else if (op == "wgrad")
        {
            // LeNet's weight gradients (batch 64) with threads inside one item: stored columns against gathered
            // implicit panels (ConvDriver.GatheredPanelsAnyWidth), alternating call by call.
            (int N, int C, int H, int O, int K, int P)[] layers = [(64, 1, 28, 6, 5, 2), (64, 6, 14, 16, 5, 0), (16, 3, 64, 64, 7, 3)];
            foreach (var L in layers)
            {
                int s = L.K == 7 ? 2 : 1;
                var g = new Conv2dGeometry(L.N, L.C, L.H, L.H, L.O, L.K, L.K, s, s, L.P, L.P, 1, 1, 1);
                var x = Random(DType.Float32, L.N * L.C * L.H * L.H, [L.N, L.C, L.H, L.H]);
                var dy = Random(DType.Float32, L.N * L.O * g.OutH * g.OutW, [L.N, L.O, g.OutH, g.OutW]);
                var dw = Tensor.Empty(DType.Float32, L.O, L.C, L.K, L.K);
                var times = Alternate(opts.Runs ?? 21, v => Cortado.Cpu.Conv.ConvDriver<float>.GatheredPanelsAnyWidth = v == 1, () => backend.Conv2dBackwardWeight(x, dy, dw, g), warmEach: false);
                Cortado.Cpu.Conv.ConvDriver<float>.GatheredPanelsAnyWidth = true;
                Emit("conv2d_weight_gradient", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{s} p{L.P}\",\"threads\":{threads},\"stored_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"gathered_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
            }
        }
        else if (op == "fold")
        {
            // Input gradients (Wᵀ·dy into columns, then folded into dx) of narrow training layers: the fold row by row
            // against the gathered fold (FoldGather.BelowWidth), alternating call by call.
            (int N, int C, int H, int O, int K, int P)[] layers = [(16, 64, 16, 64, 3, 1), (16, 128, 8, 128, 3, 1), (16, 256, 4, 256, 3, 1), (16, 512, 2, 512, 3, 1), (64, 6, 14, 16, 5, 0)];
            int saved = Cortado.Cpu.Conv.FoldGather.BelowWidth;
            foreach (var L in layers)
            {
                var g = new Conv2dGeometry(L.N, L.C, L.H, L.H, L.O, L.K, L.K, 1, 1, L.P, L.P, 1, 1, 1);
                var wt = Random(DType.Float32, L.O * L.C * L.K * L.K, [L.O, L.C, L.K, L.K]);
                var dy = Random(DType.Float32, L.N * L.O * g.OutH * g.OutW, [L.N, L.O, g.OutH, g.OutW]);
                var dx = Tensor.Empty(DType.Float32, L.N, L.C, L.H, L.H);
                var times = Alternate(opts.Runs ?? 21, v => Cortado.Cpu.Conv.FoldGather.BelowWidth = v == 0 ? 0 : int.MaxValue, () => backend.Conv2dBackwardInput(dy, wt, dx, g), warmEach: false);
                Cortado.Cpu.Conv.FoldGather.BelowWidth = saved;
                Emit("conv2d_backward_input", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} p{L.P}\",\"threads\":{threads},\"fold_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"gathered_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
            }
        }
        else if (op == "packonce")
        {
            // Training layers (ResNet-18 at batch 16 on 64×64, LeNet at batch 64) and ResNet at batch 8: forward and
            // input gradient with the weights packed in every chunk against once per call (PackWeightsOnce),
            // alternating call by call.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (16, 3, 64, 64, 7, 2, 3), (16, 64, 16, 64, 3, 1, 1), (16, 128, 8, 128, 3, 1, 1), (16, 256, 4, 256, 3, 1, 1),
                (16, 512, 2, 512, 3, 1, 1), (64, 1, 28, 6, 5, 1, 2), (64, 6, 14, 16, 5, 1, 0), (8, 64, 56, 64, 3, 1, 1),
                (8, 256, 14, 256, 3, 1, 1),
            ];
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var y = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                var dx = Tensor.Empty(DType.Float32, L.N, L.C, L.H, L.H);
                void Set(int v) => Cortado.Cpu.Conv.ConvDriver<float>.PackWeightsOnce = v == 1;
                var fwd = Alternate(opts.Runs ?? 21, Set, () => backend.Conv2d(x, wt, null, y, g), warmEach: false);
                var bwd = Alternate(opts.Runs ?? 21, Set, () => backend.Conv2dBackwardInput(y, wt, dx, g), warmEach: false);
                Cortado.Cpu.Conv.ConvDriver<float>.PackWeightsOnce = true;
                string shape = $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"algorithm\":\"{Cortado.Cpu.Conv.ConvDriver<float>.Chosen(g)}\"";
                Emit("conv2d_pack_once", $"{shape},\"forward_ms\":{Fmt(MedianOf(fwd[0]) * 1e3)},\"forward_once_ms\":{Fmt(MedianOf(fwd[1]) * 1e3)},\"forward_speedup\":{Fmt(MedianOf(fwd[0]) / MedianOf(fwd[1]))},\"input_grad_ms\":{Fmt(MedianOf(bwd[0]) * 1e3)},\"input_grad_once_ms\":{Fmt(MedianOf(bwd[1]) * 1e3)},\"input_grad_speedup\":{Fmt(MedianOf(bwd[0]) / MedianOf(bwd[1]))}");
            }
        }
        else if (op == "deep")
        {
            // Convolutions whose GEMMs have many K blocks (small images, many channels): K block by K block against
            // the two-phase deep products (GemmBlocking.DeepProducts), alternating call by call (they matter with threads).
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 512, 7, 512, 3, 1, 1), (1, 256, 14, 256, 3, 1, 1), (1, 2048, 7, 512, 1, 1, 0), (1, 1024, 14, 256, 1, 1, 0),
                (16, 512, 2, 512, 3, 1, 1), (16, 256, 4, 256, 3, 1, 1), (8, 512, 7, 512, 3, 1, 1),
            ];
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var y = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                backend.Conv2d(x, wt, null, y, g); // the form is chosen (timed) before the alternation
                var times = Alternate(opts.Runs ?? 21, v => GemmBlocking.DeepProducts = v == 1, () => backend.Conv2d(x, wt, null, y, g), warmEach: false);
                GemmBlocking.DeepProducts = true;
                Emit("conv2d_deep", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K}\",\"threads\":{threads},\"algorithm\":\"{Cortado.Cpu.Conv.ConvDriver<float>.Chosen(g)}\",\"blocks_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"deep_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
            }
        }
        else if (op == "shifted")
        {
            // Convolution forward passes of ResNet-18/50 and training layers: the implicit GEMM against the shifted-input
            // GEMM (ConvAlgorithm.Shifted), alternating call by call; whether they gave the same bits.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 3, 224, 64, 7, 2, 3), (1, 64, 56, 64, 3, 1, 1), (1, 64, 56, 128, 3, 2, 1), (1, 128, 28, 128, 3, 1, 1),
                (1, 256, 14, 256, 3, 1, 1), (1, 512, 7, 512, 3, 1, 1), (1, 64, 56, 128, 1, 2, 0), (1, 256, 56, 64, 1, 1, 0),
                (8, 64, 56, 64, 3, 1, 1), (8, 512, 7, 512, 3, 1, 1), (16, 64, 16, 64, 3, 1, 1), (16, 3, 64, 64, 7, 2, 3),
            ];
            var algo = Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm;
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var y0 = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                var y1 = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                var times = Alternate(opts.Runs ?? 21, v => Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = v == 0 ? Cortado.Cpu.Conv.ConvAlgorithm.Implicit : Cortado.Cpu.Conv.ConvAlgorithm.Shifted,
                                      () => backend.Conv2d(x, wt, null, Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm == Cortado.Cpu.Conv.ConvAlgorithm.Implicit ? y0 : y1, g), warmEach: false);
                Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
                bool same = y0.ToArray<float>().AsSpan().SequenceEqual(y1.ToArray<float>());
                Emit("conv2d_shifted", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"implicit_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"shifted_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"same_bits\":{(same ? "true" : "false")}");
            }
        }
        else if (op == "rows")
        {
            // The shifted-input convolution over every plane pixel (padded columns included, the usual tile) against
            // whole output rows (the seven-row tile), alternating call by call; whether they gave the same bits.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 3, 224, 64, 7, 2, 3), (1, 64, 56, 64, 3, 1, 1), (1, 64, 56, 128, 3, 2, 1), (1, 128, 28, 128, 3, 1, 1),
                (1, 128, 28, 256, 3, 2, 1), (1, 256, 14, 256, 3, 1, 1), (1, 256, 14, 512, 3, 2, 1), (1, 512, 7, 512, 3, 1, 1),
                (8, 64, 56, 64, 3, 1, 1), (8, 256, 14, 256, 3, 1, 1), (8, 512, 7, 512, 3, 1, 1), (1, 2048, 7, 512, 1, 1, 0),
            ];
            layers = BenchLayers(layers);
            var algo = Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm;
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Shifted;
            foreach (var L in layers)
            {
                var (g, times, same) = AlternateConv(L, on => Cortado.Cpu.Conv.ShiftedConv<float>.WholeRows = on);
                Cortado.Cpu.Conv.ShiftedConv<float>.WholeRows = null;
                double gf = 2.0 * L.N * L.O * g.OutH * g.OutW * L.C * L.K * L.K / 1e9;
                Emit("conv2d_rows", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"planes_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"rows_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"rows_gflops\":{Fmt(gf / MedianOf(times[1]))},\"auto_takes_rows\":{(Cortado.Cpu.Conv.ShiftedConv<float>.UsesWholeRows(g, 1) ? "true" : "false")},\"same_bits\":{(same ? "true" : "false")}");
            }
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
        }
        else if (op == "slice")
        {
            // One sample's explicit im2col unfolded and multiplied whole against a slice of output rows at a time
            // (ConvDriver.ColumnSliceBytes), alternating call by call: ResNet's stem and LeNet-sized layers.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 3, 224, 64, 7, 2, 3), (8, 3, 224, 64, 7, 2, 3), (16, 3, 64, 64, 7, 2, 3), (1, 32, 112, 32, 3, 1, 1),
            ];
            layers = BenchLayers(layers);
            var algo = Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm;
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Im2Col;
            long budget = Cortado.Cpu.Conv.ConvDriver<float>.ColumnSliceBytes;
            foreach (var L in layers)
            {
                var (g, times, same) = AlternateConv(L, on => Cortado.Cpu.Conv.ConvDriver<float>.ColumnSliceBytes = on ? budget : long.MaxValue);
                Cortado.Cpu.Conv.ConvDriver<float>.ColumnSliceBytes = budget;
                int rows = Cortado.Cpu.Conv.ConvDriver<float>.SliceRows(L.C * L.K * L.K, g.OutH, g.OutW, sizeof(float));
                Emit("conv2d_slice", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"whole_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"sliced_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"slice_rows\":{rows},\"out_rows\":{g.OutH},\"same_bits\":{(same ? "true" : "false")}");
            }
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
        }
        else if (op == "gemmshape")
        {
            // Plain float32 GEMMs of the shapes of convolution products (pixels × output channels × C·k², A and B
            // row-major), at the --threads given; BENCH_GEMMS="m,n,k;…" overrides the list.
            (int M, int N, int K)[] shapes = [(3136, 64, 576), (784, 128, 1152), (196, 256, 2304), (49, 512, 4608), (3136, 256, 64), (3136, 64, 256)];
            if (Environment.GetEnvironmentVariable("BENCH_GEMMS") is string list)
                shapes = [.. list.Split(';').Select(t => t.Split(',').Select(int.Parse).ToArray()).Select(v => (v[0], v[1], v[2]))];
            foreach (var (m, n, k) in shapes)
            {
                var a = Random(DType.Float32, m * k, [m, k]);
                var b = Random(DType.Float32, k * n, [k, n]);
                var c = Tensor.Empty(DType.Float32, m, n);
                // Two variants alternating call by call: the calling thread alone (allowParallel false) against the pool;
                // with BENCH_TOGGLE=spin, the pool both times, the caller blocking at once, then polling first
                // (CortadoThreads.CallerSpins); with BENCH_TOGGLE=packb, an untransposed B packed panel by panel, then a
                // row at a time across panels (GemmBlocking.PackBRows).
                string compare = Environment.GetEnvironmentVariable("BENCH_TOGGLE") ?? "threads";
                bool parallel = compare != "threads";
                var times = Alternate(opts.Runs ?? 21, v =>
                {
                    switch (compare)
                    {
                        case "spin": CortadoThreads.CallerSpins = v == 1; break;
                        case "packb": GemmBlocking.PackBRows = v == 1; break;
                        default: parallel = v == 1; break;
                    }
                }, () =>
                {
                    unsafe
                    {
                        fixed (float* pa = a.Data<float>(), pb = b.Data<float>(), pc = c.Data<float>())
                            GemmKernels.Gemm(false, false, m, n, k, 1.0, pa, k, 0, pb, n, 0, 0.0, pc, n, 0, 1, parallel);
                    }
                }, warmEach: false);
                CortadoThreads.CallerSpins = GemmBlocking.PackBRows = true;
                double gf = 2.0 * m * n * k / 1e9, t1 = MedianOf(times[0]), t2 = MedianOf(times[1]);
                Emit("gemmshape", $"\"m\":{m},\"n\":{n},\"k\":{k},\"threads\":{threads},\"compare\":\"{compare}\",\"first_gflops\":{Fmt(gf / t1)},\"second_gflops\":{Fmt(gf / t2)},\"speedup\":{Fmt(t1 / t2)}");
            }
        }
        else if (op == "split")
        {
            // The shifted-input convolution on several threads: two parallel phases per K block and block of rows against
            // column ranges that each go through every K block (GemmBlocking.SplitColumns), alternating call by call.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 64, 56, 64, 3, 1, 1), (1, 64, 56, 128, 3, 2, 1), (1, 128, 28, 128, 3, 1, 1), (1, 256, 14, 256, 3, 1, 1),
                (1, 512, 7, 512, 3, 1, 1), (8, 64, 56, 64, 3, 1, 1), (8, 512, 7, 512, 3, 1, 1), (16, 64, 16, 64, 3, 1, 1),
            ];
            layers = BenchLayers(layers);
            var algo = Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm;
            // BENCH_ALGO (im2col, implicit, shifted) picks another form than the shifted one.
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Environment.GetEnvironmentVariable("BENCH_ALGO") is string form
                ? Enum.Parse<Cortado.Cpu.Conv.ConvAlgorithm>(form, ignoreCase: true) : Cortado.Cpu.Conv.ConvAlgorithm.Shifted;
            foreach (var L in layers)
            {
                var (g, times, same) = AlternateConv(L, on => GemmBlocking.SplitColumns = on);
                GemmBlocking.SplitColumns = true;
                Emit("conv2d_split", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"phases_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"columns_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"same_bits\":{(same ? "true" : "false")}");
            }
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
        }
        else if (op == "dgrad")
        {
            // The input gradient of stride-1 convolutions (ResNet-18 training's layers, LeNet's second) as Wᵀ·dy folded
            // into dx against a forward convolution of dy with the flipped kernel, alternating call by call.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (16, 64, 16, 64, 3, 1, 1), (16, 128, 8, 128, 3, 1, 1), (16, 256, 4, 256, 3, 1, 1), (16, 512, 2, 512, 3, 1, 1),
                (64, 6, 14, 16, 5, 1, 0), (1, 64, 56, 64, 3, 1, 1), (8, 256, 14, 256, 3, 1, 1),
            ];
            layers = BenchLayers(layers);
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var dy = Random(DType.Float32, L.N * L.O * g.OutH * g.OutW, [L.N, L.O, g.OutH, g.OutW]);
                var dx0 = Tensor.Empty(DType.Float32, L.N, L.C, L.H, L.H);
                var dx1 = Tensor.Empty(DType.Float32, L.N, L.C, L.H, L.H);
                int v = 0;
                var times = Alternate(opts.Runs ?? 21, i => Cortado.Cpu.Conv.ConvDriver<float>.InputGradientAsForward = (v = i) == 1,
                                      () => backend.Conv2dBackwardInput(dy, wt, v == 0 ? dx0 : dx1, g), warmEach: false);
                Cortado.Cpu.Conv.ConvDriver<float>.InputGradientAsForward = null;
                double maxRel = 0, scale = dx0.ToArray<float>().Max(Math.Abs);
                var a0 = dx0.ToArray<float>(); var a1 = dx1.ToArray<float>();
                for (int i = 0; i < a0.Length; i++) maxRel = Math.Max(maxRel, Math.Abs(a0[i] - a1[i]) / scale);
                Emit("conv2d_dgrad", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"fold_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"forward_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))},\"max_diff_over_max\":{maxRel:E1},\"default_takes_forward\":{(Cortado.Cpu.Conv.ConvDriver<float>.AsForward(g) != null ? "true" : "false")}");
            }
        }
        else if (op == "kc")
        {
            // The K block depth: the default (GemmBlocking.KC as started) against --kc, alternating call by call, on
            // a square SGEMM (--n, first size) and the convolution layers of --op shifted, each with the algorithm
            // --conv-algo names (default: the shifted form). Same bits either way; medians in ms.
            int kcDefault = GemmBlocking.KC, kcOther = opts.Kc ?? kcDefault / 2;
            GemmBlocking.KC = kcDefault;
            var algo = Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm;
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = opts.ConvAlgorithm == Cortado.Cpu.Conv.ConvAlgorithm.Auto ? Cortado.Cpu.Conv.ConvAlgorithm.Shifted : opts.ConvAlgorithm;
            int n = opts.Sizes[0];
            var a = Random(DType.Float32, n * n);
            var b = Random(DType.Float32, n * n);
            var c = Tensor.Empty(DType.Float32, n, n);
            var gt = Alternate(opts.Runs ?? 21, v => GemmBlocking.KC = v == 0 ? kcDefault : kcOther,
                               () => backend.Gemm(false, false, n, n, n, 1.0, a, n, 0, b, n, 0, 0.0, c, n, 0, 1), warmEach: false);
            Emit("kc", $"\"shape\":\"sgemm {n}\",\"threads\":{threads},\"kc\":[{kcDefault},{kcOther}],\"ms\":[{Fmt(MedianOf(gt[0]) * 1e3)},{Fmt(MedianOf(gt[1]) * 1e3)}],\"speedup\":{Fmt(MedianOf(gt[0]) / MedianOf(gt[1]))}");
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (1, 3, 224, 64, 7, 2, 3), (1, 64, 56, 64, 3, 1, 1), (1, 64, 56, 128, 3, 2, 1), (1, 128, 28, 128, 3, 1, 1),
                (1, 256, 14, 256, 3, 1, 1), (1, 512, 7, 512, 3, 1, 1), (1, 256, 56, 64, 1, 1, 0),
                (8, 64, 56, 64, 3, 1, 1), (16, 64, 16, 64, 3, 1, 1), (16, 256, 4, 256, 3, 1, 1),
            ];
            layers = BenchLayers(layers);
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var y = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                // BENCH_FUSED=1 adds a bias and ReLU6 as a fused convolution node has them.
                var fb = Environment.GetEnvironmentVariable("BENCH_FUSED") == "1" ? Random(DType.Float32, L.O, [L.O]) : null;
                var fa = fb != null ? new Activation(ActivationKind.Clip, 0, 6) : default;
                var times = Alternate(opts.Runs ?? 21, v => GemmBlocking.KC = v == 0 ? kcDefault : kcOther, () => backend.Conv2d(x, wt, fb, y, g, fa), warmEach: false);
                Emit("kc", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"ms\":[{Fmt(MedianOf(times[0]) * 1e3)},{Fmt(MedianOf(times[1]) * 1e3)}],\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
            }
            GemmBlocking.KC = kcDefault;
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
        }
        else if (op == "pool")
        {
            // Max pooling with indices (training): the scalar loop against the vector paths (VectorPaths.Enabled),
            // alternating call by call; ResNet-18's stem pooling and LeNet's two.
            (int N, int C, int H, int K, int S, int P)[] layers = [(16, 64, 32, 3, 2, 1), (64, 6, 28, 2, 2, 0), (64, 16, 10, 2, 2, 0)];
            foreach (var L in layers)
            {
                var g = new Conv2dGeometry(L.N, L.C, L.H, L.H, L.C, L.K, L.K, L.S, L.S, L.P, L.P, 1, 1, L.C);
                var x = Random(DType.Float32, L.N * L.C * L.H * L.H, [L.N, L.C, L.H, L.H]);
                var y = Tensor.Empty(DType.Float32, L.N, L.C, g.OutH, g.OutW);
                var idx = Tensor.Empty(DType.Int64, L.N, L.C, g.OutH, g.OutW);
                var times = Alternate(opts.Runs ?? 41, v => Cortado.Cpu.Kernels.VectorPaths.Enabled = v == 1, () => backend.MaxPool2d(x, y, idx, g), warmEach: true);
                Cortado.Cpu.Kernels.VectorPaths.Enabled = true;
                Emit("maxpool_indices", $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads},\"scalar_us\":{Fmt(MedianOf(times[0]) * 1e6)},\"vector_us\":{Fmt(MedianOf(times[1]) * 1e6)},\"speedup\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
            }
        }
        else if (op == "swap")
        {
            // Narrow products computed as C against as Cᵀ (GemmKernels.ForceSwap; Cᵀ staged and transposed once),
            // alternating call by call: ResNet-50's 7×7 and 14×14 layers at batch 1, each tile forced.
            (int C, int H, int O, int K)[] convs = [(512, 7, 512, 3), (2048, 7, 512, 1), (512, 7, 2048, 1), (256, 14, 256, 3), (1024, 14, 256, 1)];
            foreach (bool wide in new[] { false, true })
                foreach (var L in convs)
                {
                    var g = new Conv2dGeometry(1, L.C, L.H, L.H, L.O, L.K, L.K, 1, 1, L.K / 2, L.K / 2, 1, 1, 1);
                    var x = Random(DType.Float32, L.C * L.H * L.H, [1, L.C, L.H, L.H]);
                    var wt = Random(DType.Float32, L.O * L.C * L.K * L.K, [L.O, L.C, L.K, L.K]);
                    var y = Tensor.Empty(DType.Float32, 1, L.O, g.OutH, g.OutW);
                    GemmKernels.ForceWideTile = wide;
                    Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Im2Col;
                    var times = Alternate(opts.Runs ?? 21, v => GemmKernels.ForceSwap = v == 1, () => backend.Conv2d(x, wt, null, y, g), warmEach: false);
                    GemmKernels.ForceSwap = true;
                    var staged = Alternate(opts.Runs ?? 21, v => GemmBlocking.StageTransposedC = v == 1, () => backend.Conv2d(x, wt, null, y, g), warmEach: false);
                    GemmBlocking.StageTransposedC = true;
                    GemmKernels.ForceSwap = null;
                    Emit("staged", $"\"conv\":\"C{L.C} {L.H}x{L.H} O{L.O} k{L.K}\",\"tile\":\"{(wide ? "8x48" : "12x32")}\",\"threads\":{threads},\"ct_in_place_ms\":{Fmt(MedianOf(staged[0]) * 1e3)},\"ct_staged_ms\":{Fmt(MedianOf(staged[1]) * 1e3)},\"speedup\":{Fmt(MedianOf(staged[0]) / MedianOf(staged[1]))}");
                    Emit("swap", $"\"conv\":\"C{L.C} {L.H}x{L.H} O{L.O} k{L.K}\",\"tile\":\"{(wide ? "8x48" : "12x32")}\",\"threads\":{threads},\"c_ms\":{Fmt(MedianOf(times[0]) * 1e3)},\"ct_ms\":{Fmt(MedianOf(times[1]) * 1e3)},\"speedup_ct\":{Fmt(MedianOf(times[0]) / MedianOf(times[1]))}");
                }
            GemmKernels.ForceWideTile = null;
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Auto;
        }
        else if (op == "kernel64")
        {
            // The 512-bit float64 micro-kernel alone on L1-resident panels (kc 128).
            double t = Median(() => CortadoThreads.ParallelFor(threads, _ => KernelLoop64(4000)), opts.Runs ?? 11);
            Emit("kernel64", $"\"threads\":{threads},\"gflops\":{Fmt(threads * 2.0 * 12 * 16 * 128 * 4000 / t / 1e9)}");
        }
        else if (op == "fmapeak")
        {
            // 24 independent register-only FMA chains: the FMA units' throughput with no memory traffic.
            double t = Median(() => FmaPeak(1_000_000), opts.Runs ?? 9);
            Emit("fmapeak", $"\"gflops\":{Fmt(1e6 * 24 * 32 / t / 1e9)}");
        }
        else if (op == "freq")
        {
            // A chain of 10^8 dependent integer adds (one cycle each): its rate is the core's clock.
            double t = Median(() => AddChain(100_000_000), opts.Runs ?? 5);
            Emit("freq", $"\"ghz\":{Fmt(1e8 / t / 1e9)}");
        }
        else if (op == "conv")
        {
            // ResNet-style layers (N, C, H, W, OutC, K, stride, pad) in float32.
            (int N, int C, int H, int O, int K, int S, int P)[] layers =
            [
                (16, 64, 16, 64, 3, 1, 1),
                (16, 128, 8, 128, 3, 1, 1),
                (16, 3, 64, 64, 7, 2, 3),
                (64, 6, 14, 16, 5, 1, 0),
                // Inference-sized layers (ResNet on 224×224 at batch 1 and 8).
                (1, 3, 224, 64, 7, 2, 3),
                (1, 64, 56, 64, 3, 1, 1),
                (8, 64, 56, 64, 3, 1, 1),
                (1, 256, 14, 256, 3, 1, 1),
            ];
            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = opts.ConvAlgorithm;
            foreach (var L in layers)
            {
                var (g, x, wt) = Layer(L);
                var y = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
                var dx = Tensor.Empty(DType.Float32, L.N, L.C, L.H, L.H);
                var dw = Tensor.Empty(DType.Float32, L.O, L.C, L.K, L.K);
                double flops = 2.0 * L.N * L.O * g.OutH * g.OutW * L.C * L.K * L.K;
                int runs = opts.Runs ?? 11;
                double tf = Median(() => backend.Conv2d(x, wt, null, y, g), runs);
                double tbi = Median(() => backend.Conv2dBackwardInput(y, wt, dx, g), runs);
                double tbw = Median(() => backend.Conv2dBackwardWeight(x, y, dw, g), runs);
                string shape = $"\"shape\":\"N{L.N} C{L.C} {L.H}x{L.H} O{L.O} k{L.K} s{L.S} p{L.P}\",\"threads\":{threads}";
                Emit("conv2d", $"{shape},\"algorithm\":\"{Cortado.Cpu.Conv.ConvDriver<float>.Chosen(g)}\",\"ms\":{Fmt(tf * 1e3)},\"gflops\":{Fmt(flops / tf / 1e9)}");
                if (opts.ConvAlgorithm == Cortado.Cpu.Conv.ConvAlgorithm.Auto)
                {
                    // Both forward algorithms, alternating run by run so that the machine's drift hits them alike.
                    var t0 = new List<double>();
                    var t1 = new List<double>();
                    for (int i = 0; i < runs; i++)
                        foreach (var (algo, into) in new[] { (Cortado.Cpu.Conv.ConvAlgorithm.Im2Col, t0), (Cortado.Cpu.Conv.ConvAlgorithm.Implicit, t1) })
                        {
                            Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = algo;
                            if (i == 0) backend.Conv2d(x, wt, null, y, g);
                            long start = Stopwatch.GetTimestamp();
                            backend.Conv2d(x, wt, null, y, g);
                            into.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
                        }
                    Cortado.Cpu.Conv.ConvDriver<float>.ForwardAlgorithm = Cortado.Cpu.Conv.ConvAlgorithm.Auto;
                    Emit("conv2d_algorithms", $"{shape},\"im2col_ms\":{Fmt(MedianOf(t0) * 1e3)},\"implicit_ms\":{Fmt(MedianOf(t1) * 1e3)},\"implicit_speedup\":{Fmt(MedianOf(t0) / MedianOf(t1))}");
                }
                Emit("conv2d_backward_input", $"{shape},\"ms\":{Fmt(tbi * 1e3)},\"gflops\":{Fmt(flops / tbi / 1e9)}");
                Emit("conv2d_backward_weight", $"{shape},\"ms\":{Fmt(tbw * 1e3)},\"gflops\":{Fmt(flops / tbw / 1e9)}");
            }
        }
        else if (op == "dwconv")
        {
            // MobileNetV2's depthwise layers at batch 1 (C, H, stride; 3×3, pad 1), forward with its fused ReLU6.
            (int C, int H, int S)[] depthwise = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (576, 14, 1), (960, 7, 1)];
            var relu6 = new Activation(ActivationKind.Clip, 0, 6);
            foreach (var L in depthwise)
            {
                var g = new Conv2dGeometry(1, L.C, L.H, L.H, L.C, 3, 3, L.S, L.S, 1, 1, 1, 1, L.C);
                var x = Random(DType.Float32, L.C * L.H * L.H, [1, L.C, L.H, L.H]);
                var wt = Random(DType.Float32, L.C * 9, [L.C, 1, 3, 3]);
                var bias = Random(DType.Float32, L.C, [L.C]);
                var y = Tensor.Empty(DType.Float32, 1, L.C, g.OutH, g.OutW);
                double flops = 2.0 * L.C * g.OutH * g.OutW * 9;
                double tf = Median(() => backend.Conv2d(x, wt, bias, y, g, relu6), opts.Runs ?? 11);
                Emit("dwconv2d", $"\"shape\":\"C{L.C} {L.H}x{L.H} k3 s{L.S} p1\",\"threads\":{threads},\"us\":{Fmt(tf * 1e6)},\"gflops\":{Fmt(flops / tf / 1e9)}");
            }
        }
        else
        {
            Console.Error.WriteLine($"unknown op '{op}' (sgemm, dgemm, kernel, kernel7, kernel64, fmapeak, freq, tune, kc, split, dgrad, tiles, swap, gather, wgrad, fold, packonce, deep, shifted, rows, pool, conv, dwconv)");
            return 2;
        }
    }
}
return 0;

Tensor Random(DType dt, int count, int[]? shape = null)
{
    shape ??= [count];
    if (dt == DType.Float32)
    {
        var d = new float[count];
        for (int i = 0; i < count; i++) d[i] = (float)(rng.NextDouble() - 0.5);
        return Tensor.FromArray(d, shape);
    }
    var e = new double[count];
    for (int i = 0; i < count; i++) e[i] = rng.NextDouble() - 0.5;
    return Tensor.FromArray(e, shape);
}

// A float32 micro-kernel over one MR×256 A panel and one 256×NR B panel, reps times: both stay in L1.
static unsafe void KernelLoop<TK>(int reps) where TK : struct, IMicroKernel<float>
{
    int mr = TK.MR, nr = TK.NR;
    float* a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(mr * 256 * 4), 64);
    float* b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(nr * 256 * 4), 64);
    float* c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(mr * nr * 4), 64);
    for (int i = 0; i < mr * 256; i++) a[i] = 0.001f * i;
    for (int i = 0; i < nr * 256; i++) b[i] = 0.002f * i;
    for (int r = 0; r < reps; r++) TK.Run(256, a, b, c, nr, 1f, 1f);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(a);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
}

// Two variants of one call, alternating call by call (`set(v)` selects variant v) so that the machine's drift hits
// both alike: the wall time of each timed call, per variant. A first untimed call of each variant warms it up; with
// warmEach, every timed call follows an untimed one of its own variant (for jobs short enough that the switch shows).
// A layer's forward convolution with a switch off (variant 0) and on (variant 1), alternating call by call: its
// geometry, the times of each variant, and whether they gave the same bits.
(Conv2dGeometry g, List<double>[] times, bool same) AlternateConv((int N, int C, int H, int O, int K, int S, int P) L, Action<bool> set)
{
    var (g, x, wt) = Layer(L);
    var y0 = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
    var y1 = Tensor.Empty(DType.Float32, L.N, L.O, g.OutH, g.OutW);
    int v = 0;
    var times = Alternate(opts.Runs ?? 21, i => set((v = i) == 1), () => backend.Conv2d(x, wt, null, v == 0 ? y0 : y1, g), warmEach: false);
    return (g, times, y0.ToArray<float>().AsSpan().SequenceEqual(y1.ToArray<float>()));
}

// The layers of an op, or those BENCH_LAYERS lists instead ("N,C,H,O,K,S,P;…").
static (int N, int C, int H, int O, int K, int S, int P)[] BenchLayers((int N, int C, int H, int O, int K, int S, int P)[] defaults) =>
    Environment.GetEnvironmentVariable("BENCH_LAYERS") is string list
        ? [.. list.Split(';').Select(t => t.Split(',').Select(int.Parse).ToArray()).Select(v => (v[0], v[1], v[2], v[3], v[4], v[5], v[6]))]
        : defaults;

// A square convolution layer (N, C, H = W, out channels, kernel, stride, pad) in float32: its geometry, a random input
// and random weights.
(Conv2dGeometry, Tensor, Tensor) Layer((int N, int C, int H, int O, int K, int S, int P) L)
{
    var g = new Conv2dGeometry(L.N, L.C, L.H, L.H, L.O, L.K, L.K, L.S, L.S, L.P, L.P, 1, 1, 1);
    return (g, Random(DType.Float32, L.N * L.C * L.H * L.H, [L.N, L.C, L.H, L.H]), Random(DType.Float32, L.O * L.C * L.K * L.K, [L.O, L.C, L.K, L.K]));
}

static List<double>[] Alternate(int runs, Action<int> set, Action call, bool warmEach)
{
    var times = new[] { new List<double>(), new List<double>() };
    for (int i = 0; i < runs; i++)
        for (int v = 0; v < 2; v++)
        {
            set(v);
            if (i == 0 || warmEach) call();
            long start = Stopwatch.GetTimestamp();
            call();
            times[v].Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    return times;
}

// Median wall time of several runs after warm-up; the median process CPU time of the same runs goes to
// LastCpu (on a shared, loaded machine CPU time shows what the kernel itself needs).
static float FmaPeak(int n)
{
    var m = Vector512.Create(0.999f);
    var a = Vector512.Create(1e-4f);
    Vector512<float> c0 = Vector512.Create(0 * 1e-3f), c1 = Vector512.Create(1 * 1e-3f), c2 = Vector512.Create(2 * 1e-3f), c3 = Vector512.Create(3 * 1e-3f), c4 = Vector512.Create(4 * 1e-3f), c5 = Vector512.Create(5 * 1e-3f), c6 = Vector512.Create(6 * 1e-3f), c7 = Vector512.Create(7 * 1e-3f), c8 = Vector512.Create(8 * 1e-3f), c9 = Vector512.Create(9 * 1e-3f), c10 = Vector512.Create(10 * 1e-3f), c11 = Vector512.Create(11 * 1e-3f), c12 = Vector512.Create(12 * 1e-3f), c13 = Vector512.Create(13 * 1e-3f), c14 = Vector512.Create(14 * 1e-3f), c15 = Vector512.Create(15 * 1e-3f), c16 = Vector512.Create(16 * 1e-3f), c17 = Vector512.Create(17 * 1e-3f), c18 = Vector512.Create(18 * 1e-3f), c19 = Vector512.Create(19 * 1e-3f), c20 = Vector512.Create(20 * 1e-3f), c21 = Vector512.Create(21 * 1e-3f), c22 = Vector512.Create(22 * 1e-3f), c23 = Vector512.Create(23 * 1e-3f);
    for (int i = 0; i < n; i++)
    {
        c0 = Vector512.FusedMultiplyAdd(c0, m, a);
        c1 = Vector512.FusedMultiplyAdd(c1, m, a);
        c2 = Vector512.FusedMultiplyAdd(c2, m, a);
        c3 = Vector512.FusedMultiplyAdd(c3, m, a);
        c4 = Vector512.FusedMultiplyAdd(c4, m, a);
        c5 = Vector512.FusedMultiplyAdd(c5, m, a);
        c6 = Vector512.FusedMultiplyAdd(c6, m, a);
        c7 = Vector512.FusedMultiplyAdd(c7, m, a);
        c8 = Vector512.FusedMultiplyAdd(c8, m, a);
        c9 = Vector512.FusedMultiplyAdd(c9, m, a);
        c10 = Vector512.FusedMultiplyAdd(c10, m, a);
        c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        c12 = Vector512.FusedMultiplyAdd(c12, m, a);
        c13 = Vector512.FusedMultiplyAdd(c13, m, a);
        c14 = Vector512.FusedMultiplyAdd(c14, m, a);
        c15 = Vector512.FusedMultiplyAdd(c15, m, a);
        c16 = Vector512.FusedMultiplyAdd(c16, m, a);
        c17 = Vector512.FusedMultiplyAdd(c17, m, a);
        c18 = Vector512.FusedMultiplyAdd(c18, m, a);
        c19 = Vector512.FusedMultiplyAdd(c19, m, a);
        c20 = Vector512.FusedMultiplyAdd(c20, m, a);
        c21 = Vector512.FusedMultiplyAdd(c21, m, a);
        c22 = Vector512.FusedMultiplyAdd(c22, m, a);
        c23 = Vector512.FusedMultiplyAdd(c23, m, a);
    }
    return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23);
}

static double MedianOf(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToList();
    return s[s.Count / 2];
}

static long AddChain(long n)
{
    long x = 0, step = n & 1 | 1;
    for (long i = 0; i < n; i += 4)
    {
        x += step; x ^= 1; x += step; x ^= 1;
    }
    return x;
}

static unsafe void KernelLoop64(int reps)
{
    double* a = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(12 * 128 * 8, 64);
    double* b = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(16 * 128 * 8, 64);
    double* c = (double*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(12 * 16 * 8, 64);
    for (int i = 0; i < 12 * 128; i++) a[i] = 0.001 * i;
    for (int i = 0; i < 16 * 128; i++) b[i] = 0.002 * i;
    for (int r = 0; r < reps; r++) F64x512.Run(128, a, b, c, 16, 1, 1);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(a);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
    System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
}

static double Median(Action f, int runs)
{
    for (int i = 0; i < 3; i++) f();
    var times = new double[runs];
    var cpu = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        double c0 = CpuClock.ProcessSeconds();
        long t0 = Stopwatch.GetTimestamp();
        f();
        times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        cpu[i] = CpuClock.ProcessSeconds() - c0;
    }
    Array.Sort(times);
    Array.Sort(cpu);
    CpuClock.LastCpu = cpu[runs / 2];
    return times[runs / 2];
}

static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

static void Emit(string op, string fields) => Console.WriteLine($"{{\"system\":\"cortado\",\"op\":\"{op}\",{fields}}}");

/// <summary>
/// Command-line options: --op sgemm,dgemm,conv,… --n 256,1024 --threads 1,2 --runs R --width 512|256|128|0, block sizes
/// --kc --mc --nc (with --op kc, --kc is the depth compared against the default), --conv-algo auto|im2col|implicit|shifted.
/// BENCH_LAYERS="N,C,H,O,K,S,P;…" replaces the layer list of --op kc, rows and split.
/// </summary>
internal sealed class Options
{
    public string[] Ops { get; private set; } = ["sgemm"];
    public int[] Sizes { get; private set; } = [256, 1024, 2048];
    public int[] Threads { get; private set; } = [1, 2];
    public int? Runs { get; private set; }
    public int? Width { get; private set; }
    public int? Kc { get; private set; }
    public int? Mc { get; private set; }
    public int? Nc { get; private set; }
    public Cortado.Cpu.Conv.ConvAlgorithm ConvAlgorithm { get; private set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--op": o.Ops = v.Split(','); break;
                case "--n": o.Sizes = Ints(v); break;
                case "--threads": o.Threads = Ints(v); break;
                case "--runs": o.Runs = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--width": o.Width = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--kc": o.Kc = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--mc": o.Mc = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--nc": o.Nc = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--conv-algo": o.ConvAlgorithm = Enum.Parse<Cortado.Cpu.Conv.ConvAlgorithm>(v, ignoreCase: true); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return o;
    }

    private static int[] Ints(string s) => s.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
}

/// <summary>Process CPU time from clock_gettime(CLOCK_PROCESS_CPUTIME_ID), with nanosecond resolution.</summary>
internal static partial class CpuClock
{
    public static double LastCpu;

    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec ts);

    public static double ProcessSeconds()
    {
        if (!OperatingSystem.IsLinux()) return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        ClockGetTime(2, out var ts);
        return ts.Sec + ts.Nsec * 1e-9;
    }
}
