package org.transfer4j.tools.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.testing.SharedData;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.ExtractCommand;
import org.transfer4j.tools.ModelCommand;
import org.transfer4j.tools.PredictCommand;
import org.transfer4j.tools.TrainHeadCommand;

/**
 * Issue 5 acceptance, the whole user path on real photos: extract hymenoptera train and val with the int8
 * MobileNetV2 features model, train a head, compose, then {@code predict --evaluate} on val gives exactly
 * train-head's {@code val_accuracy} (and its loss), with the composed model and with backbone + head. About a
 * minute on two cores, hence {@code long}.
 */
@Tag("long")
class PredictEndToEndTest {
    @TempDir
    Path dir;

    @Test
    void evaluateMatchesTrainHeadValAccuracy() throws Exception {
        Path bb = SharedData.require("models/mobilenetv2-12-int8/mobilenetv2-12-int8-features.onnx");
        Path data = SharedData.require("data/hymenoptera");
        Path val = data.resolve("val");
        String b = bb.toString();
        ok(CliRun.run(new ExtractCommand(), "--backbone", b, "--images", data.resolve("train")
                .toString(), "--out", dir.resolve("train").toString(), "--device", "cpu"));
        ok(CliRun.run(new ExtractCommand(), "--backbone", b, "--images", val.toString(), "--out",
                dir.resolve("val").toString(), "--device", "cpu"));
        Path head = dir.resolve("head");
        ok(CliRun.run(new TrainHeadCommand(), "--train", dir.resolve("train").toString(), "--val",
                dir.resolve("val").toString(), "--out", head.toString(), "--epochs", "8"));
        Path model = dir.resolve("model.onnx");
        ok(CliRun.run(new ModelCommand(), "compose", "--backbone", b, "--head", head.toString(),
                "--out", model.toString()));

        JsonObject metrics = JsonParser.parseString(Files.readString(head.resolve("metrics.json")))
                .getAsJsonObject();
        double valAccuracy = find(metrics, "val_accuracy");
        double valLoss = find(metrics, "val_loss");

        JsonObject composed = evaluate("--model", model.toString(), "--json", "--evaluate", val.toString());
        JsonObject twoPart = evaluate("--backbone", b, "--head", head.toString(), "--json", "--evaluate",
                val.toString());
        assertEquals(valAccuracy, composed.get("accuracy").getAsDouble(), 1e-12, composed.toString());
        assertEquals(valAccuracy, twoPart.get("accuracy").getAsDouble(), 1e-12, twoPart.toString());
        assertEquals(valLoss, composed.get("loss").getAsDouble(), 1e-4);
        assertEquals(0, composed.get("failed").getAsInt());
    }

    private static JsonObject evaluate(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--device";
        all[args.length + 1] = "cpu";
        CliRun r = CliRun.run(new PredictCommand(), all);
        ok(r);
        return JsonParser.parseString(r.out().strip()).getAsJsonObject();
    }

    private static void ok(CliRun r) {
        assertEquals(0, r.code(), r.err());
    }

    /** The first number under {@code key} anywhere in the metrics (the best epoch's, as train-head writes it). */
    private static double find(JsonObject o, String key) {
        if (o.has(key) && o.get(key).isJsonPrimitive()) {
            return o.get(key).getAsDouble();
        }
        for (var e : o.entrySet()) {
            if (e.getValue().isJsonObject()) {
                double v = find(e.getValue().getAsJsonObject(), key);
                if (!Double.isNaN(v)) {
                    return v;
                }
            }
        }
        return Double.NaN;
    }
}
