package org.transfer4j.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates {@code ../shared} (real models and photos, read-only) through the {@code transfer4j.shared} system property
 * that the parent pom sets. Tests that need it call {@link #require(String)}, which skips the test with a clear
 * reason when the file is absent, so the suite also runs on a fresh machine with the project alone.
 */
public final class SharedData {
    public static final String PROPERTY = "transfer4j.shared";

    private SharedData() {
    }

    /** The shared folder, or null when the property is unset or the folder missing. */
    public static Path root() {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank()) {
            Path guess = Path.of("..", "..", "shared");
            return Files.isDirectory(guess) ? guess.toAbsolutePath().normalize() : null;
        }
        Path root = Path.of(p).toAbsolutePath().normalize();
        return Files.isDirectory(root) ? root : null;
    }

    /** The shared file or folder at {@code relative}; skips the calling test when it is not there. */
    public static Path require(String relative) {
        Path root = root();
        assumeTrue(root != null, () -> "skipped: ../shared not found (system property " + PROPERTY + "="
                + System.getProperty(PROPERTY) + "); integration tests need the shared models and photos");
        Path file = root.resolve(relative);
        assumeTrue(Files.exists(file), () -> "skipped: " + file + " is absent from ../shared");
        return file;
    }
}
