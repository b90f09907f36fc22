package org.transfer4j.serve;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import javax.imageio.ImageIO;
import org.transfer4j.ModelException;
import org.transfer4j.inference.PredictorTestModels;
import org.transfer4j.inference.Predictor;

/** A tiny composed model, images, and an HTTP client for the server tests. */
final class ServeTestKit {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private ServeTestKit() {
    }

    /** The inference tests' tiny composed model (16×16 input, 3 classes), loaded with batches of up to 8. */
    static Predictor predictor(Path dir) throws ModelException {
        PredictorTestModels.Tiny tiny = PredictorTestModels.small(dir);
        return Predictor.builder(tiny.composed()).optBatchSize(8).optThreads(1).optTopK(5).build();
    }

    /** A PNG of seeded colour noise, so different seeds get different predictions. */
    static byte[] png(long seed, int w, int h) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        // A per-image tint makes the classes differ between images, not only the noise.
        int tint = r.nextInt(0xFFFFFF);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (r.nextInt(0xFFFFFF) & 0x3F3F3F) | (tint & 0xC0C0C0));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static HttpResponse<String> post(URI uri, byte[] body, String... headers) throws IOException,
            InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(URI uri, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonObject json(HttpResponse<String> r) {
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** The value of an unlabelled series in a /metrics text, e.g. {@code transfer4j_batch_size_sum}. */
    static double metric(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).strip());
            }
        }
        throw new AssertionError("no series " + name + " in\n" + text);
    }
}
