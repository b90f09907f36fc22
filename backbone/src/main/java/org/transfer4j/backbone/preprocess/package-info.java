/**
 * RGB images to model input floats, written straight into a batch buffer, with PIL-exact resampling so features
 * match the Python pipelines a backbone was trained with.
 */
package org.transfer4j.backbone.preprocess;
