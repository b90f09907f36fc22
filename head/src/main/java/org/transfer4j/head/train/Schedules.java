package org.transfer4j.head.train;

import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.transfer4j.head.TrainingConfig;

/** Maps {@link org.transfer4j.head.LrSchedule} to ND4J's {@link ISchedule}, which Adam reads every step. */
public final class Schedules {
    private Schedules() {
    }

    public static ISchedule of(TrainingConfig c) {
        return switch (c.schedule()) {
            case CONSTANT -> new FixedSchedule(c.learningRate());
            case STEP -> new StepSchedule(ScheduleType.EPOCH, c.learningRate(), 0.1, Math.max(1, c.epochs() / 3));
            case COSINE -> new Cosine(c.learningRate(), c.epochs());
        };
    }

    /**
     * Cosine decay per epoch from {@code initial} to 1% of it at the last epoch. ND4J 1.0.0-M2.1 has no cosine
     * schedule, so this small one implements its interface.
     */
    public static final class Cosine implements ISchedule {
        private static final long serialVersionUID = 1L;
        private final double initial;
        private final int epochs;

        public Cosine(double initial, int epochs) {
            this.initial = initial;
            this.epochs = epochs;
        }

        @Override
        public double valueAt(int iteration, int epoch) {
            if (epochs <= 1) {
                return initial;
            }
            double t = Math.min(1.0, (double) epoch / (epochs - 1));
            double min = initial * 0.01;
            return min + (initial - min) * 0.5 * (1 + Math.cos(Math.PI * t));
        }

        @Override
        public ISchedule clone() {
            return new Cosine(initial, epochs);
        }
    }
}
