/** model.jar subcommands: inspect, cut, compose, generate, fetch, quantize. */
package org.transfer4j.tools.model;
