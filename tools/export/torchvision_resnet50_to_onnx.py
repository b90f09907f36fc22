#!/usr/bin/env python3
"""torchvision ResNet50 (ImageNet weights, classifier removed) -> ONNX, plus its spec sidecar.

    pip install torch torchvision onnx
    python tools/export/torchvision_resnet50_to_onnx.py [--out models/resnet50-torchvision-notop.onnx] [--weights V1]

Writes OUT and OUT with .json (the transfer4j spec sidecar). The model expects torchvision's preprocessing:
NCHW, RGB, shorter side resized to 256 (bilinear, antialiased), center crop 224, /255, then ImageNet mean
(0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). transfer4j's "torch" preset does exactly that; feeding it
caffe-style input (BGR, mean subtraction, no scaling) would silently give much worse features.
"""
import argparse
import inspect
import json
import os

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="models/resnet50-torchvision-notop.onnx")
    ap.add_argument("--weights", default="V2", choices=["V1", "V2"],
                    help="IMAGENET1K_V2 (top-1 80.9%%, default) or IMAGENET1K_V1 (76.1%%)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    weights = getattr(torchvision.models.ResNet50_Weights, "IMAGENET1K_" + args.weights)
    model = torchvision.models.resnet50(weights=weights)
    # Identity instead of the 1000-class Linear: the network now ends at avgpool + flatten, i.e. 2048-d features.
    model.fc = torch.nn.Identity()
    model.eval()  # BatchNorm in inference mode; without it the export would bake in training behaviour

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    dummy = torch.zeros(1, 3, 224, 224)
    # torch >= 2.9 exports through dynamo by default; the classic TorchScript exporter is the one whose
    # input_names/dynamic_axes behaviour this recipe relies on, so ask for it where the switch exists.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(model, dummy, args.out, opset_version=args.opset,
                          input_names=["input"], output_names=["features"],
                          # a variable batch, so transfer4j can run batches of any size
                          dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}}, **legacy)

    spec = {"preset": "torch", "inputName": "input", "layout": "NCHW", "height": 224, "width": 224,
            "outputName": "features", "featureDim": 2048}
    sidecar = os.path.splitext(args.out)[0] + ".json"
    with open(sidecar, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out} (input 'input' NCHW, output 'features' [N,2048]) and {sidecar} (torch preset)")


if __name__ == "__main__":
    main()
