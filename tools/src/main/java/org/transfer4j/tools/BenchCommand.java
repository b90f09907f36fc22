package org.transfer4j.tools;

import org.transfer4j.tools.bench.BackboneBench;
import org.transfer4j.tools.bench.HeadBench;
import org.transfer4j.tools.bench.PredictBench;
import org.transfer4j.tools.bench.ServeBench;
import picocli.CommandLine.Command;

/** bench.jar: the benchmark harness. Each subcommand prints one JSON line; see BENCHMARKS.md for recorded runs. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: backbone inference, head training, composed-model latency, HTTP serving.",
        subcommands = {BackboneBench.class, HeadBench.class, PredictBench.class, ServeBench.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        Cli.main(new BenchCommand(), args);
    }
}
