package org.transfer4j.head.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.transfer4j.backbone.cache.FeatureRows;
import org.transfer4j.backbone.io.Hashes;

/**
 * Content hashes of feature rows: recorded in a head's provenance and used to refuse resuming a checkpoint with
 * other inputs. Covers classes, backbone sha256, feature dimension and every row's label, view, path and features, so
 * it is independent of where the cache lives. Streams row by row; a cache larger than the heap is fine.
 */
public final class Fingerprints {
    private Fingerprints() {
    }

    public static String sha256(FeatureRows rows) {
        MessageDigest md = Hashes.newSha256();
        md.update(String.join("\n", rows.classes()).getBytes(StandardCharsets.UTF_8));
        md.update(("\n" + rows.spec().modelSha256() + "\n" + rows.featureDim() + "\n" + rows.rowCount() + "\n")
                .getBytes(StandardCharsets.UTF_8));
        int d = rows.featureDim();
        float[] f = new float[d];
        ByteBuffer buf = ByteBuffer.allocate(4 * d + 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows.rowCount(); r++) {
            rows.read(r, f, 0);
            buf.clear();
            buf.putInt(rows.label(r)).putInt(rows.view(r));
            buf.asFloatBuffer().put(f);
            md.update(buf.array(), 0, 4 * d + 8);
            md.update(rows.path(r).getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
        }
        return Hashes.hex(md.digest());
    }

    public static String sha256(String text) {
        return Hashes.sha256(text.getBytes(StandardCharsets.UTF_8));
    }

}
