package org.transfer4j.head.eval;

import com.oracle.labs.mlrg.olcut.util.Pair;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tribuo.Example;
import org.tribuo.Excuse;
import org.tribuo.Feature;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.ImmutableOutputInfo;
import org.tribuo.Model;
import org.tribuo.MutableFeatureMap;
import org.tribuo.Prediction;
import org.tribuo.RealInfo;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.provenance.ModelProvenance;
import org.tribuo.provenance.impl.EmptyDatasetProvenance;
import org.tribuo.provenance.impl.EmptyTrainerProvenance;
import org.transfer4j.head.HeadWeights;
import org.transfer4j.inference.JavaHead;

/**
 * A transfer4j head seen as a Tribuo classification model, so Tribuo's evaluators (and anything else that takes a
 * {@code Model<Label>}) work with it. Features are named {@link #featureName(int)}; prediction runs the head in plain
 * Java ({@link JavaHead}). Evaluation of many rows uses probabilities the trainer already computed, through
 * {@link #prediction}.
 */
public final class TribuoHead extends Model<Label> {
    private static final long serialVersionUID = 1L;
    private final transient JavaHead head;
    private final List<String> classes;

    private TribuoHead(JavaHead head, List<String> classes, ModelProvenance provenance, ImmutableFeatureMap features,
                       ImmutableOutputInfo<Label> outputs) {
        super("transfer4j-head", provenance, features, outputs, true);
        this.head = head;
        this.classes = List.copyOf(classes);
    }

    /** A model over {@code classes} and {@code featureDim} features; {@code weights} may be null (no predict). */
    public static TribuoHead of(List<String> classes, int featureDim, HeadWeights weights) {
        MutableFeatureMap fm = new MutableFeatureMap();
        for (int j = 0; j < featureDim; j++) {
            fm.put(new RealInfo(featureName(j)));
        }
        return new TribuoHead(weights == null ? null : new JavaHead(weights), classes,
                new ModelProvenance(TribuoHead.class.getName(), OffsetDateTime.now(), new EmptyDatasetProvenance(),
                        new EmptyTrainerProvenance()),
                new ImmutableFeatureMap(fm), outputInfo(classes));
    }

    static ImmutableOutputInfo<Label> outputInfo(List<String> classes) {
        Map<Label, Integer> ids = new LinkedHashMap<>();
        for (int i = 0; i < classes.size(); i++) {
            ids.put(new Label(classes.get(i)), i);
        }
        return new LabelFactory().constructInfoForExternalModel(ids);
    }

    /** Tribuo feature name of feature column j ({@code f0000}, {@code f0001}, ...). */
    public static String featureName(int j) {
        return String.format("f%04d", j);
    }

    /** A Tribuo prediction carrying the truth {@code trueClass} and the head's probabilities. */
    public Prediction<Label> prediction(String trueClass, float[] probabilities, int offset) {
        Map<String, Label> scores = new LinkedHashMap<>();
        int best = 0;
        for (int c = 0; c < classes.size(); c++) {
            float p = probabilities[offset + c];
            scores.put(classes.get(c), new Label(classes.get(c), p));
            if (p > probabilities[offset + best]) {
                best = c;
            }
        }
        Label out = new Label(classes.get(best), probabilities[offset + best]);
        return new Prediction<>(out, scores, 0, new org.tribuo.impl.ListExample<>(new Label(trueClass)), true);
    }

    @Override
    public Prediction<Label> predict(Example<Label> example) {
        if (head == null) {
            throw new UnsupportedOperationException("this TribuoHead carries no weights; build it with weights");
        }
        float[] x = new float[head.featureDim()];
        int used = 0;
        for (Feature f : example) {
            var info = featureIDMap.get(f.getName());
            if (info != null) {
                x[info.getID()] = (float) f.getValue();
                used++;
            }
        }
        float[] p = head.probabilities(x);
        Prediction<Label> pred = prediction(LabelFactory.UNKNOWN_LABEL.getLabel(), p, 0);
        return new Prediction<>(pred.getOutput(), pred.getOutputScores(), used, example, true);
    }

    @Override
    public Map<String, List<Pair<String, Double>>> getTopFeatures(int n) {
        return new HashMap<>();
    }

    @Override
    public Optional<Excuse<Label>> getExcuse(Example<Label> example) {
        return Optional.empty();
    }

    @Override
    protected Model<Label> copy(String newName, ModelProvenance newProvenance) {
        return new TribuoHead(head, classes, newProvenance, featureIDMap, outputIDInfo);
    }
}
