package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.transfer4j.ModelException;
import org.transfer4j.backbone.io.AtomicFiles;

/**
 * Reading and writing ONNX {@link ModelProto}s and the small helpers every graph tool needs: tensor types and shapes,
 * metadata, raw-data initializers, file hashes.
 *
 * <p>Models are parsed with Tribuo's generated {@code OnnxMl} classes; protobuf limits a model to 2 GiB, and models
 * with external data files are refused (the tools here rewrite graphs into a new file, which would orphan them).
 */
public final class OnnxModels {
    private OnnxModels() {
    }

    /** Parses an ONNX file; the message says which file and why it could not be read. */
    public static ModelProto load(Path file) throws ModelException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "model file not found: " + file, e);
        } catch (IOException | OutOfMemoryError e) {
            throw new ModelException(ModelException.Reason.NOT_FOUND, "cannot read model file " + file + ": " + e, e);
        }
        return parse(bytes, file.toString());
    }

    /** Parses ONNX bytes; {@code source} names them in error messages. */
    public static ModelProto parse(byte[] bytes, String source) throws ModelException {
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setSizeLimit(Integer.MAX_VALUE);
            // Deep nesting only occurs in control-flow subgraphs; the default of 100 is too tight for some exports.
            in.setRecursionLimit(1000);
            // Weight bytes (raw_data) then point into the file's array instead of being copied a second time.
            in.enableAliasing(true);
            ModelProto model = ModelProto.parseFrom(in);
            if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
                throw new ModelException(ModelException.Reason.INVALID_MODEL,
                        source + " is not an ONNX model (no graph nodes); check that the file is a .onnx model");
            }
            return model;
        } catch (InvalidProtocolBufferException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL,
                    source + " is not a valid ONNX model (" + e.getMessage() + "); check the file is complete", e);
        } catch (IOException e) {
            throw new ModelException(ModelException.Reason.INVALID_MODEL, "cannot parse " + source + ": " + e, e);
        }
    }

    /** Refuses models whose weights live in external files, naming the first such tensor. */
    public static void requireEmbeddedData(ModelProto model, Path file) throws ModelException {
        for (TensorProto t : model.getGraph().getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                throw new ModelException(ModelException.Reason.INCOMPATIBLE, file + " keeps tensor '" + t.getName()
                        + "' in an external data file, which these tools do not support; re-save the model with "
                        + "its weights inside the .onnx file (onnx.save(model, path, save_as_external_data=False))");
            }
        }
    }

    /**
     * Writes a model atomically: streamed into a temp file beside the target, fsynced, then renamed over it, so a
     * crash leaves the old file or the new one, never half a model.
     */
    public static void save(ModelProto model, Path file) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + abs.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream out = Channels.newOutputStream(ch);
            CodedOutputStream coded = CodedOutputStream.newInstance(out, 1 << 16);
            model.writeTo(coded);
            coded.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        AtomicFiles.moveAtomically(tmp, abs);
    }

    // ---- metadata -------------------------------------------------------------------------------------------------

    /** All metadata_props, in file order. */
    public static Map<String, String> metadata(ModelProto model) {
        Map<String, String> map = new LinkedHashMap<>();
        for (OnnxMl.StringStringEntryProto e : model.getMetadataPropsList()) {
            map.put(e.getKey(), e.getValue());
        }
        return map;
    }

    public static Optional<String> metadata(ModelProto model, String key) {
        return Optional.ofNullable(metadata(model).get(key));
    }

    /** A copy of the model with the given entries added or replaced (other entries kept, order kept). */
    public static ModelProto withMetadata(ModelProto model, Map<String, String> entries) {
        Map<String, String> all = metadata(model);
        all.putAll(entries);
        ModelProto.Builder b = model.toBuilder().clearMetadataProps();
        all.forEach((k, v) -> b.addMetadataProps(
                OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build()));
        return b.build();
    }

    /** The version of {@code domain} ("" = ai.onnx) the model imports, or -1 when it does not import it. */
    public static long opsetVersion(ModelProto model, String domain) {
        for (OnnxMl.OperatorSetIdProto op : model.getOpsetImportList()) {
            String d = op.getDomain();
            if (d.equals(domain) || (domain.isEmpty() && d.equals("ai.onnx"))) {
                return op.getVersion();
            }
        }
        return -1;
    }

    // ---- types and shapes -----------------------------------------------------------------------------------------

    /** ONNX element type number to its name in lower case ("float", "uint8", ...). */
    public static String elemTypeName(int elemType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(elemType);
        return t == null ? "type" + elemType : t.name().toLowerCase(Locale.ROOT);
    }

    /** The element type of a tensor-typed value, or 0 (UNDEFINED) when it has no tensor type. */
    public static int elemType(ValueInfoProto v) {
        return v.getType().hasTensorType() ? v.getType().getTensorType().getElemType() : 0;
    }

    /** True when the value declares a shape (possibly with unknown dimensions). */
    public static boolean hasShape(ValueInfoProto v) {
        return v.getType().hasTensorType() && v.getType().getTensorType().hasShape();
    }

    /** The declared dimensions; empty when the shape is unknown. */
    public static List<TensorShapeProto.Dimension> dims(ValueInfoProto v) {
        return hasShape(v) ? v.getType().getTensorType().getShape().getDimList() : List.of();
    }

    /** The declared shape with -1 for symbolic or unknown dimensions; empty when the shape is unknown. */
    public static long[] shape(ValueInfoProto v) {
        List<TensorShapeProto.Dimension> dims = dims(v);
        long[] s = new long[dims.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = dims.get(i).hasDimValue() ? dims.get(i).getDimValue() : -1;
        }
        return s;
    }

    /** Dimensions as text: numbers, symbolic names, or "?" when unknown. */
    public static List<String> dimTexts(ValueInfoProto v) {
        List<String> out = new ArrayList<>();
        for (TensorShapeProto.Dimension d : dims(v)) {
            out.add(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.hasDimParam() && !d.getDimParam().isEmpty()
                    ? d.getDimParam() : "?");
        }
        return out;
    }

    public static TensorShapeProto.Dimension dim(long value) {
        return TensorShapeProto.Dimension.newBuilder().setDimValue(value).build();
    }

    public static TensorShapeProto.Dimension dim(String param) {
        return TensorShapeProto.Dimension.newBuilder().setDimParam(param).build();
    }

    /** A tensor value info with the given element type and dimensions. */
    public static ValueInfoProto tensorInfo(String name, int elemType, List<TensorShapeProto.Dimension> dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder().addAllDim(dims);
        return ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                        .setElemType(elemType).setShape(shape)))
                .build();
    }

    /**
     * A float initializer stored as little-endian raw_data (compact and fast to parse, unlike float_data lists).
     * The array is copied once into the proto.
     */
    public static TensorProto floatTensor(String name, long[] dims, float[] data) {
        byte[] bytes = new byte[Math.multiplyExact(data.length, Float.BYTES)];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(data);
        return rawTensor(name, dims, data.length, TensorProto.DataType.FLOAT_VALUE, bytes);
    }

    /** An int64 initializer (shapes, pads) stored as little-endian raw_data. */
    public static TensorProto longTensor(String name, long[] dims, long[] data) {
        byte[] bytes = new byte[Math.multiplyExact(data.length, Long.BYTES)];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().put(data);
        return rawTensor(name, dims, data.length, TensorProto.DataType.INT64_VALUE, bytes);
    }

    private static TensorProto rawTensor(String name, long[] dims, int count, int dataType, byte[] bytes) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + count + " values for shape "
                    + java.util.Arrays.toString(dims) + " (" + n + " expected)");
        }
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(dataType)
                .setRawData(UnsafeByteOperations.unsafeWrap(bytes));
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    /** The values of a float initializer, whether stored as raw_data or float_data. */
    public static float[] floats(TensorProto t) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new IllegalArgumentException("tensor '" + t.getName() + "' is " + elemTypeName(t.getDataType())
                    + ", not float");
        }
        if (!t.getRawData().isEmpty()) {
            float[] out = new float[t.getRawData().size() / Float.BYTES];
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
        float[] out = new float[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }
}
