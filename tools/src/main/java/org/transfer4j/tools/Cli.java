package org.transfer4j.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import org.transfer4j.Transfer4jException;
import picocli.CommandLine;

/**
 * The one place that turns a picocli command into a process: parses, runs, and maps failures to one clear line on
 * stderr and an exit code. Expected problems (bad input, missing files, model or cache errors) print
 * {@code error: <message>} without a stack trace; set {@code -Dtransfer4j.debug=true} to see the trace.
 *
 * <p>Exit codes: 0 done, 1 failed (the message says why), 2 bad usage.
 */
public final class Cli {
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    private static final String LOG_FORMAT = "java.util.logging.SimpleFormatter.format";

    private Cli() {
    }

    /** Runs {@code command} with {@code args} and exits the JVM with its code. */
    public static void main(Object command, String[] args) {
        // Library log lines (e.g. "CUDA is not available; running on the CPU") as one line each, not the JDK's
        // two-line default with a timestamp; a user-supplied format wins.
        if (System.getProperty(LOG_FORMAT) == null) {
            System.setProperty(LOG_FORMAT, "%4$s: %5$s%6$s%n");
        }
        System.exit(run(command, args));
    }

    /** Runs {@code command} with {@code args} and returns the exit code (for tests). */
    public static int run(Object command, String[] args) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler(Cli::handle);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl.execute(args);
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (Boolean.getBoolean("transfer4j.debug")) {
            e.printStackTrace(err);
        }
        Throwable shown = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (shown instanceof Transfer4jException || shown instanceof IllegalArgumentException
                || shown instanceof IllegalStateException || shown instanceof IOException) {
            err.println("error: " + describe(shown));
            err.flush();
            return EXIT_FAILED;
        }
        err.println("error: unexpected " + shown.getClass().getSimpleName() + ": " + shown.getMessage()
                + " (rerun with -Dtransfer4j.debug=true for the stack trace)");
        err.flush();
        return EXIT_FAILED;
    }

    private static String describe(Throwable t) {
        if (t instanceof java.nio.file.NoSuchFileException n) {
            return "no such file: " + n.getFile();
        }
        if (t instanceof java.nio.file.AccessDeniedException a) {
            return "permission denied: " + a.getFile() + " (check that the folder is writable)";
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
