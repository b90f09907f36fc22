package org.transfer4j.head.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

class FusedAdamWTest {
    static {
        Nd4jBinaries.select();
    }

    /**
     * The reference is what HeadNetwork ran before: ND4J's own Adam updater on the gradient, then
     * {@code w.muli(1 - lr·wd)} on the weight ranges and {@code params.subi(update)}.
     */
    @Test
    void matchesNd4jAdamWithDecoupledDecayEveryStep() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            compareWithNd4j(type, 1037, new long[][] {{0, 600}, {611, 1027}}, 0.05);
            compareWithNd4j(type, 45, new long[][] {{0, 40}}, 0.0);
        }
    }

    private static void compareWithNd4j(DataType type, int n, long[][] weights, double weightDecay) {
        // A learning rate that changes with the epoch, so that the schedule is read at every step.
        ISchedule schedule = new StepSchedule(ScheduleType.EPOCH, 3e-3, 0.5, 2);
        Random r = new Random(n);
        INDArray refParams = Nd4j.create(type, 1, n);
        INDArray params = Nd4j.create(type, 1, n);
        for (int i = 0; i < n; i++) {
            double p = r.nextGaussian();
            refParams.putScalar(0, i, p);
            params.putScalar(0, i, p);
        }
        Adam config = new Adam(schedule);
        INDArray refState = Nd4j.zeros(type, 1, config.stateSize(n));
        GradientUpdater<?> reference = config.instantiate(refState, true);
        FusedAdamW fused = new FusedAdamW(n, type, schedule, weights);
        INDArray grads = Nd4j.create(type, 1, n);
        INDArray refGrads = Nd4j.create(type, 1, n);
        int iteration = 0;
        for (int epoch = 0; epoch < 4; epoch++) {
            for (int s = 0; s < 3; s++, iteration++) {
                for (int i = 0; i < n; i++) {
                    // Mostly small gradients, some large, some exactly zero (v = 0: ε alone in the denominator)
                    // and some near ε in size, where ε's placement decides the update.
                    double scale = i % 7 == 0 ? 1e-8 : i % 5 == 0 ? 10 : 0.01;
                    double g = i % 17 == 0 ? 0 : r.nextGaussian() * scale;
                    grads.putScalar(0, i, g);
                    refGrads.putScalar(0, i, g);
                }
                reference.applyUpdater(refGrads, iteration, epoch);
                if (weightDecay > 0) {
                    double keep = 1.0 - schedule.valueAt(iteration, epoch) * weightDecay;
                    for (long[] w : weights) {
                        refParams.get(NDArrayIndex.point(0), NDArrayIndex.interval(w[0], w[1])).muli(keep);
                    }
                }
                refParams.subi(refGrads);
                fused.step(params.data(), grads.data(), iteration, epoch, weightDecay);
                double worst = maxAbsDiff(refParams, params);
                assertTrue(worst <= 1e-6, type + " n=" + n + " step " + iteration + ": max |Δparam| " + worst);
                float[] state = fused.state();
                float[] expectState = refState.data().asFloat();
                for (int i = 0; i < state.length; i++) {
                    assertEquals(expectState[i], state[i], 1e-6 * Math.max(1, Math.abs(expectState[i])),
                            "moment " + i + " at step " + iteration);
                }
            }
        }
    }

    @Test
    void biasesAreNotDecayedAndWeightsAre() {
        int n = 6;
        ISchedule lr = new StepSchedule(ScheduleType.EPOCH, 0.1, 1, 1);
        FusedAdamW adam = new FusedAdamW(n, DataType.FLOAT, lr, new long[][] {{1, 3}});
        INDArray params = Nd4j.createFromArray(new float[] {1, 1, 1, 1, 1, 1}).reshape(1, n);
        INDArray zero = Nd4j.zeros(DataType.FLOAT, 1, n);
        adam.step(params.data(), zero.data(), 0, 0, 0.5);
        // Zero gradient: Adam moves nothing, decay multiplies indices 1 and 2 by 1 - 0.1·0.5.
        assertArrayEquals(new float[] {1, 0.95f, 0.95f, 1, 1, 1}, params.data().asFloat());
    }

    @Test
    void stateRoundTripsAndParametersWrittenOutsideAreReloaded() {
        int n = 50;
        ISchedule lr = new StepSchedule(ScheduleType.EPOCH, 1e-2, 1, 1);
        Random r = new Random(5);
        INDArray g = Nd4j.rand(DataType.FLOAT, 1, n).subi(0.5);
        INDArray p1 = Nd4j.rand(DataType.FLOAT, 1, n);
        INDArray p2 = p1.dup();
        FusedAdamW a = new FusedAdamW(n, DataType.FLOAT, lr, new long[0][]);
        FusedAdamW b = new FusedAdamW(n, DataType.FLOAT, lr, new long[0][]);
        for (int it = 0; it < 3; it++) {
            a.step(p1.data(), g.data(), it, 0, 0);
        }
        // b continues from a's state and a's parameters, as a resumed run does.
        b.setState(a.state());
        p2.assign(p1);
        a.step(p1.data(), g.data(), 3, 0, 0);
        b.step(p2.data(), g.data(), 3, 0, 0);
        assertArrayEquals(p1.data().asFloat(), p2.data().asFloat());
        assertArrayEquals(a.state(), b.state());
        // Someone else writes the parameters: the next step must start from them, not from the mirror.
        p1.putScalar(0, 7, 100f + r.nextFloat());
        float written = p1.getFloat(0, 7);
        a.parametersChanged();
        a.step(p1.data(), Nd4j.zeros(DataType.FLOAT, 1, n).data(), 4, 0, 0);
        assertEquals(written, p1.getFloat(0, 7), 0.05, "the step started from the written value");
    }

    /** Shares on several cores give the bits of one pass (with decay ranges that cut across the shares). */
    @Test
    void sharesGiveTheBitsOfOnePass() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            int n = 10_007;
            long[][] weights = {{0, 6000}, {6011, 9990}};
            ISchedule lr = new StepSchedule(ScheduleType.EPOCH, 1e-2, 0.5, 1);
            Random r = new Random(11);
            INDArray start = Nd4j.randn(type, 1, n);
            INDArray[] gradients = new INDArray[4];
            for (int i = 0; i < gradients.length; i++) {
                gradients[i] = Nd4j.randn(type, 1, n).muli(r.nextDouble());
            }
            FusedAdamW one = new FusedAdamW(n, type, lr, weights, 1);
            FusedAdamW three = new FusedAdamW(n, type, lr, weights, 3);
            INDArray p1 = start.dup();
            INDArray p3 = start.dup();
            for (int it = 0; it < gradients.length; it++) {
                INDArray g = gradients[it];
                one.step(p1.data(), g.data(), it, it / 2, 0.05);
                three.step(p3.data(), g.data(), it, it / 2, 0.05);
                assertArrayEquals(p1.data().asDouble(), p3.data().asDouble(), 0.0, type + " shares, step " + it);
            }
            assertArrayEquals(one.state(), three.state());
            assertTrue(maxAbsDiff(start, p1) > 0, "the steps moved the parameters");
        }
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        double[] x = a.data().asDouble();
        double[] y = b.data().asDouble();
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
        return worst;
    }
}
