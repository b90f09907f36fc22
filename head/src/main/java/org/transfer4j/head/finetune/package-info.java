/**
 * Fine-tuning the last stage of a ResNet-style backbone together with the head (work in progress, internal):
 * {@link org.transfer4j.head.finetune.StageGraph} turns the ONNX nodes after a split tensor (Conv, Relu, Add,
 * GlobalAveragePool; BatchNorm folded) into a trainable ND4J SameDiff graph whose weights start as the backbone's
 * initializers and go back into the backbone ({@code tunedBackbone}: same graph, new weights, so the existing Composer
 * adds the head). {@link org.transfer4j.head.finetune.StageHeadModel} puts the Dense+ReLU+softmax head on top and
 * trains both with Adam at a low rate. The split itself is {@code GraphSurgery.splitAtStage} (backbone module) and
 * {@code extract --maps} caches its tensor. Not yet here: train-head's {@code --fine-tune} loop (warm-up, early
 * stopping, checkpoints) and composing its result.
 */
package org.transfer4j.head.finetune;
