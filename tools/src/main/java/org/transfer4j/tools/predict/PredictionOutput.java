package org.transfer4j.tools.predict;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import org.transfer4j.backbone.image.ImageDecodeException;
import org.transfer4j.inference.Prediction;

/**
 * Prints one line per file. Text: {@code path<TAB>label<TAB>probability<TAB>other:p, ...}; errors go to stderr as
 * {@code error: ...}. JSON lines: {@code {"path","label","probability","top":[{"label","probability"}]}} on stdout,
 * and for a bad file {@code {"path","error","reason"}} also on stdout, so a consumer sees every file exactly once.
 */
public final class PredictionOutput {
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean json;

    public PredictionOutput(PrintWriter out, PrintWriter err, boolean json) {
        this.out = out;
        this.err = err;
        this.json = json;
    }

    public void prediction(Path file, Prediction p) {
        if (json) {
            out.println(GSON.toJson(toJson(file, p)));
            return;
        }
        StringBuilder line = new StringBuilder().append(file).append('\t').append(p.label()).append('\t')
                .append(String.format(Locale.ROOT, "%.4f", p.probability()));
        for (int i = 1; i < p.top().size(); i++) {
            Prediction.Scored s = p.top().get(i);
            line.append(i == 1 ? "\t" : ", ").append(s.label()).append(':')
                    .append(String.format(Locale.ROOT, "%.4f", s.probability()));
        }
        out.println(line);
    }

    public void error(Path file, ImageDecodeException e) {
        if (json) {
            JsonObject o = new JsonObject();
            o.addProperty("path", file.toString());
            o.addProperty("error", e.getMessage());
            o.addProperty("reason", e.reason().name());
            out.println(GSON.toJson(o));
        } else {
            err.println("error: " + e.getMessage());
        }
    }

    /** The JSON object for one prediction (also used by the evaluation's misclassified list). */
    public static JsonObject toJson(Path file, Prediction p) {
        JsonObject o = new JsonObject();
        o.addProperty("path", file.toString());
        o.addProperty("label", p.label());
        o.addProperty("probability", p.probability());
        JsonArray top = new JsonArray();
        for (Prediction.Scored s : p.top()) {
            JsonObject t = new JsonObject();
            t.addProperty("label", s.label());
            t.addProperty("probability", s.probability());
            top.add(t);
        }
        o.add("top", top);
        return o;
    }
}
