package org.transfer4j.tools;

import org.transfer4j.tools.bench.BackboneBench;
import org.transfer4j.tools.bench.HeadBench;
import org.transfer4j.tools.bench.StageBench;
import org.transfer4j.tools.bench.PredictBench;
import org.transfer4j.tools.bench.ServeBench;
import picocli.CommandLine.Command;

/** bench.jar: the benchmark harness. Each subcommand prints one JSON line; see BENCHMARKS.md for recorded runs. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: backbone inference, head training, composed-model latency, HTTP serving.",
        subcommands = {BackboneBench.class, HeadBench.class, StageBench.class, PredictBench.class, ServeBench.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** Without a subcommand there is nothing to do: bad usage (exit 2), with the list to choose from. */
    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "choose a subcommand: backbone, head, predict");
    }

    public static void main(String[] args) {
        Cli.main(new BenchCommand(), args);
    }
}
