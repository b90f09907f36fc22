package org.transfer4j.backbone.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.transfer4j.backbone.extract.FeatureSink;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

/**
 * Stands in for FeatureExtractor in cache tests: features are a deterministic function of the file's bytes and the
 * view seed, and files starting with "BAD" fail to decode, so writer logic is tested without ONNX Runtime.
 */
final class FakeExtraction {
    static final int DIM = 6;

    private FakeExtraction() {
    }

    static BackboneSpec spec(String sha) {
        return Preset.TORCH.spec("input", Layout.NCHW, 32, 32).withModelSha256(sha).withFeatureDim(DIM);
    }

    static BackboneSpec spec() {
        return spec("a".repeat(64));
    }

    static float[] features(byte[] bytes, long viewSeed) {
        SplittableRandom r = new SplittableRandom(java.util.Arrays.hashCode(bytes) * 31L + viewSeed);
        float[] f = new float[DIM];
        for (int i = 0; i < DIM; i++) {
            f[i] = (float) (r.nextDouble() * 20 - 10);
        }
        return f;
    }

    /** Runs every task; stops after {@code limit} results (a simulated crash) when limit >= 0. */
    static int run(List<ImageTask> tasks, FeatureSink sink, int limit) throws IOException {
        int n = 0;
        for (ImageTask t : tasks) {
            if (limit >= 0 && n >= limit) {
                break;
            }
            byte[] bytes = Files.readAllBytes(t.path());
            if (bytes.length >= 3 && bytes[0] == 'B' && bytes[1] == 'A' && bytes[2] == 'D') {
                sink.failed(t, new ImageDecodeException(t.path().toString(), ImageDecodeException.Reason.CORRUPT,
                        "not an image"));
            } else {
                sink.accept(t, features(bytes, t.viewSeed()));
            }
            n++;
        }
        return n;
    }

    static void image(Path p, int content) throws IOException {
        Files.createDirectories(p.getParent());
        Files.write(p, ByteBuffer.allocate(64).putInt(content).putInt(p.getFileName().hashCode()).array());
    }
}
