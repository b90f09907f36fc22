/** Internal. model.jar subcommands: inspect, cut, compose, generate, fetch. */
package org.transfer4j.tools.model;
