/**
 * API. The on-disk feature cache: a versioned directory written append-only and committed atomically, so a crash at any
 * instant leaves a cache the next run resumes; read back through memory-mapped shards.
 */
package org.transfer4j.backbone.cache;
