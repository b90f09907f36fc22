package org.transfer4j.head.train;

import com.sun.jna.Function;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.logging.Logger;
import org.bytedeco.javacpp.Loader;

/**
 * Picks the fastest nd4j-native build on the class path for this CPU, before ND4J loads its native library.
 *
 * <p>nd4j-native ships CPU-specific builds as Maven classifiers ({@code linux-x86_64-avx2},
 * {@code linux-x86_64-avx512}). Without the system property {@value #PROPERTY}, JavaCPP loads the first such build
 * it finds on the class path without asking whether the CPU can run it (an avx512 build on an AVX2 CPU dies with
 * SIGILL), so whenever such a build is on the class path the property is set here, to the best build the CPU
 * supports or to "" for the default one. Here the AVX2 build makes ND4J's Adam op 1.75× faster and a head epoch ~10%
 * faster (BENCHMARKS.md). The default build keeps working when no such jar is present (build with {@code -Pavx2}) or
 * the CPU lacks the instructions; a property already set by the user is respected.
 *
 * <p>It also picks OpenBLAS's kernels, which do the matrix products. The OpenBLAS that nd4j-native 1.0.0-M2.1 loads
 * (0.3.19) chooses them from the CPU model it recognises, and it does not know CPUs newer than itself: it runs AMD
 * Zen 4/5 with AVX-512 on its AVX2 ("Haswell") kernels. Its AVX-512 ("SkylakeX") kernels made the head's 64×2048 by
 * 2048×512 products 2.3× faster on such a CPU (BENCHMARKS.md). OpenBLAS reads its choice only from the environment
 * variable {@value #CORETYPE} when it loads, so when the CPU has the AVX-512 subsets those kernels use and the
 * variable is not set, it is set in this process (libc {@code setenv} through JNA, before ND4J loads OpenBLAS). Set
 * {@value #CORETYPE} yourself (e.g. {@code Haswell}) to choose otherwise.
 *
 * <p>Weights are bit-identical between runs with the same build and kernels; a different build or kernel choice may
 * differ in the last bits.
 */
public final class Nd4jBinaries {
    static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
    static final String CORETYPE = "OPENBLAS_CORETYPE";
    /** OpenBLAS's AVX-512 kernels and the CPU flags they execute (its own check for SkylakeX). */
    static final String AVX512_KERNELS = "SkylakeX";
    private static final Set<String> AVX512_KERNEL_FLAGS = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq",
            "avx512vl");
    private static final Logger LOG = Logger.getLogger(Nd4jBinaries.class.getName());
    private static final String LIBRARY = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64%s/libnd4jcpu.so";
    /** Fastest first, each with the CPU flags (from /proc/cpuinfo) its build needs. */
    private static final List<Candidate> CANDIDATES = List.of(
            new Candidate("-avx512", Set.of("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma")),
            new Candidate("-avx2", Set.of("avx2", "fma")));
    private static String chosen;
    private static String kernels;

    private record Candidate(String extension, Set<String> cpuFlags) {
    }

    private Nd4jBinaries() {
    }

    /**
     * Sets {@value #PROPERTY} to the best build for this CPU that is on the class path, once per JVM; has no
     * effect after ND4J has loaded. Returns the extension in force ("" for the default build).
     */
    public static synchronized String select() {
        if (chosen == null) {
            String current = System.getProperty(PROPERTY);
            boolean linuxX64 = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
                    && List.of("amd64", "x86_64").contains(System.getProperty("os.arch", ""));
            Predicate<String> onClassPath = ext ->
                    Nd4jBinaries.class.getClassLoader().getResource(String.format(LIBRARY, ext)) != null;
            chosen = choose(current, linuxX64 ? cpuFlags() : Set.of(), onClassPath);
            boolean specificBuildPresent = CANDIDATES.stream().anyMatch(c -> onClassPath.test(c.extension()));
            if (current == null && specificBuildPresent) {
                // Set even for the default build: without it JavaCPP loads the first CPU-specific build it finds,
                // whether or not the CPU can run it (SIGILL on an AVX2 machine with the avx512 jar present). Without
                // such a jar nothing is set, so other JavaCPP libraries keep their own extensions.
                System.setProperty(PROPERTY, chosen);
                // JavaCPP copies the system properties once; if some JavaCPP library loaded first, update its copy.
                Loader.loadProperties().setProperty("platform.extension", chosen);
                if (Loader.getLoadedLibraries().keySet().stream().anyMatch(l -> l.contains("nd4jcpu"))) {
                    LOG.warning("nd4j-native was loaded before the build was chosen; linux-x86_64" + chosen
                            + " takes effect in the next JVM");
                }
                LOG.fine(() -> "nd4j-native: using the linux-x86_64" + chosen + " build");
            }
            kernels = selectKernels(linuxX64 ? cpuFlags() : Set.of());
        }
        return chosen;
    }

    /** OpenBLAS's kernel family in force: {@value #CORETYPE} (as set by the user or by {@link #select()}), or null. */
    public static synchronized String blasKernels() {
        select();
        return kernels;
    }

    private static String selectKernels(Set<String> cpuFlags) {
        String user = System.getenv(CORETYPE);
        String wanted = chooseKernels(user, cpuFlags);
        if (wanted == null || wanted.equals(user)) {
            return user;
        }
        if (Loader.getLoadedLibraries().keySet().stream().anyMatch(l -> l.contains("openblas"))) {
            LOG.fine("OpenBLAS was loaded before its kernels were chosen; it keeps its own choice");
            return null;
        }
        try {
            int rc = Function.getFunction("c", "setenv").invokeInt(new Object[] {CORETYPE, wanted, 0});
            if (rc != 0) {
                LOG.fine(() -> "setenv " + CORETYPE + " failed (" + rc + "); OpenBLAS keeps its own choice");
                return null;
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.fine(() -> "cannot set " + CORETYPE + " (" + e + "); OpenBLAS keeps its own choice");
            return null;
        }
        LOG.fine(() -> "OpenBLAS: " + CORETYPE + "=" + wanted);
        return wanted;
    }

    /**
     * The decision, without side effects: the user's {@value #CORETYPE} if set, else the AVX-512 kernels when the CPU
     * has what they execute, else null (OpenBLAS decides).
     */
    static String chooseKernels(String user, Set<String> cpuFlags) {
        if (user != null && !user.isBlank()) {
            return user;
        }
        return cpuFlags.containsAll(AVX512_KERNEL_FLAGS) ? AVX512_KERNELS : null;
    }

    /**
     * The decision, without side effects: the user's setting if any, else the first candidate whose CPU flags are
     * all present and whose library is on the class path, else "".
     */
    static String choose(String current, Set<String> cpuFlags, Predicate<String> onClassPath) {
        if (current != null) {
            return current;
        }
        for (Candidate c : CANDIDATES) {
            if (cpuFlags.containsAll(c.cpuFlags()) && onClassPath.test(c.extension())) {
                return c.extension();
            }
        }
        return "";
    }

    /** The "flags" line of /proc/cpuinfo; empty when it cannot be read. */
    static Set<String> cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    int colon = line.indexOf(':');
                    return new HashSet<>(List.of(line.substring(colon + 1).trim().split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.fine(() -> "cannot read CPU flags: " + e);
        }
        return Set.of();
    }
}
