package org.transfer4j.tools;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One in-process run of a picocli command through {@link Cli#run}, with what it printed. Shared by the tools tests so
 * each does not carry its own stream-capturing helper.
 *
 * @param code the exit code {@link Cli#run} returned
 * @param out everything written to {@code System.out} during the run
 * @param err everything written to {@code System.err} during the run
 */
public record CliRun(int code, String out, String err) {

    /**
     * Runs {@code command} with {@code args}, capturing stdout and stderr. Synchronized because {@code System.out} and
     * {@code System.err} are process-wide: two concurrent runs would mix their output. The previous streams are
     * restored even when the command throws.
     */
    public static synchronized CliRun run(Object command, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Cli.run(command, args);
            return new CliRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The last line of stdout parsed as a JSON object (the {@code --json} summary of extract and friends). */
    public JsonObject json() {
        String[] lines = out.strip().split("\n");
        return JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
    }

    /** Stdout split into lines; empty when nothing was printed. */
    public List<String> outLines() {
        return out.isBlank() ? List.of() : List.of(out.strip().split("\\R"));
    }
}
