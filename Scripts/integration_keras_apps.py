#!/usr/bin/env python3
"""keras.applications integration (issue 14): the Python half of Scripts/integration_keras_apps.sh.

Four commands (run with the pinned venv, e.g. /work/venv-tf/bin/python):

    integration_keras_apps.py build  [--models A,B] [--flavours keras3,keras2] [--cache .build/apps] [--rebuild]
    integration_keras_apps.py run    --bin TFPARITY [--models ...] [--flavours ...] [--onnx] [--results FILE]
    integration_keras_apps.py survey [--models ...] [--results FILE] [-o Scripts/apps_survey.json]
    integration_keras_apps.py selfparity [--models ...] [--flavours ...] [--atol 1e-3 --rtol 1e-3]

`--models` (or the environment variable TFPARITY_APPS, comma-separated) selects families; the default is every
family of issue 14's table plus `TransferResNet50`. `--flavours` selects Keras 3 (`keras3`: `.keras`) and Keras 2
(`keras2`: tf_keras `.h5`); both by default.

**build** makes, for each family, `CACHE/<family>/keras3.keras` and `keras2.h5` (the same weights in both),
`input.npy` (two images, N(0, 1), seeded) and `keras3.recording.h5` / `keras2.recording.h5` recorded by
Scripts/record_keras.py from the reloaded file (inference mode; BN layers, nested ones as `<model>/<layer>`).
The model is built with weights=None (nothing is downloaded), input 64x64x3 (96x96 for InceptionV3,
InceptionResNetV2 and Xception); then every BatchNormalization layer gets non-trivial, seeded statistics measured
on a calibration batch (`--calibration-batch N`, default 16 seeded N(0, 1) images, not the recorded two), layer after
layer in topological order (each BN sees its already-set upstream BNs):

  * moving_mean     = the channel's real mean + N(0, 0.2) * its real std
  * moving_variance = the channel's real variance * U(0.5, 2); in one channel per layer 0.3 * epsilon, with that
                      channel's gamma scaled down so the output keeps its size (a layer without gamma, scale=False
                      as in InceptionV3 and InceptionResNetV2, keeps the measured variance there: nothing could keep
                      that channel's size, and one channel 10^3-10^5 times too large swamps every layer after it)
  * gamma           = U(0.5, 1.5), beta = U(-0.5, 0.5)

Normalization layers (EfficientNet's) get ImageNet's mean and variance. Then the end of each residual branch is
damped (`--damp-residual FACTOR`, default 0.1; 1 leaves the models as calibrated): gamma and beta of the BN that ends
the branch (InceptionResNetV2: kernel and bias of the convolution its `CustomScaleLayer` adds) are scaled by FACTOR,
so each block adds a small branch to its input, as in a trained network. Undamped, these random networks amplify one
float32 rounding 10^4-fold or far more, so TensorFlow itself fails `--atol 1e-3 --rtol 1e-3` against TensorFlow
(oneDNN against Eigen, float32 against float64; `selfparity` measures it); damped, it does not. A family's
`build.json` records the factor and the calibration batch it was built with; asking for others rebuilds it.
Until 2026-12-02 the calibration batch was two images and gamma-less layers got the 0.3 * epsilon channel too: the
Inception families' activations then reached 10^5 and even TensorFlow failed the 1e-3 rule against itself on them
(`--calibration-batch 2` still shows a 1x1 feature map's statistics measured on two values).
The Keras 2 model is built by tf_keras and
given the Keras 3 model's weights layer by layer (same names and shapes); a layer that does not match is
calibrated by tf_keras itself. Files that already exist are reused (the cache) unless --rebuild.

**run** calls the tfparity binary per model and flavour: `convert`, `verify` (local checks, default tolerance),
`verify --end-to-end --atol 1e-3 --rtol 1e-3`, and with --onnx `export --onnx CACHE/<family>/<flavour>.onnx
--recording REC` then Scripts/check_onnx.py (onnx.checker full_check, onnxruntime against the recording's `output`
at the end-to-end tolerance) run by --onnx-python / TFPARITY_ONNX_PYTHON (a Python with onnx and onnxruntime; the
TensorFlow venv need not have them). It prints `family | flavour | convert | local | end-to-end | [onnxruntime vs
TF |] note`, the ONNX column holding onnxruntime's max abs (and rel) error, and never stops at a failure; the
results go to `CACHE/results.json`. Exit status 0 when every row passed (with --onnx, its ONNX check too), 1
otherwise.

**survey** reads the cached files' configs and writes what tfparity must support, per family and flavour: layer
classes (nested models expanded), activation names, TFOpLambda/SlicingOpLambda functions with their call-argument
patterns as tf_keras' `inbound_nodes` record them, Keras 3 operations (`keras.src.ops.*` classes), the config
keys that matter, and what tfparity lacks today (from the classes it converts, plus the convert error `run` saw).

**selfparity** asks how far TensorFlow disagrees with itself under the end-to-end rule `run` applies: each cached
model is recorded a second time by Scripts/record_keras.py with oneDNN's kernels (TF_ENABLE_ONEDNN_OPTS=1; the
recordings `build` makes use TensorFlow's Eigen kernels, TF_ENABLE_ONEDNN_OPTS=0), into
`<flavour>.recording-onednn.h5`, and the two recordings are compared tensor by tensor at --atol/--rtol (default
1e-3): two correct float32 implementations that differ only in summation order. A Keras 3 model is also recorded
with every layer's dtype policy float64 (`keras3.recording-float64.h5`), and TensorFlow's float32 recording is
compared with that: how far float32 itself is from the exact result. It prints, per model, how many
recorded tensors fail that rule and the worst one, beside tfparity's own end-to-end result at the same tolerance
from `run`'s results (CACHE/results.json), and writes CACHE/selfparity.json.

The old form `integration_keras_apps.py ResNet50 --out DIR` (Keras 3 legacy .h5, 224x224, used by Scripts/bench.sh)
still works.
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

# family -> input size
FAMILIES = {
    "DenseNet121": 64, "EfficientNetB0": 64, "EfficientNetV2B0": 64, "ConvNeXtTiny": 64, "InceptionV3": 96,
    "InceptionResNetV2": 96, "MobileNet": 64, "MobileNetV2": 64, "MobileNetV3Small": 64, "NASNetMobile": 64,
    "RegNetX002": 64, "RegNetY002": 64, "ResNet50": 64, "ResNet50V2": 64, "VGG16": 64, "Xception": 96,
    "TransferResNet50": 64,
}
FLAVOURS = {"keras3": "keras3.keras", "keras2": "keras2.h5"}

# What tfparity converts today (Sources/TFParityKit/KerasModel.swift, ParityModel Activation.names).
SUPPORTED_CLASSES = {
    "InputLayer", "Dense", "Conv2D", "Convolution2D", "DepthwiseConv2D", "SeparableConv2D", "SeparableConvolution2D",
    "BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ZeroPadding2D", "MaxPooling2D",
    "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D", "GlobalAvgPool2D",
    "GlobalMaxPooling2D", "GlobalMaxPool2D", "Flatten", "Reshape", "Add", "Multiply", "Concatenate", "Rescaling",
}
SUPPORTED_ACTIVATIONS = {"linear", "relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softmax", "leaky_relu",
                         "hard_sigmoid", "swish", "silu", "gelu", "softplus", "softsign", "exponential"}
MODEL_CLASSES = {"Functional", "Sequential", "Model"}
# config keys worth knowing per class (values listed, at most MAX_VALUES distinct)
KEYS = ["groups", "data_format", "padding", "strides", "dilation_rate", "kernel_size", "use_bias",
        "depth_multiplier", "axis", "epsilon", "center", "scale", "rms_scaling", "interpolation", "cropping", "size",
        "activation", "invert", "mean", "variance", "keepdims", "max_value", "negative_slope", "threshold",
        "target_shape", "dims", "offset", "drop_path_rate", "init_values", "projection_dim", "output_padding",
        "rate", "noise_shape", "alpha", "dtype"]
MAX_VALUES = 12


def log(msg):
    print(msg, flush=True)


def selected(args):
    names = args.models or os.environ.get("TFPARITY_APPS") or ",".join(FAMILIES)
    out = []
    for n in [m.strip() for m in names.split(",") if m.strip()]:
        match = [f for f in FAMILIES if f.lower() == n.lower()]
        if not match:
            sys.exit(f"error: unknown family '{n}'; the families are {', '.join(FAMILIES)}")
        out.append(match[0])
    return out


def flavours(args):
    fl = [f.strip() for f in (args.flavours or "keras3,keras2").split(",") if f.strip()]
    for f in fl:
        if f not in FLAVOURS:
            sys.exit(f"error: unknown flavour '{f}' (keras3, keras2)")
    return fl


# ---------------------------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------------------------
def is_bn(layer):
    return type(layer).__name__ == "BatchNormalization"


def is_model(layer):
    return hasattr(layer, "layers") and type(layer).__name__ != "InputLayer"


def make(km, family, size):
    shape = (size, size, 3)
    if family == "TransferResNet50":
        base = km.applications.ResNet50(include_top=False, weights=None, input_shape=shape)
        inp = km.Input(shape, name="image")
        x = base(inp)
        x = km.layers.GlobalAveragePooling2D(name="gap")(x)
        out = km.layers.Dense(5, name="logits")(x)
        return km.Model(inp, out, name="transfer_resnet50")
    kwargs = {"weights": None, "input_shape": shape}
    return getattr(km.applications, family)(**kwargs)


def calibrate(km, model, calib, rs):
    """Seeded BN statistics measured layer after layer (see the module docstring); nested models first, fed the
    same calibration batch (the transfer pattern: the nested model takes the outer model's input)."""
    n = 0
    for layer in model.layers:
        if is_model(layer):
            n += calibrate(km, layer, calib, rs)
            continue
        if type(layer).__name__ == "Normalization" and layer.weights:
            names = [w.name.split("/")[-1].split(":")[0] for w in layer.weights]
            c = tuple(layer.weights[0].shape)
            vals = {"mean": np.resize(np.array([0.485, 0.456, 0.406], np.float32), c),
                    "variance": np.resize(np.array([0.229, 0.224, 0.225], np.float32) ** 2, c),
                    "count": np.array(1000, np.int64)}
            layer.set_weights([vals[k].astype(layer.weights[i].dtype) for i, k in enumerate(names)])
            continue
        if not is_bn(layer):
            continue
        probe = km.Model(model.inputs, layer.input)
        h = np.asarray(probe(calib, training=False), dtype=np.float64)
        h = h.reshape(-1, h.shape[-1])
        mean, var = h.mean(0), h.var(0)
        c = mean.shape[0]
        eps = layer.epsilon
        gamma = rs.uniform(0.5, 1.5, c)
        beta = rs.uniform(-0.5, 0.5, c)
        moving_mean = mean + rs.normal(0, 0.2, c) * np.sqrt(var)
        moving_var = var * rs.uniform(0.5, 2.0, c)
        k = int(rs.randint(c))
        names = [w.name.split("/")[-1].split(":")[0] for w in layer.weights]
        if "gamma" in names:
            # without gamma (scale=False, as in the Inception families) nothing could keep that channel's output
            # at its size: it would leave the layer var/(1.3 eps) times too large and swamp every layer after it
            moving_var[k] = 0.3 * eps
            gamma[k] *= np.sqrt(moving_var[k] + eps) / np.sqrt(var[k] + eps)
        values = {"gamma": gamma, "beta": beta, "moving_mean": moving_mean, "moving_variance": moving_var}
        layer.set_weights([values[nm].astype(np.float32) for nm in names])
        n += 1
    return n


def named_layers(model, prefix=""):
    out = {}
    for layer in model.layers:
        if is_model(layer):
            out.update(named_layers(layer, prefix + layer.name + "/"))
        elif layer.weights:
            out[prefix + layer.name] = layer
    return out


def copy_weights(src, dst):
    """Keras 3 -> tf_keras, by layer name and shapes. Returns the names that did not match."""
    a, b = named_layers(src), named_layers(dst)
    missing = []
    for name, layer in b.items():
        other = a.get(name)
        if other is None or [tuple(w.shape) for w in other.weights] != [tuple(w.shape) for w in layer.weights]:
            missing.append(name)
            continue
        layer.set_weights(other.get_weights())
    return missing


def call_sources(layer):
    """The layers whose outputs a layer's first call reads, in call order (Keras 3 and tf_keras)."""
    node = layer._inbound_nodes[0]
    tensors = node.keras_inputs if hasattr(node, "keras_inputs") else node.input_tensors  # tf_keras, Keras 3
    return [t._keras_history[0] for t in tensors]


def damp_residual_branches(model, factor):
    """Scales the end of every residual branch by `factor`, nested models included: gamma and beta of each
    BatchNormalization whose output (through Dropout or StochasticDepth) feeds an `Add` or a tf_keras
    `tf.__operators__.add` (RegNet), and kernel and bias of the Conv2D whose output InceptionResNetV2's
    `CustomScaleLayer` adds to its input. Each residual block then adds a small branch to its input, as trained
    networks do, instead of amplifying float32 rounding block after block (see `selfparity`). Returns how many."""
    n = 0
    for layer in model.layers:
        if is_model(layer):
            n += damp_residual_branches(layer, factor)
            continue
        kind = type(layer).__name__
        if kind == "Add" or (kind == "TFOpLambda" and layer.get_config().get("function") == "__operators__.add"):
            sources, scaled = call_sources(layer), ("gamma", "beta")
        elif kind == "CustomScaleLayer":
            sources, scaled = call_sources(layer)[1:], ("kernel", "bias")
        else:
            continue
        for source in sources:
            while type(source).__name__ in ("Dropout", "StochasticDepth"):
                source = call_sources(source)[0]
            if scaled[0] == "gamma" and not is_bn(source):
                continue
            names = [w.name.split("/")[-1].split(":")[0] for w in source.weights]
            weights = source.get_weights()
            for name in scaled:
                if name in names:
                    weights[names.index(name)] *= factor
            source.set_weights(weights)
            n += 1
    return n


def build_family(family, fls, cache, rebuild, seed=0, damp=0.1, calibration=16):
    import keras
    import tf_keras
    import record_keras

    d = os.path.join(cache, family)
    os.makedirs(d, exist_ok=True)
    size = FAMILIES[family]
    x_path = os.path.join(d, "input.npy")
    marker = os.path.join(d, "build.json")
    built = json.load(open(marker)) if os.path.exists(marker) else {"damp_residual": 1.0}
    built.setdefault("calibration_batch", 2)  # caches from before --calibration-batch
    if (built.get("damp_residual"), built.get("calibration_batch")) != (damp, calibration):
        if any(os.path.exists(os.path.join(d, f"{f}.recording.h5")) for f in FLAVOURS):
            log(f"[{family}] cached with --damp-residual {built.get('damp_residual')} --calibration-batch "
                f"{built.get('calibration_batch')}, asked for {damp:g} {calibration}: rebuilt")
        rebuild = True
        fls = list(FLAVOURS)  # both flavours share the weights, so both are rebuilt
    want = [f for f in fls if rebuild or not os.path.exists(os.path.join(d, f"{f}.recording.h5"))]
    if not want:
        log(f"[{family}] cached in {d}")
        return
    rs = np.random.RandomState(seed + 1)
    calib = rs.normal(0, 1, (calibration, size, size, 3)).astype(np.float32)
    x = np.random.RandomState(seed + 2).normal(0, 1, (2, size, size, 3)).astype(np.float32)
    np.save(x_path, x)
    t0 = time.time()
    in_k3 = family == "TransferResNet50" or hasattr(keras.applications, family)
    m3 = None
    if in_k3:
        keras.utils.set_random_seed(seed)
        m3 = make(keras, family, size)
        n_bn = calibrate(keras, m3, calib, rs)
        if damp != 1:
            log(f"[{family}] Keras 3: {damp_residual_branches(m3, damp)} residual branches damped by {damp:g}")
        y = np.asarray(m3(x, training=False))
        log(f"[{family}] Keras 3: {len(m3.layers)} layers, {n_bn} BN calibrated, {m3.count_params():,} parameters, "
            f"{time.time() - t0:.1f}s; output {y.shape} range [{y.min():.3g}, {y.max():.3g}]"
            + ("" if np.isfinite(y).all() else " NOT FINITE"))
    for f in want:
        t0 = time.time()
        path = os.path.join(d, FLAVOURS[f])
        if f == "keras3":
            if m3 is None:
                log(f"[{family}] keras3: keras {keras.__version__} has no keras.applications.{family}; skipped")
                with open(os.path.join(d, "keras3.unavailable"), "w") as fh:
                    fh.write(f"keras {keras.__version__} has no keras.applications.{family}\n")
                continue
            model, km = m3, keras
        else:
            tf_keras.utils.set_random_seed(seed)
            model, km = make(tf_keras, family, size), tf_keras
            missing = copy_weights(m3, model) if m3 is not None else ["(no Keras 3 model)"]
            if missing:
                log(f"[{family}] tf_keras: {len(missing)} weighted layers not matched in Keras 3's model "
                    f"({missing[:3]}...); BN statistics calibrated by tf_keras")
                n_bn = calibrate(tf_keras, model, calib, np.random.RandomState(seed + 3))
                if damp != 1:
                    damp_residual_branches(model, damp)
                y = np.asarray(model(x, training=False))
                log(f"[{family}] tf_keras: {len(model.layers)} layers, {n_bn} BN calibrated; output range "
                    f"[{y.min():.3g}, {y.max():.3g}]" + ("" if np.isfinite(y).all() else " NOT FINITE"))
        if os.path.exists(path):
            os.remove(path)
        model.save(path)
        reloaded, km2, kind = record_keras.load(path)
        n_bn = sum(1 for layer in record_keras.leaf_layers(reloaded) if is_bn(layer))
        # a family without BatchNormalization (ConvNeXt) has no local checks; record every layer's output instead
        rec = record_keras.record(reloaded, km2, x, all_layers=n_bn == 0)
        record_keras.write_recording(os.path.join(d, f"{f}.recording.h5"), rec)
        n = sum(k.endswith("/post_bn") for k in rec)
        log(f"[{family}] {f}: saved {path} ({os.path.getsize(path) / 1e6:.1f} MB, {kind}), recorded {len(rec)} "
            f"tensors ({n} BN) in {time.time() - t0:.1f}s")
    with open(marker, "w") as fh:
        json.dump({"damp_residual": damp, "calibration_batch": calibration}, fh)


def cmd_build(args):
    fls = flavours(args)
    failed = []
    for family in selected(args):
        try:
            build_family(family, fls, args.cache, args.rebuild, damp=args.damp_residual,
                         calibration=args.calibration_batch)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - one family's failure is a line, not the end
            log(f"[{family}] BUILD FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            failed.append(family)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# running tfparity
# ---------------------------------------------------------------------------------------------
def sh(argv, timeout=3600, env=None):
    t0 = time.time()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=None if env is None else {**os.environ, **env})
        return p.returncode, p.stdout, p.stderr, time.time() - t0
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout}s", time.time() - t0


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def verify_summary(rc, out):
    try:
        j = json.loads(out)
        layers = j.get("layers", [])
        bad = [x for x in layers if not x.get("passed")]
        first = bad[0] if bad else None
        s = f"{len(layers) - len(bad)}/{len(layers)}"
        if first:
            d = first.get("diagnosis") or {}
            s += f" (first: {first.get('name')} {first.get('stage')} max {first.get('max_abs_error', 0):.3g}" + \
                 (f", {d.get('id')}" if d else "") + ")"
        return ("PASS " if rc == 0 else "FAIL ") + s
    except (ValueError, TypeError):
        return f"exit {rc}"


