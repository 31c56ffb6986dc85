#!/usr/bin/env python3
"""The Python side of Scripts/bench.sh: what a user does today with TensorFlow, h5py and safetensors.

    python Scripts/bench/baselines.py convert MODEL.h5 OUT.safetensors
    python Scripts/bench/baselines.py verify MODEL.h5 RECORDING.h5 [--atol 1e-3 --rtol 1e-3]
    python Scripts/bench/baselines.py forward MODEL.h5 INPUT.npy [--calls 5]

convert  reads every dataset of the file with h5py and writes them with safetensors.numpy.save_file.
verify   the TensorFlow way to check a recording: load_model, a probe model over every BatchNormalization
         layer's input and output (and the model's output), predict, compare with the recorded tensors
         (|a - e| <= atol + rtol * |e|). Prints one JSON line {"passed", "checks", "mismatches"}.
forward  load_model, then calls the model on the batch CALLS times in process (training=False); prints one JSON
         line {"first_ms", "second_ms", "median_ms"}: the second call is the forward pass compared with tfparity's
         timings.forward_ms.
"""
import argparse
import json
import os
import sys

from timing import time_calls

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def convert(args):
    import h5py
    import numpy as np
    from safetensors.numpy import save_file

    tensors = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
            tensors[name] = np.ascontiguousarray(obj[()])

    with h5py.File(args.model, "r") as f:
        f.visititems(visit)
    save_file(tensors, args.out)
    print(json.dumps({"tensors": len(tensors)}))


def load_model(path):
    import absl.logging
    import keras

    absl.logging.set_verbosity(absl.logging.ERROR)
    return keras.models.load_model(path, compile=False), keras


def verify(args):
    import h5py
    import numpy as np
    import record_keras

    model, keras = load_model(args.model)
    outs = record_keras.probe_outputs(model, all_layers=False)
    keys = list(outs)
    probe = keras.Model(inputs=model.inputs[0], outputs=[outs[k] for k in keys])
    with h5py.File(args.recording, "r") as f:
        recorded = {k: f[k][()] for k in keys if k in f}
        x = f["input"][()]
    values = probe.predict(x, verbose=0, batch_size=len(x))
    mismatches = 0
    checks = 0
    for key, value in zip(keys, values):
        if key not in recorded:
            continue
        expected = recorded[key]
        ok = np.isfinite(value) & np.isfinite(expected)
        ok &= np.abs(value - expected) <= args.atol + args.rtol * np.abs(expected)
        checks += 1
        mismatches += int(not ok.all())
    print(json.dumps({"passed": mismatches == 0, "checks": checks, "mismatches": mismatches}))
    return 0 if mismatches == 0 else 1


def forward(args):
    import numpy as np

    model, _ = load_model(args.model)
    x = np.load(args.input).astype(np.float32)
    print(json.dumps(time_calls(lambda: np.asarray(model(x, training=False)), args.calls)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert")
    c.add_argument("model")
    c.add_argument("out")
    v = sub.add_parser("verify")
    v.add_argument("model")
    v.add_argument("recording")
    v.add_argument("--atol", type=float, default=1e-3)
    v.add_argument("--rtol", type=float, default=1e-3)
    f = sub.add_parser("forward")
    f.add_argument("model")
    f.add_argument("input")
    f.add_argument("--calls", type=int, default=5)
    args = ap.parse_args()
    return {"convert": convert, "verify": verify, "forward": forward}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
