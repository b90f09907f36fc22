package org.transfer4j.backbone.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.backbone.io.Hashes;

/**
 * Downloads a model file over HTTP(S), resumably and verified. Bytes go to {@code <target>.part}; an interrupted
 * download keeps that file and the next call asks the server for the rest with an HTTP {@code Range} request. A server
 * that answers 206 gets the tail appended; one that ignores the range and answers 200 gets the file rewritten from the
 * start. The finished file must have the expected size and sha256, otherwise it is deleted and the exception says so;
 * only then is it renamed to {@code target}, so {@code target} is always either absent or verified.
 *
 * <p>Thread-safe for different targets; two downloads into the same target at once are not supported.
 */
public final class Downloader {
    /** Progress of one download; called on the downloading thread. */
    public interface Listener {
        /**
         * Called when a download starts and then as bytes arrive (at most every {@link #REPORT_EVERY} bytes) and once
         * at the end.
         *
         * @param done  bytes present so far, including a resumed prefix
         * @param total the expected total, or -1 when unknown
         */
        void progress(long done, long total);

        /** A one-line note for the user (resuming, trying a mirror, ...). */
        default void message(String line) {
        }
    }

    /** Bytes between two progress callbacks. */
    public static final long REPORT_EVERY = 256 * 1024;

    /**
     * What a download did.
     *
     * @param file           the verified file
     * @param size           its size in bytes
     * @param sha256         its sha256, lowercase hex
     * @param source         the URL it came from, or null when it was already present and verified
     * @param resumedFrom    bytes of an earlier partial download that were kept (0 when none)
     * @param alreadyPresent true when {@code file} already existed and verified, so nothing was downloaded
     */
    public record Result(Path file, long size, String sha256, URI source, long resumedFrom, boolean alreadyPresent) {
    }

    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

    private final HttpClient client;
    private final Duration responseTimeout;
    private final Listener listener;

    private Downloader(Builder b) {
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(b.connectTimeout)
                // HTTP/1.1: one long sequential stream, and range requests behave the same on every server.
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        this.responseTimeout = b.responseTimeout;
        this.listener = b.listener;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options; all optional. */
    public static final class Builder {
        private Duration connectTimeout = Duration.ofSeconds(20);
        private Duration responseTimeout = Duration.ofSeconds(60);
        private Listener listener = (done, total) -> { };

        private Builder() {
        }

        /** Time allowed to open a connection (default 20 s). */
        public Builder optConnectTimeout(Duration d) {
            this.connectTimeout = positive(d, "connectTimeout");
            return this;
        }

        /** Time allowed until the response headers arrive (default 60 s). */
        public Builder optResponseTimeout(Duration d) {
            this.responseTimeout = positive(d, "responseTimeout");
            return this;
        }

        public Builder optListener(Listener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        private static Duration positive(Duration d, String field) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("downloader option '" + field + "' is " + d
                        + "; allowed: a positive duration");
            }
            return d;
        }

        public Downloader build() {
            return new Downloader(this);
        }
    }

