package org.transfer4j.backbone.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfer4j.backbone.dataset.Dataset;

/** Damage the journal's checksum and index's line structure must catch (the torn-tail cases are in CacheWriterTest). */
class JournalTest {
    @TempDir
    Path tmp;

    private static void write(Path file, ByteBuffer... records) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (ByteBuffer r : records) {
                ch.write(r);
            }
        }
    }

    @Test
    void aRecordWhoseMagicSurvivedButPayloadIsTornIsNotACommit() throws Exception {
        Path file = tmp.resolve("journal.bin");
        write(file, Journal.encode(1, 3, 100), Journal.encode(2, 6, 200), Journal.encode(3, 9, 300));
        assertEquals(new Journal.Commit(3, 9, 300, 96), Journal.readLast(file));
        // A torn write of the last record: magic and sequence intact, the row count's second byte flipped so that
        // every plausibility check (sequence +1, counts growing) still passes. Only the CRC can tell.
        byte[] bytes = Files.readAllBytes(file);
        bytes[64 + 13] ^= 0x40;
        Files.write(file, bytes);
        ByteBuffer torn = ByteBuffer.wrap(bytes, 64, 32).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(Journal.MAGIC, torn.getInt(0), "the magic survived");
        assertEquals(3, torn.getLong(4), "the sequence number survived");
        assertTrue(torn.getLong(12) > 9, "the row count grew: plausible without a checksum");
        assertEquals(new Journal.Commit(2, 6, 200, 64), Journal.readLast(file),
                "the torn record is not a commit; the one before it is the last");
    }

    @Test
    void aTornRecordInACacheLeavesTheRowsOfThePreviousCommit() throws Exception {
        Path root = tmp.resolve("images");
        for (int i = 0; i < 6; i++) {
            FakeExtraction.image(root.resolve((i % 2 == 0 ? "ants/a" : "bees/b") + i + ".jpg"), i);
        }
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = CacheWriter.builder(cache, FakeExtraction.spec()).optCommitEveryRows(2)
                .optCommitEveryMillis(60_000).open()) {
            FakeExtraction.run(w.update(Dataset.fromFolder(root), 0, 1).tasks(), w, -1);
            w.finish();
        }
        Path journal = cache.resolve(CacheState.JOURNAL);
        byte[] bytes = Files.readAllBytes(journal);
        int records = bytes.length / Journal.RECORD_BYTES;
        Journal.Commit before = Journal.readLast(journal);
        assertEquals(6, before.rows());
        // The last record's row count, high byte of its low word: 6 becomes 6 + 2^14, magic untouched.
        bytes[(records - 1) * Journal.RECORD_BYTES + 13] ^= 0x40;
        Files.write(journal, bytes);
        Journal.Commit after = Journal.readLast(journal);
        assertEquals(before.seq() - 1, after.seq());
        try (CacheReader r = CacheReader.open(cache)) {
            assertTrue(r.rowCount() < 6, "the rows of the torn commit are not visible, got " + r.rowCount());
            assertEquals(after.rows(), r.rowCount());
        }
    }

    @Test
    void aTornLastLineOfTheCommittedIndexIsReportedAsDamage() throws Exception {
        Path root = tmp.resolve("images");
        for (int i = 0; i < 4; i++) {
            FakeExtraction.image(root.resolve((i % 2 == 0 ? "ants/a" : "bees/b") + i + ".jpg"), i);
        }
        Path cache = tmp.resolve("cache");
        try (CacheWriter w = CacheWriter.builder(cache, FakeExtraction.spec()).open()) {
            FakeExtraction.run(w.update(Dataset.fromFolder(root), 0, 1).tasks(), w, -1);
            w.finish();
        }
        Path index = cache.resolve(CacheState.INDEX);
        byte[] whole = Files.readAllBytes(index);
        int lastStart = lastLineStart(whole);
        // (1) Cut in the middle of the last committed line (the file lost its tail).
        Files.write(index, Arrays.copyOf(whole, lastStart + (whole.length - lastStart) / 2));
        CacheException shorter = assertThrows(CacheException.class, () -> CacheReader.open(cache).close());
        assertEquals(CacheException.Reason.CORRUPT, shorter.reason());
        assertTrue(shorter.getMessage().contains("index.jsonl"), shorter.getMessage());
        // (2) Same length, but the last line's second half is zeros (a torn sector): not parsed as a row.
        byte[] zeroed = whole.clone();
        Arrays.fill(zeroed, lastStart + (whole.length - lastStart) / 2, whole.length - 1, (byte) 0);
        Files.write(index, zeroed);
        CacheException garbled = assertThrows(CacheException.class, () -> CacheReader.open(cache).close());
        assertEquals(CacheException.Reason.CORRUPT, garbled.reason());
        assertTrue(garbled.getMessage().contains("index.jsonl"), garbled.getMessage());
        // And the writer refuses to resume over it instead of building on a broken index.
        CacheException writer = assertThrows(CacheException.class,
                () -> CacheWriter.builder(cache, FakeExtraction.spec()).open().close());
        assertEquals(CacheException.Reason.CORRUPT, writer.reason());
    }

    private static int lastLineStart(byte[] text) {
        int i = text.length - 2; // skip the final newline
        while (i >= 0 && text[i] != '\n') {
            i--;
        }
        return i + 1;
    }
}
