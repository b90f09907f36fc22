package org.transfer4j.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.cache.CacheReader;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.BackboneOptions;
import org.transfer4j.backbone.extract.Device;
import org.transfer4j.backbone.io.Hashes;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.head.HeadFiles;
import org.transfer4j.head.HeadInfo;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.compose.Composer;
import org.transfer4j.inference.Predictor;
import org.transfer4j.testing.TinyModels;
import org.transfer4j.tools.extract.TestImages;
import picocli.CommandLine;

/**
 * Issue 12, "the first hour of a new user", item by item with the commands the issue names: the programs as
 * separate JVMs ({@link JarRun}) where the process matters (logging at start-up, exit codes through
 * {@code System.exit}), in-process ({@link CliRun}) for the rest. Each test asserts the exit code and the message.
 */
class FirstHourTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path images;
    static Path image;
    static Path head;
    static Path composed;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        model = TinyModels.builder().size(16, 16).write(dir.resolve("tiny.onnx"));
        images = TestImages.folder(dir.resolve("images"), 4, "cats", "dogs");
        image = images.resolve("cats/img000.png");
        BackboneSpec spec;
        try (Backbone b = Backbone.load(model, BackboneOptions.builder().optDevice(Device.CPU).optIntraOpThreads(1)
                .build())) {
            spec = b.spec();
        }
        HeadWeights w = new HeadWeights(List.of("cats", "dogs"), 3, 0, new float[0], new float[0],
                new float[] {-4, 4, 0, 0, 8, -8}, new float[] {0, 0}, spec);
        head = dir.resolve("head");
        HeadFiles.write(head, w, new HeadInfo(TrainingConfig.defaults(), 1, 1, null));
        composed = Composer.compose(model, w, Map.of(), head.resolve("model.onnx")).model();
    }

    static String s(Path p) {
        return p.toString();
    }

    static List<String> linesWith(String text, String needle) {
        return text.lines().filter(l -> l.toLowerCase(Locale.ROOT).contains(needle.toLowerCase(Locale.ROOT)))
                .toList();
    }

    // ------------------------------------------------------------------------------------------ 1. CUDA noise

    @Test
    void item1NoCudaLineWithDeviceAutoOnTheCpuBuild() {
        JarRun.Started plain = JarRun.start(tmp, "extract", "--backbone", s(model), "--images", s(images), "--out",
                s(tmp.resolve("c1")));
        JarRun.Started verbose = JarRun.start(tmp, "extract", "--backbone", s(model), "--images", s(images),
                "--out", s(tmp.resolve("c2")), "--verbose");
        JarRun.Started cuda = JarRun.start(tmp, "extract", "--backbone", s(model), "--images", s(images), "--out",
                s(tmp.resolve("c3")), "--device", "cuda");
        JarRun.Started predict = JarRun.start(tmp, "predict", "--model", s(composed), s(image));
        JarRun.Started usage = JarRun.start(tmp, "predict", "--model", s(composed), "--top", "0", s(image));

        JarRun r = plain.await();
        assertEquals(0, r.code(), r.all());
        assertEquals(List.of(), linesWith(r.err(), "cuda"), r.all());

        r = verbose.await();
        assertEquals(0, r.code(), r.all());
        List<String> quiet = linesWith(r.err(), "cuda");
        assertEquals(1, quiet.size(), r.all());
        assertTrue(quiet.get(0).startsWith("debug: device auto: this ONNX Runtime build has no CUDA provider; "
                + "running on the CPU"), quiet.get(0));

        r = cuda.await();
        assertEquals(Cli.EXIT_FAILED, r.code(), r.all());
        assertEquals(1, r.errLines().size(), r.all());
        assertTrue(r.err().startsWith("error: device cuda was requested but this ONNX Runtime build has no CUDA "
                + "provider (the CPU-only onnxruntime jar). Build with -Pgpu"), r.all());

        r = predict.await();
        assertEquals(0, r.code(), r.all());
        assertEquals(List.of(), linesWith(r.err(), "cuda"), r.all());
        assertTrue(r.out().startsWith(image + "\t"), r.all());

        r = usage.await();
        assertEquals(Cli.EXIT_USAGE, r.code(), r.all());
        assertEquals(List.of(), linesWith(r.err(), "cuda"), r.all());
    }

    @Test
    void item1PredictorBuildLogsNoCudaLine() throws Exception {
        List<LogRecord> records = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(h);
        try (Predictor p = Predictor.builder(composed).build()) {
            assertEquals(List.of("cats", "dogs"), p.classes());
        } finally {
            root.removeHandler(h);
        }
        List<String> loud = records.stream().filter(r -> r.getLevel().intValue() >= Level.INFO.intValue())
                .map(LogRecord::getMessage).filter(m -> m.contains("CUDA")).toList();
        assertEquals(List.of(), loud);
    }

    // ------------------------------------------------------------------------------------------ 2. silent traps

    @Test
    void item2SplitFoldersAsClassesAreRefusedWithAHint() throws Exception {
        Path root = tmp.resolve("hymenoptera");
        TestImages.folder(root.resolve("train"), 2, "ants", "bees");
        TestImages.folder(root.resolve("val"), 2, "ants", "bees");
        CliRun r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(root), "--out",
                s(tmp.resolve("cache")));
        assertEquals(Cli.EXIT_FAILED, r.code(), r.err());
        assertTrue(r.err().startsWith("error: the subfolders 'train', 'val' of " + root.toAbsolutePath()
                + " are dataset splits, not classes; give one split as the image folder instead (e.g. "
                + root.toAbsolutePath().resolve("train") + ")"), r.err());
        assertFalse(Files.exists(tmp.resolve("cache")), "nothing written");

        // One class named like a split: a warning, the run goes on.
        Path one = TestImages.folder(tmp.resolve("one"), 2, "cats", "test");
        r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(one), "--out",
                s(tmp.resolve("c1")));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: class folder 'test' in " + one.toAbsolutePath()
                + " is named like a dataset split"), r.err());
    }

    @Test
    void item2FailuresAreSummedUpByReasonAndStrictExitsOne() throws Exception {
        Path m = tmp.resolve("m");
        Files.createDirectories(m);
        Files.copy(images.resolve("cats/img000.png"), m.resolve("a.png"));
        Files.copy(images.resolve("dogs/img001.jpg"), m.resolve("b.jpg"));
        Files.copy(images.resolve("cats/broken.jpg"), m.resolve("broken.jpg"));
        Path csv = m.resolve("labels.csv");
        Files.writeString(csv, "path,label\na.png,cats\nb.jpg,dogs\nmissing.jpg,dogs\nbroken.jpg,cats\n");
        CliRun r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--manifest", s(csv), "--out",
                s(tmp.resolve("c")));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("failed 2: unreadable 1 (missing.jpg), unsupported_format 1 (broken.jpg); details in "
                + tmp.resolve("c").resolve("errors.jsonl")), r.err());

        r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--manifest", s(csv), "--out",
                s(tmp.resolve("c")), "--strict", "--json");
        assertEquals(Cli.EXIT_FAILED, r.code(), r.err());
        assertTrue(r.err().strip().endsWith("error: --strict: 2 images could not be extracted"), r.err());
        JsonObject reasons = r.json().getAsJsonObject("failed_by_reason");
        assertEquals(1, reasons.get("unreadable").getAsInt());
        assertEquals(1, reasons.get("unsupported_format").getAsInt());
    }

    @Test
    void item2TrainHeadRefusesToOverwriteAHeadAndResumeSaysItStartsFresh() throws Exception {
        Path cache = tmp.resolve("cache");
        assertEquals(0, CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(images), "--out",
                s(cache)).code());
        Path out = tmp.resolve("head");
        String[] train = {"--train", s(cache), "--out", s(out), "--epochs", "2", "--hidden", "0", "--val-split", "0"};
        CliRun first = CliRun.run(new TrainHeadCommand(), train);
        assertEquals(0, first.code(), first.err());
        byte[] before = Files.readAllBytes(out.resolve("head.bin"));

        CliRun again = CliRun.run(new TrainHeadCommand(), "--train", s(cache), "--out", s(out), "--epochs", "3",
                "--hidden", "0", "--val-split", "0");
        assertEquals(Cli.EXIT_FAILED, again.code());
        assertEquals("error: " + out + " already holds a trained head (head.json); pass --overwrite to replace it "
                + "(optOverwrite), --resume to continue an interrupted run, or another --out", again.err().strip());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(out.resolve("head.bin"))), "head untouched");

        CliRun overwrite = CliRun.run(new TrainHeadCommand(), "--train", s(cache), "--out", s(out), "--epochs", "3",
                "--hidden", "0", "--val-split", "0", "--overwrite");
        assertEquals(0, overwrite.code(), overwrite.err());
        assertTrue(overwrite.out().contains("epoch 3/3"), overwrite.out());

        CliRun resume = CliRun.run(new TrainHeadCommand(), "--train", s(cache), "--out", s(tmp.resolve("fresh")),
                "--epochs", "2", "--hidden", "0", "--val-split", "0", "--resume");
        assertEquals(0, resume.code(), resume.err());
        assertTrue(resume.out().startsWith("no checkpoint in " + tmp.resolve("fresh").resolve("checkpoint.bin")
                + "; starting fresh"), resume.out());
    }

    @Test
    void item2SymlinksNeverLeaveTheirClassAndSameContentUnderTwoLabelsIsReported() throws Exception {
        Path root = tmp.resolve("links");
        Files.createDirectories(root.resolve("a"));
        Files.createDirectories(root.resolve("b"));
        TestImages.draw(root.resolve("b/ok.jpg"), 20, 20, 1, 1);
        TestImages.draw(root.resolve("a/own.png"), 20, 20, 2, 0);
        Files.createSymbolicLink(root.resolve("a/loop"), Path.of(".."));
        Files.createDirectories(root.resolve("a/sub"));
        Files.createSymbolicLink(root.resolve("a/sub/up"), Path.of(".."));
        CliRun r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(root), "--out",
                s(tmp.resolve("c")), "--json");
        assertEquals(0, r.code(), r.err());
        List<String> said = linesWith(r.err(), "symbolic link");
        assertEquals(1, said.size(), r.err());
        assertTrue(said.get(0).startsWith("warning: did not follow 2 symbolic links to a folder outside its class "
                + "folder or back up the tree"), said.get(0));
        assertTrue(said.get(0).contains("a/loop -> ..") && said.get(0).contains("a/sub/up -> .."), said.get(0));
        try (CacheReader c = CacheReader.open(tmp.resolve("c"))) {
            List<String> paths = new ArrayList<>();
            for (int i = 0; i < c.rowCount(); i++) {
                paths.add(c.path(i) + "=" + c.classes().get(c.label(i)));
            }
            assertEquals(List.of("a/own.png=a", "b/ok.jpg=b"), paths);
        }
        assertEquals(List.of(), linesWith(r.err(), "several labels"), "no duplicate once links stay inside");

        // The same photo copied into both classes: said, with both paths and labels.
        Files.copy(root.resolve("b/ok.jpg"), root.resolve("a/copy.jpg"));
        r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(root), "--out",
                s(tmp.resolve("c")), "--json");
        assertEquals(0, r.code(), r.err());
        String sha = Hashes.sha256(root.resolve("b/ok.jpg")).substring(0, 12);
        assertTrue(r.err().contains("warning: the same image (sha256 " + sha + ") is under several labels: "
                + "a/copy.jpg (a), b/ok.jpg (b); keep it in one class"), r.err());
        assertEquals(1, r.json().get("same_content_several_labels").getAsInt());
    }

    // ------------------------------------------------------------------------------------------ 3. messages

    @Test
    void item3MessagesPointTheRightWay() throws Exception {
        CliRun r = CliRun.run(new PredictCommand(), "--model", s(head), s(image));
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertEquals("error: --model " + head + " is a folder; pass the model file (" + head.resolve("model.onnx")
                + ", which is there), or a backbone and a head folder: --backbone B.onnx --head " + head,
                r.err().strip());

        r = CliRun.run(new TrainHeadCommand(), "--train", s(images), "--out", s(tmp.resolve("h")));
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().startsWith("error: " + images.toAbsolutePath() + " holds images, not a feature cache; "
                + "extract their features into a cache of their own and pass that: java -jar extract.jar --backbone "
                + "B.onnx --images " + images.toAbsolutePath() + " --out cache/images"), r.err());
        r = CliRun.run(new TrainHeadCommand(), "--train", s(tmp.resolve("nothere")), "--out", s(tmp.resolve("h")));
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().startsWith("error: feature cache " + tmp.resolve("nothere").toAbsolutePath()
                + " does not exist; make one from images first"), r.err());
        assertFalse(r.err().contains("header.json"), r.err());

        r = CliRun.run(new PredictCommand(), "--model", s(model), s(image));
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertTrue(r.err().startsWith("error: " + model + " is a backbone without a head (no transfer4j.classes "
                + "metadata); pass it with its head: --backbone " + model + " --head HEAD"), r.err());
        assertFalse(r.err().contains("optSpec"), r.err());

        Path nothere = tmp.resolve("nothere.csv").toAbsolutePath();
        r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--manifest", s(nothere), "--out",
                s(tmp.resolve("c")));
        assertEquals(Cli.EXIT_FAILED, r.code());
        assertEquals("error: manifest " + nothere + " does not exist; pass a CSV file of path,label lines (paths "
                + "relative to the CSV's folder)", r.err().strip());

        r = CliRun.run(new PredictCommand(), "--model", s(composed), "--batch", "0", s(image));
        assertEquals(Cli.EXIT_USAGE, r.code());
        assertTrue(r.err().startsWith("error: --batch is 0; allowed: 1..4096\n"), r.err());
        r = CliRun.run(new PredictCommand(), "--model", s(composed), "--top", "0", s(image));
        assertEquals(Cli.EXIT_USAGE, r.code());
        assertTrue(r.err().startsWith("error: --top is 0; allowed: 1..10000\n"), r.err());
    }

    // ------------------------------------------------------------------------------------------ 4. one voice

    @Test
    void item4UnknownFlagIsOneLineAndAHintInEveryJarAndVersionPrintsTheVersion() {
        List<JarRun.Started> unknown = new ArrayList<>();
        for (String jar : JarRun.JARS) {
            unknown.add(JarRun.start(tmp, jar, "--bogus"));
        }
        for (int i = 0; i < JarRun.JARS.size(); i++) {
            String jar = JarRun.JARS.get(i);
            JarRun r = unknown.get(i).await();
            assertEquals(Cli.EXIT_USAGE, r.code(), jar + ": " + r.all());
            assertEquals(List.of("error: unknown option: '--bogus'", "run 'java -jar " + jar + ".jar --help' for "
                    + "the options and examples"), r.errLines(), jar);
            assertEquals("", r.out(), jar);
            CliRun v = CliRun.run(newInstance(commands().get(i)), "--version");
            assertEquals(0, v.code(), jar + ": " + v.err());
            assertTrue(v.out().matches(jar + " \\d+\\.\\d+\\.\\d+\\S* \\(transfer4j; Java .*\\)\\R"),
                    jar + ": " + v.out());
        }
    }

    static List<Object> commands() {
        return List.of(new ExtractCommand(), new TrainHeadCommand(), new PredictCommand(), new ModelCommand(),
                new BenchCommand());
    }

    @Test
    void item4UsageErrorsExitTwoAndFailuresOne() {
        JarRun.Started extractBatch = JarRun.start(tmp, "extract", "--backbone", s(model), "--images", s(images),
                "--out", s(tmp.resolve("c")), "--batch", "0");
        JarRun.Started benchSeconds = JarRun.start(tmp, "bench", "backbone", "--backbone", s(model), "--seconds",
                "0");
        JarRun.Started modelNoSub = JarRun.start(tmp, "model");
        CliRun trainDropout = CliRun.run(new TrainHeadCommand(), "--train", s(tmp), "--out", s(tmp.resolve("h")),
                "--dropout", "1.5");
        CliRun extractDevice = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(images),
                "--out", s(tmp.resolve("c")), "--device", "tpu");
        CliRun missingModel = CliRun.run(new ExtractCommand(), "--backbone", s(tmp.resolve("no.onnx")),
                "--images", s(images), "--out", s(tmp.resolve("c")));

        JarRun r = extractBatch.await();
        assertEquals(Cli.EXIT_USAGE, r.code(), r.all());
        assertEquals("error: --batch is 0; allowed: 1..4096", r.errLines().get(0));
        assertEquals(Cli.EXIT_USAGE, trainDropout.code(), trainDropout.err());
        assertTrue(trainDropout.err().startsWith("error: --dropout is 1.5; allowed: [0, 1)\n"), trainDropout.err());
        r = benchSeconds.await();
        assertEquals(Cli.EXIT_USAGE, r.code(), r.all());
        assertTrue(r.errLines().get(0).startsWith("error: --seconds is 0.0"), r.all());
        assertEquals("run 'java -jar bench.jar backbone --help' for the options and examples", r.errLines().get(1));
        r = modelNoSub.await();
        assertEquals(Cli.EXIT_USAGE, r.code(), r.all());
        assertEquals("error: choose a subcommand: inspect, cut, compose, generate, fetch", r.errLines().get(0));
        assertEquals(Cli.EXIT_USAGE, extractDevice.code(), extractDevice.err());
        assertTrue(extractDevice.err().startsWith("error: --device: device 'tpu' is not known"), extractDevice.err());
        assertEquals(Cli.EXIT_FAILED, missingModel.code(), missingModel.err());
        assertEquals(1, missingModel.err().strip().lines().count(), missingModel.err());
    }

    @Test
    void item4HelpHasWholeExamplesNamedPlaceholdersAndTheSameDefaults() {
        for (Object command : commands()) {
            CommandLine root = new CommandLine(command);
            List<String> names = new ArrayList<>(List.of(""));
            root.getSubcommands().keySet().forEach(names::add);
            for (String sub : names) {
                Object fresh = newInstance(command);
                CliRun r = sub.isEmpty() ? CliRun.run(fresh, "--help") : CliRun.run(fresh, sub, "--help");
                assertEquals(0, r.code(), r.err());
                String name = root.getCommandName() + (sub.isEmpty() ? "" : " " + sub);
                assertFalse(r.out().matches("(?s).*=<[a-zA-Z]+>.*"), name + " has a <placeholder>:\n" + r.out());
                List<String> lines = r.outLines();
                int examples = lines.indexOf("Examples:");
                for (int i = examples + 1; examples >= 0 && i < lines.size(); i++) {
                    String line = lines.get(i);
                    boolean continued = i > examples + 1 && lines.get(i - 1).endsWith(" \\");
                    assertTrue(line.startsWith("  java -jar ") || continued && line.startsWith("      "),
                            name + ": example line " + i + " is wrapped mid-command: '" + line + "'\n" + r.out());
                }
            }
        }
        String extract = CliRun.run(new ExtractCommand(), "--help").out().replaceAll("\\s+", " ");
        String train = CliRun.run(new TrainHeadCommand(), "--help").out().replaceAll("\\s+", " ");
        assertTrue(extract.contains("(default: 42, as in train-head)"), extract);
        assertTrue(train.contains("(default: 42)"), train);
        String bench = CliRun.run(new BenchCommand(), "backbone", "--help").out();
        assertTrue(bench.replaceAll("\\s+", " ").contains("(default: cpu, not auto: recorded figures then measure "
                + "the CPU whatever the build)"), bench);
    }

    private static Object newInstance(Object command) {
        try {
            return command.getClass().getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void item4TheModelSpecWarningMentionsSpec() {
        CliRun r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(images), "--out",
                s(tmp.resolve("c")));
        assertEquals(0, r.code(), r.err());
        List<String> warning = linesWith(r.err(), "has no spec");
        assertEquals(1, warning.size(), r.err());
        assertTrue(warning.get(0).startsWith("warning: tiny.onnx has no spec"), warning.get(0));
        assertTrue(warning.get(0).endsWith("or, if that folder is read-only, write that JSON anywhere and pass it "
                + "with --spec FILE.json (BackboneOptions.optSpecFile)"), warning.get(0));
    }

    // ------------------------------------------------------------------------------------------ 5. manifests, rates

    @Test
    void item5EvaluateTakesAManifestAndExtractReportsBothRates() throws Exception {
        Path m = tmp.resolve("m");
        Files.createDirectories(m.resolve("x"));
        Files.copy(images.resolve("cats/img000.png"), m.resolve("x/1.png"));
        Files.copy(images.resolve("dogs/img000.png"), m.resolve("x/2.png"));
        Path csv = m.resolve("test.csv");
        Files.writeString(csv, "path,label\nx/1.png,cats\nx/2.png,dogs\n");
        CliRun json = CliRun.run(new PredictCommand(), "--model", s(composed), "--evaluate", "--manifest", s(csv),
                "--json");
        assertEquals(0, json.code(), json.err());
        JsonObject o = JsonParser.parseString(json.out().strip()).getAsJsonObject();
        assertEquals(2, o.get("predicted").getAsInt());
        assertEquals(2, o.getAsJsonArray("confusion").size());
        CliRun folder = CliRun.run(new PredictCommand(), "--model", s(composed), "--evaluate", s(images), "--json");
        assertEquals(0, folder.code(), folder.err());
        CliRun both = CliRun.run(new PredictCommand(), "--model", s(composed), "--evaluate", s(images),
                "--manifest", s(csv));
        assertEquals(Cli.EXIT_USAGE, both.code());
        assertTrue(both.err().startsWith("error: give --evaluate a folder or --manifest, not both"), both.err());
        CliRun neither = CliRun.run(new PredictCommand(), "--model", s(composed), "--evaluate");
        assertEquals(Cli.EXIT_USAGE, neither.code());
        assertTrue(neither.err().startsWith("error: --evaluate needs a folder"), neither.err());

        Path more = TestImages.folder(tmp.resolve("more"), 8, "cats", "dogs");
        CliRun extract = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(more), "--out",
                s(tmp.resolve("c")), "--batch", "4", "--json");
        assertEquals(0, extract.code(), extract.err());
        double steady = extract.json().get("images_per_s").getAsDouble();
        double withWarmup = extract.json().get("images_per_s_incl_warmup").getAsDouble();
        assertTrue(steady > 0 && withWarmup > 0 && steady != withWarmup, extract.out());
    }

    // ------------------------------------------------------------------------------------------ 6. the report

    @Test
    void item6ReportShowsBackboneRowsDateCommandAndThumbnails() throws Exception {
        Path train = TestImages.folder(tmp.resolve("train"), 6, "cats", "dogs");
        Path val = TestImages.folder(tmp.resolve("val"), 6, "cats", "dogs");
        // Mislabelled on purpose, so the report has mistakes to show.
        Files.move(val.resolve("dogs/img000.png"), val.resolve("cats/dog-in-cats.png"));
        Files.move(val.resolve("cats/img002.png"), val.resolve("dogs/cat-in-dogs.png"));
        for (Path[] p : new Path[][] {{train, tmp.resolve("ct")}, {val, tmp.resolve("cv")}}) {
            CliRun r = CliRun.run(new ExtractCommand(), "--backbone", s(model), "--images", s(p[0]), "--out",
                    s(p[1]));
            assertEquals(0, r.code(), r.err());
        }
        Path out = tmp.resolve("head");
        String[] args = {"--train", s(tmp.resolve("ct")), "--val", s(tmp.resolve("cv")), "--out", s(out),
            "--hidden", "0", "--epochs", "20", "--lr", "0.05"};
        CliRun r = CliRun.run(new TrainHeadCommand(), args);
        assertEquals(0, r.code(), r.err());
        String html = Files.readString(out.resolve("report.html"));
        String sha = Hashes.sha256(model).substring(0, 12);
        assertTrue(html.contains("<dt>backbone</dt><dd><code>tiny.onnx</code> (sha256 <code>" + sha + "…</code>)"),
                html);
        assertTrue(html.contains("<code>" + tmp.resolve("ct") + "</code> — 12 rows"), html);
        assertTrue(html.contains("<code>" + tmp.resolve("cv") + "</code> — 12 rows"), html);
        assertTrue(html.matches("(?s).*<dt>date</dt><dd>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ</dd>.*"), html);
        assertTrue(html.contains("<dt>command</dt><dd><code>java -jar train-head.jar " + String.join(" ", args)
                + "</code>"), html);
        assertTrue(html.contains("<a href=\"thumbs/001.jpg\"><img class=\"t\" src=\"thumbs/001.jpg\""), html);
        assertTrue(Files.size(out.resolve("thumbs/001.jpg")) > 300);
        var img = javax.imageio.ImageIO.read(out.resolve("thumbs/001.jpg").toFile());
        assertTrue(img.getWidth() > 0 && img.getWidth() <= 320, "a small JPEG");
    }
}
