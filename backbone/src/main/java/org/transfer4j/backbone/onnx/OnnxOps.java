package org.transfer4j.backbone.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tribuo.util.onnx.ONNXAttribute;
import org.tribuo.util.onnx.ONNXOperator;

/**
 * The image-model operators that Tribuo's {@link org.tribuo.util.onnx.ONNXOperators} lacks (it was written for tabular
 * models), declared the same way so they plug into {@link org.tribuo.util.onnx.ONNXContext}. Semantics are those of
 * ONNX opset {@value #OPSET}; every model transfer4j writes imports at least that opset, and the attributes used here
 * mean the same in older opsets down to 11, so they may also be spliced into older graphs.
 */
public enum OnnxOps implements ONNXOperator {
    /** max(0, x). */
    RELU("Relu", 1, 0, 1),
    /** 2-D convolution; inputs X, W and optional bias B. */
    CONV("Conv", 2, 1, 1,
            attr("kernel_shape", AttributeType.INTS), attr("strides", AttributeType.INTS),
            attr("pads", AttributeType.INTS), attr("dilations", AttributeType.INTS),
            attr("group", AttributeType.INT), attr("auto_pad", AttributeType.STRING)),
    /** Max pooling; {@code kernel_shape} is mandatory. */
    MAX_POOL("MaxPool", 1, 0, 1,
            mandatory("kernel_shape", AttributeType.INTS), attr("strides", AttributeType.INTS),
            attr("pads", AttributeType.INTS), attr("dilations", AttributeType.INTS),
            attr("ceil_mode", AttributeType.INT), attr("auto_pad", AttributeType.STRING),
            attr("storage_order", AttributeType.INT)),
    /** Mean over all spatial positions: [N,C,H,W] to [N,C,1,1]. */
    GLOBAL_AVERAGE_POOL("GlobalAveragePool", 1, 0, 1),
    /** Reshapes to 2-D [prod(dims[0:axis]), prod(dims[axis:])]; with axis 1, [N,C,1,1] becomes [N,C]. */
    FLATTEN("Flatten", 1, 0, 1, attr("axis", AttributeType.INT)),
    /** (x - zero_point) * scale for uint8/int8 tensors; inputs x, x_scale and optional x_zero_point. */
    DEQUANTIZE_LINEAR("DequantizeLinear", 2, 1, 1, attr("axis", AttributeType.INT)),
    /** Element-wise sum of two tensors with broadcasting. */
    ADD("Add", 2, 0, 1),
    /** Permutes axes, e.g. NHWC to NCHW with perm [0,3,1,2]. */
    TRANSPOSE("Transpose", 1, 0, 1, attr("perm", AttributeType.INTS)),
    /** Matrix product with numpy broadcasting (Keras Dense exports as MatMul + Add). */
    MAT_MUL("MatMul", 2, 0, 1),
    /** Pads with a constant (default 0); inputs data, int64 pads [x1_begin, x2_begin, ..., x1_end, ...], value. */
    PAD("Pad", 2, 1, 1, attr("mode", AttributeType.STRING)),
    /** Clamps to [min, max]; both bounds are optional scalar inputs (attributes before opset 11). */
    CLIP("Clip", 1, 2, 1),
    /** Hyperbolic tangent. */
    TANH("Tanh", 1, 0, 1),
    /** Reshapes to the int64 shape input; 0 copies the input's dimension, -1 is inferred. */
    RESHAPE("Reshape", 2, 0, 1, attr("allowzero", AttributeType.INT)),
    /** Average pooling; {@code count_include_pad} 0 (the default) leaves padding out of each average. */
    AVERAGE_POOL("AveragePool", 1, 0, 1,
            mandatory("kernel_shape", AttributeType.INTS), attr("strides", AttributeType.INTS),
            attr("pads", AttributeType.INTS), attr("ceil_mode", AttributeType.INT),
            attr("count_include_pad", AttributeType.INT), attr("auto_pad", AttributeType.STRING)),
    /** Maximum over all spatial positions: [N,C,H,W] to [N,C,1,1]. */
    GLOBAL_MAX_POOL("GlobalMaxPool", 1, 0, 1);

    /** The ai.onnx opset these definitions follow. */
    public static final int OPSET = 13;

    private final String opName;
    private final int numInputs;
    private final int numOptionalInputs;
    private final int numOutputs;
    private final Map<String, ONNXAttribute> attributes;
    private final Set<String> mandatory;

    OnnxOps(String opName, int numInputs, int numOptionalInputs, int numOutputs, ONNXAttribute... attrs) {
        this.opName = opName;
        this.numInputs = numInputs;
        this.numOptionalInputs = numOptionalInputs;
        this.numOutputs = numOutputs;
        Map<String, ONNXAttribute> map = new LinkedHashMap<>();
        Set<String> must = new TreeSet<>();
        for (ONNXAttribute a : attrs) {
            map.put(a.getName(), a);
            if (a.isMandatory()) {
                must.add(a.getName());
            }
        }
        this.attributes = Collections.unmodifiableMap(map);
        this.mandatory = Collections.unmodifiableSet(must);
    }

    private static ONNXAttribute attr(String name, AttributeType type) {
        return new ONNXAttribute(name, type, false);
    }

    private static ONNXAttribute mandatory(String name, AttributeType type) {
        return new ONNXAttribute(name, type, true);
    }

    @Override
    public String getOpName() {
        return opName;
    }

    @Override
    public int getNumInputs() {
        return numInputs;
    }

    @Override
    public int getNumOptionalInputs() {
        return numOptionalInputs;
    }

    @Override
    public int getNumOutputs() {
        return numOutputs;
    }

    @Override
    public Map<String, ONNXAttribute> getAttributes() {
        return attributes;
    }

    @Override
    public Set<String> getMandatoryAttributeNames() {
        return mandatory;
    }

    @Override
    public int getOpVersion() {
        return OPSET;
    }

    /** The default ai.onnx domain, written as the empty string (as the ONNX spec does). */
    @Override
    public String getOpDomain() {
        return "";
    }
}
