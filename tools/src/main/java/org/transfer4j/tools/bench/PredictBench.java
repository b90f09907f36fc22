package org.transfer4j.tools.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** bench.jar predict (being built; see its issue). */
@Command(name = "predict", mixinStandardHelpOptions = true, description = "Not built yet.")
public final class PredictBench implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("bench predict is not built yet");
    }
}
