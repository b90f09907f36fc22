package org.transfer4j.tools.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.tools.Cli;
import org.transfer4j.tools.TrainHeadCommand;

class TrainHeadCommandTest {
    static final String[] CLASSES = {"ants", "bees", "cats"};

    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Cli.run(new TrainHeadCommand(), args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
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
        Run r = run("--train", train.toString(), "--val", val.toString(), "--out", head.toString(), "--hidden", "16",
                "--epochs", "15", "--batch", "16", "--baseline", "logistic");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("epoch 1/15"), r.out());
        assertTrue(r.out().contains("baseline tribuo-logistic-regression"), r.out());
        for (String f : List.of("head.json", "head.bin", "metrics.json", "report.html", "curves.png",
                "confusion.png", "misclassified.csv")) {
            assertTrue(Files.size(head.resolve(f)) > 0, f);
        }
        assertTrue(Files.notExists(head.resolve("checkpoint.bin")), "checkpoint removed after success");
        var metrics = JsonParser.parseString(Files.readString(head.resolve("metrics.json"))).getAsJsonObject();
        assertTrue(metrics.get("val_accuracy").getAsDouble() >= 0.9, metrics.toString());
        assertEquals(36, metrics.get("val_rows").getAsInt(), "one row (view 0) per validation image");
        assertTrue(metrics.has("baseline"));
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
            Run r = run("--train", train.toString(), "--val-split", "0.25", "--out", tmp.resolve(out).toString(),
                    "--hidden", "32", "--epochs", "4", "--label-smoothing", "0.1", "--class-weights", "balanced",
                    "--seed", "7");
            assertEquals(0, r.exit(), r.err());
            bins.add(Files.readAllBytes(tmp.resolve(out).resolve("head.bin")));
        }
        assertArrayEquals(bins.get(0), bins.get(1));
    }

    @Test
    void refusesOneClassAndMismatchedValidationCaches() throws Exception {
        // Two class folders, but every "bees" image failed to decode: the cache has rows of one class only.
        Path one = TestCaches.write(tmp.resolve("img-one"), tmp.resolve("one"), new String[] {"ants", "bees"}, 5,
                24, 0, 8, 'a', 1, "bees");
        Run r1 = run("--train", one.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(Cli.EXIT_FAILED, r1.exit());
        assertTrue(r1.err().contains("error: ") && r1.err().contains("one class only"), r1.err());

        Path train = cache("train", CLASSES, 6, 'a');
        Path otherClasses = cache("val2", new String[] {"ants", "bees", "dogs"}, 4, 'a');
        Run r2 = run("--train", train.toString(), "--val", otherClasses.toString(), "--out",
                tmp.resolve("y").toString());
        assertEquals(Cli.EXIT_FAILED, r2.exit());
        assertTrue(r2.err().contains("classes") && r2.err().contains("dogs"), r2.err());

        Path otherBackbone = cache("val3", CLASSES, 4, 'b');
        Run r3 = run("--train", train.toString(), "--val", otherBackbone.toString(), "--out",
                tmp.resolve("z").toString());
        assertEquals(Cli.EXIT_FAILED, r3.exit());
        assertTrue(r3.err().contains("another backbone") && r3.err().contains("b".repeat(64)), r3.err());

        Run r4 = run("--train", train.toString(), "--out", tmp.resolve("w").toString(), "--dropout", "1.5");
        assertEquals(Cli.EXIT_FAILED, r4.exit());
        assertTrue(r4.err().contains("'dropout' is 1.5"), r4.err());

        Run r5 = run("--train", tmp.resolve("missing").toString(), "--out", tmp.resolve("v").toString());
        assertEquals(Cli.EXIT_FAILED, r5.exit());
        assertTrue(r5.err().contains("error: "), r5.err());
    }
}
