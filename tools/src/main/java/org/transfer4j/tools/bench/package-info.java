/** Internal. bench.jar subcommands: each measures one thing and prints one JSON line with medians. */
package org.transfer4j.tools.bench;
