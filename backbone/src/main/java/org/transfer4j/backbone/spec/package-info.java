/**
 * API. {@link org.transfer4j.backbone.spec.BackboneSpec}: what a backbone needs as input and gives as output; presets
 * and JSON.
 */
package org.transfer4j.backbone.spec;
