package org.transfer4j.head.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.transfer4j.backbone.cache.FeatureRows;

/**
 * Chooses training and validation rows. Splits are by image, not by row, so the augmented views of one image never
 * sit on both sides (that would leak the validation image into training).
 */
public final class ValidationSplit {
    private ValidationSplit() {
    }

    /** Training rows (every view) and validation rows (one row per image, view 0), both ascending. */
    public record Split(int[] train, int[] val) {
    }

    /**
     * Holds out about {@code fraction} of each class's images (rounded, at least one when the class has two or more
     * images, never all of them), chosen by a generator seeded with {@code seed}.
     */
    public static Split stratified(FeatureRows rows, double fraction, long seed) {
        int k = rows.classes().size();
        // path → its rows; per class, the paths in sorted order so the result does not depend on row order.
        Map<String, List<Integer>> byPath = new HashMap<>();
        List<TreeMap<String, Boolean>> pathsByClass = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            pathsByClass.add(new TreeMap<>());
        }
        for (int r = 0; r < rows.rowCount(); r++) {
            String p = rows.path(r);
            byPath.computeIfAbsent(p, x -> new ArrayList<>()).add(r);
            pathsByClass.get(rows.label(r)).put(p, Boolean.TRUE);
        }
        Random random = new Random(seed);
        int[] train = new int[rows.rowCount()];
        int nTrain = 0;
        List<Integer> val = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            List<String> paths = new ArrayList<>(pathsByClass.get(c).keySet());
            java.util.Collections.shuffle(paths, random);
            int n = paths.size();
            int nVal = fraction <= 0 || n < 2 ? 0 : (int) Math.max(1, Math.min(n - 1, Math.round(fraction * n)));
            for (int i = 0; i < n; i++) {
                List<Integer> imageRows = byPath.get(paths.get(i));
                if (i < nVal) {
                    val.add(plainView(rows, imageRows));
                } else {
                    for (int r : imageRows) {
                        train[nTrain++] = r;
                    }
                }
            }
        }
        int[] t = Arrays.copyOf(train, nTrain);
        Arrays.sort(t);
        int[] v = val.stream().mapToInt(Integer::intValue).sorted().toArray();
        return new Split(t, v);
    }

    /** The row showing the image itself (view 0), or its lowest view when view 0 is missing. */
    private static int plainView(FeatureRows rows, List<Integer> imageRows) {
        int best = imageRows.get(0);
        for (int r : imageRows) {
            if (rows.view(r) < rows.view(best)) {
                best = r;
            }
        }
        return best;
    }

    /** Every row of a cache (training on a whole cache). */
    public static int[] all(FeatureRows rows) {
        int[] r = new int[rows.rowCount()];
        for (int i = 0; i < r.length; i++) {
            r[i] = i;
        }
        return r;
    }

    /** One row per image, view 0 (evaluating a validation cache). */
    public static int[] plainViews(FeatureRows rows) {
        Map<String, List<Integer>> byPath = new TreeMap<>();
        for (int r = 0; r < rows.rowCount(); r++) {
            byPath.computeIfAbsent(rows.path(r), x -> new ArrayList<>()).add(r);
        }
        return byPath.values().stream().mapToInt(list -> plainView(rows, list)).sorted().toArray();
    }
}
