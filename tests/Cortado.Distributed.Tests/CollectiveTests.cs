// Collectives and data-parallel training on real Open MPI ranks (loopback), against one-process references.
using Cortado.IO;
using Cortado.TestKit;
using Xunit;

namespace Cortado.Distributed.Tests;

public class CollectiveTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [MpiFact]
    public void EveryCollectiveGivesTheExpectedValuesOnThreeRanks()
    {
        // The default: the shared-memory allreduce, whose float sums are bit-identical to rank-order sums.
        var r = Mpi.RunMpi(3, Limit, Mpi.Worker, "collectives", "--rank-order");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        // Each line is exactly the rank's report: no terminal escape codes leak into the ranks' output.
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int rank = 0; rank < 3; rank++)
            Assert.Contains($"collectives ok rank {rank} of 3, local {rank} of 3, allreduce by shared memory (3 ranks per machine)", lines);
    }

    [MpiTheory]
    [InlineData(3, "CORTADO_SHM_ALLREDUCE", "0", "MPI (shared memory turned off)")]
    // A window of 384 bytes: a 20,011-element allreduce takes 209 rounds, with chunk edges inside every one.
    [InlineData(3, "CORTADO_SHM_BYTES", "300", "shared memory (3 ranks per machine)")]
    // Two "machines" of two ranks: slices are summed in shared memory, then allreduced with MPI between the machines.
    [InlineData(4, "CORTADO_RANKS_PER_MACHINE", "2", "shared memory (2 ranks per machine), MPI between 2 machines")]
    [InlineData(3, "CORTADO_RANKS_PER_MACHINE", "1", "MPI (every rank is alone on its machine)")]
    [InlineData(3, "CORTADO_RANKS_PER_MACHINE", "2", "MPI (machines hold between 1 and 2 ranks)")]
    public void EveryCollectiveGivesTheExpectedValuesOnEachAllReducePath(int ranks, string variable, string value, string transport)
    {
        bool rankOrder = transport.StartsWith("shared memory", StringComparison.Ordinal) && !transport.Contains("between", StringComparison.Ordinal);
        string[] program = rankOrder ? [Mpi.Worker, "collectives", "--rank-order"] : [Mpi.Worker, "collectives"];
        var r = ChildProcess.Wait(Mpi.StartMpirun(ranks, new Dictionary<string, string> { [variable] = value }, program), Limit);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        for (int rank = 0; rank < ranks; rank++) Assert.Contains($"collectives ok rank {rank} of {ranks}, local {rank} of {ranks}, allreduce by {transport}", r.Stdout);
    }

    // Four linear layers in registration order 0.weight (256 KiB), 0.bias (1 KiB), 1.weight, … 3.bias; buckets in
    // reverse order, the first parameters (the last gradients) in a final bucket of their own.
    [Theory]
    [InlineData(new string[0], new[] { "3.bias 3.weight", "2.bias 2.weight 1.bias 1.weight 0.bias 0.weight" })] // 771 KiB ≤ 1 MiB, 1027 KiB not
    [InlineData(new[] { "--final-bytes", "0" }, new[] { "3.bias 3.weight 2.bias 2.weight 1.bias 1.weight 0.bias 0.weight" })]
    [InlineData(new[] { "--final-bytes", "263168" }, new[] { "3.bias 3.weight 2.bias 2.weight 1.bias 1.weight", "0.bias 0.weight" })] // exactly 257 KiB
    // The final bucket is also held to the bucket size (300 KiB here), and buckets close at that size as before.
    [InlineData(new[] { "--bucket-bytes", "307200" }, new[] { "3.bias 3.weight 2.bias", "2.weight 1.bias", "1.weight", "0.bias 0.weight" })]
    public void TheFirstLayersGradientsGoInASmallFinalBucket(string[] options, string[] expected)
    {
        if (Mpi.MissingReason != null && Environment.GetEnvironmentVariable("CORTADO_REQUIRE_MPI") != "1") return; // needs libmpi even without mpirun
        var r = Mpi.RunDotnet(Limit, null, [Mpi.Worker, "buckets", .. options]);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var buckets = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("bucket ", StringComparison.Ordinal)).Select(l => l[7..]).ToArray();
        Assert.Equal(expected, buckets);
    }

    [MpiFact]
    public void RanksThatAllReduceDifferentSizesAreToldSo()
    {
        var status = Mpi.TempDir();
        var r = ChildProcess.Wait(Mpi.StartMpirun(2, new Dictionary<string, string> { [LaunchStatus.DirectoryVariable] = status }, Mpi.Worker, "mismatch"), Limit);
        Assert.Contains("allreduce by shared memory", r.Stdout);
        // mpirun runs with recovery, so its own exit code is 0: the ranks' recorded statuses tell.
        Assert.NotEqual(0, MpiLauncher.Collect(2, r.ExitCode, status, multiHost: false).ExitCode);
        Assert.Contains("this rank reduces 10 elements of Float32 with Sum, local rank 1 reduces 12 elements of Float32 with Sum", r.Stderr);
        Assert.Contains("this rank reduces 12 elements of Float32 with Sum, local rank 0 reduces 10 elements of Float32 with Sum", r.Stderr);
    }

    [Fact]
    public void ASingleProcessIsAOneRankJob()
    {
        if (Mpi.MissingReason != null && Environment.GetEnvironmentVariable("CORTADO_REQUIRE_MPI") != "1") return; // needs libmpi even without mpirun
        var r = Mpi.RunDotnet(Limit, null, Mpi.Worker, "collectives");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("collectives ok rank 0 of 1", r.Stdout);
    }

    [MpiFact]
    public void AParameterWithoutAGradientIsNamed()
    {
        var r = Mpi.RunMpi(1, Limit, Mpi.Worker, "unused");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("unused reported", r.Stdout);
    }

    [MpiFact]
    public void TwoRanksWithHalfBatchesEndWithTheWeightsOfOneRankWithWholeBatches()
    {
        var dir = Mpi.TempDir();
        string F(string name) => Path.Combine(dir, name + ".safetensors");
        void Train(int ranks, string mode, string name, params string[] extra)
        {
            string[] args = [Mpi.Worker, "train", "--steps", "20", "--global-batch", "16", "--mode", mode, "--out", F(name), .. extra];
            var r = ranks == 0 ? Mpi.RunDotnet(Limit, null, args) : Mpi.RunMpi(ranks, Limit, args);
            Assert.True(r.ExitCode == 0, $"{mode} on {ranks} ranks failed:\n{r.Stdout}{r.Stderr}");
        }
        Train(0, "plain", "plain");
        Train(0, "shards:2", "shards");
        Train(2, "ddp", "ddp");
        Train(2, "ddp", "ddp-small-buckets", "--bucket-bytes", "4096");
        Train(2, "deterministic", "deterministic");

        var plain = SafeTensors.Load(F("plain")).Tensors;
        var shards = SafeTensors.Load(F("shards")).Tensors;
        var ddp = SafeTensors.Load(F("ddp")).Tensors;
        Assert.Equal(10, plain.Count);
        foreach (var (name, reference) in plain)
        {
            var a = ddp[name].Cast(DType.Float64);
            var b = reference.Cast(DType.Float64);
            double rel = Math.Sqrt(a.Sub(b).Square().Sum().Item()) / Math.Sqrt(b.Square().Sum().Item());
            Assert.True(rel <= 1e-6, $"{name}: relative difference {rel:E2} between 2 ranks and 1 rank");
        }
        // Deterministic mode sums in rank order, exactly as one process accumulating the two shards does.
        foreach (var file in new[] { "deterministic", "ddp-small-buckets", "ddp" })
        {
            var t = SafeTensors.Load(F(file)).Tensors;
            foreach (var (name, reference) in shards)
                Assert.True(reference.ToArray<float>().SequenceEqual(t[name].ToArray<float>()), $"{file}: {name} is not bit-identical to the two-shard reference");
        }
        // With four ranks MPI's own reduction order is free, but deterministic mode still matches four shards bit for bit.
        Train(0, "shards:4", "shards4");
        Train(4, "deterministic", "deterministic4");
        var shards4 = SafeTensors.Load(F("shards4")).Tensors;
        var det4 = SafeTensors.Load(F("deterministic4")).Tensors;
        foreach (var (name, reference) in shards4)
            Assert.True(reference.ToArray<float>().SequenceEqual(det4[name].ToArray<float>()), $"4 ranks: {name} is not bit-identical to the four-shard reference");
        // On one machine the shared-memory allreduce also sums in rank order: plain DDP on four ranks matches too.
        Train(4, "ddp", "ddp4");
        var ddp4 = SafeTensors.Load(F("ddp4")).Tensors;
        foreach (var (name, reference) in shards4)
            Assert.True(reference.ToArray<float>().SequenceEqual(ddp4[name].ToArray<float>()), $"4 ranks, shared-memory allreduce: {name} is not bit-identical to the four-shard reference");

        // The two-shard reference really differs from whole batches in the last bits: the comparison above is not vacuous.
        Assert.Contains(plain, kv => !kv.Value.ToArray<float>().SequenceEqual(shards[kv.Key].ToArray<float>()));
    }

    [MpiFact]
    public void SyncBatchNormOnTwoRanksMatchesBatchNormOnTheWholeBatch()
    {
        var dir = Mpi.TempDir();
        string F(string name) => Path.Combine(dir, name + ".safetensors");
        string[] Args(string mode, string name, params string[] extra) =>
            [Mpi.Worker, "train", "--model", "bn", "--steps", "20", "--global-batch", "16", "--mode", mode, "--out", F(name), .. extra];
        Assert.Equal(0, Mpi.RunDotnet(Limit, null, Args("plain", "plain")).ExitCode);
        Assert.Equal(0, Mpi.RunMpi(2, Limit, Args("ddp", "sync", "--sync-bn")).ExitCode);
        Assert.Equal(0, Mpi.RunMpi(2, Limit, Args("ddp", "local")).ExitCode);
        var plain = SafeTensors.Load(F("plain")).Tensors;
        var sync = SafeTensors.Load(F("sync")).Tensors;
        var local = SafeTensors.Load(F("local")).Tensors;
        double worstSync = 0, worstLocal = 0;
        foreach (var (name, reference) in plain)
        {
            if (reference.DType != DType.Float32) continue;
            double Rel(Tensor t) => Math.Sqrt(t.Cast(DType.Float64).Sub(reference.Cast(DType.Float64)).Square().Sum().Item())
                                    / Math.Max(Math.Sqrt(reference.Cast(DType.Float64).Square().Sum().Item()), 1e-12);
            worstSync = Math.Max(worstSync, Rel(sync[name]));
            worstLocal = Math.Max(worstLocal, Rel(local[name]));
        }
        // Global statistics reproduce the one-process run (the sums formula rounds differently from the two-pass one);
        // per-shard statistics do not, so the comparison can tell the two apart.
        Assert.True(worstSync <= 1e-5, $"SyncBatchNorm differs from whole-batch BatchNorm by {worstSync:E2}");
        Assert.True(worstLocal > 1e-3, $"per-shard BatchNorm unexpectedly matches whole-batch statistics ({worstLocal:E2})");
        Assert.Equal(20, sync["1.num_batches_tracked"].AsSpan<long>()[0]);
    }
}
