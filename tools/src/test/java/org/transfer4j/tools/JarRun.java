package org.transfer4j.tools;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One of the programs run as its own JVM, the way {@code java -jar X.jar} runs it (the jar's main class on the test
 * classpath): what {@link Cli#main} does beyond {@link Cli#run} (the exit code through {@code System.exit}, logging
 * as the JVM starts it) is part of what is tested. Several runs can be started before waiting, so the default suite
 * pays for JVM start-ups side by side.
 *
 * @param code the process's exit code
 * @param out  its stdout
 * @param err  its stderr
 */
public record JarRun(int code, String out, String err) {
    /** The jar names and their main classes. */
    public static final List<String> JARS = List.of("extract", "train-head", "predict", "model", "bench");

    /** A started program; {@link #await} gives its result. */
    public static final class Started {
        private final Process process;
        private final Path out;
        private final Path err;
        private final String what;

        private Started(Process process, Path out, Path err, String what) {
            this.process = process;
            this.out = out;
            this.err = err;
            this.what = what;
        }

        public JarRun await() {
            try {
                if (!process.waitFor(120, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError("did not finish in 120 s: " + what);
                }
                return new JarRun(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** The main class of {@code jar} ({@code extract}, {@code train-head}, {@code predict}, {@code model}, {@code bench}). */
    static String mainClass(String jar) {
        return switch (jar) {
            case "extract" -> ExtractCommand.class.getName();
            case "train-head" -> TrainHeadCommand.class.getName();
            case "predict" -> PredictCommand.class.getName();
            case "model" -> ModelCommand.class.getName();
            case "bench" -> BenchCommand.class.getName();
            default -> throw new IllegalArgumentException("no jar " + jar);
        };
    }

    /** Starts {@code jar} with {@code args}; its output goes to files under {@code tmp}. */
    public static Started start(Path tmp, String jar, String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"), mainClass(jar)));
        cmd.addAll(List.of(args));
        try {
            Files.createDirectories(tmp);
            Path out = Files.createTempFile(tmp, jar, ".out");
            Path err = Files.createTempFile(tmp, jar, ".err");
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            return new Started(p, out, err, jar + " " + String.join(" ", args));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code jar} with {@code args} and waits. */
    public static JarRun run(Path tmp, String jar, String... args) {
        return start(tmp, jar, args).await();
    }

    /** Stderr split into lines; empty when nothing was printed. */
    public List<String> errLines() {
        return err.isBlank() ? List.of() : List.of(err.strip().split("\\R"));
    }

    /** For assertion messages: everything the program printed. */
    public String all() {
        return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
