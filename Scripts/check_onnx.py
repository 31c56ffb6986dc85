#!/usr/bin/env python3
"""Checks an ONNX model with the reference packages: onnx's checker, then onnxruntime against a recording.

    check_onnx.py MODEL.onnx [--input NPY_OR_RECORDING] [--expect RECORDING] [--key output] [--output NAME]
                             [--atol 1e-5] [--rtol 1e-4]

1. `onnx.checker.check_model(MODEL, full_check=True)` (given the path, so external data beside the model is checked
   and models over 2 GiB work); full_check adds strict shape and type inference.
2. With --input: runs the model in onnxruntime (CPU). The input is a .npy file, or a recording (.npz, or .h5 when
   h5py is installed) whose `input` key feeds a model with one input and `input/<name>` each input of a model
   with several.
3. With --expect: compares the model's first output (or --output NAME) with the recording's --key (default `output`;
   --input defaults to the same recording): an element passes when |actual - expected| <= atol + rtol * |expected|
   (tfparity verify's rule and defaults); NaN or Inf on either side is a mismatch. Prints the max abs/rel error.

Exit codes: 0 everything passed, 1 checker failure or a mismatch, 2 unreadable input or usage error.
Pinned (Scripts/test.sh installs them in .build/venv-check): onnx 1.23.2, onnxruntime 1.32.0, numpy 2.4.6.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime


def fail(message, code=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def load_arrays(path):
    """A recording as {key: array}; a .npy file as {None: array}."""
    path = Path(path)
    if not path.exists():
        fail(f"{path}: no such file")
    try:
        if path.suffix == ".npy":
            return {None: np.load(path, allow_pickle=False)}
        if path.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as f:
                arrays = {}
                f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if hasattr(item, "shape") else None)
                return arrays
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ImportError:
        fail(f"{path}: reading HDF5 recordings needs h5py")
    except Exception as error:  # noqa: BLE001 - any reader failure is an unreadable input
        fail(f"{path}: cannot read: {error}")


def feeds(session, arrays, path):
    inputs = session.get_inputs()
    if None in arrays:
        if len(inputs) != 1:
            fail(f"{path}: a .npy file feeds one input, the model has {len(inputs)}")
        return {inputs[0].name: arrays[None]}
    result = {}
    for model_input in inputs:
        key = "input" if len(inputs) == 1 and "input" in arrays else f"input/{model_input.name}"
        if key not in arrays:
            fail(f"{path}: no '{key}' for model input '{model_input.name}'")
        result[model_input.name] = arrays[key]
    return result


def compare(actual, expected, atol, rtol):
    """(passed, max abs error, max rel error, mismatches)."""
    if actual.shape != expected.shape:
        print(f"shape {list(actual.shape)} != expected {list(expected.shape)}")
        return False, float("inf"), float("inf"), actual.size
    if expected.size == 0:
        fail("the compared tensor has no elements")
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    finite = np.isfinite(a) & np.isfinite(e)
    diff = np.where(finite, np.abs(a - e), np.inf)
    nonzero = finite & (e != 0)
    rel = np.where(nonzero, diff / np.where(nonzero, np.abs(e), 1), 0)
    mismatches = int(np.count_nonzero(~(diff <= atol + rtol * np.abs(np.where(finite, e, 0)))))
    return mismatches == 0, float(diff.max()), float(rel.max()), mismatches


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--input", help=".npy file or recording (.npz/.h5) holding the input")
    parser.add_argument("--expect", help="recording holding the expected output")
    parser.add_argument("--key", default="output", help="the expected output's key in --expect (default: output)")
    parser.add_argument("--output", help="the model output to compare (default: its first)")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args()

    if not Path(args.model).is_file():
        fail(f"{args.model}: no such file")
    try:
        onnx.checker.check_model(args.model, full_check=True)
    except onnx.checker.ValidationError as error:
        print(f"onnx.checker: FAILED: {error}")
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - a file protobuf cannot parse
        fail(f"{args.model}: cannot read: {error}")
    print(f"onnx.checker {onnx.__version__}: passed (full_check)")

    input_path = args.input or args.expect
    if input_path is None:
        return
    try:
        session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime refuses the model
        print(f"onnxruntime {onnxruntime.__version__}: cannot load the model: {error}")
        sys.exit(1)
    inputs = load_arrays(input_path)
    names = [output.name for output in session.get_outputs()]
    feed = feeds(session, inputs, input_path)
    try:
        results = dict(zip(names, session.run(None, feed)))
    except Exception as error:  # noqa: BLE001 - an input the model does not take
        fail(f"{input_path}: onnxruntime cannot run the model on it: {error}")
    output = args.output or names[0]
    if output not in results:
        fail(f"{args.model}: no output '{output}' (outputs: {', '.join(names)})")
    print(f"onnxruntime {onnxruntime.__version__}: ran, output '{output}' {list(results[output].shape)}")
    if args.expect is None:
        return

    expected = load_arrays(args.expect)
    if args.key not in expected:
        fail(f"{args.expect}: no '{args.key}'")
    passed, max_abs, max_rel, mismatches = compare(results[output], expected[args.key], args.atol, args.rtol)
    verdict = "passed" if passed else f"FAILED: {mismatches} of {results[output].size} elements outside"
    print(
        f"{output} vs {args.expect}:{args.key}: max abs error {max_abs:.3g}, max rel error {max_rel:.3g} "
        f"(atol {args.atol:g}, rtol {args.rtol:g}): {verdict}"
    )
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
