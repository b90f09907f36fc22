package org.transfer4j.tools.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** bench.jar head (being built; see its issue). */
@Command(name = "head", mixinStandardHelpOptions = true, description = "Not built yet.")
public final class HeadBench implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("bench head is not built yet");
    }
}
