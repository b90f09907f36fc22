package org.transfer4j.tools.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CPU features that decide which ONNX Runtime / OpenBLAS kernels run (and so what a figure means), as
 * {@code /proc/cpuinfo} lists them. Every bench prints them: these machines change CPUs between sessions.
 */
final class CpuFlags {
    /** The flags that matter for fp32 and int8 inference and training kernels. */
    static final List<String> RELEVANT = List.of("sse4_2", "fma", "avx2", "avx512f", "avx512bw", "avx512_vnni",
            "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16");

    private CpuFlags() {
    }

    /** The relevant flags of the first CPU in {@code cpuinfo}, in {@link #RELEVANT}'s order; empty if unreadable. */
    static List<String> relevant(Path cpuinfo) {
        List<String> lines;
        try {
            lines = Files.readAllLines(cpuinfo);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        Set<String> flags = new TreeSet<>();
        for (String line : lines) {
            if (line.startsWith("flags")) {
                int colon = line.indexOf(':');
                flags.addAll(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
                break;
            }
        }
        return RELEVANT.stream().filter(flags::contains).toList();
    }

    /** This machine's relevant flags, joined by spaces (Linux; empty elsewhere). */
    static String here() {
        return String.join(" ", relevant(Path.of("/proc/cpuinfo")));
    }
}