def onnx_python(args):
    """The Python that runs Scripts/check_onnx.py: --onnx-python, TFPARITY_ONNX_PYTHON, else this one."""
    return args.onnx_python or os.environ.get("TFPARITY_ONNX_PYTHON") or sys.executable


def onnx_hook(binary, model, rec_path, d, flavour, python, atol, rtol):
    """`tfparity export MODEL --onnx OUT --recording REC` (the recording's input fixes the shapes, so SAME windows
    get explicit pads and the recording is named in the file's metadata), then Scripts/check_onnx.py with `python`
    (it needs onnx and onnxruntime, which the TensorFlow venv need not have): onnx.checker (full_check), then
    onnxruntime on the recording's input against its `output` at atol + rtol * |e|. check_onnx.py reads HDF5 only
    with h5py, so the recording's inputs and `output` are handed to it as an NPZ written here (this Python has
    h5py). Returns (passed, the table's cell, details)."""
    rc, out, err, _ = sh([binary, "export", "--help"])
    if "--onnx" not in out + err:
        return False, "no --onnx", "tfparity export has no --onnx yet"
    import h5py

    path = os.path.join(d, f"{flavour}.onnx")
    rc, out, err, dt = sh([binary, "export", model, "--onnx", path, "--recording", rec_path])
    if rc != 0:
        return False, f"export exit {rc}", last_line(err)
    expect = os.path.join(d, f"{flavour}.onnx-expect.npz")
    with h5py.File(rec_path, "r") as f:
        keys = [k for k in f.keys() if k == "input" or k == "output"]
        arrays = {k: f[k][()] for k in keys}
        if "input" in f and not hasattr(f["input"], "shape"):  # input/<name> for each of several inputs
            arrays.update({f"input/{k}": v[()] for k, v in f["input"].items()})
    np.savez(expect, **arrays)
    rc, out, err, _ = sh([python, os.path.join(HERE, "check_onnx.py"), path, "--expect", expect,
                          "--atol", str(atol), "--rtol", str(rtol)])
    line = next((ln for ln in out.splitlines() if "max abs error" in ln), "")
    if not line:
        return False, f"check exit {rc}", last_line(err) or last_line(out)
    abs_err = line.split("max abs error ", 1)[1].split(",", 1)[0]
    rel_err = line.split("max rel error ", 1)[1].split(" ", 1)[0]
    verdict = "PASS" if rc == 0 else "FAIL"
    return rc == 0, f"{verdict} max {abs_err} (rel {rel_err})", f"export {dt:.1f}s; {line.strip()}"


