package org.transfer4j.head.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.transfer4j.backbone.io.AtomicFiles;
import org.transfer4j.head.TrainingConfig;
import org.transfer4j.head.eval.Evaluation;
import org.transfer4j.head.eval.LogisticBaseline;
import org.transfer4j.head.eval.Predictions;
import org.transfer4j.head.train.EpochStats;

/**
 * Writes a training run's reports into the head folder: {@code metrics.json} (machine-readable), {@code
 * misclassified.csv} (path, true, predicted, probability; most confident mistakes first), {@code curves.png},
 * {@code confusion.png} and {@code report.html} which shows them together, with thumbnails of the misclassified
 * images in {@code thumbs/}: one folder that can be zipped or served as it is. Each file is written atomically.
 */
public final class TrainingReport {
    public static final String METRICS = "metrics.json";
    public static final String MISCLASSIFIED = "misclassified.csv";
    public static final String CURVES = "curves.png";
    public static final String CONFUSION = "confusion.png";
    public static final String HTML = "report.html";
    /** Folder of the misclassified images' thumbnails, beside report.html. */
    public static final String THUMBS = "thumbs";
    /** Misclassified rows listed (and given a thumbnail) in report.html; all of them are in misclassified.csv. */
    static final int LISTED = 50;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private TrainingReport() {
    }

    /**
     * Everything a report shows.
     *
     * @param validation    predictions on the validation rows with the restored best weights, or null
     * @param valEval       their evaluation, or null
     * @param trainEval     evaluation on the training images (view 0) with the best weights
     * @param baseline      the logistic-regression baseline, or null when not asked for
     * @param trainCache    where the training rows came from (shown, not read)
     * @param valSource     where the validation rows came from: a cache path or "split of ..."
     * @param run           what made the report (command, date, backbone, row counts, where images are), or null
     */
    public record Input(List<String> classes, TrainingConfig config, List<EpochStats> history, int bestEpoch,
                        Predictions validation, Evaluation valEval, Evaluation trainEval,
                        LogisticBaseline.Result baseline, String trainCache, String valSource, RunInfo run) {
        public Input(List<String> classes, TrainingConfig config, List<EpochStats> history, int bestEpoch,
                     Predictions validation, Evaluation valEval, Evaluation trainEval,
                     LogisticBaseline.Result baseline, String trainCache, String valSource) {
            this(classes, config, history, bestEpoch, validation, valEval, trainEval, baseline, trainCache,
                    valSource, null);
        }
    }

    /**
     * The run around the numbers, shown at the top of the report.
     *
     * @param command        the command line that produced it (null when made through the library)
     * @param date           when (ISO-8601)
     * @param backbone       the backbone file the features came from (null when unknown)
     * @param backboneSha256 its sha256
     * @param trainRows      rows trained on (every view of the training images)
     * @param imageFile      the image file of a validation row's path, for thumbnails (null: no thumbnails)
     */
    public record RunInfo(String command, String date, String backbone, String backboneSha256, int trainRows,
                          Function<String, Path> imageFile) {
    }

    /** Writes all five files into {@code dir}. */
    public static void write(Path dir, Input in) throws IOException {
        AtomicFiles.writeString(dir.resolve(METRICS), GSON.toJson(metrics(in)) + "\n");
        AtomicFiles.writeString(dir.resolve(MISCLASSIFIED), misclassifiedCsv(in.validation()));
        AtomicFiles.write(dir.resolve(CURVES), Charts.curves(in.history(), in.bestEpoch()));
        if (in.valEval() != null) {
            AtomicFiles.write(dir.resolve(CONFUSION), Charts.confusion(in.classes(), in.valEval().confusion()));
        }
        List<String> thumbs = Thumbnails.write(dir.resolve(THUMBS), misclassifiedPaths(in),
                in.run() == null ? null : in.run().imageFile());
        AtomicFiles.writeString(dir.resolve(HTML), html(in, thumbs));
    }

    /** The listed misclassified rows' paths, most confident mistake first. */
    private static List<String> misclassifiedPaths(Input in) {
        if (in.validation() == null) {
            return List.of();
        }
        List<Integer> wrong = misclassified(in.validation());
        return wrong.subList(0, Math.min(LISTED, wrong.size())).stream().map(i -> in.validation().paths().get(i))
                .toList();
    }

