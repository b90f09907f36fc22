/**
 * API. {@link org.transfer4j.head.compose.Composer} splices a backbone and a head into one ONNX model whose metadata
 * carries the spec, the class names and the head's provenance ({@link org.transfer4j.backbone.onnx.OnnxMetadata}), the
 * file {@code org.transfer4j.inference.Predictor} loads. Plain ONNX protobuf and Tribuo's ONNX builder; no ND4J.
 */
package org.transfer4j.head.compose;
