package org.transfer4j.backbone.cache;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.transfer4j.backbone.io.Hashes;

/**
 * Seeds of augmented views, derived from (run seed, image relative path, view) only: the same image gets the same
 * crops on every run and machine, whatever the file order, thread count or crash history.
 */
public final class ViewSeeds {
    private ViewSeeds() {
    }

    /** The seed of {@code view} (&ge; 1) of the image at {@code relativePath}; 0 for view 0 (the plain image). */
    public static long of(long seed, String relativePath, int view) {
        if (view == 0) {
            return 0L;
        }
        MessageDigest md = Hashes.newSha256();
        md.update(ByteBuffer.allocate(12).putLong(seed).putInt(view).array());
        md.update(relativePath.getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(md.digest()).getLong();
    }
}
