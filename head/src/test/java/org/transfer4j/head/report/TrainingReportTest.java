package org.transfer4j.head.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.eval.Evaluation;
import org.transfer4j.head.eval.EvaluationTestAccess;
import org.transfer4j.head.train.EpochStats;

class TrainingReportTest {
    @TempDir
    Path dir;

    @Test
    void writesMetricsCsvChartsAndHtml() throws Exception {
        var p = EvaluationTestAccess.sample();
        Evaluation e = Evaluation.of(p);
        List<EpochStats> history = List.of(new EpochStats(1, 1.0, 0.5, 0.9, 0.5, 1e-3, 0.1, true),
                new EpochStats(2, 0.7, 0.7, 0.6, 0.66, 1e-3, 0.1, true),
                new EpochStats(3, 0.5, 0.8, 0.7, 0.6, 1e-3, 0.1, false));
        TrainingReport.write(dir, new TrainingReport.Input(p.classes(), TrainingConfig.defaults(), history, 2, p, e,
                e, null, "/caches/train", "/caches/val"));
        var m = JsonParser.parseString(Files.readString(dir.resolve(TrainingReport.METRICS))).getAsJsonObject();
        for (String key : List.of("val_accuracy", "val_loss", "train_accuracy", "best_epoch", "per_class",
                "confusion_matrix", "history")) {
            assertTrue(m.has(key), "metrics.json lacks " + key);
        }
        assertEquals(4.0 / 6, m.get("val_accuracy").getAsDouble(), 1e-12);
        assertEquals(2, m.get("best_epoch").getAsInt());
        assertEquals(3, m.getAsJsonArray("history").size());
        assertEquals(2, m.getAsJsonObject("per_class").getAsJsonObject("bee").get("support").getAsInt());
        assertEquals("[[1,1,0],[0,2,0],[1,0,1]]", m.getAsJsonArray("confusion_matrix").toString());
        List<String> csv = Files.readAllLines(dir.resolve(TrainingReport.MISCLASSIFIED));
        assertEquals("path,true,predicted,probability", csv.get(0));
        assertEquals(3, csv.size());
        assertTrue(csv.contains("\"c, 2.jpg\",cat,ant,0.800000"), csv.toString());
        byte[] pngMagic = {(byte) 0x89, 'P', 'N', 'G'};
        for (String png : List.of(TrainingReport.CURVES, TrainingReport.CONFUSION)) {
            byte[] b = Files.readAllBytes(dir.resolve(png));
            assertArrayEquals(pngMagic, Arrays.copyOf(b, 4), png);
            assertTrue(b.length > 2000, png + " is " + b.length + " bytes");
        }
        String html = Files.readString(dir.resolve(TrainingReport.HTML));
        assertTrue(html.contains("<img src=\"curves.png\"") && html.contains("<img src=\"confusion.png\""));
        assertTrue(html.contains("c, 2.jpg"));
    }
}
