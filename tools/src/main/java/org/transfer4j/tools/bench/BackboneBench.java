package org.transfer4j.tools.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** bench.jar backbone (being built; see its issue). */
@Command(name = "backbone", mixinStandardHelpOptions = true, description = "Not built yet.")
public final class BackboneBench implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("bench backbone is not built yet");
    }
}
