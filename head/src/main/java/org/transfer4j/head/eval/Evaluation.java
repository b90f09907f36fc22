package org.transfer4j.head.eval;

import java.util.ArrayList;
import java.util.List;
import org.tribuo.Prediction;
import org.tribuo.classification.Label;
import org.tribuo.classification.evaluation.LabelEvaluation;
import org.tribuo.classification.evaluation.LabelEvaluator;
import org.tribuo.classification.LabelFactory;
import org.tribuo.provenance.SimpleDataSourceProvenance;

/**
 * Accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix of a set of predictions, computed by
 * Tribuo's {@link LabelEvaluator}, as plain numbers for reports.
 *
 * @param classes   class names, the order of {@link #perClass} and of the confusion matrix's rows and columns
 * @param accuracy  fraction of rows whose most probable class is the true one
 * @param macroF1   unweighted mean of the per-class F1 scores
 * @param perClass  one entry per class
 * @param confusion confusion[t][p] = rows of true class t predicted as p
 * @param loss      mean cross-entropy, or NaN when not known (e.g. a baseline)
 */
public record Evaluation(List<String> classes, double accuracy, double macroF1, List<ClassMetrics> perClass,
                         long[][] confusion, double loss) {

    /** Metrics of one class. */
    public record ClassMetrics(String name, double precision, double recall, double f1, long support) {
    }

    /** Evaluates a head's predictions. */
    public static Evaluation of(Predictions p) {
        TribuoHead model = TribuoHead.of(p.classes(), 1, null);
        List<Prediction<Label>> preds = new ArrayList<>(p.size());
        int k = p.classes().size();
        for (int i = 0; i < p.size(); i++) {
            preds.add(model.prediction(p.classes().get(p.labels()[i]), p.probabilities(), i * k));
        }
        return of(p.classes(), new LabelEvaluator().evaluate(model, preds, new SimpleDataSourceProvenance("transfer4j head predictions", new LabelFactory())),
                p.loss());
    }

    /** Reads a Tribuo evaluation into plain numbers, in {@code classes} order. */
    public static Evaluation of(List<String> classes, LabelEvaluation ev, double loss) {
        List<ClassMetrics> per = new ArrayList<>();
        long[][] confusion = new long[classes.size()][classes.size()];
        for (int t = 0; t < classes.size(); t++) {
            Label truth = new Label(classes.get(t));
            long support = 0;
            for (int q = 0; q < classes.size(); q++) {
                confusion[t][q] = Math.round(ev.confusion(new Label(classes.get(q)), truth));
                support += confusion[t][q];
            }
            per.add(new ClassMetrics(classes.get(t), nanToZero(ev.precision(truth)), nanToZero(ev.recall(truth)),
                    nanToZero(ev.f1(truth)), support));
        }
        return new Evaluation(List.copyOf(classes), ev.accuracy(), ev.macroAveragedF1(), List.copyOf(per), confusion,
                loss);
    }

    /** Tribuo reports 0/0 (a class never predicted) as NaN; reports show it as 0, like scikit-learn. */
    private static double nanToZero(double v) {
        return Double.isNaN(v) ? 0 : v;
    }
}
