package org.transfer4j.backbone.cache;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.io.Hashes;

/**
 * The planner of a cache update: compares a dataset with a cache's live rows and says what to do — which rows to drop
 * (deleted or changed files, views no longer wanted), which files only need their size/mtime refreshed, which are
 * missing, and which (image, view) tasks still have to run, in image then view order. It reads the image files'
 * attributes (and hashes files whose size or mtime changed) but writes nothing: {@link CacheWriter#update} commits
 * the outcome.
 *
 * @param planned         one entry per task, indexed by the task's id
 * @param tasks           the work still to do
 * @param lines           index lines to commit, in dataset order ({@code touch}, {@code fail}, then one {@code drop})
 * @param newImages       images not in the cache yet
 * @param changedImages   images whose content or label changed
 * @param unchangedImages images with all their rows present
 * @param removedImages   cached images no longer in the dataset
 * @param missingImages   dataset entries whose file cannot be read
 * @param droppedRows     rows the drop line removes
 */
record DatasetDiff(List<Planned> planned, List<ImageTask> tasks, List<Line> lines, int newImages, int changedImages,
        int unchangedImages, int removedImages, int missingImages, int droppedRows) {

    /** One task of the run and what the file looked like when the run was planned. */
    record Planned(LabeledImage image, int view, long seed, long size, long mtime) {
    }

    /** An index line; {@code failedPath}/{@code failReason} are set for {@code fail} lines. */
    record Line(String json, String failedPath, String failReason) {
    }

    static Line failLine(String rel, String reason, String message) {
        JsonObject f = op("fail");
        f.addProperty("path", rel);
        f.addProperty("reason", reason);
        f.addProperty("message", message);
        return new Line(CacheState.LINE.toJson(f), rel, reason);
    }

    static JsonObject op(String name) {
        JsonObject o = new JsonObject();
        o.addProperty("op", name);
        return o;
    }

    /**
     * @param live the cache's live rows by relative path (consumed: entries left over are the removed images)
     */
    static DatasetDiff compute(Map<String, List<CacheState.Row>> live, Dataset dataset, int augment, long seed) {
        List<Line> lines = new ArrayList<>();
        List<Integer> drops = new ArrayList<>();
        List<Planned> planned = new ArrayList<>();
        List<ImageTask> tasks = new ArrayList<>();
        int fresh = 0;
        int changed = 0;
        int unchanged = 0;
        int missing = 0;
        for (LabeledImage im : dataset.images()) {
            String rel = im.relativePath();
            List<CacheState.Row> existing = live.remove(rel);
            long size;
            long mtime;
            try {
                BasicFileAttributes a = Files.readAttributes(im.path(), BasicFileAttributes.class);
                if (!a.isRegularFile()) {
                    throw new NoSuchFileException(im.path().toString(), null, "not a regular file");
                }
                size = a.size();
                mtime = a.lastModifiedTime().toMillis();
            } catch (IOException e) {
                missing++;
                lines.add(failLine(rel, "unreadable", im.path() + ": " + (e instanceof NoSuchFileException n
                        && n.getReason() == null ? "no such file" : e.getMessage())));
                if (existing != null) {
                    existing.forEach(r -> drops.add(r.row()));
                }
                continue;
            }
            boolean keep = false;
            if (existing != null) {
                CacheState.Row first = existing.get(0);
                boolean same = first.size() == size && first.mtime() == mtime;
                if (!same) {
                    try {
                        same = Hashes.sha256(im.path()).equals(first.sha256());
                    } catch (IOException e) {
                        same = false; // unreadable now: re-extraction will report it
                    }
                    if (same) {
                        JsonObject t = op("touch");
                        t.addProperty("path", rel);
                        t.addProperty("size", size);
                        t.addProperty("mtime", mtime);
                        lines.add(new Line(CacheState.LINE.toJson(t), null, null));
                    }
                }
                keep = same && first.label().equals(im.label());
            }
            boolean[] have = new boolean[augment + 1];
            if (keep) {
                for (CacheState.Row r : existing) {
                    if (r.view() > augment || r.seed() != ViewSeeds.of(seed, rel, r.view()) || have[r.view()]) {
                        drops.add(r.row());
                    } else {
                        have[r.view()] = true;
                    }
                }
            } else if (existing != null) {
                existing.forEach(r -> drops.add(r.row()));
                changed++;
            } else {
                fresh++;
            }
            boolean any = false;
            for (int v = 0; v <= augment; v++) {
                if (!have[v]) {
                    long vs = ViewSeeds.of(seed, rel, v);
                    tasks.add(new ImageTask(planned.size(), im.path(), v, vs));
                    planned.add(new Planned(im, v, vs, size, mtime));
                    any = true;
                }
            }
            if (!any) {
                unchanged++;
            }
        }
        int removed = live.size();
        live.values().forEach(rs -> rs.forEach(r -> drops.add(r.row())));
        if (!drops.isEmpty()) {
            JsonObject d = op("drop");
            JsonArray arr = new JsonArray();
            drops.stream().sorted().forEach(arr::add);
            d.add("rows", arr);
            lines.add(new Line(CacheState.LINE.toJson(d), null, null));
        }
        return new DatasetDiff(List.copyOf(planned), List.copyOf(tasks), List.copyOf(lines), fresh, changed,
                unchanged, removed, missing, drops.size());
    }
}
