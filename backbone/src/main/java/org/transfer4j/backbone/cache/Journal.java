package org.transfer4j.backbone.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;

/**
 * The committed-rows journal: an append-only file of fixed 32-byte records, each saying "rows 0..rows-1 and the
 * first indexBytes bytes of index.jsonl are committed". A record is written (and fsynced) only after the shard data
 * and index lines it covers were fsynced, so the last record with a valid checksum always describes complete data;
 * anything after it (a torn record, rows written but not committed) is discarded on the next open.
 *
 * <p>Record layout, little-endian: magic {@code "T4JC"} (int), sequence number (long), rows (long), index bytes
 * (long), CRC-32 of the first 28 bytes (int).
 */
final class Journal {
    static final int RECORD_BYTES = 32;
    static final int MAGIC = 0x434A3454; // "T4JC" read as a little-endian int

    /** One commit: rows and index bytes that are durable. {@code validBytes} is where the valid journal ends. */
    record Commit(long seq, long rows, long indexBytes, long validBytes) {
        static final Commit EMPTY = new Commit(0, 0, 0, 0);
    }

    private Journal() {
    }

    /** The last valid commit in {@code file}; {@link Commit#EMPTY} when the file is absent or holds none. */
    static Commit readLast(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Commit.EMPTY;
        }
        Commit last = Commit.EMPTY;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer buf = ByteBuffer.allocate(RECORD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (long pos = 0; pos + RECORD_BYTES <= size; pos += RECORD_BYTES) {
                buf.clear();
                while (buf.hasRemaining()) {
                    if (ch.read(buf, pos + buf.position()) < 0) {
                        break;
                    }
                }
                buf.flip();
                if (buf.remaining() < RECORD_BYTES) {
                    break;
                }
                Commit c = decode(buf, pos + RECORD_BYTES);
                // Sequence numbers must grow by one and counts never shrink: anything else is a torn or stale record.
                if (c == null || c.seq != last.seq + 1 || c.rows < last.rows || c.indexBytes < last.indexBytes) {
                    break;
                }
                last = c;
            }
        }
        return last;
    }

    private static Commit decode(ByteBuffer buf, long end) {
        if (buf.getInt(0) != MAGIC) {
            return null;
        }
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, 28);
        if ((int) crc.getValue() != buf.getInt(28)) {
            return null;
        }
        return new Commit(buf.getLong(4), buf.getLong(12), buf.getLong(20), end);
    }

    static ByteBuffer encode(long seq, long rows, long indexBytes) {
        ByteBuffer buf = ByteBuffer.allocate(RECORD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(MAGIC).putLong(seq).putLong(rows).putLong(indexBytes);
        CRC32 crc = new CRC32();
        crc.update(buf.array(), 0, 28);
        buf.putInt((int) crc.getValue());
        buf.flip();
        return buf;
    }
}
