/** Internal. Helpers of extract.jar: progress reporting and the run summary. */
package org.transfer4j.tools.extract;
