#!/usr/bin/env python3
"""Keras ResNet50 (ImageNet weights, no top, global average pool) -> ONNX with tf2onnx, plus its spec sidecar.

    pip install tensorflow tf2onnx onnx
    python tools/export/keras_resnet50_to_onnx.py [--out models/resnet50-keras-notop.onnx]

Writes OUT and OUT with .json (the transfer4j spec sidecar). The model expects Keras' "caffe" preprocessing:
NHWC, BGR channel order, mean (103.939, 116.779, 123.68) subtracted, no scaling, and Keras' load_img resize
(direct to 224x224, nearest). transfer4j's "caffe" preset does exactly that; feeding it torch-style input
(RGB, /255, mean/std) would still "work" but silently give much worse features.
"""
import argparse
import json
import os

import onnx
import tensorflow as tf
import tf2onnx

# Names we set ourselves so they do not depend on versions: tf2onnx's default is the Keras input name, which is
# "input_1" under Keras 2 ("input_1:0" with tf2onnx before 1.9) and "input_layer" under Keras 3.
INPUT_NAME = "input_1"
OUTPUT_NAME = "avg_pool"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="models/resnet50-keras-notop.onnx")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()

    # include_top=False drops the 1000-class Dense layer; pooling="avg" ends in GlobalAveragePooling2D, so the
    # output is one 2048-d vector per image: exactly what transfer4j caches and trains a head on.
    model = tf.keras.applications.ResNet50(weights="imagenet", include_top=False, pooling="avg",
                                           input_shape=(224, 224, 3))

    # A tf.function with an explicit input signature (dynamic batch) and a dict output fixes both tensor names.
    @tf.function(input_signature=[tf.TensorSpec([None, 224, 224, 3], tf.float32, name=INPUT_NAME)])
    def features(x):
        return {OUTPUT_NAME: model(x, training=False)}

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tf2onnx.convert.from_function(features, input_signature=features.input_signature, opset=args.opset,
                                  output_path=args.out)

    # Read the names back from the file rather than trusting the constants, then write the sidecar.
    m = onnx.load(args.out)
    inp = m.graph.input[0].name
    out = m.graph.output[0].name
    spec = {"preset": "caffe", "inputName": inp, "layout": "NHWC", "height": 224, "width": 224,
            "outputName": out, "featureDim": 2048}
    sidecar = os.path.splitext(args.out)[0] + ".json"
    with open(sidecar, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out} (input {inp!r} NHWC, output {out!r} [N,2048]) and {sidecar} (caffe preset)")


if __name__ == "__main__":
    main()
