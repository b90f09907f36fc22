/** ONNX graph tools built on Tribuo's {@code OnnxMl} protobuf classes: inspect, cut to no-top, generate, splice. */
package org.transfer4j.backbone.onnx;
