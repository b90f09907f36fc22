/**
 * Internal. What {@code demo.sh} needs beyond the three jars: a small labelled image set drawn in code
 * ({@link org.transfer4j.tools.demo.DrawnDataset}) and a deterministic train/held-out split of a user's folder, both
 * behind {@link org.transfer4j.tools.demo.DemoCommand} ({@code java -cp tools/target/model.jar
 * org.transfer4j.tools.demo.DemoCommand draw|split ...}).
 */
package org.transfer4j.tools.demo;
