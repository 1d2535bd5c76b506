// `cortado train`: trains a zoo model on a data set and saves a checkpoint.
using System.CommandLine;
using Cortado.Distributed;

namespace Cortado.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model: lenet, mlp, resnet-small", DefaultValueFactory = _ => "lenet" };
        var dataset = Common.Dataset();
        var dataDir = Common.DataDir();
        var epochs = new Option<int>("--epochs") { Description = "epochs", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch-size") { Description = "batch size", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.05 };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd (momentum 0.9) or adam", DefaultValueFactory = _ => "sgd" };
        var seed = new Option<long>("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "output directory for the checkpoint", DefaultValueFactory = _ => "runs/train" };
        var resume = new Option<string?>("--resume") { Description = "checkpoint to resume from" };
        var schedule = new Option<string>("--lr-schedule") { Description = "cosine (anneal over the epochs) or none", DefaultValueFactory = _ => "cosine" };
        var keep = new Option<bool>("--keep-epochs") { Description = "also keep a checkpoint of every epoch (epoch-N.safetensors)" };
        var workers = new Option<int>("--workers") { Description = "data-loading threads", DefaultValueFactory = _ => 2 };
        var threads = Common.Threads();
        var json = Common.Json();
        var distributed = new Option<bool>("--distributed") { Description = "data-parallel training over the ranks of an MPI job (automatic under cortado launch or mpirun with more than one rank)" };
        var bucketMb = Common.BucketMb("gradient bucket size in MB for distributed training");
        var finalBucketMb = Common.FinalBucketMb();
        var averageEvery = new Option<int>("--average-every") { Description = "distributed: average the models every K steps instead of averaging gradients every step (0: off)" };
        var deterministic = new Option<bool>("--deterministic") { Description = "distributed: sum gradients in rank order, so results do not depend on MPI's reduction order" };
        var faultTimeout = new Option<double?>("--fault-timeout") { Description = "distributed: seconds before a silent or stuck rank is declared failed (default 60, or CORTADO_FAULT_TIMEOUT)" };
        var timeline = new Option<string?>("--timeline") { Description = "distributed: write a Chrome trace per rank (PATH-rank-N.json) showing compute and communication" };
        var syncBn = new Option<bool>("--sync-bn") { Description = "distributed: batch-norm statistics over the global batch of all ranks (SyncBatchNorm)" };
        var cmd = new Command("train", "train a model")
        {
            model, dataset, dataDir, epochs, batch, lr, optimizer, schedule, seed, output, resume, keep, workers, threads, json,
            distributed, bucketMb, finalBucketMb, averageEvery, deterministic, faultTimeout, timeline, syncBn,
        };
        cmd.SetAction(p =>
        {
            Common.ApplyThreads(p.GetValue(threads));
            bool spread = p.GetValue(distributed) || ProcessGroup.LaunchedJobSize > 1;
            var d = spread ? new DistributedSettings(p.GetValue(bucketMb), p.GetValue(averageEvery), p.GetValue(deterministic), p.GetValue(faultTimeout), p.GetValue(timeline), p.GetValue(syncBn), p.GetValue(finalBucketMb)) : null;
            if (d != null) Common.BucketBytes(d.BucketMb); // checks the values before any rank starts work
            if (d != null) Common.FinalBucketBytes(d.FinalBucketMb);
            if (d != null && d.AverageEvery < 0) throw new ArgumentException($"--average-every must be 0 or more, got {d.AverageEvery}");
            var o = new TrainOptions(p.GetValue(model)!, p.GetValue(dataset)!, p.GetValue(dataDir), p.GetValue(epochs), p.GetValue(batch),
                                     p.GetValue(lr), p.GetValue(optimizer)!, p.GetValue(seed), p.GetValue(output)!, p.GetValue(resume), p.GetValue(workers),
                                     p.GetValue(schedule)!, p.GetValue(keep), d);
            var r = TrainingRun.Run(o, Console.Error);
            if (r.ranks > 1 && ProcessGroup.World?.IsMain == false) return 0; // only rank 0 reports
            Console.Error.WriteLine($"test accuracy {r.test_accuracy:F4}, test loss {r.test_loss:F4}, {r.items_per_s:F0} items/s, {r.seconds:F1} s; checkpoint {r.checkpoint}");
            if (p.GetValue(json)) Console.WriteLine(Common.ToJson(r));
            return 0;
        });
        return cmd;
    }
}