def cmd_run(args):
    binary = args.bin
    rows = []
    results_path = args.results or os.path.join(args.cache, "results.json")
    try:
        with open(results_path) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    for family in selected(args):
        d = os.path.join(args.cache, family)
        for f in flavours(args):
            src = os.path.join(d, FLAVOURS[f])
            rec = os.path.join(d, f"{f}.recording.h5")
            row = {"family": family, "flavour": f, "convert": "-", "local": "-", "end_to_end": "-", "note": ""}
            if not (os.path.exists(src) and os.path.exists(rec)):
                unavailable = os.path.join(d, f"{f}.unavailable")
                if os.path.exists(unavailable):
                    row["convert"] = "n/a"
                    row["note"] = open(unavailable).read().strip()
                    row["passed"] = True  # nothing to convert
                else:
                    row["convert"] = "not built"
                    row["note"] = "run the build command first"
                rows.append(row)
                continue
            model = os.path.join(d, f"{f}.safetensors")
            if os.path.exists(model):
                os.remove(model)
            rc, out, err, dt = sh([binary, "convert", src, "-o", model])
            if rc != 0:
                row["convert"] = f"FAIL ({rc})"
                msg = last_line(err)
                row["note"] = msg.split(": ", 2)[-1] if msg.startswith("error:") else msg
                row["convert_error"] = msg
                rows.append(row)
                continue
            row["convert"] = f"ok {dt:.1f}s"
            rc1, out1, err1, dt1 = sh([binary, "verify", model, rec, "--format", "json"])
            row["local"] = verify_summary(rc1, out1) if rc1 in (0, 1) else f"ERROR ({rc1}) {last_line(err1)}"
            rc2, out2, err2, dt2 = sh([binary, "verify", model, rec, "--end-to-end", "--atol", args.atol,
                                       "--rtol", args.rtol, "--format", "json"])
            row["end_to_end"] = verify_summary(rc2, out2) if rc2 in (0, 1) else f"ERROR ({rc2}) {last_line(err2)}"
            # The default verdict end to end: the rounding bound propagated through every layer (issue 17).
            rc3, out3, err3, dt3 = sh([binary, "verify", model, rec, "--end-to-end", "--format", "json"])
            row["end_to_end_auto"] = verify_summary(rc3, out3) if rc3 in (0, 1) else f"ERROR ({rc3}) {last_line(err3)}"
            row["passed"] = rc1 == 0 and rc2 == 0 and rc3 == 0
            if args.onnx:
                passed, row["onnx"], row["onnx_detail"] = onnx_hook(
                    binary, model, rec, d, f, onnx_python(args), args.atol, args.rtol)
                row["passed"] = row["passed"] and passed
                if not passed:
                    row["note"] = f"onnx: {row['onnx_detail']}"
            rows.append(row)
            log(f"  {family} {f}: convert {row['convert']}, local {row['local']}, end-to-end {row['end_to_end']}"
                + (f", onnx {row['onnx']} ({row['onnx_detail']})" if "onnx" in row else ""))
    for row in rows:
        results[f"{row['family']}/{row['flavour']}"] = row
    os.makedirs(os.path.dirname(os.path.abspath(results_path)), exist_ok=True)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1)
    print_table(rows, onnx=args.onnx)
    return 0 if rows and all(r.get("passed") for r in rows) else 1


