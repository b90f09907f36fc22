/**
 * Static int8 quantization of a float backbone, calibrated on the user's own images. <b>API</b>:
 * {@link org.transfer4j.backbone.quantize.Quantizer} (builder: model, calibration images, count, method, seed),
 * {@link org.transfer4j.backbone.quantize.CalibrationMethod}, the
 * {@link org.transfer4j.backbone.quantize.QuantizationResult} it returns,
 * {@link org.transfer4j.backbone.quantize.OrtOptimizer} (what ONNX Runtime makes of a model: QLinearConv counts) and
 * {@link org.transfer4j.backbone.quantize.FeatureAgreement} (int8 features against float ones). Everything else here
 * is internal.
 *
 * <p>The output is a QDQ model (QuantizeLinear/DequantizeLinear around the float operators) shaped so that ONNX
 * Runtime's graph optimiser turns each Conv into QLinearConv (u8 activations, s8 per-channel weights, s32 bias), Add
 * into QLinearAdd and MaxPool into an 8-bit MaxPool. The image input and the pooled features output stay float, so the
 * quantized file is an ordinary backbone for extraction, composition and prediction.
 */
package org.transfer4j.backbone.quantize;
