package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.transfer4j.ModelException;

/**
 * What an ONNX file contains, at a glance: the facts a user needs to feed it (inputs, outputs), to know whether a
 * runtime can run it (IR version, opsets, operator mix) and where it came from (producer, transfer4j metadata such
 * as the spec and the head's provenance). {@code model.jar inspect} prints {@link #toText()}.
 *
 * @param file         the file inspected, or null for an in-memory model
 * @param fileBytes    file size in bytes (0 for an in-memory model)
 * @param irVersion    ONNX IR version
 * @param producer     producer name and version, e.g. "pytorch 2.1.0"
 * @param opsets       imported opset version per domain ("" is ai.onnx)
 * @param inputs       the values a caller feeds (graph inputs that are not initializers)
 * @param outputs      graph outputs
 * @param nodeCounts   node count per operator type, most frequent first
 * @param nodes        total node count
 * @param initializers initializer count
 * @param parameters   total number of values in all initializers
 * @param metadata     metadata_props, in file order
 */
public record Inspect(String file, long fileBytes, long irVersion, String producer, Map<String, Long> opsets,
                      List<Tensor> inputs, List<Tensor> outputs, Map<String, Integer> nodeCounts, int nodes,
                      int initializers, long parameters, Map<String, String> metadata) {

    /** Metadata values longer than this are shortened in the text rendering (class lists can be thousands long). */
    private static final int MAX_META_CHARS = 4000;

    /**
     * One input or output.
     *
     * @param name     tensor name
     * @param elemType element type ("float", "uint8", ...)
     * @param dims     dimensions as text (numbers, symbolic names, "?" when unknown); empty when the shape is unknown
     */
    public record Tensor(String name, String elemType, List<String> dims) {
        public Tensor {
            dims = List.copyOf(dims);
        }

        @Override
        public String toString() {
            return name + " " + elemType + " [" + String.join(", ", dims) + "]";
        }
    }

    public Inspect {
        opsets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(opsets));
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        nodeCounts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(nodeCounts));
        metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Reads and summarises a model file. */
    public static Inspect of(Path file) throws ModelException {
        ModelProto model = OnnxModels.load(file);
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            size = 0;
        }
        return of(model, file.toString(), size);
    }

    /** Summarises an in-memory model; {@code file} and {@code fileBytes} are only reported. */
    public static Inspect of(ModelProto model, String file, long fileBytes) {
        Map<String, Long> opsets = new LinkedHashMap<>();
        for (OperatorSetIdProto op : model.getOpsetImportList()) {
            opsets.put(op.getDomain(), op.getVersion());
        }
        List<Tensor> inputs = OrtProbe.realInputs(model.getGraph()).stream().map(Inspect::tensor).toList();
        List<Tensor> outputs = model.getGraph().getOutputList().stream().map(Inspect::tensor).toList();
        Map<String, Integer> counts = new TreeMap<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            counts.merge(n.getOpType(), 1, Integer::sum);
        }
        Map<String, Integer> sorted = counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed()
                        .thenComparing(Map.Entry.comparingByKey()))
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
        long params = 0;
        for (TensorProto t : model.getGraph().getInitializerList()) {
            long n = 1;
            for (long d : t.getDimsList()) {
                n *= d;
            }
            params += n;
        }
        String producer = (model.getProducerName() + " " + model.getProducerVersion()).trim();
        return new Inspect(file, fileBytes, model.getIrVersion(), producer, opsets, inputs, outputs, sorted,
                model.getGraph().getNodeCount(), model.getGraph().getInitializerCount(), params,
                OnnxModels.metadata(model));
    }

    private static Tensor tensor(ValueInfoProto v) {
        String type = v.getType().hasTensorType() ? OnnxModels.elemTypeName(OnnxModels.elemType(v))
                : v.getType().getValueCase().name().toLowerCase(Locale.ROOT);
        return new Tensor(v.getName(), type, OnnxModels.dimTexts(v));
    }

    /** Count of nodes of one operator type (0 when absent). */
    public int count(String opType) {
        return nodeCounts.getOrDefault(opType, 0);
    }

    /** Human-readable summary, as printed by {@code model.jar inspect}. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("model: ").append(file == null ? "(in memory)" : file);
        List<String> facts = new ArrayList<>();
        if (fileBytes > 0) {
            facts.add(String.format(Locale.ROOT, "%,d bytes", fileBytes));
        }
        facts.add("ir " + irVersion);
        if (!producer.isEmpty()) {
            facts.add("producer " + producer);
        }
        sb.append(" (").append(String.join(", ", facts)).append(")\n");
        sb.append("opsets: ").append(opsets.entrySet().stream()
                .map(e -> (e.getKey().isEmpty() ? "ai.onnx" : e.getKey()) + " " + e.getValue())
                .collect(Collectors.joining(", "))).append('\n');
        sb.append("inputs:\n");
        inputs.forEach(t -> sb.append("  ").append(t).append('\n'));
        sb.append("outputs:\n");
        outputs.forEach(t -> sb.append("  ").append(t).append('\n'));
        sb.append("nodes: ").append(nodes).append(" (").append(nodeCounts.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "))).append(")\n");
        sb.append(String.format(Locale.ROOT, "initializers: %d (%,d values)%n", initializers, parameters));
        if (metadata.isEmpty()) {
            sb.append("metadata: none\n");
        } else {
            sb.append("metadata:\n");
            metadata.entrySet().stream().sorted(Comparator.comparing(Map.Entry::getKey)).forEach(e -> {
                String v = e.getValue();
                if (v.length() > MAX_META_CHARS) {
                    v = v.substring(0, MAX_META_CHARS) + " ... (" + v.length() + " chars)";
                }
                sb.append("  ").append(e.getKey()).append(": ").append(v.replace("\n", "\n    ")).append('\n');
            });
        }
        return sb.toString();
    }

    /** The same facts as one JSON object. */
    public String toJson() {
        return new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create().toJson(this);
    }
}
