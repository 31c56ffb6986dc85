#!/usr/bin/env python3
"""Record what TensorFlow computes for a Keras model, in the tfparity recording format.

Usage:

    python Scripts/record_keras.py MODEL INPUT.npy -o recording.h5 [--all-layers] [--config CONFIG.json]

MODEL is any of:

  * a Keras 3 native file, ``model.keras`` (zip: config.json + model.weights.h5);
  * a legacy HDF5 ``model.h5`` saved by Keras 3 (``model.save("m.h5")``) or by Keras 2
    (tf.keras / tf_keras). The file's ``keras_version`` attribute decides: 3.x is loaded with
    ``keras`` (Keras 3), anything else with ``tf_keras`` (Keras 2), falling back to Keras 3 when
    tf_keras is not installed;
  * a weights-only file (``m.weights.h5`` from Keras 3 ``save_weights``, or a Keras 2 weights ``.h5``)
    together with ``--config`` naming the architecture JSON (``model.to_json()``, or the
    ``config.json`` of a ``.keras`` archive).

INPUT.npy is the batch to feed (one array; cast to float32). The model runs once in inference mode
(``training=False``: BatchNormalization uses its moving averages, Dropout is the identity).

The recording (HDF5, or NPZ when the ``-o`` name ends in ``.npz``) holds float32 arrays:

  ``input``              the batch that was fed
  ``<bn>/pre_bn``        every BatchNormalization layer's input (``<bn>`` = the Keras layer name)
  ``<bn>/post_bn``       every BatchNormalization layer's output
  ``<layer>/output``     with ``--all-layers``: every other layer's output (not InputLayer, not BN,
                         whose output is ``<bn>/post_bn``)
  ``output``             the model's output (``output_0``, ``output_1``, ... for several outputs)

All tensors come from one forward pass of a probe model built from the layers' symbolic inputs and
outputs (``keras.Model(model.inputs, {...})``), so they are exactly what the model computes. A layer
used more than once (shared layer) has no single input/output and is skipped with a warning; layers
inside nested sub-models are not recorded (only the outer model's layers are).

Then check the converted model with:

    tfparity verify model.safetensors recording.h5 [--end-to-end]

Requires TensorFlow, Keras 3 and/or tf_keras, numpy and h5py. Exit status 0 on success, 2 when the
model or input cannot be read, 64 on a usage error.
"""
import argparse
import io
import json
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def fail(path, reason, code=2):
    print(f"error: {path}: {reason}", file=sys.stderr)
    sys.exit(code)


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# which Keras wrote the file
# ---------------------------------------------------------------------------------------------
def _attr_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return None if v is None else str(v)


def detect(model_path):
    """Returns (kind, keras_version) with kind one of 'keras3-keras', 'keras3-h5', 'keras2-h5',
    'keras3-weights', 'keras2-weights'."""
    import h5py

    if zipfile.is_zipfile(model_path):
        with zipfile.ZipFile(model_path) as zf:
            names = zf.namelist()
            if "config.json" not in names:
                fail(model_path, "a zip archive without config.json is not a .keras model")
            version = None
            if "metadata.json" in names:
                version = json.loads(zf.read("metadata.json")).get("keras_version")
        return "keras3-keras", version
    if not h5py.is_hdf5(model_path):
        fail(model_path, "neither a .keras archive nor an HDF5 file")
    with h5py.File(model_path, "r") as f:
        attrs = dict(f.attrs)
        version = _attr_str(attrs.get("keras_version"))
        if version is None and "model_weights" in f:
            version = _attr_str(f["model_weights"].attrs.get("keras_version"))
        has_config = "model_config" in attrs
        # Keras 3 .weights.h5 files: a "layers" (or "vars") group, attribute-less root
        k3_weights = not has_config and ("layers" in f or "_layer_checkpoint_dependencies" in f or "vars" in f)
    major = (version or "").split(".")[0]
    if has_config:
        return ("keras3-h5" if major == "3" else "keras2-h5"), version
    if k3_weights or major == "3":
        return "keras3-weights", version
    return "keras2-weights", version


