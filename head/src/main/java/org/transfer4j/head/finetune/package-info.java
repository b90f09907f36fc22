/**
 * Fine-tuning the last stage of a ResNet-style backbone together with the head (work in progress, internal):
 * {@link org.transfer4j.head.finetune.StageGraph} turns the ONNX nodes after a split tensor (Conv, Relu, Add,
 * GlobalAveragePool; BatchNorm folded) into a trainable ND4J SameDiff graph whose weights start as the backbone's
 * initializers and go back into the backbone ({@code tunedBackbone}: same graph, new weights, so the existing Composer
 * adds the head). Not yet here: caching the split tensor (extract --maps) and the training loop.
 */
package org.transfer4j.head.finetune;
