/**
 * Internal. The command-line programs. They parse flags, call the library and print; no logic of their own lives here.
 */
package org.transfer4j.tools;
