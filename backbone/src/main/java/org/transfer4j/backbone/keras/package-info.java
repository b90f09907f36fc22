/**
 * API: {@link org.transfer4j.backbone.keras.KerasImporter} turns a Keras model saved as a TensorFlow.js layers model
 * (an npm package {@code .tgz} or a folder with {@code model.json} and its weight shards) into an ONNX backbone with
 * its spec sidecar, or into a full classifier that {@code Predictor} loads as it is. Everything else in the package
 * ({@code TfjsSource}, {@code TfjsWeights}, {@code KerasTopology}, {@code KerasGraphBuilder}) is internal.
 */
package org.transfer4j.backbone.keras;
