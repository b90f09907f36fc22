package org.transfer4j.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.transfer4j.Transfer4jException;
import org.transfer4j.backbone.extract.Device;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * The one place that turns a picocli command into a process: parses, runs, and maps failures to one clear line on
 * stderr and an exit code, the same way in all five jars. Expected problems (bad input, missing files, model or cache
 * errors) print {@code error: <message>} without a stack trace; set {@code -Dtransfer4j.debug=true} to see the trace.
 *
 * <p>Exit codes: 0 done, 1 the work failed (the message says why), 2 bad usage (unknown flag, bad value, out of
 * range: one {@code error:} line and a hint to {@code --help}, not the whole usage).
 *
 * <p>Every command also gets {@code --verbose} (library debug lines, such as which device inference runs on) and a
 * {@code --version} that prints the project version; library log lines print as {@code warning: ...} like ours.
 */
public final class Cli {
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    static final String VERBOSE = "--verbose";
    /** "predictor option 'topK' is 0; allowed: 1..10000" and friends: how the library's option checks read. */
    private static final Pattern OPTION_ERROR = Pattern.compile("(?:[a-z]+ )?option '([\\w-]+)' is (.*)");
    /** A message about one of the command's flags, which commands start with the flag. */
    private static final Pattern FLAG_MESSAGE = Pattern.compile("--[a-z][a-z0-9-]*[ :]");
    private static final Logger PROJECT_LOG = Logger.getLogger("org.transfer4j");

    private Cli() {
    }

    /** Runs {@code command} with {@code args} and exits the JVM with its code. */
    public static void main(Object command, String[] args) {
        System.exit(run(command, args));
    }

    /** Runs {@code command} with {@code args} and returns the exit code (for tests). */
    public static int run(Object command, String[] args) {
        CommandLine cl = new CommandLine(command);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        prepare(cl);
        cl.setExecutionExceptionHandler(Cli::handle);
        cl.setParameterExceptionHandler(Cli::usageError);
        cl.setExecutionStrategy(parsed -> {
            configureLogging(parsed.subcommands().isEmpty() ? parsed.hasMatchedOption(VERBOSE)
                    : anyVerbose(parsed));
            return new CommandLine.RunLast().execute(parsed);
        });
        return cl.execute(args);
    }

