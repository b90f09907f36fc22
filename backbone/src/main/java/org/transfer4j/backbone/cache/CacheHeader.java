package org.transfer4j.backbone.cache;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import org.transfer4j.backbone.spec.BackboneSpec;
import org.transfer4j.backbone.spec.SpecJson;

/**
 * The cache's {@code header.json}: what the rows mean (backbone, spec, dtype, classes) and where they came from.
 * Rewritten atomically at the start of each extraction run (classes and provenance may change between runs; the
 * backbone, spec, dtype and shard size never do).
 *
 * @param formatVersion {@link #FORMAT_VERSION} when written by this code
 * @param toolVersion   the transfer4j version that last wrote the cache
 * @param spec          the full backbone spec, with model sha256 and feature dim
 * @param dtype         how values are stored
 * @param rowsPerShard  rows per shard file; row {@code i} lives in shard {@code i / rowsPerShard}
 * @param classes       class names, sorted; row labels are stored by name and indexed into this list
 * @param provenance    where the rows came from
 * @param tensorShape   the shape of one row when it is a tensor (feature maps, e.g. [1024, 14, 14] in CHW order,
 *                      written by {@code extract --maps}); empty for pooled feature vectors
 */
public record CacheHeader(int formatVersion, String toolVersion, BackboneSpec spec, Dtype dtype, int rowsPerShard,
        List<String> classes, Provenance provenance, List<Integer> tensorShape) {

    /** The format of caches of feature vectors (no {@code tensor_shape}); see FORMAT.md. */
    public static final int FORMAT_VERSION = 1;
    /**
     * The format of caches whose rows are tensors ({@code tensor_shape} present): a new number so that readers that
     * predate the field refuse them instead of taking feature maps for vectors. Vector caches stay version 1.
     */
    public static final int MAPS_FORMAT_VERSION = 2;
    /** The value of the {@code "format"} key, so a stray header.json of some other program is not taken for ours. */
    public static final String FORMAT_NAME = "transfer4j-feature-cache";

    /**
     * Who made the cache from what. No host names or user names: caches are shared.
     *
     * @param datasetRoot the dataset folder or manifest, as given
     * @param datasetKind {@code folder} or {@code manifest}
     * @param seed        the augmentation seed
     * @param augment     augmented views per image (0 = only the plain view)
     * @param created     ISO-8601 UTC time of the first run
     * @param updated     ISO-8601 UTC time of the latest run
     * @param backboneFile the backbone model file as given to the latest run (absolute), or null; train-head
     *                     composes {@code HEAD/model.onnx} from it when it is still there with the same sha256
     */
    public record Provenance(String datasetRoot, String datasetKind, long seed, int augment, String created,
            String updated, String backboneFile) {
        public Provenance(String datasetRoot, String datasetKind, long seed, int augment, String created,
                String updated) {
            this(datasetRoot, datasetKind, seed, augment, created, updated, null);
        }
    }

    /** A header of pooled feature vectors (no tensor shape). */
    public CacheHeader(int formatVersion, String toolVersion, BackboneSpec spec, Dtype dtype, int rowsPerShard,
            List<String> classes, Provenance provenance) {
        this(formatVersion, toolVersion, spec, dtype, rowsPerShard, classes, provenance, List.of());
    }

    /** The format version a header with this tensor shape is written with. */
    public static int formatVersionFor(List<Integer> tensorShape) {
        return tensorShape == null || tensorShape.isEmpty() ? FORMAT_VERSION : MAPS_FORMAT_VERSION;
    }

    public CacheHeader {
        classes = List.copyOf(classes);
        tensorShape = tensorShape == null ? List.of() : List.copyOf(tensorShape);
        long product = 1;
        for (int d : tensorShape) {
            product *= d;
        }
        if (!tensorShape.isEmpty() && product != spec.featureDim()) {
            throw new IllegalArgumentException("a tensor shape " + tensorShape + " must have featureDim "
                    + spec.featureDim() + " values, it has " + product);
        }
        if (spec.modelSha256() == null || spec.featureDim() <= 0) {
            throw new IllegalArgumentException("a cache header needs a spec with model sha256 and feature dim, got "
                    + "sha256=" + spec.modelSha256() + " featureDim=" + spec.featureDim());
        }
    }

    public int featureDim() {
        return spec.featureDim();
    }

    public String backboneSha256() {
        return spec.modelSha256();
    }

    /** Bytes per row in the shards. */
    public int rowBytes() {
        return featureDim() * dtype.bytes();
    }

    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("format", FORMAT_NAME);
        o.addProperty("format_version", formatVersion);
        o.addProperty("tool_version", toolVersion);
        o.addProperty("backbone_sha256", backboneSha256());
        o.addProperty("feature_dim", featureDim());
        if (!tensorShape.isEmpty()) {
            JsonArray shape = new JsonArray();
            tensorShape.forEach(shape::add);
            o.add("tensor_shape", shape);
        }
        o.addProperty("dtype", dtype.word());
        o.addProperty("byte_order", "little-endian");
        o.addProperty("rows_per_shard", rowsPerShard);
        JsonArray cls = new JsonArray();
        classes.forEach(cls::add);
        o.add("classes", cls);
        o.add("spec", SpecJson.toTree(spec));
        JsonObject p = new JsonObject();
        p.addProperty("dataset_root", provenance.datasetRoot());
        p.addProperty("dataset_kind", provenance.datasetKind());
        p.addProperty("seed", provenance.seed());
        p.addProperty("augment", provenance.augment());
        p.addProperty("created", provenance.created());
        p.addProperty("updated", provenance.updated());
        if (provenance.backboneFile() != null) {
            p.addProperty("backbone_file", provenance.backboneFile());
        }
        o.add("provenance", p);
        return CacheState.GSON.toJson(o) + "\n";
    }

    /** Parses a header; {@code file} names it in error messages. */
    public static CacheHeader fromJson(String json, String file) throws CacheException {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            if (!o.has("format") || !FORMAT_NAME.equals(o.get("format").getAsString())) {
                throw new CacheException(CacheException.Reason.NOT_A_CACHE, file
                        + " is not a transfer4j feature cache header (no \"format\": \"" + FORMAT_NAME + "\")");
            }
            int version = o.get("format_version").getAsInt();
            if (version != FORMAT_VERSION && version != MAPS_FORMAT_VERSION) {
                throw new CacheException(CacheException.Reason.UNSUPPORTED_VERSION, file + " has cache format version "
                        + version + "; this transfer4j reads versions " + FORMAT_VERSION + " and " + MAPS_FORMAT_VERSION
                        + ". Use the transfer4j that wrote it, or rebuild the cache with --overwrite");
            }
            BackboneSpec spec = SpecJson.fromTree(o.get("spec"));
            int dim = o.get("feature_dim").getAsInt();
            String sha = o.get("backbone_sha256").getAsString();
            if (spec.featureDim() != dim || !sha.equals(spec.modelSha256())) {
                throw new CacheException(CacheException.Reason.CORRUPT, file
                        + ": feature_dim/backbone_sha256 disagree with the stored spec");
            }
            List<String> classes = new ArrayList<>();
            for (JsonElement e : o.getAsJsonArray("classes")) {
                classes.add(e.getAsString());
            }
            JsonObject p = o.getAsJsonObject("provenance");
            Provenance prov = new Provenance(str(p, "dataset_root"), str(p, "dataset_kind"),
                    p.has("seed") ? p.get("seed").getAsLong() : 0L, p.has("augment") ? p.get("augment").getAsInt() : 0,
                    str(p, "created"), str(p, "updated"), str(p, "backbone_file"));
            int rps = o.get("rows_per_shard").getAsInt();
            if (rps <= 0) {
                throw new CacheException(CacheException.Reason.CORRUPT, file + ": rows_per_shard must be > 0");
            }
            List<Integer> shape = new ArrayList<>();
            if (o.has("tensor_shape")) {
                for (JsonElement e : o.getAsJsonArray("tensor_shape")) {
                    shape.add(e.getAsInt());
                }
            }
            if (version != formatVersionFor(shape)) {
                throw new CacheException(CacheException.Reason.CORRUPT, file + ": format_version " + version
                        + (shape.isEmpty() ? " needs a tensor_shape" : " cannot have a tensor_shape"));
            }
            return new CacheHeader(version, str(o, "tool_version"), spec, Dtype.parse(o.get("dtype").getAsString()),
                    rps, classes, prov, shape);
        } catch (CacheException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CacheException(CacheException.Reason.CORRUPT, file + " cannot be read as a cache header: "
                    + e.getMessage() + "; rebuild the cache with --overwrite", e);
        }
    }

    private static String str(JsonObject o, String key) {
        JsonElement e = o == null ? null : o.get(key);
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }
}
