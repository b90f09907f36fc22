package org.transfer4j.tools.predict;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import org.transfer4j.backbone.ModelException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.head.inference.Prediction;
import org.transfer4j.head.inference.Predictor;

/**
 * predict.jar --evaluate: runs a predictor over a folder-per-class set and reports accuracy, per-class
 * precision/recall/F1 and the confusion matrix (rows = true class, columns = predicted, in the model's class order).
 * Images that cannot be decoded are reported and left out, as extract leaves them out of a cache, so the accuracy is
 * comparable with train-head's validation accuracy on the same folder.
 */
public final class Evaluation {
    private final List<String> classes;
    private final long[][] confusion;
    private final int predicted;
    private final List<String> failed;
    private final List<JsonObject> misclassified;

    private Evaluation(List<String> classes, long[][] confusion, int predicted, List<String> failed,
                       List<JsonObject> misclassified) {
        this.classes = classes;
        this.confusion = confusion;
        this.predicted = predicted;
        this.failed = failed;
        this.misclassified = misclassified;
    }

    /** Predicts every image of {@code data}; {@code onError} hears about each file that cannot be decoded. */
    public static Evaluation run(Predictor predictor, Dataset data, BiConsumer<Path, ImageDecodeException> onError)
            throws ModelException {
        List<String> classes = predictor.classes();
        for (String c : data.classes()) {
            if (!classes.contains(c)) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, "class folder '" + c + "' in "
                        + data.root() + " is not one of the model's classes " + classes
                        + "; evaluate on a folder whose subfolders are named after the model's classes");
            }
        }
        long[][] confusion = new long[classes.size()][classes.size()];
        List<String> failed = new ArrayList<>();
        List<JsonObject> wrong = new ArrayList<>();
        int predicted = 0;
        List<LabeledImage> pending = new ArrayList<>();
        List<RgbImage> images = new ArrayList<>();
        List<LabeledImage> all = data.images();
        for (int i = 0; i < all.size(); i++) {
            LabeledImage li = all.get(i);
            try {
                images.add(predictor.decoder().decode(li.path()));
                pending.add(li);
            } catch (ImageDecodeException e) {
                failed.add(li.path().toString());
                onError.accept(li.path(), e);
            }
            if (images.size() == predictor.batchSize() || (i == all.size() - 1 && !images.isEmpty())) {
                List<Prediction> ps = predictor.predictImages(images);
                for (int j = 0; j < ps.size(); j++) {
                    int truth = classes.indexOf(pending.get(j).label());
                    Prediction p = ps.get(j);
                    confusion[truth][p.index()]++;
                    if (truth != p.index()) {
                        JsonObject o = PredictionOutput.toJson(pending.get(j).path(), p);
                        o.addProperty("true", pending.get(j).label());
                        wrong.add(o);
                    }
                }
                predicted += ps.size();
                images.clear();
                pending.clear();
            }
        }
        return new Evaluation(classes, confusion, predicted, failed, wrong);
    }

    /** Builds a report from a confusion matrix directly (tests, and callers that predicted themselves). */
    public static Evaluation of(List<String> classes, long[][] confusion) {
        long n = 0;
        for (long[] row : confusion) {
            for (long v : row) {
                n += v;
            }
        }
        return new Evaluation(List.copyOf(classes), confusion, (int) n, List.of(), List.of());
    }

    public int predicted() {
        return predicted;
    }

    public List<String> failed() {
        return failed;
    }

    public double accuracy() {
        long correct = 0;
        for (int i = 0; i < classes.size(); i++) {
            correct += confusion[i][i];
        }
        return predicted == 0 ? 0 : (double) correct / predicted;
    }

    public long support(int c) {
        long s = 0;
        for (long v : confusion[c]) {
            s += v;
        }
        return s;
    }

    /** tp / predicted-as-c; 0 when nothing was predicted as c (Tribuo's and scikit-learn's convention). */
    public double precision(int c) {
        long col = 0;
        for (long[] row : confusion) {
            col += row[c];
        }
        return col == 0 ? 0 : (double) confusion[c][c] / col;
    }

    public double recall(int c) {
        long s = support(c);
        return s == 0 ? 0 : (double) confusion[c][c] / s;
    }

    public double f1(int c) {
        double p = precision(c);
        double r = recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public long[][] confusion() {
        long[][] copy = new long[confusion.length][];
        for (int i = 0; i < confusion.length; i++) {
            copy[i] = confusion[i].clone();
        }
        return copy;
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("accuracy", accuracy());
        o.addProperty("images", predicted + failed.size());
        o.addProperty("predicted", predicted);
        o.addProperty("failed", failed.size());
        JsonArray cls = new JsonArray();
        classes.forEach(cls::add);
        o.add("classes", cls);
        JsonObject per = new JsonObject();
        for (int c = 0; c < classes.size(); c++) {
            JsonObject m = new JsonObject();
            m.addProperty("precision", precision(c));
            m.addProperty("recall", recall(c));
            m.addProperty("f1", f1(c));
            m.addProperty("support", support(c));
            per.add(classes.get(c), m);
        }
        o.add("per_class", per);
        JsonArray cm = new JsonArray();
        for (long[] row : confusion) {
            JsonArray r = new JsonArray();
            for (long v : row) {
                r.add(v);
            }
            cm.add(r);
        }
        o.add("confusion", cm);
        JsonArray f = new JsonArray();
        failed.forEach(f::add);
        o.add("failed_files", f);
        JsonArray w = new JsonArray();
        misclassified.forEach(w::add);
        o.add("misclassified", w);
        return new GsonBuilder().disableHtmlEscaping().create().toJson(o);
    }

    public String toText() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "accuracy %.4f (%d of %d images right", accuracy(),
                Math.round(accuracy() * predicted), predicted));
        s.append(failed.isEmpty() ? ")" : ", " + failed.size() + " could not be read)").append('\n');
        int w = Math.max(5, classes.stream().mapToInt(String::length).max().orElse(5));
        s.append('\n').append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %9s  %9s  %7s%n", "class",
                "precision", "recall", "f1", "support"));
        for (int c = 0; c < classes.size(); c++) {
            s.append(String.format(Locale.ROOT, "%-" + w + "s  %9.4f  %9.4f  %9.4f  %7d%n", classes.get(c),
                    precision(c), recall(c), f1(c), support(c)));
        }
        s.append('\n').append("confusion matrix (rows: true class, columns: predicted)").append('\n');
        int cw = w;
        for (long[] row : confusion) {
            for (long v : row) {
                cw = Math.max(cw, Long.toString(v).length());
            }
        }
        s.append(String.format(Locale.ROOT, "%-" + w + "s", ""));
        for (String c : classes) {
            s.append("  ").append(String.format(Locale.ROOT, "%" + cw + "s", c));
        }
        s.append('\n');
        for (int i = 0; i < classes.size(); i++) {
            s.append(String.format(Locale.ROOT, "%-" + w + "s", classes.get(i)));
            for (long v : confusion[i]) {
                s.append("  ").append(String.format(Locale.ROOT, "%" + cw + "d", v));
            }
            s.append('\n');
        }
        return s.toString().stripTrailing();
    }
}
