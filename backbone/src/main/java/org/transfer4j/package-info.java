/**
 * API. The root of every transfer4j module: the checked-exception family ({@link org.transfer4j.Transfer4jException},
 * {@link org.transfer4j.ModelException}; the others sit beside what they describe, e.g.
 * {@code backbone.image.ImageDecodeException}). It lives in the backbone artifact because every artifact depends on
 * that one, and in a package of its own so that a user of the Predictor catches {@code org.transfer4j.ModelException}
 * without naming a module it never calls.
 *
 * <p>Artifacts and their packages:
 * <ul>
 *   <li>{@code transfer4j-backbone}: images to tensors to features, everything up to the feature cache; nothing there
 *       knows about heads. {@code backbone.spec} (what a model needs), {@code backbone.image} (bytes to oriented
 *       8-bit RGB), {@code backbone.preprocess} (RGB to float tensors), {@code backbone.extract} (ONNX Runtime
 *       sessions and the extraction pipeline), {@code backbone.dataset} (labelled image lists), {@code backbone.cache}
 *       (the on-disk feature cache), {@code backbone.catalog} (model downloads), {@code backbone.onnx} (graph tools and
 *       the models' metadata keys), {@code backbone.io} (atomic files, hashes).</li>
 *   <li>{@code transfer4j-inference}: {@code org.transfer4j.inference} (the Predictor) and {@code org.transfer4j.head}
 *       (what a trained head is: weights, head files, their config and provenance). No ND4J, no trainers.</li>
 *   <li>{@code transfer4j-head}: training ({@code head.train}), evaluation ({@code head.eval}), reports
 *       ({@code head.report}) and composition into one ONNX model ({@code head.compose}).</li>
 *   <li>{@code transfer4j-tools}: the command-line programs; internal.</li>
 * </ul>
 * Each package's own documentation says whether it is API (kept stable, for applications) or internal (public only
 * so that the other transfer4j modules can call it; may change in any release).
 */
package org.transfer4j;