def load(model_path, config_path=None):
    """Loads the model with the Keras that wrote it. Returns (model, keras module, kind)."""
    kind, version = detect(model_path)
    if kind.endswith("weights") and not config_path:
        fail(model_path, f"a weights-only file ({kind}); give the architecture with --config CONFIG.json")
    use_tf_keras = kind.startswith("keras2")
    km = None
    if use_tf_keras:
        try:
            import tf_keras as km
        except ImportError:
            warn(f"{model_path} was written by Keras {version or '2'}; tf_keras is not installed, "
                 "trying Keras 3's legacy loader")
            km = None
    if km is None:
        import keras as km
    try:
        if kind.endswith("weights"):
            with open(config_path, encoding="utf-8") as f:
                text = f.read()
            model = km.models.model_from_json(text)
            model.load_weights(model_path)
        else:
            model = km.models.load_model(model_path, compile=False)
    except Exception as e:  # noqa: BLE001 - report any loader failure as unreadable input
        fail(model_path, f"{km.__name__} {getattr(km, '__version__', '')} cannot load it ({kind}): "
             f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return model, km, kind


# ---------------------------------------------------------------------------------------------
# the probe
# ---------------------------------------------------------------------------------------------
def _single(layer, attr):
    """layer.input / layer.output, or None when the layer is shared (several call sites)."""
    try:
        return getattr(layer, attr)
    except (AttributeError, ValueError, RuntimeError):
        return None


def _is_bn(layer):
    name = type(layer).__name__
    return name in ("BatchNormalization", "BatchNormalizationV1", "BatchNormalizationV2",
                    "SyncBatchNormalization")


def _is_input(layer):
    return type(layer).__name__ == "InputLayer"


def call_counts(model):
    """How many times each layer is called inside this model (its inbound nodes in the model's config).
    Keras 3's layer.output silently returns the first call's tensor for a shared layer, so count here."""
    try:
        cfg = model.get_config()
    except Exception:  # noqa: BLE001 - subclassed models have no config; treat every layer as used once
        return {}
    counts = {}
    for entry in cfg.get("layers", []) if isinstance(cfg, dict) else []:
        if isinstance(entry, dict) and "inbound_nodes" in entry:
            name = entry.get("name") or entry.get("config", {}).get("name")
            counts[name] = len(entry["inbound_nodes"])
    return counts


def probe_outputs(model, all_layers):
    """Ordered dict: recording key -> symbolic tensor."""
    outs = {}
    calls = call_counts(model)
    taken = {"input", "output"}
    for layer in model.layers:
        if _is_input(layer):
            continue
        if hasattr(layer, "layers") and any(_is_bn(sub) for sub in getattr(layer, "layers", [])):
            warn(f"layer '{layer.name}' ({type(layer).__name__}) is a nested model; the BatchNormalization "
                 "layers inside it are not recorded")
        if not (_is_bn(layer) or all_layers):
            continue
        if layer.name in taken:
            warn(f"layer '{layer.name}' clashes with the recording key '{layer.name}'; not recorded")
            continue
        x, y = _single(layer, "input"), _single(layer, "output")
        if y is None or calls.get(layer.name, 1) > 1:
            warn(f"layer '{layer.name}' ({type(layer).__name__}) is used more than once; not recorded")
            continue
        if _is_bn(layer):
            if x is None or isinstance(x, (list, tuple)):
                warn(f"BatchNormalization layer '{layer.name}' has no single input; not recorded")
                continue
            outs[f"{layer.name}/pre_bn"] = x
            outs[f"{layer.name}/post_bn"] = y
        else:
            if isinstance(y, (list, tuple)):
                for i, t in enumerate(y):
                    outs[f"{layer.name}/output_{i}"] = t
            else:
                outs[f"{layer.name}/output"] = y
    model_outputs = list(model.outputs)
    if len(model_outputs) == 1:
        outs["output"] = model_outputs[0]
    else:
        for i, t in enumerate(model_outputs):
            outs[f"output_{i}"] = t
    return outs


def record(model, km, x, all_layers=False):
    """Runs the model once in inference mode. Returns an ordered dict of float32 arrays."""
    import numpy as np

    inputs = list(model.inputs or [])
    if len(inputs) != 1:
        raise ValueError(f"the model has {len(inputs)} inputs; record_keras.py feeds exactly one")
    outs = probe_outputs(model, all_layers)
    keys = list(outs)
    probe = km.Model(inputs=inputs[0], outputs=[outs[k] for k in keys], name="record_keras_probe")
    values = probe(x, training=False)
    if not isinstance(values, (list, tuple)):
        values = [values]
    rec = {"input": np.ascontiguousarray(x, dtype=np.float32)}
    for k, v in zip(keys, values):
        rec[k] = np.ascontiguousarray(np.asarray(v), dtype=np.float32)
    return rec


# ---------------------------------------------------------------------------------------------
# writers (deterministic bytes: no timestamps)
# ---------------------------------------------------------------------------------------------
def write_recording(path, rec):
    import numpy as np

    tmp = path + ".tmp"
    if path.endswith(".npz"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, arr in rec.items():
                zi = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                zi.external_attr = 0o644 << 16
                with zf.open(zi, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
        with open(tmp, "wb") as f:
            f.write(buf.getvalue())
    else:
        import h5py

        if os.path.exists(tmp):
            os.remove(tmp)
        with h5py.File(tmp, "w", libver="earliest") as f:
            for key, arr in rec.items():
                f.create_dataset(key, data=arr, track_times=False)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="record_keras.py",
        description="Run a Keras 2 (tf_keras) or Keras 3 model in inference mode on INPUT.npy and write a "
                    "tfparity recording: input, <bn>/pre_bn and <bn>/post_bn for every BatchNormalization "
                    "layer, optionally <layer>/output for every layer, and output (float32).",
        epilog="Examples:\n"
               "  record_keras.py model.keras batch.npy -o recording.h5\n"
               "  record_keras.py model.h5 batch.npy -o recording.npz --all-layers\n"
               "  record_keras.py model.weights.h5 batch.npy --config config.json -o recording.h5\n"
               "then: tfparity verify model.safetensors recording.h5 --end-to-end",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="model.keras, model.h5 (Keras 2 or 3), or a weights .h5 with --config")
    ap.add_argument("input", help="the input batch, a .npy array (cast to float32)")
    ap.add_argument("-o", "--output", required=True,
                    help="recording to write: HDF5 (.h5/.hdf5), or NPZ when the name ends in .npz")
    ap.add_argument("--all-layers", action="store_true",
                    help="also record every other layer's output as <layer>/output")
    ap.add_argument("--config", help="architecture JSON (model.to_json()) for a weights-only MODEL file")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        sys.exit(0 if e.code == 0 else 64)

    import numpy as np

    for p in [args.model, args.input] + ([args.config] if args.config else []):
        if not os.path.exists(p):
            fail(p, "no such file")
    try:
        x = np.load(args.input, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        fail(args.input, f"not a .npy array: {e}")
    if not isinstance(x, np.ndarray):
        fail(args.input, "expected one array (.npy), not an archive")
    x = x.astype(np.float32)

    model, km, kind = load(args.model, args.config)
    try:
        rec = record(model, km, x, all_layers=args.all_layers)
    except Exception as e:  # noqa: BLE001
        fail(args.model, f"running the model on {args.input} {tuple(x.shape)} failed: "
             f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    write_recording(args.output, rec)
    if not args.quiet:
        n_bn = sum(1 for k in rec if k.endswith("/post_bn"))
        print(f"wrote {args.output}: {len(rec)} tensors ({n_bn} BatchNormalization layers) from {args.model} "
              f"[{kind}, {km.__name__} {getattr(km, '__version__', '')}], input {tuple(x.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
