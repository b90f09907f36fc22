package org.transfer4j.head;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;

class HeadFilesTest {
    @TempDir
    Path dir;

    static BackboneSpec spec(int dim) {
        return Preset.TORCH.spec("input", Layout.NCHW, 224, 224).withFeatureDim(dim)
                .withModelSha256("ab".repeat(32));
    }

    static HeadWeights random(int d, int h, int k, long seed) {
        Random r = new Random(seed);
        float[] w1 = new float[d * h];
        float[] b1 = new float[h];
        float[] w2 = new float[(h == 0 ? d : h) * k];
        float[] b2 = new float[k];
        for (float[] a : List.of(w1, b1, w2, b2)) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        List<String> classes = new java.util.ArrayList<>();
        for (int i = 0; i < k; i++) {
            classes.add("class " + i);
        }
        return new HeadWeights(classes, d, h, w1, b1, w2, b2, spec(d));
    }

    static HeadInfo info() {
        return new HeadInfo(TrainingConfig.defaults().withEpochs(7), 5, 3,
                new Provenance("/c/train", "cd".repeat(32), null, null, Map.of("java", "17"), "2026-01-01T00:00:00Z"));
    }

    @Test
    void roundTripsWithHiddenLayer() throws Exception {
        HeadWeights w = random(6, 4, 3, 1);
        HeadFiles.write(dir, w, info());
        HeadFiles.Contents back = HeadFiles.read(dir);
        assertWeightsEqual(w, back.weights());
        assertEquals(info(), back.info());
        long expected = 24 + 4L * (6 * 4 + 4 + 4 * 3 + 3) + 4;
        assertEquals(expected, Files.size(dir.resolve(HeadFiles.BIN_FILE)));
        String json = Files.readString(dir.resolve(HeadFiles.JSON_FILE));
        assertTrue(json.contains("\"backboneSha256\": \"" + "ab".repeat(32) + "\""), json);
        assertTrue(json.contains("\"bestEpoch\": 3"), json);
    }

    @Test
    void roundTripsSoftmaxRegression() throws Exception {
        HeadWeights w = random(5, 0, 2, 2);
        HeadFiles.write(dir, w, null);
        HeadFiles.Contents back = HeadFiles.read(dir);
        assertWeightsEqual(w, back.weights());
        assertEquals(0, back.weights().hidden());
    }

    @Test
    void binLayoutIsLittleEndianInDocumentedOrder() throws Exception {
        HeadWeights w = random(2, 3, 2, 3);
        byte[] bin = HeadFiles.encodeWeights(w);
        ByteBuffer b = ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("T4JHEAD", new String(bin, 0, 7, StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt(8));
        assertEquals(2, b.getInt(12));
        assertEquals(3, b.getInt(16));
        assertEquals(2, b.getInt(20));
        assertEquals(w.w1()[0], b.getFloat(24));
        assertEquals(w.b1()[0], b.getFloat(24 + 4 * 6));
        assertEquals(w.w2()[0], b.getFloat(24 + 4 * 9));
        assertEquals(w.b2()[1], b.getFloat(24 + 4 * 16));
    }

    @Test
    void refusesUnknownJsonVersion() throws Exception {
        HeadFiles.write(dir, random(3, 2, 2, 4), info());
        Path json = dir.resolve(HeadFiles.JSON_FILE);
        Files.writeString(json, Files.readString(json).replace("\"formatVersion\": 1", "\"formatVersion\": 2"));
        var e = assertThrows(ModelException.class, () -> HeadFiles.read(dir));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("head format version 2"), e.getMessage());
    }

    @Test
    void refusesUnknownBinVersion() throws Exception {
        HeadWeights w = random(3, 2, 2, 5);
        byte[] bin = HeadFiles.encodeWeights(w);
        bin[8] = 9;
        var e = assertThrows(ModelException.class, () -> HeadFiles.decodeWeights(bin, Path.of("x/head.bin"),
                w.classes(), w.spec()));
        assertEquals(ModelException.Reason.INCOMPATIBLE, e.reason());
        assertTrue(e.getMessage().contains("head.bin format version 9"), e.getMessage());
    }

    @Test
    void detectsDamageAndMismatchedPairs() throws Exception {
        HeadFiles.write(dir, random(3, 2, 2, 6), info());
        Path bin = dir.resolve(HeadFiles.BIN_FILE);
        byte[] bytes = Files.readAllBytes(bin);
        bytes[30] ^= 1;
        Files.write(bin, bytes);
        var e = assertThrows(ModelException.class, () -> HeadFiles.read(dir));
        assertTrue(e.getMessage().contains("differs from"), e.getMessage());
        var crc = assertThrows(ModelException.class, () -> HeadFiles.decodeWeights(bytes, bin, List.of("a", "b"),
                spec(3)));
        assertTrue(crc.getMessage().contains("CRC-32"), crc.getMessage());
    }

    @Test
    void missingFolderSaysWhatAHeadIs() {
        var e = assertThrows(ModelException.class, () -> HeadFiles.read(dir.resolve("nope")));
        assertEquals(ModelException.Reason.NOT_FOUND, e.reason());
        assertTrue(e.getMessage().contains("train-head.jar"), e.getMessage());
    }

    static void assertWeightsEqual(HeadWeights a, HeadWeights b) {
        assertEquals(a.classes(), b.classes());
        assertEquals(a.featureDim(), b.featureDim());
        assertEquals(a.hidden(), b.hidden());
        assertArrayEquals(a.w1(), b.w1());
        assertArrayEquals(a.b1(), b.b1());
        assertArrayEquals(a.w2(), b.w2());
        assertArrayEquals(a.b2(), b.b2());
        assertEquals(a.spec(), b.spec());
    }
}
