package org.transfer4j.backbone.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HashesTest {
    @TempDir
    Path dir;

    @Test
    void knownVectorsAsLowercaseHex() {
        // FIPS 180-2 test vectors.
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                Hashes.sha256("abc".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Hashes.sha256(new byte[0]));
        assertEquals("00ff10", Hashes.hex(new byte[] {0, (byte) 0xff, 0x10}));
    }

    @Test
    void aStreamedFileHashesLikeItsBytes() throws IOException {
        // Larger than the read buffer and not a multiple of it, so several partial reads are summed.
        byte[] data = new byte[3 * (1 << 16) + 123];
        new Random(7).nextBytes(data);
        Path f = Files.write(dir.resolve("data.bin"), data);
        assertEquals(Hashes.sha256(data), Hashes.sha256(f));
        assertEquals(Hashes.sha256(new byte[0]), Hashes.sha256(Files.write(dir.resolve("empty"), new byte[0])));
        assertThrows(IOException.class, () -> Hashes.sha256(dir.resolve("missing")));
    }
}
