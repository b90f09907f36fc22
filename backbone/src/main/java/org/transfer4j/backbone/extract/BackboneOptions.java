package org.transfer4j.backbone.extract;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.transfer4j.backbone.spec.BackboneSpec;

/**
 * How to open a {@link Backbone}: device, threads and (optionally) the spec to use instead of the model's own.
 * Validated once, here; the messages name the option, the value and what is allowed.
 *
 * @param device          where to run ({@link Device#AUTO} by default)
 * @param intraOpThreads  ONNX Runtime intra-op threads, 1..1024; default: available processors. When images are
 *                        decoded on the same cores, give ORT fewer threads than cores or turn spinning off
 * @param spec            a spec that overrides the sidecar and the model metadata, or null
 * @param specFile        a spec JSON file that overrides the sidecar and the model metadata, or null (not both)
 * @param allowSpinning   whether idle ORT worker threads busy-wait for work. Spinning shaves a little latency off
 *                        each operator but burns the cores that decode threads need; off by default
 * @param sessionConfig   extra ONNX Runtime session config entries (advanced; e.g.
 *                        {@code session.set_denormal_as_zero=1}), applied after ours so they win
 */
public record BackboneOptions(Device device, int intraOpThreads, BackboneSpec spec, Path specFile,
        boolean allowSpinning, Map<String, String> sessionConfig) {

    public BackboneOptions {
        Objects.requireNonNull(device, "device");
        if (intraOpThreads < 1 || intraOpThreads > 1024) {
            throw new IllegalArgumentException("backbone option 'intraOpThreads' is " + intraOpThreads
                    + "; allowed: 1..1024 (this machine has " + Runtime.getRuntime().availableProcessors()
                    + " processors)");
        }
        if (spec != null && specFile != null) {
            throw new IllegalArgumentException("backbone options 'spec' and 'specFile' are both set (spec file "
                    + specFile + "); give one of them");
        }
        sessionConfig = sessionConfig == null ? Map.of() : Map.copyOf(sessionConfig);
        for (var e : sessionConfig.entrySet()) {
            if (e.getKey().isBlank() || !e.getKey().contains(".")) {
                throw new IllegalArgumentException("backbone option 'sessionConfig' has key '" + e.getKey()
                        + "'; allowed: ONNX Runtime config keys such as session.intra_op.allow_spinning");
            }
        }
    }

    /** CPU or GPU as available, all processors, the model's own spec. */
    public static BackboneOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options, to change a few and keep the rest (including {@code sessionConfig}). */
    public Builder toBuilder() {
        Builder b = new Builder().optDevice(device).optIntraOpThreads(intraOpThreads).optSpec(spec)
                .optSpecFile(specFile).optAllowSpinning(allowSpinning);
        b.sessionConfig.putAll(sessionConfig);
        return b;
    }

    /** A copy with a different device. */
    public BackboneOptions withDevice(Device d) {
        return new BackboneOptions(d, intraOpThreads, spec, specFile, allowSpinning, sessionConfig);
    }

    /** Builder with optional settings only; {@link #build()} validates. */
    public static final class Builder {
        private Device device = Device.AUTO;
        private int intraOpThreads = Runtime.getRuntime().availableProcessors();
        private BackboneSpec spec;
        private Path specFile;
        private boolean allowSpinning;
        private final Map<String, String> sessionConfig = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder optDevice(Device d) {
            this.device = d;
            return this;
        }

        /** Same as {@code optDevice(Device.parse(text))}: auto, cpu, cuda or cuda:N. */
        public Builder optDevice(String text) {
            this.device = Device.parse(text);
            return this;
        }

        public Builder optIntraOpThreads(int n) {
            this.intraOpThreads = n;
            return this;
        }

        public Builder optSpec(BackboneSpec s) {
            this.spec = s;
            return this;
        }

        public Builder optSpecFile(Path file) {
            this.specFile = file;
            return this;
        }

        public Builder optAllowSpinning(boolean allow) {
            this.allowSpinning = allow;
            return this;
        }

        /** An extra ONNX Runtime session config entry (advanced; see ORT's onnxruntime_session_options_config_keys.h). */
        public Builder optSessionConfig(String key, String value) {
            this.sessionConfig.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public BackboneOptions build() {
            return new BackboneOptions(device, intraOpThreads, spec, specFile, allowSpinning, sessionConfig);
        }
    }
}
