// The training job behind `cortado train` and `cortado demo`: data, model, optimizer, checkpoints, result.
using System.Diagnostics;
using System.Globalization;
using Cortado.Distributed;
using Cortado.NN;
using Cortado.Zoo;

namespace Cortado.Cli.Commands;

/// <summary>What a training run is asked to do.</summary>
internal sealed record TrainOptions(string Model, string Dataset, string? DataDir, int Epochs, int BatchSize, double Lr,
                                    string Optimizer, long Seed, string Out, string? Resume, int Workers, string LrSchedule = "cosine",
                                    bool KeepEpochs = false, DistributedSettings? Distributed = null);

/// <summary>How a training run is spread over ranks (null: one process).</summary>
internal sealed record DistributedSettings(double BucketMb = 25, int AverageEvery = 0, bool Deterministic = false, double? FaultTimeoutSeconds = null, string? Timeline = null,
                                         bool SyncBatchNorm = false, double FinalBucketMb = 1);

/// <summary>What a training run reports (the --json object of `cortado train`).</summary>
internal sealed record TrainResult(string model, string dataset, int epochs, int train_items, double test_accuracy,
                                   double test_loss, double items_per_s, double seconds, string checkpoint, int ranks = 1);

internal static class TrainingRun
{
    public static TrainResult Run(TrainOptions o, TextWriter log)
    {
        if (o.Epochs < 1) throw new ArgumentException($"--epochs must be at least 1, got {o.Epochs}");
        if (o.BatchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {o.BatchSize}");
        if (!(o.Lr > 0)) throw new ArgumentException($"--lr must be positive, got {o.Lr}");
        var group = o.Distributed == null ? null : ProcessGroup.Init(new DistributedOptions
        {
            FaultTimeout = o.Distributed.FaultTimeoutSeconds is double t ? TimeSpan.FromSeconds(t) : new DistributedOptions().FaultTimeout,
        });
        int rank = group?.Rank ?? 0, world = group?.Size ?? 1;
        // Only rank 0 logs, shows progress and writes checkpoints.
        if (rank != 0) log = TextWriter.Null;
        if (group != null) log.WriteLine($"distributed: {world} ranks over {group.Library}, batch {o.BatchSize} per rank ({o.BatchSize * world} per step)");
        using var timeline = o.Distributed?.Timeline is string tl ? new Timeline(tl, rank) : null;
        var data = DataSets.Load(o.Dataset, o.DataDir, o.BatchSize, o.Seed, o.Workers, rank, world);
        log.WriteLine($"data: {data.Description}");

        var gen = new Generator(o.Seed);
        var net = ModelZoo.Create(o.Model, data.Classes, gen);
        Optimizer opt = o.Optimizer.ToLowerInvariant() switch
        {
            "sgd" => new SGD(net.Parameters(), o.Lr, momentum: 0.9),
            "adam" => new Adam(net.Parameters(), o.Lr),
            _ => throw new ArgumentException($"unknown optimizer '{o.Optimizer}'; use sgd or adam"),
        };
        var model = new Model(net, opt, new CrossEntropyLoss(), new Accuracy());
        if (rank != 0) model.Progress = ProgressReporter.Silent;
        var info = new Dictionary<string, string>
        {
            ["model"] = o.Model.ToLowerInvariant(),
            ["dataset"] = o.Dataset,
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = o.Optimizer.ToLowerInvariant(),
        };

        int startEpoch = 0, startBatch = 0;
        if (o.Resume != null)
        {
            var ck = Checkpoint.Load(o.Resume);
            if (ck.Info.TryGetValue("model", out var m) && m != info["model"])
                throw new CortadoException($"checkpoint '{o.Resume}' holds model '{m}', not '{info["model"]}'");
            ck.ApplyTo(net, opt, gen);
            (startEpoch, startBatch, model.GlobalStep) = (ck.Epoch, ck.Batch, ck.GlobalStep);
            log.WriteLine($"resuming from {o.Resume} at epoch {startEpoch + 1}, batch {startBatch}");
        }

        var callbacks = new List<Callback>();
        DistributedDataParallel? ddp = null;
        if (group != null && o.Distributed!.AverageEvery > 0)
            callbacks.Add(new ModelAveraging(group, o.Distributed.AverageEvery)); // before the checkpoint: it saves the averaged model
        else if (group != null)
            ddp = new DistributedDataParallel(net, group, new DdpOptions
            {
                BucketBytes = Common.BucketBytes(o.Distributed!.BucketMb),
                FinalBucketBytes = Common.FinalBucketBytes(o.Distributed.FinalBucketMb),
                Deterministic = o.Distributed.Deterministic,
            });
        if (group != null && ddp == null) DistributedDataParallel.BroadcastState(net, group);
        if (group != null && o.Distributed!.SyncBatchNorm) log.WriteLine($"SyncBatchNorm: {SyncBatchNorm.Convert(net, group)} batch-norm layers");
        switch (o.LrSchedule.ToLowerInvariant())
        {
            case "cosine":
                // Annealed per epoch from the given rate towards 0 at the end of the last epoch; the
                // schedule is a function of the epoch, so a resumed run continues it exactly.
                callbacks.Add(new LrSchedulerCallback(new CosineAnnealingLR(opt, o.Epochs) { Epoch = startEpoch }));
                break;
            case "none":
                break;
            default:
                throw new ArgumentException($"unknown learning-rate schedule '{o.LrSchedule}'; use cosine or none");
        }
        info["lr_schedule"] = o.LrSchedule.ToLowerInvariant();
        var path = System.IO.Path.Combine(o.Out, "checkpoint.safetensors");
        if (rank == 0) callbacks.Add(new CheckpointCallback(path, gen, info, o.KeepEpochs));
        var sw = Stopwatch.StartNew();
        var history = model.Fit(data.Train, o.Epochs, null, callbacks, startEpoch, startBatch);
        double trainSeconds = history.Sum(h => h["seconds"]);
        double items = history.Sum(h => h["items_per_s"] * h["seconds"]) * world; // every rank trains on as many items
        var ev = model.Evaluate(data.Test);
        sw.Stop();
        ddp?.Dispose();
        if (history.Count == 0 && rank == 0) Checkpoint.Capture(net, opt, gen, o.Epochs, 0, model.GlobalStep, info).Save(path);
        return new TrainResult(info["model"], o.Dataset, o.Epochs, data.Train.ItemsPerEpoch * world, Math.Round(ev.Accuracy, 6), Math.Round(ev.Loss, 6),
                               Math.Round(items / Math.Max(trainSeconds, 1e-9), 1), Math.Round(sw.Elapsed.TotalSeconds, 2), path, world);
    }
}