    /** The partial file a download into {@code target} uses. */
    public static Path partFile(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    /**
     * Downloads from the first URL that works. Network and HTTP failures move on to the next URL (keeping the partial
     * file, which the next URL resumes when it serves the same bytes); a size or checksum mismatch also moves on, after
     * deleting the bad file. When every URL fails the exception lists each failure.
     *
     * @param expectedSize   exact size in bytes, or a value &lt;= 0 when unknown
     * @param expectedSha256 lowercase hex sha256, or null to skip that check
     */
    public Result download(List<URI> urls, Path target, long expectedSize, String expectedSha256)
            throws DownloadException {
        if (urls.isEmpty()) {
            throw new DownloadException(DownloadException.Reason.NO_SOURCE, "no URL to download " + target + " from");
        }
        List<String> failures = new ArrayList<>();
        DownloadException last = null;
        for (URI url : urls) {
            try {
                return download(url, target, expectedSize, expectedSha256);
            } catch (DownloadException e) {
                last = e;
                failures.add(e.getMessage());
                if (urls.size() > 1) {
                    listener.message("failed: " + e.getMessage());
                }
            }
        }
        if (failures.size() == 1) {
            throw last;
        }
        throw new DownloadException(last.reason(), "every URL failed: " + String.join(" | ", failures), last);
    }

    /** Downloads {@code url} into {@code target}, resuming and verifying as the class comment says. */
    public Result download(URI url, Path target, long expectedSize, String expectedSha256) throws DownloadException {
        long expected = expectedSize > 0 ? expectedSize : -1;
        String sha = expectedSha256 == null ? null : expectedSha256.toLowerCase(Locale.ROOT);
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            if (Files.isRegularFile(target)) {
                long size = Files.size(target);
                // Hash only a file of the right size: a 100 MB read is not free.
                String present = expected < 0 || size == expected ? Hashes.sha256(target) : null;
                if (present != null && (sha == null || present.equals(sha))) {
                    return new Result(target, size, present, null, 0, true);
                }
                listener.message(target + " exists but does not match the expected size/sha256; downloading again");
            }
            Path part = partFile(target);
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            if (expected > 0 && have > expected) {
                listener.message("discarding " + part + ": it is larger (" + have + " bytes) than the model ("
                        + expected + ")");
                Files.delete(part);
                have = 0;
            }
            // A complete .part (e.g. killed before the rename) only needs verifying.
            long resumedFrom = expected < 0 || have < expected ? fetchInto(url, part, have, expected) : have;
            long size = Files.size(part);
            if (expected > 0 && size != expected) {
                Files.deleteIfExists(part);
                throw new DownloadException(DownloadException.Reason.SIZE_MISMATCH, String.format(Locale.ROOT,
                        "%s gave %d bytes but the model is %d bytes; deleted the download. The server may publish "
                                + "another version of the file: check the URL, or point --url at a mirror",
                        url, size, expected));
            }
            String actual = Hashes.sha256(part);
            if (sha != null && !actual.equals(sha)) {
                Files.deleteIfExists(part);
                throw new DownloadException(DownloadException.Reason.CHECKSUM_MISMATCH, String.format(Locale.ROOT,
                        "the file from %s has sha256 %s but the model's is %s; deleted the download. It was "
                                + "corrupted in transit or the server publishes another file: run again, or point "
                                + "--url at a mirror", url, actual, sha));
            }
            AtomicFiles.moveAtomically(part, target);
            listener.progress(size, size);
            return new Result(target, size, actual, url, resumedFrom, false);
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Reason.NETWORK, "download of " + url + " into " + target
                    + " failed: " + describe(e) + partNote(target), e);
        }
    }

    /** Requests {@code url} (from byte {@code have} when &gt; 0) and writes into {@code part}; returns bytes kept. */
    private long fetchInto(URI url, Path part, long have, long expected) throws DownloadException, IOException {
        HttpRequest.Builder rb = HttpRequest.newBuilder(url).timeout(responseTimeout).GET();
        if (have > 0) {
            rb.header("Range", "bytes=" + have + "-");
            listener.message(String.format(Locale.ROOT, "resuming %s at %d bytes", part.getFileName(), have));
        }
        HttpResponse<InputStream> resp = send(rb.build(), url, part);
        try (InputStream body = resp.body()) {
            int status = resp.statusCode();
            long start;
            if (status == 206 && have > 0) {
                Matcher m = CONTENT_RANGE.matcher(resp.headers().firstValue("Content-Range").orElse(""));
                if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                    // A range we did not ask for: appending it would corrupt the file, so start over.
                    listener.message("server answered with another range ("
                            + resp.headers().firstValue("Content-Range").orElse("none") + "); starting over");
                    body.close();
                    Files.deleteIfExists(part);
                    return fetchInto(url, part, 0, expected);
                }
                if (!m.group(3).equals("*")) {
                    checkTotal(url, part, Long.parseLong(m.group(3)), expected);
                }
                start = have;
            } else if (status == 200) {
                if (have > 0) {
                    listener.message("server does not resume (HTTP 200 to a range request); downloading from the start");
                }
                OptionalLong len = resp.headers().firstValueAsLong("Content-Length");
                if (len.isPresent()) {
                    checkTotal(url, part, len.getAsLong(), expected);
                }
                start = 0;
            } else if (status == 416 && have > 0) {
                // Our partial file is not a prefix the server knows (e.g. the file changed): start over.
                listener.message("server refused to resume (HTTP 416); downloading from the start");
                body.close();
                Files.deleteIfExists(part);
                return fetchInto(url, part, 0, expected);
            } else {
                throw new DownloadException(DownloadException.Reason.HTTP_STATUS, String.format(Locale.ROOT,
                        "%s answered HTTP %d%s", url, status,
                        status == 404 ? " (not found: the URL moved? point --url at a mirror)" : ""));
            }
            copy(body, part, start, expected);
            return start;
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Reason.NETWORK, "download of " + url + " broke off: "
                    + describe(e) + partNote(part.resolveSibling(
                            part.getFileName().toString().replaceFirst("\\.part$", ""))), e);
        }
    }

    private static void checkTotal(URI url, Path part, long total, long expected) throws DownloadException,
            IOException {
        if (expected > 0 && total != expected) {
            Files.deleteIfExists(part);
            throw new DownloadException(DownloadException.Reason.SIZE_MISMATCH, String.format(Locale.ROOT,
                    "%s serves %d bytes but the model is %d bytes; nothing kept. The server may publish another "
                            + "version of the file: check the URL, or point --url at a mirror", url, total, expected));
        }
    }

    private HttpResponse<InputStream> send(HttpRequest req, URI url, Path part) throws DownloadException {
        try {
            return client.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Reason.NETWORK, "cannot reach " + url + ": " + describe(e)
                    + " (no network? behind a proxy? a mirror can be given with --url)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DownloadException(DownloadException.Reason.NETWORK, "download of " + url + " interrupted"
                    + (Files.exists(part) ? "; " + part + " is kept and the next run resumes it" : ""), e);
        }
    }

    /** Streams {@code in} into {@code part} from byte {@code start} (truncating anything after it). */
    private void copy(InputStream in, Path part, long start, long expected) throws IOException {
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.truncate(start);
            ch.position(start);
            byte[] buf = new byte[64 * 1024];
            long done = start;
            long lastReport = start;
            listener.progress(done, expected);
            int n;
            while ((n = in.read(buf)) >= 0) {
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                done += n;
                if (done - lastReport >= REPORT_EVERY) {
                    listener.progress(done, expected);
                    lastReport = done;
                }
            }
            // Durable before it is renamed into place; a crash before this leaves a resumable .part.
            ch.force(true);
            listener.progress(done, expected);
        }
    }

    private static String partNote(Path target) {
        Path part = partFile(target);
        try {
            if (Files.isRegularFile(part) && Files.size(part) > 0) {
                return "; " + Files.size(part) + " bytes are kept in " + part
                        + " and running the same command again resumes from there";
            }
        } catch (IOException ignored) {
            // The note is a courtesy; the main message stands without it.
        }
        return "";
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
