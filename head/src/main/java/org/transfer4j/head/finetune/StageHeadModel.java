package org.transfer4j.head.finetune;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.transfer4j.head.train.HeadNetwork;

/**
 * The last stage of a backbone ({@link StageGraph}) with the Dense+ReLU+softmax head on top, trained together with
 * Adam at a low learning rate: Keras' second step (fine-tuning) after a head warmed up on the frozen stage's pooled
 * output. The head's parameters are exchanged in {@link HeadNetwork}'s flat layout (w1 [D,H], b1, w2 [H,K], b2), so
 * the warm-up is train-head's ordinary trainer and the result composes with the existing Composer.
 *
 * <p>Not thread-safe.
 */
public final class StageHeadModel {
    /** The placeholder fed with one-hot labels, [N, K]. */
    public static final String LABELS = "labels";

    private final StageGraph stage;
    private final int d;
    private final int h;
    private final int k;
    private final SDVariable w1;
    private final SDVariable b1;
    private final SDVariable w2;
    private final SDVariable b2;
    private final SDVariable logits;
    private final SDVariable loss;

    /**
     * @param headParameters the warmed-up head in {@link HeadNetwork#parameters()} layout, hidden layer {@code h > 0}
     * @param learningRate   Adam's rate for every parameter (stage and head), e.g. 1e-5
     */
    public StageHeadModel(StageGraph stage, int featureDim, int hidden, int classes, float[] headParameters,
                          double learningRate) {
        if (hidden <= 0) {
            throw new IllegalArgumentException("fine-tuning needs a hidden layer (hidden=" + hidden + ")");
        }
        if (headParameters.length != HeadNetwork.parameterCount(featureDim, hidden, classes)) {
            throw new IllegalArgumentException("expected " + HeadNetwork.parameterCount(featureDim, hidden, classes)
                    + " head parameters for D=" + featureDim + " H=" + hidden + " K=" + classes + ", got "
                    + headParameters.length);
        }
        this.stage = stage;
        this.d = featureDim;
        this.h = hidden;
        this.k = classes;
        SameDiff sd = stage.sameDiff();
        DataType dtype = sd.getVariable(stage.output()).dataType();
        SDVariable features = sd.getVariable(stage.output());
        w1 = sd.var("head_w1", slice(headParameters, 0, d, h).castTo(dtype));
        b1 = sd.var("head_b1", slice(headParameters, (long) d * h, 1, h).reshape(h).castTo(dtype));
        w2 = sd.var("head_w2", slice(headParameters, (long) d * h + h, h, k).castTo(dtype));
        b2 = sd.var("head_b2", slice(headParameters, (long) d * h + h + (long) h * k, 1, k).reshape(k)
                .castTo(dtype));
        SDVariable hiddenOut = sd.nn().relu(features.mmul(w1).add(b1), 0);
        logits = hiddenOut.mmul(w2).add(b2);
        SDVariable labels = sd.placeHolder(LABELS, dtype, -1, k);
        loss = sd.loss().softmaxCrossEntropy("loss", labels, logits, null);
        sd.setLossVariables(loss);
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(learningRate))
                .dataSetFeatureMapping(StageGraph.INPUT).dataSetLabelMapping(LABELS).build());
    }

    private static INDArray slice(float[] p, long offset, long rows, long cols) {
        float[] part = new float[(int) (rows * cols)];
        System.arraycopy(p, (int) offset, part, 0, part.length);
        return Nd4j.createFromArray(part).reshape('c', rows, cols);
    }

    /** One Adam step on a batch: maps [B, C, H, W] (NCHW), one-hot labels [B, K]. */
    public void step(INDArray maps, INDArray oneHot) {
        stage.sameDiff().fit(new DataSet(maps, oneHot));
    }

    /** The mean cross-entropy on a batch, without training. */
    public double loss(INDArray maps, INDArray oneHot) {
        return stage.sameDiff().output(Map.of(StageGraph.INPUT, maps, LABELS, oneHot), loss.name())
                .get(loss.name()).getDouble(0);
    }

    /** The class logits [B, K] for a batch of maps. */
    public INDArray logits(INDArray maps) {
        return stage.sameDiff().output(Map.of(StageGraph.INPUT, maps), logits.name()).get(logits.name());
    }

    /** The head's current parameters in {@link HeadNetwork#parameters()} layout, to compose. */
    public float[] headParameters() {
        float[] out = new float[(int) HeadNetwork.parameterCount(d, h, k)];
        int o = 0;
        for (SDVariable v : new SDVariable[] {w1, b1, w2, b2}) {
            float[] part = v.getArr().castTo(DataType.FLOAT).dup('c').data().asFloat();
            System.arraycopy(part, 0, out, o, part.length);
            o += part.length;
        }
        return out;
    }

    /** The stage being tuned (its {@link StageGraph#tunedBackbone} writes the tuned weights back). */
    public StageGraph stage() {
        return stage;
    }
}
