package org.transfer4j.head.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.transfer4j.head.eval.Evaluation;

/**
 * The JSON shapes of an {@link Evaluation} shared by train-head's metrics.json and predict's {@code --evaluate}
 * output, so both tools print per-class metrics and the confusion matrix the same way.
 */
public final class EvaluationJson {
    private EvaluationJson() {
    }

    /**
     * {@code {"<class>": {"precision": p, "recall": r, "f1": f, "support": n}, ...}} in class order. The values are
     * always finite: {@link Evaluation} already turns Tribuo's 0/0 NaN into 0.
     */
    public static JsonObject perClass(Evaluation e) {
        JsonObject per = new JsonObject();
        for (Evaluation.ClassMetrics m : e.perClass()) {
            JsonObject c = new JsonObject();
            c.addProperty("precision", m.precision());
            c.addProperty("recall", m.recall());
            c.addProperty("f1", m.f1());
            c.addProperty("support", m.support());
            per.add(m.name(), c);
        }
        return per;
    }

    /** The confusion matrix as an array of rows: row = true class, column = predicted class, both in class order. */
    public static JsonArray confusion(Evaluation e) {
        JsonArray cm = new JsonArray();
        for (long[] row : e.confusion()) {
            JsonArray r = new JsonArray();
            for (long v : row) {
                r.add(v);
            }
            cm.add(r);
        }
        return cm;
    }
}
