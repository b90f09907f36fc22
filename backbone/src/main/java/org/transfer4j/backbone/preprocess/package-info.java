/**
 * API. RGB images to model input floats, written straight into a batch buffer, with PIL-exact resampling so features
 * match the Python pipelines a backbone was trained with: {@link org.transfer4j.backbone.preprocess.Preprocessor}
 * (one per thread; Pillow 9.4 resize, torchvision 0.14 resize + center-crop, float32 normalisation) and
 * {@link org.transfer4j.backbone.preprocess.View} (seeded RandomResizedCrop + horizontal flip for augmented views).
 */
package org.transfer4j.backbone.preprocess;
