package org.transfer4j.head.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class Nd4jBinariesTest {
    private static final Set<String> AVX2 = Set.of("sse4_2", "avx", "avx2", "fma");
    private static final Set<String> AVX512 = Set.of("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq",
            "avx512vl");

    @Test
    void picksTheFastestBuildTheCpuAndClassPathAllow() {
        assertEquals("-avx512", Nd4jBinaries.choose(null, AVX512, ext -> true));
        assertEquals("-avx2", Nd4jBinaries.choose(null, AVX512, ext -> ext.equals("-avx2")));
        assertEquals("-avx2", Nd4jBinaries.choose(null, AVX2, ext -> true));
        // No AVX-512 instructions: the avx512 jar alone is not used.
        assertEquals("", Nd4jBinaries.choose(null, AVX2, ext -> ext.equals("-avx512")));
        assertEquals("", Nd4jBinaries.choose(null, Set.of("sse4_2", "avx"), ext -> true));
        assertEquals("", Nd4jBinaries.choose(null, AVX512, ext -> false));
    }

    @Test
    void respectsWhatTheUserSet() {
        assertEquals("", Nd4jBinaries.choose("", AVX512, ext -> true));
        assertEquals("-avx2", Nd4jBinaries.choose("-avx2", Set.of(), ext -> false));
    }

    @Test
    void picksOpenBlasAvx512KernelsOnlyWhenTheCpuHasThemAndTheUserSetNothing() {
        Set<String> zen5 = new java.util.HashSet<>(AVX512);
        zen5.add("avx512cd");
        assertEquals("SkylakeX", Nd4jBinaries.chooseKernels(null, zen5));
        assertEquals("SkylakeX", Nd4jBinaries.chooseKernels(" ", zen5));
        assertEquals("Haswell", Nd4jBinaries.chooseKernels("Haswell", zen5));
        assertEquals(null, Nd4jBinaries.chooseKernels(null, AVX512), "avx512cd missing");
        assertEquals(null, Nd4jBinaries.chooseKernels(null, AVX2));
    }

    @Test
    void kernelChoiceReachesOpenBlas() {
        // After select(), OpenBLAS sees the variable that was chosen (getenv in this process, not Java's snapshot).
        Nd4jBinaries.select();
        String kernels = Nd4jBinaries.blasKernels();
        if (kernels != null) {
            var getenv = com.sun.jna.Function.getFunction("c", "getenv");
            assertEquals(kernels, getenv.invokeString(new Object[] {Nd4jBinaries.CORETYPE}, false));
        }
        boolean avx512 = Nd4jBinaries.cpuFlags().containsAll(Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq",
                "avx512vl"));
        if (System.getenv(Nd4jBinaries.CORETYPE) == null && avx512) {
            assertEquals("SkylakeX", kernels);
        }
    }

    @Test
    void readsThisMachinesCpuFlags() {
        if (System.getProperty("os.name", "").toLowerCase().startsWith("linux")) {
            assertTrue(Nd4jBinaries.cpuFlags().contains("sse2"), "x86-64 always has SSE2: " + Nd4jBinaries.cpuFlags());
        }
    }

    @Test
    void selectionMatchesWhatIsOnTheClassPath() {
        // The default test class path has only the linux-x86_64 build (-Pavx2 / -Pavx512 add the others).
        String userSetting = System.getProperty(Nd4jBinaries.PROPERTY);
        String chosen = Nd4jBinaries.select();
        boolean avx2Jar = resource("-avx2");
        boolean avx512Jar = resource("-avx512");
        if (userSetting != null) {
            assertEquals(userSetting, chosen);
        } else if (!avx2Jar && !avx512Jar) {
            assertEquals("", chosen);
            assertEquals(null, System.getProperty(Nd4jBinaries.PROPERTY)); // left alone without such jars
        } else if (avx2Jar && Nd4jBinaries.cpuFlags().containsAll(Set.of("avx2", "fma"))) {
            assertTrue(chosen.equals("-avx2") || chosen.equals("-avx512"), chosen);
            assertEquals(chosen, System.getProperty(Nd4jBinaries.PROPERTY));
        }
    }

    private boolean resource(String extension) {
        return getClass().getClassLoader().getResource("org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64"
                + extension + "/libnd4jcpu.so") != null;
    }
}
