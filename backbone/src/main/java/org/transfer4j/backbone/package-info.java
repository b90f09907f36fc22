/**
 * Images to tensors to features: everything up to the feature cache. Nothing here knows about heads.
 *
 * <p>Subpackages: {@code spec} (what a model needs), {@code image} (bytes to oriented 8-bit RGB),
 * {@code preprocess} (RGB to float tensors), {@code extract} (ONNX Runtime sessions and the extraction pipeline),
 * {@code dataset} (labelled image lists), {@code cache} (the on-disk feature cache), {@code onnx} (graph tools).
 */
package org.transfer4j.backbone;
