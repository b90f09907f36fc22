/**
 * Internal (public for the other transfer4j modules). Small file utilities shared by caches, sidecars and head files:
 * atomic writes, hashing.
 */
package org.transfer4j.backbone.io;
