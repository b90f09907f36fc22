/**
 * Fine-tuning the last stage of a ResNet-style backbone together with the head (Keras' second step; internal,
 * reached through {@code train-head.jar --fine-tune}). {@link org.transfer4j.head.finetune.StageNetwork} turns the
 * ONNX nodes after a split tensor (Conv, Relu, Add, GlobalAveragePool; BatchNorm folded) into a network with a
 * hand-written forward and backward pass (BLAS products in NHWC, im2col for k×k and strided convolutions) whose
 * weights start as the backbone's initializers and go back into it ({@code tunedBackbone}: same graph, new weights).
 * {@link org.transfer4j.head.finetune.FineTuneRun} is the run: warm-up of the head on the frozen stage (the ordinary
 * {@code HeadTrainer}), then stage + head with Adam at a low rate, checkpoints and resume, and one composed
 * model.onnx. The split itself is {@code GraphSurgery.splitAtStage} (backbone module) and {@code extract --maps}
 * caches its tensor.
 */
package org.transfer4j.head.finetune;
