package org.transfer4j.tools.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.CliRun;
import org.transfer4j.tools.TrainHeadCommand;

class TrainHeadCommandTest {
    static final String[] CLASSES = {"ants", "bees", "cats"};

    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.run(new TrainHeadCommand(), args);
    }

    Path cache(String name, String[] classes, int images, char sha) throws Exception {
        return TestCaches.write(tmp.resolve("img-" + name), tmp.resolve(name), classes, images, 24, 1, 8, sha,
                name.hashCode());
    }

    @Test
    void trainsAndWritesEveryOutput() throws Exception {
        Path train = cache("train", CLASSES, 30, 'a');
        Path val = cache("val", CLASSES, 12, 'a');
        Path head = tmp.resolve("head");
        CliRun r = run("--train", train.toString(), "--val", val.toString(), "--out", head.toString(), "--hidden", "16",
                "--epochs", "15", "--batch", "16", "--baseline", "logistic");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("epoch 1/15"), r.out());
        assertTrue(r.out().contains("baseline logistic-regression C="), r.out());
        for (String f : List.of("head.json", "head.bin", "metrics.json", "report.html", "curves.png",
                "confusion.png", "misclassified.csv")) {
            assertTrue(Files.size(head.resolve(f)) > 0, f);
        }
        assertTrue(Files.notExists(head.resolve("checkpoint.bin")), "checkpoint removed after success");
        var metrics = JsonParser.parseString(Files.readString(head.resolve("metrics.json"))).getAsJsonObject();
        assertTrue(metrics.get("val_accuracy").getAsDouble() >= 0.9, metrics.toString());
        assertEquals(36, metrics.get("val_rows").getAsInt(), "one row (view 0) per validation image");
        assertTrue(metrics.has("baseline"));
        var baseline = metrics.getAsJsonObject("baseline");
        assertTrue(baseline.get("scored_on").getAsString().startsWith(val.toString()), baseline.toString());
        assertTrue(baseline.get("scored_on").getAsString().contains("36 rows"), baseline.toString());
        assertEquals(10, baseline.getAsJsonArray("cv_grid").size(), baseline.toString());
        assertTrue(baseline.get("c").getAsDouble() > 0, baseline.toString());
        var h = HeadFiles.read(head);
        assertEquals(List.of(CLASSES), h.weights().classes());
        assertEquals("a".repeat(64), h.weights().spec().modelSha256());
        assertEquals(16, h.weights().hidden());
        assertEquals(train.toString(), h.info().provenance().trainCache());
        assertEquals(64, h.info().provenance().trainCacheSha256().length());
    }

    @Test
    void sameInputsAndSeedGiveByteIdenticalHeads() throws Exception {
        Path train = cache("train", CLASSES, 20, 'a');
        List<byte[]> bins = new ArrayList<>();
        for (String out : List.of("h1", "h2")) {
            CliRun r = run("--train", train.toString(), "--val-split", "0.25", "--out", tmp.resolve(out).toString(),
                    "--hidden", "32", "--epochs", "4", "--label-smoothing", "0.1", "--class-weights", "balanced",
                    "--seed", "7");
            assertEquals(0, r.code(), r.err());
            bins.add(Files.readAllBytes(tmp.resolve(out).resolve("head.bin")));
        }
        assertArrayEquals(bins.get(0), bins.get(1));
    }

    @Test
    void refusesOneClassAndMismatchedValidationCaches() throws Exception {
        // Two class folders, but every "bees" image failed to decode: the cache has rows of one class only.
        Path one = TestCaches.write(tmp.resolve("img-one"), tmp.resolve("one"), new String[] {"ants", "bees"}, 5,
                24, 0, 8, 'a', 1, "bees");
        CliRun r1 = run("--train", one.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(Cli.EXIT_FAILED, r1.code());
        assertTrue(r1.err().contains("error: ") && r1.err().contains("one class only"), r1.err());

        Path train = cache("train", CLASSES, 6, 'a');
        Path otherClasses = cache("val2", new String[] {"ants", "bees", "dogs"}, 4, 'a');
        CliRun r2 = run("--train", train.toString(), "--val", otherClasses.toString(), "--out",
                tmp.resolve("y").toString());
        assertEquals(Cli.EXIT_FAILED, r2.code());
        assertTrue(r2.err().contains("classes") && r2.err().contains("dogs"), r2.err());

        Path otherBackbone = cache("val3", CLASSES, 4, 'b');
        CliRun r3 = run("--train", train.toString(), "--val", otherBackbone.toString(), "--out",
                tmp.resolve("z").toString());
        assertEquals(Cli.EXIT_FAILED, r3.code());
        assertTrue(r3.err().contains("another backbone") && r3.err().contains("b".repeat(64)), r3.err());

        CliRun r4 = run("--train", train.toString(), "--out", tmp.resolve("w").toString(), "--dropout", "1.5");
        assertEquals(Cli.EXIT_USAGE, r4.code());
        assertTrue(r4.err().contains("--dropout is 1.5"), r4.err());

        CliRun r5 = run("--train", tmp.resolve("missing").toString(), "--out", tmp.resolve("v").toString());
        assertEquals(Cli.EXIT_FAILED, r5.code());
        assertTrue(r5.err().contains("error: "), r5.err());
    }
}
