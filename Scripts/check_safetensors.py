#!/usr/bin/env python3
"""Checks that the reference safetensors package reads FILE, optionally against EXPECTED.json.

Usage:  check_safetensors.py FILE [EXPECTED.json]

Loads FILE with safetensors.numpy.load_file and safe_open(...).metadata(), prints one line per tensor
(name, dtype, shape) and the metadata keys. With EXPECTED.json (the format written by
Scripts/fixtures/safetensors_files.py: {"metadata": {...}, "tensors": {name: {"dtype", "shape",
"values"?, "hex"?}}, "order"?: [...]}) it also checks that the file holds exactly those tensors, with
those dtypes, shapes and bytes, and that metadata matches; "order", when present, is the expected
tensor order in the data area.

Exit status: 0 when the file loads (and matches), 1 on a mismatch, 2 when the file cannot be loaded.
"""

import json
import struct
import sys

import numpy as np

try:
    import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy, which BF16 tensors need)
except ImportError:
    pass
from safetensors import safe_open
from safetensors.numpy import load_file

DTYPE_NAMES = {
    "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64",
    "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
    "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64", "bool": "BOOL",
}


def data_order(path):
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return sorted(header, key=lambda name: tuple(header[name]["data_offsets"]))


def compare(path, tensors, metadata, expected):
    problems = []
    if (metadata or {}) != expected.get("metadata", {}):
        problems.append(f"metadata {metadata!r} != expected {expected.get('metadata', {})!r}")
    wanted = expected.get("tensors", {})
    if set(tensors) != set(wanted):
        problems.append(f"tensor names {sorted(tensors)} != expected {sorted(wanted)}")
    for name in sorted(set(tensors) & set(wanted)):
        array, spec = tensors[name], wanted[name]
        dtype = DTYPE_NAMES.get(array.dtype.name, array.dtype.name)
        if dtype != spec["dtype"]:
            problems.append(f"{name}: dtype {dtype} != expected {spec['dtype']}")
            continue
        if list(array.shape) != list(spec["shape"]):
            problems.append(f"{name}: shape {list(array.shape)} != expected {spec['shape']}")
            continue
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        if "hex" in spec and raw.hex() != spec["hex"]:
            problems.append(f"{name}: bytes differ")
        if "values" in spec:
            values = array.reshape(-1)
            if array.dtype.kind in "iub":
                same = [v.item() if hasattr(v, "item") else v for v in values] == spec["values"]
            else:
                same = np.array_equal(values.astype(np.float64), np.array(spec["values"], dtype=np.float64))
            if not same:
                problems.append(f"{name}: values differ")
    if "order" in expected and data_order(path) != expected["order"]:
        problems.append(f"data order {data_order(path)} != expected {expected['order']}")
    return problems


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    path = argv[1]
    try:
        tensors = load_file(path)
        with safe_open(path, framework="np") as handle:
            metadata = handle.metadata()
    except Exception as error:  # the reference package raises several types; all mean "cannot load"
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    for name in data_order(path):
        array = tensors[name]
        print(f"{name}\t{DTYPE_NAMES.get(array.dtype.name, array.dtype.name)}\t{list(array.shape)}")
    print(f"metadata keys: {sorted((metadata or {}).keys())}")
    if len(argv) == 3:
        with open(argv[2], encoding="utf-8") as handle:
            expected = json.load(handle)
        problems = compare(path, tensors, metadata, expected)
        for problem in problems:
            print(f"mismatch: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("ok: matches", argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
