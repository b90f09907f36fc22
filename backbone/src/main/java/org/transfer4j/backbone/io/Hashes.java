package org.transfer4j.backbone.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 as lowercase hex, the one content hash of the project: model files (the backbone identity in specs, caches
 * and heads), downloads, cached image files and head weights.
 */
public final class Hashes {
    private static final int BUFFER = 1 << 16;

    private Hashes() {
    }

    /** A fresh SHA-256 digest, for callers that feed it piece by piece. */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256; reaching this means a broken JVM, not a user error.
            throw new IllegalStateException("SHA-256 is required of every Java platform but is missing", e);
        }
    }

    /** Lowercase hex sha256 of a file, streamed: models can be hundreds of MB and are never read whole. */
    public static String sha256(Path file) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return hex(md.digest());
    }

    /** Lowercase hex sha256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        return hex(newSha256().digest(bytes));
    }

    /** Lowercase hex of {@code bytes} (e.g. a finished digest). */
    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
