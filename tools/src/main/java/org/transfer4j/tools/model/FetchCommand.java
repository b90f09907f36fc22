package org.transfer4j.tools.model;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** model.jar fetch (being built; see the quickstart issue). */
@Command(name = "fetch", mixinStandardHelpOptions = true, description = "Not built yet.")
public final class FetchCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new IllegalStateException("model fetch is not built yet");
    }
}
