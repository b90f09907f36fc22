/** API. Labelled image lists: folder-per-class trees and CSV manifests, with sorted class order. */
package org.transfer4j.backbone.dataset;
