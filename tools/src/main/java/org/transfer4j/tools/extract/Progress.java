package org.transfer4j.tools.extract;

import java.io.PrintStream;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.transfer4j.backbone.cache.CacheWriter;
import org.transfer4j.backbone.extract.Backbone;
import org.transfer4j.backbone.extract.Extraction;
import org.transfer4j.backbone.extract.ImageTask;
import org.transfer4j.backbone.image.ImageDecodeException;

/**
 * Counts an {@link Extraction}'s results and reports progress: a progress bar when stderr is a terminal, otherwise a
 * plain line every few seconds (logs and CI do not render bars). The count starts when the plan is known.
 */
public final class Progress implements Extraction.Listener, AutoCloseable {
    private final boolean terminal;
    private final PrintStream plain;
    private final long intervalNanos;
    private int total;
    private ProgressBar bar;
    private long start = System.nanoTime();
    private long lastLine = start;
    private long lastDone = start;
    private int done;
    private int failedTasks;
    private int warmupTasks;
    private long warmEnd;

    /**
     * @param terminal  draw a bar (true) or print plain lines to {@code plain} (false)
     * @param intervalMillis how often plain lines are printed
     */
    public Progress(boolean terminal, PrintStream plain, long intervalMillis) {
        this.terminal = terminal;
        this.plain = plain;
        this.intervalNanos = intervalMillis * 1_000_000L;
    }

    @Override
    public void planned(CacheWriter.Plan plan, Backbone backbone) {
        total = plan.tasks().size();
        start = System.nanoTime();
        lastLine = start;
        lastDone = start;
        bar = terminal && total > 0 ? new ProgressBarBuilder().setTaskName("extract").setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII).setUnit(" img", 1).showSpeed().build() : null;
    }

    @Override
    public void done(ImageTask task, ImageDecodeException failure) {
        if (failure != null) {
            failedTasks++;
        }
        step();
    }

    private void step() {
        done++;
        lastDone = System.nanoTime();
        if (done == warmupTasks) {
            warmEnd = lastDone;
        }
        if (bar != null) {
            bar.step();
            if (failedTasks > 0) {
                bar.setExtraMessage(failedTasks + " failed");
            }
            return;
        }
        long now = System.nanoTime();
        if (now - lastLine >= intervalNanos || done == total) {
            lastLine = now;
            double secs = (now - start) / 1e9;
            double rate = done / Math.max(secs, 1e-9);
            plain.println(String.format(Locale.ROOT, "extract: %d/%d (%.0f%%), %.1f images/s, %d failed%s", done,
                    total, 100.0 * done / Math.max(total, 1), rate, failedTasks,
                    // Too early an estimate mostly measures model warm-up; wait for a few percent.
                    done < total && rate > 0 && done * 50L >= total ? String.format(Locale.ROOT, ", about %.0f s left",
                            (total - done) / rate) : ""));
            plain.flush();
        }
    }

    /**
     * Counts the first {@code tasks} (the first batch: ONNX Runtime's first run allocates its arena and picks kernels,
     * and no decoding overlaps it yet) as warm-up, left out of {@link #steadyImagesPerSecond}.
     */
    public Progress withWarmup(int tasks) {
        this.warmupTasks = tasks;
        return this;
    }

    /**
     * Images per second after the warm-up tasks; the rate including them when the run had nothing after its warm-up
     * (a set of one batch).
     */
    public double steadyImagesPerSecond() {
        if (warmEnd == 0 || done <= warmupTasks) {
            return imagesPerSecond();
        }
        return (done - warmupTasks) / Math.max((lastDone - warmEnd) / 1e9, 1e-9);
    }

    /** Images per second over the whole run, warm-up included. */
    public double imagesPerSecond() {
        return done == 0 ? 0 : done / Math.max((lastDone - start) / 1e9, 1e-9);
    }

    /** Tasks finished (rows written or failed). */
    public int done() {
        return done;
    }

    /** Seconds since this reporter was made. */
    public double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