    /** The metrics.json tree. */
    public static JsonObject metrics(Input in) {
        JsonObject o = new JsonObject();
        Evaluation v = in.valEval();
        o.add("val_accuracy", num(v == null ? Double.NaN : v.accuracy()));
        o.add("val_loss", num(v == null ? Double.NaN : v.loss()));
        o.add("val_macro_f1", num(v == null ? Double.NaN : v.macroF1()));
        o.addProperty("val_rows", in.validation() == null ? 0 : in.validation().size());
        o.add("train_accuracy", num(in.trainEval().accuracy()));
        o.add("train_loss", num(in.trainEval().loss()));
        o.addProperty("best_epoch", in.bestEpoch());
        o.addProperty("epochs_run", in.history().size());
        JsonArray classes = new JsonArray();
        in.classes().forEach(classes::add);
        o.add("classes", classes);
        o.add("per_class", v == null ? new JsonObject() : EvaluationJson.perClass(v));
        o.add("confusion_matrix", v == null ? new JsonArray() : EvaluationJson.confusion(v));
        o.addProperty("confusion_matrix_rows", "true class (in 'classes' order); columns: predicted class");
        JsonArray history = new JsonArray();
        for (EpochStats s : in.history()) {
            JsonObject e = new JsonObject();
            e.addProperty("epoch", s.epoch());
            e.add("train_loss", num(s.trainLoss()));
            e.add("train_accuracy", num(s.trainAccuracy()));
            e.add("val_loss", num(s.valLoss()));
            e.add("val_accuracy", num(s.valAccuracy()));
            e.add("learning_rate", num(s.learningRate()));
            e.add("seconds", num(Math.round(s.seconds() * 1000) / 1000.0));
            e.addProperty("best_so_far", s.improved());
            history.add(e);
        }
        o.add("history", history);
        if (in.baseline() != null) {
            JsonObject b = new JsonObject();
            LogisticBaseline.Result base = in.baseline();
            b.addProperty("name", base.name());
            b.add("val_accuracy", num(base.validation().accuracy()));
            b.add("val_macro_f1", num(base.validation().macroF1()));
            b.add("val_loss", num(base.validation().loss()));
            // Which rows it was scored on and how its regularisation was chosen, so the number can be compared.
            b.addProperty("scored_on", in.valSource() + " (" + base.valRows() + " rows, view 0 of each image)");
            b.addProperty("train_rows", base.trainRows());
            b.addProperty("standardised", "mean and std of the training rows");
            b.add("c", num(base.c()));
            b.addProperty("cv_folds", base.folds());
            JsonArray grid = new JsonArray();
            for (int i = 0; i < base.cs().length; i++) {
                JsonObject g = new JsonObject();
                g.add("c", num(base.cs()[i]));
                g.add("cv_accuracy", num(base.cvAccuracy()[i]));
                grid.add(g);
            }
            b.add("cv_grid", grid);
            b.add("seconds", num(Math.round(base.seconds() * 1000) / 1000.0));
            o.add("baseline", b);
        }
        o.add("config", GSON.toJsonTree(in.config()));
        return o;
    }

    private static com.google.gson.JsonElement num(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }

    /** Wrong validation rows, the most confident mistakes first. */
    public static String misclassifiedCsv(Predictions p) {
        StringBuilder sb = new StringBuilder("path,true,predicted,probability\n");
        if (p == null) {
            return sb.toString();
        }
        for (int i : misclassified(p)) {
            int q = p.predicted(i);
            sb.append(csv(p.paths().get(i))).append(',').append(csv(p.classes().get(p.labels()[i]))).append(',')
                    .append(csv(p.classes().get(q))).append(',')
                    .append(String.format(Locale.ROOT, "%.6f", p.probability(i, q))).append('\n');
        }
        return sb.toString();
    }

