#!/usr/bin/env python3
"""Cross-checks a tfparity model with the reference `safetensors` package.

    check_model.py MODEL.safetensors --source PARAMS.npz --spec SPEC.json

Loads MODEL with `safetensors.numpy.load_file` and `safe_open(...).metadata()`, checks the `tfparity` metadata,
and compares every tensor with the source tensor the spec names: same dtype, same values bit for bit
(a BN vector stored as [1, C] in the source may come out as [C]). Exits 1 on any difference.
"""
import argparse
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

PARAMS = {
    "dense": {"kernel": "kernel", "bias": "bias"},
    "batchnorm": {"mean": "moving_mean", "variance": "moving_variance", "gamma": "gamma", "beta": "beta"},
}


def normalise(name):
    name = name.lstrip("/")
    for suffix in (".npy", ":0"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--source", required=True, help="the .npz the model was converted from")
    parser.add_argument("--spec", required=True, help="the spec, as JSON")
    args = parser.parse_args()

    tensors = load_file(args.model)
    with safe_open(args.model, framework="numpy") as f:
        metadata = f.metadata() or {}
    document = json.loads(metadata["tfparity"])
    assert document["format_version"] == 2, document["format_version"]  # ModelFile.formatVersion
    layer_names = [layer["name"] for layer in document["layers"]]

    source = {normalise(k): v for k, v in np.load(args.source).items()}
    spec = json.load(open(args.spec))
    expected = {}
    for layer in spec["layers"]:
        assert layer["name"] in layer_names, f"layer {layer['name']} missing from the model's layer graph"
        for key, param in PARAMS.get(layer["type"], {}).items():
            if key in layer:
                expected[f"{layer['name']}/{param}"] = source[normalise(layer[key])]

    failures = []
    if set(tensors) != set(expected):
        failures.append(f"tensor names differ: model has {sorted(tensors)}, expected {sorted(expected)}")
    for name in sorted(set(tensors) & set(expected)):
        got, want = tensors[name], expected[name]
        if got.dtype != want.dtype:
            failures.append(f"{name}: dtype {got.dtype} != source {want.dtype}")
        elif got.size != want.size or not np.array_equal(got.reshape(-1).view(np.uint8), want.reshape(-1).view(np.uint8)):
            failures.append(f"{name}: values differ from the source")
    if failures:
        for failure in failures:
            print(f"check_model: {args.model}: {failure}", file=sys.stderr)
        return 1
    print(f"check_model: {args.model}: {len(tensors)} tensors load in safetensors "
          f"and equal the source bit for bit; {len(document['layers'])} layers in the metadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
