// `cortado launch -n N [--hostfile F] [--bind-to auto|none] -- <command>`: runs a cortado command on N ranks through mpirun.
using System.CommandLine;
using Cortado.Distributed;

namespace Cortado.Cli.Commands;

internal static class LaunchCommand
{
    public static Command Create()
    {
        var ranks = new Option<int>("-n", "--ranks") { Description = "number of ranks (processes)", Required = true };
        var hostfile = new Option<string?>("--hostfile") { Description = "Open MPI hostfile: 'host [slots=N] [max_slots=N]' per line" };
        var bindTo = new Option<string>("--bind-to")
        {
            Description = "auto: on one machine whose cores hold every rank's threads (the command's --threads, or CORTADO_THREADS, or the cores shared out), bind each rank to its own cores; none: never bind",
            DefaultValueFactory = _ => "auto",
        };
        bindTo.AcceptOnlyFromAmong("auto", "none");
        var command = new Argument<string[]>("command") { Description = "the cortado command to run on every rank, after '--'", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("launch", "run a cortado command on N ranks with Open MPI (data-parallel training, distributed benchmarks)") { ranks, hostfile, bindTo, command };
        cmd.SetAction(p =>
        {
            var args = p.GetValue(command) ?? [];
            var program = SelfCommand();
            var result = MpiLauncher.Run(p.GetValue(ranks), p.GetValue(hostfile), [.. program, .. args], bind: p.GetValue(bindTo) == "auto");
            Console.Out.Flush();
            foreach (var problem in result.Problems) Console.Error.WriteLine($"launch: {problem}");
            return result.ExitCode;
        });
        return cmd;
    }

    // How to start this same program again: the apphost, or `dotnet cortado.dll`.
    private static string[] SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new DistributedException("cannot tell which program to launch: the process path is unknown");
        var name = Path.GetFileNameWithoutExtension(process);
        return name == "dotnet" ? [process, typeof(LaunchCommand).Assembly.Location] : [process];
    }
}
