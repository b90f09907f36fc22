package org.transfer4j.head.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where a training loop stands between epochs: the step counter, early stopping's bookkeeping (best validation loss,
 * its epoch and parameters, epochs without improvement) and the history, which is what a {@link Checkpoint} records
 * and {@code --resume} restores. The head trainer and fine-tuning keep theirs here, so both stop, checkpoint and
 * resume the same way.
 *
 * <p>Not thread-safe; one per run. Public for the fine-tuning package only; not API.
 */
public final class TrainingProgress {
    private final String fingerprint;
    private int epochsDone;
    private int iteration;
    private int bestEpoch;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private int badEpochs;
    private boolean finished;
    private float[] best;
    private final List<EpochStats> history = new ArrayList<>();
    private boolean resumed;

    /**
     * @param fingerprint the run's inputs and options; a checkpoint of another fingerprint is refused
     * @param best        the parameters to return when no epoch improves (may be null: the first epoch always
     *                    improves on an infinite loss, or counts as improved without validation)
     */
    public TrainingProgress(String fingerprint, float[] best) {
        this.fingerprint = fingerprint;
        this.best = best;
    }

    /**
     * Continues from {@code checkpoint} when {@code resume} is set and the file exists: restores the counters and
     * returns the saved state, whose parameters and updater state the caller loads into its networks; else null.
     *
     * @param parameterCount parameters the checkpoint must hold
     * @param inputs         what makes a run another one, for the refusal (e.g. "different caches or options")
     * @throws TrainingException {@code CHECKPOINT} when the file belongs to another run
     */
    public Checkpoint.State resume(Path checkpoint, boolean resume, int parameterCount, String inputs)
            throws IOException, TrainingException {
        if (!resume || checkpoint == null || !Files.exists(checkpoint)) {
            return null;
        }
        Checkpoint.State s = Checkpoint.read(checkpoint, parameterCount);
        if (!s.meta().fingerprint().equals(fingerprint)) {
            throw new TrainingException(TrainingException.Reason.CHECKPOINT, checkpoint + " belongs to another run ("
                    + inputs + "); run again with the same options, or without --resume to start over");
        }
        Checkpoint.Meta m = s.meta();
        best = s.best();
        epochsDone = m.epochsDone();
        iteration = m.iteration();
        bestEpoch = m.bestEpoch();
        bestLoss = m.bestLoss();
        badEpochs = m.badEpochs();
        finished = m.finished();
        history.addAll(m.history());
        resumed = true;
        return s;
    }

    /** The 0-based epoch to run next. */
    public int startEpoch() {
        return epochsDone;
    }

    /** Whether early stopping (or the epoch limit) ended the run. */
    public boolean finished() {
        return finished;
    }

    /** The 0-based global step to run next. */
    public int iteration() {
        return iteration;
    }

    /** Counts a step. */
    public void stepDone() {
        iteration++;
    }

    /**
     * Ends 0-based {@code epoch}: it improved when there is no validation, or when its validation loss is below the
     * best so far; then {@code parameters} become the best. The run is finished after {@code patience} epochs without
     * improvement or at {@code maxEpochs}.
     *
     * @return whether the epoch improved
     */
    public boolean endEpoch(int epoch, boolean validated, double valLoss, Supplier<float[]> parameters, int patience,
                            int maxEpochs) {
        boolean improved = !validated || valLoss < bestLoss;
        if (improved) {
            if (validated) {
                bestLoss = valLoss;
            }
            bestEpoch = epoch + 1;
            best = parameters.get();
            badEpochs = 0;
        } else {
            badEpochs++;
        }
        finished = badEpochs >= patience || epoch + 1 >= maxEpochs;
        epochsDone = epoch + 1;
        return improved;
    }

    /** Adds an ended epoch's figures to the history. */
    public void record(EpochStats stats) {
        history.add(stats);
    }

    /** Writes the checkpoint of the epochs so far (atomically), with the networks' parameters and updater state. */
    public void checkpoint(Path file, float[] parameters, float[] updaterState) throws IOException {
        Checkpoint.write(file, new Checkpoint.State(new Checkpoint.Meta(fingerprint, epochsDone, iteration, bestEpoch,
                bestLoss, badEpochs, finished, List.copyOf(history)), parameters, updaterState, best));
    }

    /** The best epoch's parameters. */
    public float[] best() {
        return best;
    }

    /** 1-based epoch whose parameters are {@link #best()}; 0 when none improved. */
    public int bestEpoch() {
        return bestEpoch;
    }

    public List<EpochStats> history() {
        return List.copyOf(history);
    }

    /** Whether the run continued from a checkpoint. */
    public boolean resumed() {
        return resumed;
    }
}
