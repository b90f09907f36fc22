package org.transfer4j.backbone.extract;

import java.util.Locale;

/**
 * Where inference runs. {@link #AUTO} uses CUDA when ONNX Runtime can add it: on the CPU-only build it runs on the
 * CPU with only a debug line (nothing went wrong), on the GPU build it falls back to the CPU with one info line; an
 * explicit {@link Cuda} that cannot be added is an error, because a user who asked for the GPU should not silently
 * get a CPU run that is ten times slower.
 */
public sealed interface Device permits Device.Auto, Device.Cpu, Device.Cuda {
    Device AUTO = new Auto();
    Device CPU = new Cpu();

    /** CUDA if this build has it and it can be added, else CPU. */
    record Auto() implements Device {
        @Override
        public String toString() {
            return "auto";
        }
    }

    /** ONNX Runtime's default CPU execution provider. */
    record Cpu() implements Device {
        @Override
        public String toString() {
            return "cpu";
        }
    }

    /**
     * The CUDA execution provider on one GPU.
     *
     * @param id CUDA device ordinal, &gt;= 0
     */
    record Cuda(int id) implements Device {
        public Cuda {
            if (id < 0) {
                throw new IllegalArgumentException("device 'cuda:" + id + "': the CUDA device id must be >= 0");
            }
        }

        @Override
        public String toString() {
            return id == 0 ? "cuda" : "cuda:" + id;
        }
    }

    static Device cuda(int id) {
        return new Cuda(id);
    }

    /** Parses {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N} (any case); the message lists the choices. */
    static Device parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "auto":
                return AUTO;
            case "cpu":
                return CPU;
            case "cuda":
            case "gpu":
                return new Cuda(0);
            default:
                break;
        }
        if (s.startsWith("cuda:")) {
            try {
                return new Cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
        }
        throw new IllegalArgumentException("device '" + text + "' is not known; choose auto, cpu, cuda or cuda:N"
                + " (N = CUDA device id, e.g. cuda:1)");
    }
}
