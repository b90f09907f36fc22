/**
 * Internal (public for the head and tools modules), except {@link org.transfer4j.backbone.onnx.OnnxMetadata}, which is
 * API: the metadata keys of transfer4j's models and a reader for them. ONNX graph tools built on Tribuo's
 * {@code OnnxMl} protobuf classes: inspect, cut to no-top, generate, splice.
 */
package org.transfer4j.backbone.onnx;