def print_table(rows, onnx=False):
    cols = [("family", "family"), ("flavour", "flavour"), ("convert", "convert"), ("local", "local"),
            ("end_to_end", "end-to-end 1e-3"), ("end_to_end_auto", "end-to-end auto")] + (
                [("onnx", "onnxruntime vs TF")] if onnx else []) + [("note", "note")]
    w = {k: max(len(h), *(len(str(r.get(k, ""))[:90]) for r in rows)) for k, h in cols} if rows else {}
    print()
    print(" | ".join(h.ljust(w[k]) for k, h in cols))
    print("-|-".join("-" * w[k] for k, _ in cols))
    for r in rows:
        print(" | ".join(str(r.get(k, ""))[:90].ljust(w[k]) for k, _ in cols))
    n = sum(1 for r in rows if r.get("passed"))
    print(f"\n{n} of {len(rows)} passed (convert, local checks at the default tolerance, end to end at 1e-3 and at "
          "the default tolerance" + (", ONNX export in onnxruntime at the end-to-end tolerance)" if onnx else ")"))


# ---------------------------------------------------------------------------------------------
# survey
# ---------------------------------------------------------------------------------------------
def read_config(path):
    import zipfile

    import h5py

    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("config.json"))
    with h5py.File(path, "r") as f:
        v = f.attrs["model_config"]
        return json.loads(v.decode() if isinstance(v, bytes) else v)


