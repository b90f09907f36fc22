package org.transfer4j.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.backbone.preprocess.Preprocessor;

/**
 * A child-JVM program for {@link PredictorSoakTest}: measurements that need a fresh process (resident memory, which
 * classes get loaded). Prints {@code key value} lines on stdout.
 *
 * <ul>
 *   <li>{@code soak MODEL N}: warm up, then N predictions; prints {@code rss_warm} and {@code rss_end} (kB)</li>
 *   <li>{@code leak MODEL N}: the same ORT runs done wrongly, never closing the Result; proves the RSS measurement
 *       sees a leak of that size</li>
 *   <li>{@code paths COMPOSED BACKBONE HEAD_DIR IMAGE}: the Predictor's whole path in both forms, for the class-load
 *       log</li>
 * </ul>
 */
public final class PredictorSoak {
    private PredictorSoak() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "soak" -> soak(Path.of(args[1]), Integer.parseInt(args[2]));
            case "leak" -> leak(Path.of(args[1]), Integer.parseInt(args[2]));
            case "paths" -> paths(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]), Path.of(args[4]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static List<RgbImage> images(int count) {
        Random r = new Random(5);
        List<RgbImage> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int w = 20 + r.nextInt(20);
            int h = 20 + r.nextInt(20);
            byte[] rgb = new byte[w * h * 3];
            r.nextBytes(rgb);
            out.add(new RgbImage(w, h, rgb));
        }
        return out;
    }

    private static void soak(Path model, int n) throws Exception {
        List<RgbImage> imgs = images(16);
        try (Predictor p = Predictor.builder(model).optDevice("cpu").optThreads(1).build()) {
            float checksum = 0;
            for (int i = 0; i < Math.max(2000, n / 5); i++) {
                checksum += p.predict(imgs.get(i % imgs.size())).probability();
            }
            settle();
            System.out.println("rss_warm " + rssKb());
            for (int i = 0; i < n; i++) {
                checksum += p.predict(imgs.get(i % imgs.size())).probability();
            }
            settle();
            System.out.println("rss_end " + rssKb());
            System.out.println("checksum " + checksum);
        }
    }

    /** The mistake the Predictor must not make: a Result (ORT-allocated output) never closed. */
    private static void leak(Path model, int n) throws Exception {
        List<RgbImage> imgs = images(16);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (Predictor p = Predictor.builder(model).optDevice("cpu").optThreads(1).build();
             OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model.toString(), so)) {
            Preprocessor pre = new Preprocessor(p.spec());
            var buf = Backbone.newBatchBuffer(p.spec(), 1);
            long[] shape = {1, 3, p.spec().height(), p.spec().width()};
            List<OrtSession.Result> leaked = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                p.predict(imgs.get(i % imgs.size()));
            }
            settle();
            System.out.println("rss_warm " + rssKb());
            for (int i = 0; i < n; i++) {
                pre.write(imgs.get(i % imgs.size()), buf, 0);
                try (OnnxTensor t = OnnxTensor.createTensor(env, buf, shape)) {
                    leaked.add(session.run(Map.of(p.spec().inputName(), t)));
                }
            }
            settle();
            System.out.println("rss_end " + rssKb());
            System.out.println("leaked " + leaked.size());
        }
    }

    private static void paths(Path composed, Path backbone, Path headDir, Path image) throws Exception {
        try (Predictor a = Predictor.load(composed);
             Predictor b = Predictor.load(backbone, headDir)) {
            System.out.println("composed " + a.predict(image));
            System.out.println("two_part " + b.predict(image));
            System.out.println("bytes " + a.predict(Files.readAllBytes(image)).label());
            System.out.println("all " + b.predictAll(List.of(image, image)).size());
        }
    }

    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(200);
    }

    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status (not Linux?)");
    }
}