    private static boolean anyVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption(VERBOSE)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The same conventions on every command and subcommand: {@code --verbose}, a version, and option placeholders
     * named after the option ({@code --seconds=SECONDS}) where the command did not name them.
     */
    private static void prepare(CommandLine cl) {
        CommandSpec spec = cl.getCommandSpec();
        spec.versionProvider(() -> new String[] {spec.qualifiedName() + " " + version() + " (transfer4j; Java "
                + System.getProperty("java.version") + ")"});
        List<OptionSpec> options = new ArrayList<>(spec.options());
        int first = 0;
        while (first < options.size() && !placeholder(options.get(first))) {
            first++;
        }
        // Re-added from the first placeholder on, so the help keeps the declared order.
        for (OptionSpec o : options.subList(first, options.size())) {
            spec.remove(o);
        }
        for (OptionSpec o : options.subList(first, options.size())) {
            String label = o.paramLabel();
            spec.addOption(!placeholder(o) ? o : o.toBuilder().paramLabel(label.substring(1, label.length() - 1)
                    .replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT)).build());
        }
        spec.usageMessage().footer(wrapExamples(spec.usageMessage().footer(), spec.usageMessage().width()));
        if (spec.findOption(VERBOSE) == null) {
            spec.addOption(OptionSpec.builder(VERBOSE).arity("0")
                    .description("Also print library debug lines (e.g. the device inference runs on).").build());
        }
        cl.getSubcommands().values().forEach(Cli::prepare);
    }

    /**
     * Example commands in a help footer broken between words with a shell continuation ({@code \\}) where picocli
     * would otherwise wrap them mid-command, so each example can still be copied and pasted whole.
     */
    static String[] wrapExamples(String[] footer, int width) {
        List<String> out = new ArrayList<>();
        for (String line : footer) {
            if (!line.startsWith("  java ") || line.length() <= width) {
                out.add(line);
                continue;
            }
            StringBuilder current = new StringBuilder("  java");
            for (String word : line.substring("  java ".length()).split(" ")) {
                if (current.length() + 1 + word.length() > width - 2) {
                    out.add(current + " \\");
                    current = new StringBuilder("     ");
                }
                current.append(' ').append(word);
            }
            out.add(current.toString());
        }
        return out.toArray(String[]::new);
    }

    /** An option taking a value whose placeholder picocli made from the field name ({@code <seconds>}). */
    private static boolean placeholder(OptionSpec o) {
        return o.arity().max() > 0 && o.paramLabel().startsWith("<") && o.paramLabel().endsWith(">");
    }

    /** The project version, written into {@code version.properties} by the build. */
    static String version() {
        try (InputStream in = Cli.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            }
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown (no version.properties on the class path)";
    }

    /**
     * Library log lines as one lower-case line each on the current stderr ({@code warning: ...}), like the lines the
     * programs print themselves; {@code --verbose} adds debug lines. A user's own logging configuration
     * ({@code -Djava.util.logging.config.file}) is left alone.
     */
    static synchronized void configureLogging(boolean verbose) {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        Logger root = LogManager.getLogManager().getLogger("");
        for (Handler h : root.getHandlers()) {
            if (h instanceof java.util.logging.ConsoleHandler || h instanceof StderrHandler) {
                root.removeHandler(h);
            }
        }
        StderrHandler handler = new StderrHandler();
        handler.setLevel(verbose ? Level.FINE : Level.INFO);
        root.addHandler(handler);
        PROJECT_LOG.setLevel(verbose ? Level.FINE : null);
    }

    /** Writes to whatever {@code System.err} is at the time (so in-process runs capture it too). */
    private static final class StderrHandler extends Handler {
        @Override
        public void publish(LogRecord r) {
            if (!isLoggable(r)) {
                return;
            }
            int level = r.getLevel().intValue();
            String word = level >= Level.SEVERE.intValue() ? "error" : level >= Level.WARNING.intValue() ? "warning"
                    : level >= Level.INFO.intValue() ? "info" : "debug";
            String message = r.getMessage();
            if (r.getParameters() != null && r.getParameters().length > 0) {
                message = java.text.MessageFormat.format(message, r.getParameters());
            }
            System.err.println(word + ": " + message + (r.getThrown() != null ? " (" + r.getThrown() + ")" : ""));
            System.err.flush();
        }

        @Override
        public void flush() {
            System.err.flush();
        }

        @Override
        public void close() {
        }
    }

    /** Bad usage: the one error line and where to read more; exit 2. */
    private static int usageError(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        String message = e.getMessage();
        if (e instanceof CommandLine.MissingParameterException && cl.getParseResult() != null
                && !cl.getParseResult().unmatched().isEmpty()) {
            message = "unknown option: '" + cl.getParseResult().unmatched().get(0) + "'";
        }
        err.println("error: " + lowerFirst(message));
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            err.println("did you mean " + String.join(" or ", u.getSuggestions()) + "?");
        }
        err.println("run '" + commandName(cl) + " --help' for the options and examples");
        err.flush();
        return EXIT_USAGE;
    }

    private static String commandName(CommandLine cl) {
        String q = cl.getCommandSpec().qualifiedName(" ");
        int space = q.indexOf(' ');
        String jar = (space < 0 ? q : q.substring(0, space)) + ".jar";
        return "java -jar " + jar + (space < 0 ? "" : q.substring(space));
    }

    private static String lowerFirst(String s) {
        if (s == null || s.isEmpty()) {
            return "bad usage";
        }
        if (s.length() > 1 && Character.isUpperCase(s.charAt(0)) && Character.isLowerCase(s.charAt(1))) {
            return Character.toLowerCase(s.charAt(0)) + s.substring(1);
        }
        return s;
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (Boolean.getBoolean("transfer4j.debug")) {
            e.printStackTrace(err);
        }
        Throwable shown = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (shown instanceof IllegalArgumentException && shown.getMessage() != null
                && FLAG_MESSAGE.matcher(shown.getMessage()).lookingAt()) {
            // A command's own check of its flags ("--seconds is 0; allowed: ..."): bad usage, not a failed run.
            return usageError(new ParameterException(cl, shown.getMessage(), shown), new String[0]);
        }
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

    // ------------------------------------------------------------------------------------------ flag checks

    /** A usage error (exit 2) about {@code flag}: {@code --batch is 0; allowed: 1..4096}. */
    static ParameterException badValue(CommandSpec spec, String flag, Object value, String allowed) {
        return new ParameterException(spec.commandLine(), flag + " is " + value + "; allowed: " + allowed);
    }

    /** Checks {@code min <= value <= max} for {@code flag}, else a usage error naming the flag. */
    static void range(CommandSpec spec, String flag, long value, long min, long max, String allowed) {
        if (value < min || value > max) {
            throw badValue(spec, flag, value, allowed);
        }
    }

    /**
     * Parses a flag's text with the library's own parser ({@code Device.parse}, {@code Dtype.parse}, ...): its
     * message, prefixed with the flag, becomes a usage error instead of a failure of the work.
     */
    static <T> T parse(CommandSpec spec, String flag, Callable<T> parser) {
        try {
            return parser.call();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), flag + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The {@code --device} flag's value, every program the same way; a bad one is a usage error (exit 2). */
    public static Device device(String text) {
        try {
            return Device.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--device: " + e.getMessage(), e);
        }
    }

    /** A library call that takes the command's flags as options (no checked exceptions but the library's). */
    @FunctionalInterface
    interface OptionsCall<T> {
        T call() throws Exception;
    }

    /**
     * Runs {@code call}; when the library refuses one of its options ({@code predictor option 'topK' is 0; allowed:
     * 1..10000}) and {@code flags} maps that option to a flag, the refusal becomes a usage error that names the flag
     * ({@code --top is 0; allowed: 1..10000}). The ranges stay in one place, the library.
     */
    static <T> T withFlags(CommandSpec spec, Map<String, String> flags, OptionsCall<T> call) throws Exception {
        try {
            return call.call();
        } catch (IllegalArgumentException e) {
            Matcher m = OPTION_ERROR.matcher(e.getMessage() == null ? "" : e.getMessage());
            if (m.find() && flags.containsKey(m.group(1))) {
                throw new ParameterException(spec.commandLine(), flags.get(m.group(1)) + " is " + m.group(2), e);
            }
            throw e;
        }
    }

    /** The flags of a command line, quoted for a POSIX shell where needed (for reports that show the command). */
    static String shellCommand(String program, String[] args) {
        List<String> parts = new ArrayList<>(List.of("java", "-jar", program));
        for (String a : args) {
            parts.add(a.matches("[\\w@%+=:,./-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", parts);
    }
}
