package org.transfer4j.backbone.cache;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A test seam for faults that are hard to cause for real (a full disk, a file system turning read-only mid-run):
 * the writer calls {@link #beforeWrite} before each write and {@link #beforeOpen} before opening a file for
 * writing. Tests in this package install a hook through {@link #install}; production code never does.
 */
interface IoFaults {
    IoFaults NONE = new IoFaults() {
    };

    default void beforeWrite(Path file, long bytes) throws IOException {
    }

    default void beforeOpen(Path file) throws IOException {
    }

    /** The hook in effect; volatile so a test thread's install is seen by the writer. */
    final class Holder {
        static volatile IoFaults current = NONE;

        private Holder() {
        }
    }

    static IoFaults current() {
        return Holder.current;
    }

    static void install(IoFaults faults) {
        Holder.current = faults == null ? NONE : faults;
    }
}
