/** Internal. model.jar subcommands: inspect, cut, compose, generate, fetch, import, quantize. */
package org.transfer4j.tools.model;
