/**
 * API. ONNX Runtime sessions and the extraction pipeline.
 *
 * <ul>
 * <li>{@link org.transfer4j.backbone.extract.Backbone}: one ORT session plus its resolved spec; a direct batch buffer
 * in, {@code float[N][D]} pooled features out. Opened with
 * {@link org.transfer4j.backbone.extract.BackboneOptions} (device, intra-op threads, spinning, spec override).</li>
 * <li>{@link org.transfer4j.backbone.extract.Device}: {@code auto}, {@code cpu}, {@code cuda[:N]}.</li>
 * <li>{@link org.transfer4j.backbone.extract.SpecResolver}: where a model's spec comes from (options, sidecar
 * {@code X.json}, metadata {@code transfer4j.spec}, or a guess with a warning).</li>
 * <li>{@link org.transfer4j.backbone.extract.FeatureExtractor}: many images to features, decoding on worker threads
 * while inference runs, results to a {@link org.transfer4j.backbone.extract.FeatureSink} in task order.</li>
 * </ul>
 */
package org.transfer4j.backbone.extract;
