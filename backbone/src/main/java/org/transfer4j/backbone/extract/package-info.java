/**
 * ONNX Runtime sessions and the extraction pipeline: {@code Backbone} (one session plus its spec) and
 * {@code FeatureExtractor} (many images to features, decoding on worker threads while inference runs).
 */
package org.transfer4j.backbone.extract;
