/**
 * API. What train-head writes beside the head: {@code metrics.json}, {@code misclassified.csv}, and {@code report.html}
 * with {@code curves.png} and {@code confusion.png} drawn by JFreeChart (headless). No ND4J here.
 */
package org.transfer4j.head.report;