    private static List<Integer> misclassified(Predictions p) {
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < p.size(); i++) {
            if (p.predicted(i) != p.labels()[i]) {
                wrong.add(i);
            }
        }
        wrong.sort((a, b) -> Float.compare(p.probability(b, p.predicted(b)), p.probability(a, p.predicted(a))));
        return wrong;
    }

    /** RFC 4180: quote fields with commas, quotes or line breaks; double inner quotes. */
    static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    private static String html(Input in, List<String> thumbs) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>transfer4j head report"
                + "</title>\n<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
                + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
                + "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}img{max-width:100%}"
                + "img.t{height:72px;max-width:120px;vertical-align:middle}dl{display:grid;grid-template-columns:"
                + "max-content auto;gap:2px 12px}dt{font-weight:bold}dd{margin:0}code{word-break:break-all}</style>"
                + "</head><body>\n");
        h.append("<h1>Head training report</h1>\n<dl>\n");
        RunInfo run = in.run();
        if (run != null && run.backbone() != null) {
            h.append("<dt>backbone</dt><dd><code>").append(esc(Path.of(run.backbone()).getFileName().toString()))
                    .append("</code> (sha256 <code>").append(esc(prefix(run.backboneSha256()))).append("</code>)</dd>\n");
        }
        h.append("<dt>training</dt><dd><code>").append(esc(in.trainCache())).append("</code>");
        if (run != null) {
            h.append(" — ").append(run.trainRows()).append(" rows");
        }
        h.append("</dd>\n<dt>validation</dt><dd><code>").append(esc(in.valSource())).append("</code>");
        if (in.validation() != null) {
            h.append(" — ").append(in.validation().size()).append(" rows");
        }
        h.append("</dd>\n");
        if (run != null) {
            h.append("<dt>date</dt><dd>").append(esc(run.date())).append("</dd>\n");
            if (run.command() != null) {
                h.append("<dt>command</dt><dd><code>").append(esc(run.command())).append("</code></dd>\n");
            }
        }
        h.append("</dl>\n");
        Evaluation v = in.valEval();
        h.append("<table><tr><th class=\"l\">model</th><th>val accuracy</th><th>val macro F1</th><th>val loss</th>"
                + "<th>train accuracy</th></tr>\n");
        h.append("<tr><td class=\"l\">transfer4j head (hidden ").append(in.config().hidden()).append(", best epoch ")
                .append(in.bestEpoch()).append(" of ").append(in.history().size()).append(")</td><td>")
                .append(fmt(v == null ? Double.NaN : v.accuracy())).append("</td><td>")
                .append(fmt(v == null ? Double.NaN : v.macroF1())).append("</td><td>")
                .append(fmt(v == null ? Double.NaN : v.loss())).append("</td><td>")
                .append(fmt(in.trainEval().accuracy())).append("</td></tr>\n");
        if (in.baseline() != null) {
            h.append("<tr><td class=\"l\">").append(esc(in.baseline().name())).append(" (baseline, same ")
                    .append(in.baseline().valRows()).append(" validation rows)</td><td>")
                    .append(fmt(in.baseline().validation().accuracy())).append("</td><td>")
                    .append(fmt(in.baseline().validation().macroF1())).append("</td><td>")
                    .append(fmt(in.baseline().validation().loss())).append("</td><td></td></tr>\n");
        }
        h.append("</table>\n<h2>Curves</h2>\n<img src=\"").append(CURVES).append("\" alt=\"loss and accuracy per "
                + "epoch\">\n");
        if (v != null) {
            h.append("<h2>Per class (validation)</h2>\n<table><tr><th class=\"l\">class</th><th>precision</th>"
                    + "<th>recall</th><th>F1</th><th>support</th></tr>\n");
            for (Evaluation.ClassMetrics m : v.perClass()) {
                h.append("<tr><td class=\"l\">").append(esc(m.name())).append("</td><td>").append(fmt(m.precision()))
                        .append("</td><td>").append(fmt(m.recall())).append("</td><td>").append(fmt(m.f1()))
                        .append("</td><td>").append(m.support()).append("</td></tr>\n");
            }
            h.append("</table>\n<h2>Confusion matrix</h2>\n<img src=\"").append(CONFUSION)
                    .append("\" alt=\"confusion matrix\">\n");
            List<Integer> wrong = misclassified(in.validation());
            h.append("<h2>Misclassified (").append(wrong.size()).append(", most confident first; all in <a href=\"")
                    .append(MISCLASSIFIED).append("\">").append(MISCLASSIFIED).append("</a>)</h2>\n");
            h.append("<table><tr><th class=\"l\">image</th><th class=\"l\">path</th><th class=\"l\">true</th>"
                    + "<th class=\"l\">predicted</th><th>probability</th></tr>\n");
            Predictions p = in.validation();
            List<Integer> listed = wrong.subList(0, Math.min(LISTED, wrong.size()));
            for (int n = 0; n < listed.size(); n++) {
                int i = listed.get(n);
                String thumb = n < thumbs.size() ? thumbs.get(n) : null;
                h.append("<tr><td class=\"l\">");
                if (thumb != null) {
                    String src = esc(THUMBS + "/" + thumb);
                    h.append("<a href=\"").append(src).append("\"><img class=\"t\" src=\"").append(src)
                            .append("\" alt=\"").append(esc(p.paths().get(i))).append("\"></a>");
                }
                h.append("</td><td class=\"l\">").append(esc(p.paths().get(i))).append("</td><td class=\"l\">")
                        .append(esc(p.classes().get(p.labels()[i]))).append("</td><td class=\"l\">")
                        .append(esc(p.classes().get(p.predicted(i)))).append("</td><td>")
                        .append(fmt(p.probability(i, p.predicted(i)))).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<h2>Training options</h2>\n<pre>").append(esc(GSON.toJson(in.config()))).append("</pre>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    private static String prefix(String sha) {
        return sha == null ? "unknown" : sha.substring(0, Math.min(12, sha.length())) + "…";
    }

    private static String fmt(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "–";
    }

    private static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
