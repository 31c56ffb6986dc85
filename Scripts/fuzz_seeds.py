"""Seed corpora of the Fuzz/ targets that read architecture documents, extracted from Fixtures/ (Fuzz/seeds/).

  model-graph/    the `tfparity` metadata JSON of Fixtures/models/v1/*.safetensors and of the models `tfparity
                  convert` makes from Fixtures/keras/* (FuzzModelGraph); model-graph-parameters.json beside it holds
                  each of those models' parameter shapes, the table the target checks the graphs against
  keras-config/   config.json of Fixtures/keras/*/model.keras, the model_config attribute of the .h5 ones, and
                  mlp_weights_config/config.json (FuzzKerasConfig)
  spec/           spec entries of registry types, as a spec spells every registered operation (FuzzSpec; the
                  Fixtures/seed specs are seeds too, copied by Scripts/fuzz.sh)

Deterministic: a rerun writes byte-identical files. Needs h5py (Scripts/requirements.txt) and a built tfparity:
  /path/to/venv/bin/python Scripts/fuzz_seeds.py .build/debug/tfparity
"""

import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "Fuzz", "seeds")

# One entry per registered operation family that Fixtures/seed's specs do not already spell (FuzzSpec).
SPEC_SEEDS = {
    "cropping2d": "layers:\n  - {type: cropping2d, name: crop, cropping: [1, 2, 0, 3]}\n",
    "zero_padding2d": "layers:\n  - {type: zero_padding2d, padding: [1, 1, 2, 2]}\n",
    "conv2d": (
        "layers:\n  - type: conv2d\n    name: conv\n    kernel: conv/kernel\n    bias: conv/bias\n"
        "    kernel_size: [3, 3]\n    strides: [2, 2]\n    padding: same\n    dilation_rate: [1, 1]\n"
        "    activation: relu\n"
    ),
    "depthwise_conv2d": (
        "layers:\n  - {type: depthwise_conv2d, depthwise_kernel: dw, kernel_size: [3, 3], strides: [1, 1],\n"
        "     padding: valid, dilation_rate: [2, 2], depth_multiplier: 2, activation: linear}\n"
    ),
    "separable_conv2d": (
        "layers:\n  - {type: separable_conv2d, depthwise_kernel: dw, pointwise_kernel: pw, bias: b,\n"
        "     kernel_size: [3, 3], strides: [1, 1], padding: same, dilation_rate: [1, 1], depth_multiplier: 1,\n"
        "     activation: relu6}\n"
    ),
    "pooling": (
        "layers:\n  - {type: max_pooling2d, pool_size: [2, 2], strides: [2, 2], padding: valid}\n"
        "  - {type: average_pooling2d, pool_size: [3, 3], strides: [1, 1], padding: same}\n"
        "  - {type: global_average_pooling2d, keepdims: true}\n  - {type: global_max_pooling2d, keepdims: false}\n"
    ),
    "shapes": (
        "layers:\n  - {type: flatten}\n  - {type: reshape, target_shape: [4, -1]}\n"
        "  - {type: rescaling, scale: 0.5, offset: -1.0}\n  - {type: softmax}\n"
        "  - {type: relu, max_value: 6.0, negative_slope: 0.1, threshold: 0.0}\n"
        "  - {type: activation, activation: {name: elu, alpha: 1.0}}\n  - {type: dropout, rate: 0.5}\n"
    ),
    "merges": (
        "layers:\n  - {type: dense, name: a, kernel: a/kernel}\n  - {type: dense, name: b, kernel: b/kernel, "
        "inputs: [input]}\n  - {type: add, name: sum, inputs: [a, b]}\n  - {type: multiply, name: product, "
        "inputs: [a, sum]}\n  - {type: concatenate, name: joined, axis: -1, inputs: [sum, product, b]}\n"
    ),
    "batchnorm": (
        '{"layers": [{"type": "batchnorm", "name": "bn", "mean": "m", "variance": "v", "gamma": "g", '
        '"beta": "b", "epsilon": 0.001, "axis": -1}]}\n'
    ),
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def safetensors_header(path):
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        return json.loads(handle.read(length))


def model_graph_seeds(tfparity):
    """The metadata JSON of every v1 fixture model and of every Keras fixture tfparity converts."""
    models = {os.path.basename(p)[: -len(".safetensors")]: p for p in glob.glob(f"{ROOT}/Fixtures/models/v1/*")}
    with tempfile.TemporaryDirectory() as scratch:
        sources = sorted(glob.glob(f"{ROOT}/Fixtures/keras/*/model.h5") + glob.glob(f"{ROOT}/Fixtures/keras/*/model.keras"))
        sources.append(f"{ROOT}/Fixtures/keras/mlp_weights_config/model.weights.h5")
        for source in sources:
            fixture = os.path.basename(os.path.dirname(source))
            kind = os.path.basename(source).split(".", 1)[1].replace(".", "-")
            output = os.path.join(scratch, f"{fixture}-{kind}.safetensors")
            command = [tfparity, "convert", source, "-o", output, "--quiet"]
            if fixture == "mlp_weights_config":
                command += ["--config", os.path.join(os.path.dirname(source), "config.json")]
            # Unsupported fixtures (Lambda layers, nested models) are refused: they make no model.
            if subprocess.run(command, capture_output=True).returncode == 0:
                models[f"{fixture}-{kind}"] = output
        table = {}
        written = set()
        for name in sorted(models):
            header = safetensors_header(models[name])
            metadata = header.pop("__metadata__")
            document = json.loads(metadata["tfparity"])
            # Provenance holds a digest and a tool version that change with every rebuild: not graph input.
            document.pop("provenance", None)
            text = json.dumps(document, sort_keys=True).encode()
            # The .h5 and .keras saves of one model convert to the same graph: one seed (and one table) for both.
            if text in written:
                continue
            written.add(text)
            write(f"{SEEDS}/model-graph/{name}.json", text)
            table[name] = {tensor: entry["shape"] for tensor, entry in sorted(header.items())}
    write(f"{SEEDS}/model-graph-parameters.json", (json.dumps(table, indent=1, sort_keys=True) + "\n").encode())


def keras_config_seeds():
    for path in sorted(glob.glob(f"{ROOT}/Fixtures/keras/*/model.keras")):
        fixture = os.path.basename(os.path.dirname(path))
        with zipfile.ZipFile(path) as archive:
            write(f"{SEEDS}/keras-config/{fixture}-keras.json", archive.read("config.json"))
    for path in sorted(glob.glob(f"{ROOT}/Fixtures/keras/*/model.h5")):
        fixture = os.path.basename(os.path.dirname(path))
        with h5py.File(path, "r") as file:
            config = file.attrs["model_config"]
        write(f"{SEEDS}/keras-config/{fixture}-h5.json", config.encode() if isinstance(config, str) else bytes(config))
    with open(f"{ROOT}/Fixtures/keras/mlp_weights_config/config.json", "rb") as handle:
        write(f"{SEEDS}/keras-config/mlp_weights_config-weights.json", handle.read())


def spec_seeds():
    for name, text in SPEC_SEEDS.items():
        write(f"{SEEDS}/spec/registry-{name}.yaml", text.encode())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz_seeds.py PATH_TO_TFPARITY")
    model_graph_seeds(os.path.abspath(sys.argv[1]))
    keras_config_seeds()
    spec_seeds()
