/**
 * API. Where backbones come from: {@link org.transfer4j.backbone.catalog.ModelDescriptor} (one {@code models/*.json}
 * file: source URLs, size, sha256, license, whether it must be cut to no-top, and its
 * {@link org.transfer4j.backbone.spec.BackboneSpec}), {@link org.transfer4j.backbone.catalog.ModelCatalog} (loads and
 * validates a folder of them) and {@link org.transfer4j.backbone.catalog.Downloader} (resumable, verified HTTP(S)
 * download). Cutting a downloaded classifier to no-top is {@code backbone.onnx}'s job; the CLI wires the two.
 */
package org.transfer4j.backbone.catalog;
