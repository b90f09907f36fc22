package org.transfer4j.backbone.catalog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.io.Hashes;

/** The downloader against a loopback HTTP server: full, resumed, refused. Never touches the internet. */
class DownloaderTest {
    private static final byte[] DATA = new byte[3 * 1024 * 1024 + 123];

    static {
        new Random(7).nextBytes(DATA);
    }

    @TempDir
    Path dir;

    private static Downloader quiet(List<String> messages, List<long[]> progress) {
        return Downloader.builder().optResponseTimeout(Duration.ofSeconds(20))
                .optListener(new Downloader.Listener() {
                    @Override
                    public void progress(long done, long total) {
                        progress.add(new long[] {done, total});
                    }

                    @Override
                    public void message(String line) {
                        messages.add(line);
                    }
                }).build();
    }

    @Test
    void fullDownloadVerifiesAndLeavesNoPartFile() throws Exception {
        List<long[]> progress = new ArrayList<>();
        try (LoopbackServer server = new LoopbackServer(DATA)) {
            Path target = dir.resolve("m.onnx");
            Downloader.Result r = quiet(new ArrayList<>(), progress)
                    .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA));
            assertArrayEquals(DATA, Files.readAllBytes(target));
            assertEquals(DATA.length, r.size());
            assertEquals(Hashes.sha256(DATA), r.sha256());
            assertEquals(0, r.resumedFrom());
            assertFalse(r.alreadyPresent());
            assertFalse(Files.exists(Downloader.partFile(target)));
            assertEquals(List.of(""), server.ranges, "a fresh download sends no Range header");
            long[] last = progress.get(progress.size() - 1);
            assertEquals(DATA.length, last[0]);
            assertTrue(progress.size() > 3, "progress reported along the way, not only at the end");
        }
    }

    @Test
    void resumesAPartialFileWithARangeRequest() throws Exception {
        try (LoopbackServer server = new LoopbackServer(DATA)) {
            Path target = dir.resolve("m.onnx");
            int have = 1_000_001;
            Files.write(Downloader.partFile(target), Arrays.copyOf(DATA, have));
            List<String> messages = new ArrayList<>();
            Downloader.Result r = quiet(messages, new ArrayList<>())
                    .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA));
            assertEquals(List.of("bytes=" + have + "-"), server.ranges);
            assertEquals(have, r.resumedFrom());
            assertEquals(Hashes.sha256(DATA), Hashes.sha256(target));
            assertTrue(messages.stream().anyMatch(m -> m.contains("resuming")), messages.toString());
        }
    }

    @Test
    void aBrokenConnectionKeepsThePartAndTheNextRunResumes() throws Exception {
        try (LoopbackServer server = new LoopbackServer(DATA)) {
            Path target = dir.resolve("m.onnx");
            Downloader d = quiet(new ArrayList<>(), new ArrayList<>());
            server.breakNextAfter(700_000);
            DownloadException e = assertThrows(DownloadException.class,
                    () -> d.download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA)));
            assertEquals(DownloadException.Reason.NETWORK, e.reason());
            assertTrue(e.getMessage().contains("again"), e.getMessage());
            long kept = Files.size(Downloader.partFile(target));
            assertTrue(kept > 0 && kept < DATA.length, "kept " + kept);
            assertFalse(Files.exists(target));

            Downloader.Result r = d.download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA));
            assertEquals("bytes=" + kept + "-", server.ranges.get(1));
            assertEquals(kept, r.resumedFrom());
            assertArrayEquals(DATA, Files.readAllBytes(target));
        }
    }

    @Test
    void aServerThatIgnoresRangesGetsTheFileRewrittenFromTheStart() throws Exception {
        try (LoopbackServer server = new LoopbackServer(DATA).ignoreRange()) {
            Path target = dir.resolve("m.onnx");
            byte[] junk = new byte[5000];
            Arrays.fill(junk, (byte) 0x55);
            Files.write(Downloader.partFile(target), junk);
            Downloader.Result r = quiet(new ArrayList<>(), new ArrayList<>())
                    .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA));
            assertEquals(List.of("bytes=5000-"), server.ranges);
            assertEquals(0, r.resumedFrom(), "a 200 answer replaces the partial file");
            assertArrayEquals(DATA, Files.readAllBytes(target));
        }
    }

    @Test
    void aCorruptedDownloadIsDeletedWithAClearMessage() throws Exception {
        byte[] bad = DATA.clone();
        bad[bad.length / 2] ^= 1;
        try (LoopbackServer server = new LoopbackServer(bad)) {
            Path target = dir.resolve("m.onnx");
            DownloadException e = assertThrows(DownloadException.class,
                    () -> quiet(new ArrayList<>(), new ArrayList<>())
                            .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA)));
            assertEquals(DownloadException.Reason.CHECKSUM_MISMATCH, e.reason());
            assertTrue(e.getMessage().contains(Hashes.sha256(bad)) && e.getMessage().contains(Hashes.sha256(DATA)), e.getMessage());
            assertTrue(e.getMessage().contains("deleted"), e.getMessage());
            assertFalse(Files.exists(target));
            assertFalse(Files.exists(Downloader.partFile(target)));
        }
    }

    @Test
    void aFileOfAnotherSizeIsRefusedBeforeDownloadingIt() throws Exception {
        byte[] shorter = Arrays.copyOf(DATA, DATA.length - 10);
        try (LoopbackServer server = new LoopbackServer(shorter)) {
            Path target = dir.resolve("m.onnx");
            DownloadException e = assertThrows(DownloadException.class,
                    () -> quiet(new ArrayList<>(), new ArrayList<>())
                            .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA)));
            assertEquals(DownloadException.Reason.SIZE_MISMATCH, e.reason());
            assertTrue(e.getMessage().contains(String.valueOf(shorter.length))
                    && e.getMessage().contains(String.valueOf(DATA.length)), e.getMessage());
            assertFalse(Files.exists(target));
            assertFalse(Files.exists(Downloader.partFile(target)));
        }
    }

    @Test
    void aResumedFileThatEndsUpTooLongIsRefusedAndDeleted() throws Exception {
        // The server's file changed under a partial download: the tail does not fit the expected size.
        byte[] longer = Arrays.copyOf(DATA, DATA.length + 99);
        try (LoopbackServer server = new LoopbackServer(longer)) {
            Path target = dir.resolve("m.onnx");
            Files.write(Downloader.partFile(target), Arrays.copyOf(DATA, 1000));
            DownloadException e = assertThrows(DownloadException.class,
                    () -> quiet(new ArrayList<>(), new ArrayList<>())
                            .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA)));
            assertEquals(DownloadException.Reason.SIZE_MISMATCH, e.reason());
            assertFalse(Files.exists(Downloader.partFile(target)));
        }
    }

    @Test
    void aVerifiedFileAlreadyThereIsNotDownloadedAgain() throws Exception {
        try (LoopbackServer server = new LoopbackServer(DATA)) {
            Path target = dir.resolve("m.onnx");
            Files.write(target, DATA);
            Downloader.Result r = quiet(new ArrayList<>(), new ArrayList<>())
                    .download(server.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA));
            assertTrue(r.alreadyPresent());
            assertEquals(0, server.requests());
        }
    }

    @Test
    void notFoundNamesTheStatusAndTheNextMirrorIsTried() throws Exception {
        try (LoopbackServer missing = new LoopbackServer(DATA).status(404);
                LoopbackServer good = new LoopbackServer(DATA)) {
            Path target = dir.resolve("m.onnx");
            Downloader d = quiet(new ArrayList<>(), new ArrayList<>());
            DownloadException e = assertThrows(DownloadException.class,
                    () -> d.download(missing.url("m.onnx"), target, DATA.length, Hashes.sha256(DATA)));
            assertEquals(DownloadException.Reason.HTTP_STATUS, e.reason());
            assertTrue(e.getMessage().contains("404"), e.getMessage());

            Downloader.Result r = d.download(List.of(missing.url("m.onnx"), good.url("m.onnx")), target,
                    DATA.length, Hashes.sha256(DATA));
            assertEquals(good.url("m.onnx"), r.source());
            assertArrayEquals(DATA, Files.readAllBytes(target));
        }
    }
}
