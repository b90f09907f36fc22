package org.transfer4j.head;

import java.util.Map;
import java.util.TreeMap;

/**
 * Who made a head from what: enough to tell two heads apart and to reproduce one.
 *
 * @param trainCache       path of the training cache as given
 * @param trainCacheSha256 fingerprint of the training cache's rows (see the trainer), lowercase hex
 * @param valCache         path of the validation cache, or null when a split of the training cache was used
 * @param valCacheSha256   fingerprint of the validation cache, or null
 * @param libraries        library name → version (transfer4j, nd4j, java, ...)
 * @param createdAt        ISO-8601 UTC instant the head was written
 */
public record Provenance(String trainCache, String trainCacheSha256, String valCache, String valCacheSha256,
                         Map<String, String> libraries, String createdAt) {
    public Provenance {
        libraries = libraries == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(libraries));
    }
}
