package org.transfer4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/** Image files by URI on executors: local files are read in place, others (hdfs, s3a, ...) copied to a temp file. */
final class ImageFiles {
    private ImageFiles() {
    }

    /** The local file a {@code file:} URI or a plain path names; null for other schemes. */
    static Path localPath(String uri) {
        if (uri.startsWith("file:")) {
            return Path.of(URI.create(uri));
        }
        if (!uri.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*") || uri.matches("^[A-Za-z]:\\\\.*")) {
            return Path.of(uri);
        }
        return null;
    }

    /** A local file with the content of {@code uri}; {@code temp} is set when the caller must delete it. */
    static Path fetch(String uri, Path tempDir, Configuration conf) throws IOException {
        Path local = localPath(uri);
        if (local != null) {
            return local;
        }
        URI u = URI.create(uri);
        Path tmp = Files.createTempFile(tempDir, "img-", "");
        FileSystem fs = FileSystem.get(u, conf);
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(u))) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        return tmp;
    }
}
