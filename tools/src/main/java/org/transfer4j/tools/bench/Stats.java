package org.transfer4j.tools.bench;

import java.util.ArrayList;
import java.util.List;

/** The order statistic every benchmark reports. */
final class Stats {
    private Stats() {
    }

    /** The median of {@code values}, in any order (a sorted copy is used; the list is not changed). */
    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
