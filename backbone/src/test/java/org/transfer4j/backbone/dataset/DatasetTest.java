package org.transfer4j.backbone.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
    @TempDir
    Path tmp;

    private Path touch(String rel) throws IOException {
        Path p = tmp.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[] {1, 2, 3});
        return p;
    }

    @Test
    void folderPerClassFindsImagesRecursivelyAndSkipsTheRest() throws Exception {
        touch("root/cats/a.JPG");
        touch("root/cats/sub/deeper/b.png");
        touch("root/cats/.hidden.jpg");
        touch("root/cats/.thumbs/c.jpg");
        touch("root/cats/notes.txt");
        touch("root/dogs/x.webp");
        touch("root/dogs/y.TIFF");
        touch("root/Birds/z.jpeg");
        touch("root/README.md");
        touch("root/.git/config");
        Dataset ds = Dataset.fromFolder(tmp.resolve("root"));
        assertEquals(List.of("Birds", "cats", "dogs"), ds.classes());
        assertEquals(List.of("Birds/z.jpeg", "cats/a.JPG", "cats/sub/deeper/b.png", "dogs/x.webp", "dogs/y.TIFF"),
                ds.images().stream().map(LabeledImage::relativePath).toList());
        assertEquals(List.of(0, 1, 1, 2, 2), ds.images().stream().map(LabeledImage::labelIndex).toList());
        assertEquals(3, ds.skippedHidden()); // .hidden.jpg, .thumbs/, .git/
        assertEquals(2, ds.skippedOther()); // notes.txt, README.md
        assertEquals(tmp.resolve("root/cats/a.JPG").toAbsolutePath().normalize(), ds.images().get(1).path());
        assertEquals(Dataset.Kind.FOLDER, ds.kind());
    }

    @Test
    void splitFoldersTakenForClassesAreRefusedAndOneSplitNameIsAWarning() throws Exception {
        touch("data/train/ants/a.jpg");
        touch("data/val/ants/b.jpg");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.fromFolder(tmp.resolve("data")));
        assertEquals(DatasetException.Reason.SPLIT_FOLDERS, e.reason());
        assertTrue(e.getMessage().contains(tmp.resolve("data/train").toAbsolutePath().toString()), e.getMessage());
        touch("other/cats/a.jpg");
        touch("other/Test/b.jpg");
        Dataset ds = Dataset.fromFolder(tmp.resolve("other"));
        assertEquals(1, ds.warnings().size(), ds.warnings().toString());
        assertTrue(ds.warnings().get(0).startsWith("class folder 'Test' in "), ds.warnings().get(0));
        touch("data/train/bees/c.jpg");
        assertEquals(List.of(), Dataset.fromFolder(tmp.resolve("data/train")).warnings());
    }

    @Test
    void directoryLinksOutOfTheClassOrUpTheTreeAreNotFollowedButLinksInsideAre() throws Exception {
        touch("links/a/own.jpg");
        touch("links/a/inner/x.jpg");
        touch("links/b/ok.jpg");
        Files.createSymbolicLink(tmp.resolve("links/a/loop"), Path.of(".."));
        Files.createSymbolicLink(tmp.resolve("links/a/sibling"), Path.of("../b"));
        Files.createSymbolicLink(tmp.resolve("links/a/inner/up"), Path.of(".."));
        Files.createSymbolicLink(tmp.resolve("links/a/alias"), Path.of("inner"));
        // a/inner/up is met twice: directly and through a/alias.
        Dataset ds = Dataset.fromFolder(tmp.resolve("links"));
        assertEquals(List.of("a/alias/x.jpg", "a/inner/x.jpg", "a/own.jpg", "b/ok.jpg"),
                ds.images().stream().map(LabeledImage::relativePath).toList());
        assertEquals(1, ds.warnings().size(), ds.warnings().toString());
        assertTrue(ds.warnings().get(0).startsWith("did not follow 4 symbolic links"), ds.warnings().get(0));
    }

    @Test
    void emptyClassFolderIsAnErrorNamingIt() throws Exception {
        touch("root/cats/a.jpg");
        touch("root/dogs/a.jpg");
        touch("root/fish/readme.txt");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.fromFolder(tmp.resolve("root")));
        assertEquals(DatasetException.Reason.EMPTY_CLASS, e.reason());
        assertTrue(e.getMessage().contains("'fish'") && e.getMessage().contains("1 non-image"), e.getMessage());
    }

    @Test
    void singleClassAndNoImagesAreErrors() throws Exception {
        touch("one/cats/a.jpg");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.fromFolder(tmp.resolve("one")));
        assertEquals(DatasetException.Reason.SINGLE_CLASS, e.reason());
        assertTrue(e.getMessage().contains("'cats'"), e.getMessage());
        touch("none/cats/a.txt");
        e = assertThrows(DatasetException.class, () -> Dataset.fromFolder(tmp.resolve("none")));
        assertEquals(DatasetException.Reason.NO_IMAGES, e.reason());
        e = assertThrows(DatasetException.class, () -> Dataset.fromFolder(tmp.resolve("absent")));
        assertEquals(DatasetException.Reason.NOT_FOUND, e.reason());
    }

    @Test
    void manifestWithHeaderQuotesAndBlankLines() throws Exception {
        touch("m/img/a.jpg");
        touch("m/img/b, c.jpg");
        Path csv = tmp.resolve("m/list.csv");
        Files.writeString(csv, "\uFEFFpath,label\r\nimg/a.jpg, ants \r\n\r\n\"img/b, c.jpg\",\"be\"\"es\"\nimg/missing.png,ants\n");
        Dataset ds = Dataset.fromManifest(csv);
        assertEquals(List.of("ants", "be\"es"), ds.classes());
        assertEquals(List.of("img/a.jpg", "img/b, c.jpg", "img/missing.png"),
                ds.images().stream().map(LabeledImage::relativePath).toList());
        assertEquals(List.of("ants", "be\"es", "ants"), ds.images().stream().map(LabeledImage::label).toList());
        assertEquals(Dataset.Kind.MANIFEST, ds.kind());
        assertEquals(tmp.resolve("m").toAbsolutePath().normalize(), ds.root());
    }

    @Test
    void manifestWithoutHeader() throws Exception {
        Path csv = tmp.resolve("list.csv");
        Files.writeString(csv, "a.jpg,x\nsub/../b.jpg,y\n");
        Dataset ds = Dataset.fromManifest(csv);
        assertEquals(List.of("a.jpg", "b.jpg"), ds.images().stream().map(LabeledImage::relativePath).toList());
    }

    @Test
    void manifestPathEscapingItsFolderIsRefusedNamingTheLine() throws Exception {
        Path csv = tmp.resolve("m/list.csv");
        Files.createDirectories(csv.getParent());
        Files.writeString(csv, "path,label\na.jpg,x\n../outside.jpg,y\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertEquals(DatasetException.Reason.ESCAPES_ROOT, e.reason());
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("../outside.jpg"), e.getMessage());
        Files.writeString(csv, "a.jpg,x\n/etc/passwd,y\n");
        e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertEquals(DatasetException.Reason.ESCAPES_ROOT, e.reason());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void malformedManifestsNameTheLine() throws Exception {
        Path csv = tmp.resolve("list.csv");
        Files.writeString(csv, "a.jpg,x\nb.jpg,y,z\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertEquals(DatasetException.Reason.BAD_MANIFEST, e.reason());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        Files.writeString(csv, "a.jpg,x\nb.jpg,y\n./a.jpg,y\n");
        e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("line 1"), e.getMessage());
        Files.writeString(csv, "a.jpg,x\n\"b.jpg,y\n");
        e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertTrue(e.getMessage().contains("not closed"), e.getMessage());
        Files.writeString(csv, "a.jpg,x\nb.jpg,x\n");
        e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertEquals(DatasetException.Reason.SINGLE_CLASS, e.reason());
        Files.writeString(csv, "path,label\n");
        e = assertThrows(DatasetException.class, () -> Dataset.fromManifest(csv));
        assertEquals(DatasetException.Reason.NO_IMAGES, e.reason());
    }
}
