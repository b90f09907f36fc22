package org.transfer4j.head.eval;

import java.util.ArrayList;
import java.util.List;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.sgd.linear.LogisticRegressionTrainer;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.transfer4j.backbone.cache.FeatureRows;

/**
 * A reference point for a head: Tribuo's logistic regression ({@link LogisticRegressionTrainer}: linear SGD, AdaGrad,
 * its default epochs and fixed seed, so it is deterministic) trained on the same training rows and evaluated on the same validation rows. If the head does
 * not beat it, the hidden layer is not earning its keep.
 *
 * <p>Tribuo datasets live on the heap as doubles, so this copies the chosen rows into memory: about
 * {@code rows × featureDim × 8} bytes plus per-feature names. Meant for caches that fit.
 */
public final class LogisticBaseline {
    private LogisticBaseline() {
    }

    /** What the baseline scored. */
    public record Result(String name, Evaluation validation, double seconds) {
    }

    public static Result run(FeatureRows train, int[] trainRows, FeatureRows val, int[] valRows) {
        long t0 = System.nanoTime();
        LabelFactory factory = new LabelFactory();
        String[] names = new String[train.featureDim()];
        for (int j = 0; j < names.length; j++) {
            names[j] = TribuoHead.featureName(j);
        }
        MutableDataset<Label> trainSet = dataset(train, trainRows, names, factory, "train");
        MutableDataset<Label> valSet = dataset(val, valRows, names, factory, "validation");
        LogisticRegressionTrainer trainer = new LogisticRegressionTrainer();
        Model<Label> model = trainer.train(trainSet);
        var ev = new LabelEvaluator().evaluate(model, valSet);
        return new Result("tribuo-logistic-regression", Evaluation.of(train.classes(), ev, Double.NaN),
                (System.nanoTime() - t0) / 1e9);
    }

    private static MutableDataset<Label> dataset(FeatureRows rows, int[] which, String[] names,
                                                 LabelFactory factory, String what) {
        List<Example<Label>> examples = new ArrayList<>(which.length);
        float[] f = new float[rows.featureDim()];
        double[] values = new double[rows.featureDim()];
        for (int r : which) {
            rows.read(r, f, 0);
            for (int j = 0; j < f.length; j++) {
                values[j] = f[j];
            }
            examples.add(new ArrayExample<>(new Label(rows.classes().get(rows.label(r))), names, values));
        }
        return new MutableDataset<>(examples, new SimpleDataSourceProvenance("transfer4j " + what + " rows",
                factory), factory);
    }
}
