/**
 * API: feature extraction on Apache Spark ({@link org.transfer4j.spark.SparkFeatureExtractor},
 * {@link org.transfer4j.spark.SparkImages}, {@link org.transfer4j.spark.SparkExtraction}) and the spark-extract
 * program ({@link org.transfer4j.spark.SparkExtractCommand}). ExecutorBackbones, PartitionExtractor and ImageFiles
 * are internal.
 */
package org.transfer4j.spark;