def activation_name(a):
    if isinstance(a, str):
        return a
    if isinstance(a, dict):  # Keras 3 serialized function: {"module", "class_name": "function", "config": name}
        c = a.get("config")
        return c if isinstance(c, str) else (a.get("registered_name") or a.get("class_name"))
    return None if a is None else str(a)


def is_tensor_ref(v):
    if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
        return True
    return isinstance(v, list) and len(v) in (3, 4) and isinstance(v[0], str) and isinstance(v[1], int) \
        and isinstance(v[2], int)


def describe(v):
    """An argument's pattern: <tensor>, a constant's value (ints, bools, short lists) or type."""
    if is_tensor_ref(v):
        return "<tensor>"
    if isinstance(v, dict):
        if v.get("class_name") == "__tuple__" or v.get("class_name") == "__list__":
            return [describe(x) for x in v.get("config", {}).get("value", [])]
        return {k: describe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [describe(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, int) or isinstance(v, str):
        return v
    if isinstance(v, float):
        return "<float>"
    return type(v).__name__


def call_patterns(entry):
    """TFOpLambda call patterns from tf_keras inbound_nodes: [[[layer, node, tensor, kwargs], ...]] -> one pattern
    per call: the positional tensors and the keyword arguments (tensor refs shown as <tensor>)."""
    out = []
    for node in entry.get("inbound_nodes", []):
        if isinstance(node, dict):  # Keras 3 form
            out.append(json.dumps({"args": describe(node.get("args")), "kwargs": describe(node.get("kwargs"))},
                                  sort_keys=True))
            continue
        pos = []
        kwargs = {}
        if node and isinstance(node[0], str):  # TFOpLambda: the node is one reference [layer, node, tensor, kwargs]
            node = [node]
        for i, ref in enumerate(node):
            pos.append("<tensor>")
            if len(ref) > 3 and isinstance(ref[3], dict) and i == 0:
                kwargs = {k: describe(v) for k, v in ref[3].items()}
        out.append(json.dumps({"inputs": pos, "kwargs": kwargs}, sort_keys=True))
    return out


def walk(cfg, prefix, acc):
    for entry in cfg["config"]["layers"]:
        cls = entry["class_name"]
        c = entry.get("config", {})
        name = prefix + c.get("name", entry.get("name", "?"))
        module = entry.get("module")
        acc["classes"][cls] = acc["classes"].get(cls, 0) + 1
        if module and module.startswith("keras.src.ops"):
            acc["ops"].setdefault(cls, {"module": module, "patterns": set()})["patterns"].update(call_patterns(entry))
        if cls in ("TFOpLambda", "SlicingOpLambda"):
            fn = c.get("function")
            acc["tfop"].setdefault(fn, {"class": cls, "count": 0, "patterns": set(), "example": None})
            t = acc["tfop"][fn]
            t["count"] += 1
            t["patterns"].update(call_patterns(entry))
            if t["example"] is None:
                t["example"] = entry.get("inbound_nodes")
        a = activation_name(c.get("activation"))
        if a is not None:
            acc["activations"].add(a)
        if entry.get("registered_name") and entry["registered_name"] != cls and \
                not str(entry.get("module", "")).startswith("keras.layers"):
            acc["registered"].setdefault(cls, entry["registered_name"])
        if cls in ("Custom>CustomScaleLayer", "CustomScaleLayer", "LayerScale", "StochasticDepth"):
            acc["registered"].setdefault(cls, entry.get("registered_name") or cls)
        keys = acc["keys"].setdefault(cls, {})
        for k in KEYS:
            if k in c:
                v = c[k]
                if k == "dtype" and isinstance(v, dict):
                    v = (v.get("config") or {}).get("name", v)
                if k == "activation":
                    v = activation_name(v)
                s = json.dumps(v, sort_keys=True)
                vals = keys.setdefault(k, [])
                if s not in vals and len(vals) < MAX_VALUES:
                    vals.append(s)
        if cls == "Conv2D" and (c.get("groups") or 1) > 1:
            acc["grouped_conv"] += 1
        if cls in MODEL_CLASSES:
            acc["nested"].append(name)
            walk(entry, name + "/", acc)


def survey_file(path):
    cfg = read_config(path)
    acc = {"classes": {}, "ops": {}, "tfop": {}, "activations": set(), "keys": {}, "registered": {},
           "grouped_conv": 0, "nested": []}
    walk(cfg, "", acc)
    missing_classes = sorted(c for c in acc["classes"] if c not in SUPPORTED_CLASSES | MODEL_CLASSES
                             and c not in ("TFOpLambda", "SlicingOpLambda") and c not in acc["ops"])
    missing = {
        "layer_classes": missing_classes,
        "activations": sorted(a for a in acc["activations"] if a not in SUPPORTED_ACTIVATIONS),
        "tfoplambda_functions": sorted(acc["tfop"]),
        "keras3_ops": sorted(acc["ops"]),
        "grouped_conv2d_layers": acc["grouped_conv"],
        "nested_models": acc["nested"],
    }
    return {
        "model_name": cfg["config"].get("name"),
        "layer_classes": dict(sorted(acc["classes"].items())),
        "activations": sorted(acc["activations"]),
        "tfoplambda": {fn: {"class": t["class"], "count": t["count"], "call_patterns": sorted(t["patterns"]),
                            "inbound_nodes_example": t["example"]} for fn, t in sorted(acc["tfop"].items())},
        "keras3_ops": {k: {"module": v["module"], "call_patterns": sorted(v["patterns"])}
                       for k, v in sorted(acc["ops"].items())},
        "registered_names": acc["registered"],
        "config_keys": {cls: {k: [json.loads(s) for s in vals] for k, vals in sorted(ks.items())}
                        for cls, ks in sorted(acc["keys"].items()) if ks},
        "missing_in_tfparity": missing,
    }


def cmd_survey(args):
    results_path = args.results or os.path.join(args.cache, "results.json")
    try:
        with open(results_path) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    import keras
    import tf_keras

    try:
        with open(args.output) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        doc = {}
    doc.update({"generator": "Scripts/integration_keras_apps.py survey",
                "versions": {"keras": keras.__version__, "tf_keras": tf_keras.__version__},
                "note": "per keras.applications family and flavour (keras3: .keras config.json; keras2: tf_keras .h5 "
                        "model_config), built with weights=None at the input size given; missing_in_tfparity is "
                        "against the layer classes and activations tfparity converts today; tfparity_today is the "
                        "convert result `run` saw"})
    fams = doc.setdefault("families", {})
    for family in selected(args):
        for f in flavours(args):
            path = os.path.join(args.cache, family, FLAVOURS[f])
            if not os.path.exists(path):
                log(f"[{family}] {f}: not built; skipped")
                continue
            s = survey_file(path)
            s["input_size"] = FAMILIES[family]
            r = results.get(f"{family}/{f}")
            if r:
                s["tfparity_today"] = {k: r.get(k) for k in ("convert", "local", "end_to_end", "convert_error")
                                       if r.get(k) is not None}
            fams.setdefault(family, {})[f] = s
            m = s["missing_in_tfparity"]
            log(f"[{family}] {f}: {sum(s['layer_classes'].values())} layers; missing classes {m['layer_classes']}, "
                f"activations {m['activations']}, TFOpLambda {m['tfoplambda_functions']}, ops {m['keras3_ops']}, "
                f"grouped conv {m['grouped_conv2d_layers']}, nested {m['nested_models']}")
    doc["families"] = dict(sorted(fams.items()))
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    log(f"wrote {args.output} ({os.path.getsize(args.output)} bytes)")
    return 0


# ---------------------------------------------------------------------------------------------
# TensorFlow against itself
# ---------------------------------------------------------------------------------------------
def read_recording(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, np.asarray(obj, dtype=np.float32))
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def compare_recordings(a, b, atol, rtol):
    """Every tensor of recording `b` (the reference) against `a` under |a - b| <= atol + rtol * |b|: the tensors that
    fail, each with its failing element count and max abs error, and the largest error overall."""
    failing, worst = [], (0.0, None)
    for key in sorted(b):
        if key == "input" or key.startswith("input/") or key not in a or a[key].shape != b[key].shape:
            continue
        x, e = a[key].astype(np.float64), b[key].astype(np.float64)
        err = np.abs(x - e)
        bad = int(np.count_nonzero(~(err <= atol + rtol * np.abs(e))))
        m = float(err.max()) if err.size else 0.0
        if m > worst[0]:
            worst = (m, key)
        if bad:
            failing.append({"tensor": key, "mismatches": bad, "count": int(e.size), "max_abs_error": m})
    return failing, worst


def float64_recording(src, x_path, out):
    """Records the Keras 3 model `src` with every layer's dtype policy float64 (the .keras archive's config rewritten,
    its float32 weights widened on load) on the same batch, into `out`: the exact result the float32 recordings
    approximate."""
    import tempfile
    import zipfile

    import keras
    import record_keras

    with tempfile.TemporaryDirectory() as d:
        with zipfile.ZipFile(src) as z:
            names = z.namelist()
            z.extractall(d)
        path = os.path.join(d, "config.json")
        with open(path) as f:
            config = f.read().replace('"name": "float32"', '"name": "float64"')
        with open(path, "w") as f:
            f.write(config)
        wide = os.path.join(d, "float64.keras")
        with zipfile.ZipFile(wide, "w") as z:
            for n in names:
                z.write(os.path.join(d, n), n)
        model = keras.saving.load_model(wide, compile=False)
        rec = record_keras.record(model, keras, np.load(x_path).astype(np.float64), all_layers=False)
    import h5py

    with h5py.File(out, "w") as f:
        for k, v in rec.items():
            f.create_dataset(k, data=np.asarray(v, dtype=np.float64))


def cmd_selfparity(args):
    atol, rtol = float(args.atol), float(args.rtol)
    results_path = os.path.join(args.cache, "results.json")
    try:
        with open(results_path) as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    rows, doc = [], {"rule": f"|a - e| <= {atol:g} + {rtol:g}*|e|",
                     "what": "TensorFlow with oneDNN kernels against TensorFlow with Eigen kernels (the recording)",
                     "models": {}}
    for family in selected(args):
        d = os.path.join(args.cache, family)
        for f in flavours(args):
            src, rec = os.path.join(d, FLAVOURS[f]), os.path.join(d, f"{f}.recording.h5")
            if not (os.path.exists(src) and os.path.exists(rec)):
                continue
            other = os.path.join(d, f"{f}.recording-onednn.h5")
            if not os.path.exists(other) or os.path.getmtime(other) < os.path.getmtime(rec):
                rc, _, err, _ = sh([sys.executable, os.path.join(HERE, "record_keras.py"), src,
                                    os.path.join(d, "input.npy"), "-o", other, "--quiet"],
                                   env={"TF_ENABLE_ONEDNN_OPTS": "1"})
                if rc != 0:
                    log(f"[{family}] {f}: recording with oneDNN failed: {last_line(err)}")
                    continue
            recorded = read_recording(rec)
            failing, (worst, worst_key) = compare_recordings(read_recording(other), recorded, atol, rtol)
            n = len([k for k in recorded if k != "input" and not k.startswith("input/")])
            tfp = results.get(f"{family}/{f}", {}).get("end_to_end", "-")
            row = {"family": family, "flavour": f, "tensors": n, "tf_failing": len(failing),
                   "worst": f"{worst_key} {worst:.3g}" if worst_key else "-", "float64_failing": "-",
                   "float64_worst": "-", "tfparity_end_to_end": tfp}
            exact_failing = []
            if f == "keras3":
                # TensorFlow's float32 result (the recording) against the float64 one: the rounding of float32 itself.
                exact = os.path.join(d, "keras3.recording-float64.h5")
                if not os.path.exists(exact) or os.path.getmtime(exact) < os.path.getmtime(rec):
                    try:
                        float64_recording(src, os.path.join(d, "input.npy"), exact)
                    except Exception as e:  # noqa: BLE001 - a model that will not widen is a row, not the end
                        log(f"[{family}] {f}: float64 recording failed: {type(e).__name__}: {e}")
                if os.path.exists(exact):
                    exact_failing, (w64, k64) = compare_recordings(recorded, read_recording(exact), atol, rtol)
                    row["float64_failing"] = len(exact_failing)
                    row["float64_worst"] = f"{k64} {w64:.3g}" if k64 else "-"
            rows.append(row)
            doc["models"][f"{family}/{f}"] = {**row, "failing": failing, "float64_failing_tensors": exact_failing}
            log(f"  {family} {f}: TF vs TF fails {len(failing)}/{n} tensors at the fixed rule; tfparity {tfp}")
    with open(os.path.join(args.cache, "selfparity.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    cols = ["family", "flavour", "tensors", "tf_failing", "worst", "float64_failing", "float64_worst",
            "tfparity_end_to_end"]
    print("| " + " | ".join(["family", "flavour", "recorded tensors",
                             f"TF oneDNN vs TF Eigen: tensors failing {atol:g}/{rtol:g}", "largest difference",
                             "TF float32 vs TF float64 (Keras 3): tensors failing", "largest difference",
                             "tfparity --end-to-end at the same rule (run)"]) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return 0


# ---------------------------------------------------------------------------------------------
# the old form (Scripts/bench.sh): Keras 3 legacy .h5 at 224x224
# ---------------------------------------------------------------------------------------------
def legacy(argv):
    ap = argparse.ArgumentParser(prog="integration_keras_apps.py MODEL")
    ap.add_argument("model", choices=["ResNet50", "MobileNetV2"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import absl.logging
    import keras

    absl.logging.set_verbosity(absl.logging.ERROR)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    keras.utils.set_random_seed(args.seed)
    model = getattr(keras.applications, args.model)(weights=None, input_shape=(224, 224, 3))
    t_build = time.time() - t0
    rs = np.random.RandomState(args.seed + 1)
    calib = rs.normal(0, 1, (2, 224, 224, 3)).astype(np.float32)
    x = np.random.RandomState(args.seed + 2).normal(0, 1, (2, 224, 224, 3)).astype(np.float32)
    t0 = time.time()
    n_bn = calibrate(keras, model, calib, rs)
    t_calib = time.time() - t0
    y = np.asarray(model(x, training=False))
    if not np.isfinite(y).all():
        sys.exit(f"error: {args.model}: the output is not finite")
    path = os.path.join(args.out, f"{args.model}.h5")
    if os.path.exists(path):
        os.remove(path)
    t0 = time.time()
    model.save(path)
    t_save = time.time() - t0
    np.save(os.path.join(args.out, f"{args.model}.input.npy"), x)
    print(f"{args.model}: {len(model.layers)} layers, {n_bn} BatchNormalization, "
          f"{model.count_params():,} parameters; built in {t_build:.1f}s, BN statistics set in {t_calib:.1f}s, "
          f"saved {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {t_save:.1f}s; "
          f"output {y.shape} range [{y.min():.3g}, {y.max():.3g}]")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in ("build", "run", "survey", "selfparity", "-h", "--help"):
        return legacy(argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("build", "run", "survey", "selfparity"):
        p = sub.add_parser(name)
        p.add_argument("--models", help="comma-separated families (default: TFPARITY_APPS, else all)")
        p.add_argument("--flavours", help="keras3,keras2 (default both)")
        p.add_argument("--cache", default=os.path.join(ROOT, ".build", "apps"))
        if name == "build":
            p.add_argument("--rebuild", action="store_true", help="rebuild cached models")
            p.add_argument("--damp-residual", type=float, metavar="FACTOR", default=0.1,
                           help="after calibration, scale the end of each residual branch by FACTOR (default 0.1; "
                                "1: as calibrated, the ill-conditioned models `selfparity` measures)")
            p.add_argument("--calibration-batch", type=int, metavar="N", default=16,
                           help="how many seeded N(0, 1) images BN statistics are measured on (default 16; the "
                                "recorded input is two others). With 2, as before, a 1x1 feature map's statistics "
                                "come from two values and the recorded input lands many deviations away from them")
        if name in ("run", "selfparity"):
            p.add_argument("--atol", default=os.environ.get("TFPARITY_E2E_ATOL", "1e-3"))
            p.add_argument("--rtol", default=os.environ.get("TFPARITY_E2E_RTOL", "1e-3"))
        if name == "run":
            p.add_argument("--bin", required=True, help="the tfparity binary")
            p.add_argument("--onnx", action="store_true",
                           help="also export --onnx --recording and check it in onnxruntime against the recording")
            p.add_argument("--onnx-python",
                           help="the Python with onnx and onnxruntime that runs check_onnx.py "
                                "(default: TFPARITY_ONNX_PYTHON, else this Python)")
        if name in ("run", "survey"):
            p.add_argument("--results", help="results JSON (default CACHE/results.json)")
        if name == "survey":
            p.add_argument("-o", "--output", default=os.path.join(HERE, "apps_survey.json"))
    args = ap.parse_args(argv)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    return {"build": cmd_build, "run": cmd_run, "survey": cmd_survey, "selfparity": cmd_selfparity}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
