package org.transfer4j.tools.predict;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.dataset.Dataset;
import org.transfer4j.backbone.dataset.LabeledImage;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.backbone.image.RgbImage;
import org.transfer4j.head.eval.Evaluation;
import org.transfer4j.head.eval.Predictions;
import org.transfer4j.inference.Prediction;
import org.transfer4j.inference.Predictor;
import org.transfer4j.head.report.EvaluationJson;

/**
 * predict.jar --evaluate: runs a predictor over a folder-per-class set and reports the metrics train-head reports
 * (the same {@link Evaluation}, Tribuo underneath): accuracy, per-class precision/recall/F1 and the confusion matrix
 * (rows = true class, columns = predicted, in the model's class order). Images that cannot be decoded are reported
 * and left out, as extract leaves them out of a cache, so the accuracy is comparable with train-head's validation
 * accuracy on the same folder.
 */
public final class FolderEvaluation {
    private final Predictions predictions;
    private final Evaluation metrics;
    private final List<String> failed;

    private FolderEvaluation(Predictions predictions, Evaluation metrics, List<String> failed) {
        this.predictions = predictions;
        this.metrics = metrics;
        this.failed = failed;
    }

    /** Predicts every image of {@code data}; {@code onError} hears about each file that cannot be decoded. */
    public static FolderEvaluation run(Predictor predictor, Dataset data,
                                       BiConsumer<Path, ImageDecodeException> onError) throws ModelException {
        List<String> classes = predictor.classes();
        for (String c : data.classes()) {
            if (!classes.contains(c)) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, data.kind() == Dataset.Kind.MANIFEST
                        ? "label '" + c + "' in " + data.source() + " is not one of the model's classes " + classes
                                + "; evaluate on a manifest whose labels are the model's classes"
                        : "class folder '" + c + "' in " + data.root() + " is not one of the model's classes "
                                + classes + "; evaluate on a folder whose subfolders are named after the model's "
                                + "classes");
            }
        }
        int k = classes.size();
        List<String> failed = new ArrayList<>();
        List<String> paths = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
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
                    paths.add(pending.get(j).path().toString());
                    labels.add(classes.indexOf(pending.get(j).label()));
                    probs.add(ps.get(j).probabilities());
                }
                images.clear();
                pending.clear();
            }
        }
        int n = labels.size();
        int[] rows = new int[n];
        int[] truth = new int[n];
        float[] flat = new float[n * k];
        double loss = 0;
        for (int i = 0; i < n; i++) {
            rows[i] = i;
            truth[i] = labels.get(i);
            System.arraycopy(probs.get(i), 0, flat, i * k, k);
            loss -= Math.log(Math.max(probs.get(i)[truth[i]], 1e-12));
        }
        Predictions p = new Predictions(classes, rows, paths, truth, flat, n == 0 ? Double.NaN : loss / n);
        return new FolderEvaluation(p, n == 0 ? null : Evaluation.of(p), failed);
    }

    /** Images predicted (those that decoded). */
    public int predicted() {
        return predictions.size();
    }

    public List<String> failed() {
        return failed;
    }

    /** The metrics; null when no image could be predicted. */
    public Evaluation metrics() {
        return metrics;
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("accuracy", metrics.accuracy());
        o.addProperty("macro_f1", metrics.macroF1());
        o.addProperty("loss", metrics.loss());
        o.addProperty("images", predicted() + failed.size());
        o.addProperty("predicted", predicted());
        o.addProperty("failed", failed.size());
        JsonArray cls = new JsonArray();
        metrics.classes().forEach(cls::add);
        o.add("classes", cls);
        o.add("per_class", EvaluationJson.perClass(metrics));
        o.add("confusion", EvaluationJson.confusion(metrics));
        JsonArray f = new JsonArray();
        failed.forEach(f::add);
        o.add("failed_files", f);
        JsonArray wrong = new JsonArray();
        for (int i = 0; i < predictions.size(); i++) {
            int p = predictions.predicted(i);
            if (p != predictions.labels()[i]) {
                JsonObject w = new JsonObject();
                w.addProperty("path", predictions.paths().get(i));
                w.addProperty("true", metrics.classes().get(predictions.labels()[i]));
                w.addProperty("label", metrics.classes().get(p));
                w.addProperty("probability", predictions.probability(i, p));
                wrong.add(w);
            }
        }
        o.add("misclassified", wrong);
        return new GsonBuilder().disableHtmlEscaping().serializeSpecialFloatingPointValues().create().toJson(o);
    }

    public String toText() {
        List<String> classes = metrics.classes();
        StringBuilder s = new StringBuilder();
        long right = Math.round(metrics.accuracy() * predicted());
        s.append(String.format(Locale.ROOT, "accuracy %.4f (%d of %d images right", metrics.accuracy(), right,
                predicted()));
        s.append(failed.isEmpty() ? ")" : ", " + failed.size() + " could not be read)").append('\n');
        int w = Math.max(5, classes.stream().mapToInt(String::length).max().orElse(5));
        s.append('\n').append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %9s  %9s  %7s%n", "class",
                "precision", "recall", "f1", "support"));
        for (Evaluation.ClassMetrics m : metrics.perClass()) {
            s.append(String.format(Locale.ROOT, "%-" + w + "s  %9.4f  %9.4f  %9.4f  %7d%n", m.name(), m.precision(),
                    m.recall(), m.f1(), m.support()));
        }
        s.append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %9s  %9.4f%n", "macro", "", "", metrics.macroF1()));
        s.append('\n').append("confusion matrix (rows: true class, columns: predicted)").append('\n');
        int cw = w;
        for (long[] row : metrics.confusion()) {
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
            for (long v : metrics.confusion()[i]) {
                s.append("  ").append(String.format(Locale.ROOT, "%" + cw + "d", v));
            }
            s.append('\n');
        }
        return s.toString().stripTrailing();
    }
}
