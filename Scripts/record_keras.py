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

INPUT.npy is the batch to feed (one array; cast to float32). A model with several inputs takes an
``.npz`` holding one array per input, named after its InputLayer (``a.npz`` with ``image`` and ``meta``).
The model runs once in inference mode (``training=False``: BatchNormalization uses its moving averages,
Dropout is the identity). Works for models saved by Keras 2 (tf_keras) and Keras 3 alike.

The recording (HDF5, or NPZ when the ``-o`` name ends in ``.npz``) holds float32 arrays:

  ``input``              the batch that was fed; ``input/<input layer>`` for each input of a model with several
  ``<bn>/pre_bn``        every BatchNormalization layer's input (``<bn>`` = the Keras layer name)
  ``<bn>/post_bn``       every BatchNormalization layer's output
  ``<layer>/output``     with ``--all-layers``: every other layer's output (not InputLayer, not BN,
                         whose output is ``<bn>/post_bn``); for a model with several outputs, each output
                         layer's tensor is recorded this way even without ``--all-layers``
  ``output``             the model's (first) output

A layer inside a nested model (a Functional or Sequential model used as a layer) is keyed
``<nested model>/<layer>`` (``base/conv1_bn/pre_bn``; ``outer/inner/bn/post_bn`` two levels down), as tfparity
names it in the converted model. Its values come from a probe of the nested model fed exactly the tensors the
outer model fed it in the same forward pass.

All tensors come from forward passes of probe models built from the layers' symbolic inputs and outputs
(``keras.Model(model.inputs, [...])``), so they are exactly what the model computes. A layer used more than
once (shared layer), or a nested model used more than once (and so every layer inside it), has no single
input/output and is skipped with a warning. (tfparity names the layers of a nested model's second call
``<nested model>_1/<layer>``, of its third ``<nested model>_2/<layer>``; the nested model's own name carries its
output, so ``<nested model>/output`` is compared too.)

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


def application_layers(km):
    """The custom layers keras.applications models use (ConvNeXt's LayerScale and StochasticDepth,
    InceptionResNetV2's CustomScaleLayer): tf_keras writes them into .h5 files without registering them, so
    loading such a file needs them by name."""
    out = {}
    base = "tf_keras.src.applications" if km.__name__ == "tf_keras" else "keras.src.applications"
    import importlib

    for module, names in (("convnext", ("LayerScale", "StochasticDepth")),
                          ("inception_resnet_v2", ("CustomScaleLayer",))):
        try:
            m = importlib.import_module(f"{base}.{module}")
        except ImportError:
            continue
        for n in names:
            if hasattr(m, n):
                out[n] = getattr(m, n)
                out[f"Custom>{n}"] = getattr(m, n)
    return out


def leaf_layers(model, seen=None):
    """The model's layers with nested models expanded (each layer once)."""
    seen = set() if seen is None else seen
    out = []
    for layer in model.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if _is_model(layer):
            out.extend(leaf_layers(layer, seen))
        else:
            out.append(layer)
    return out


def load(model_path, config_path=None, allow_lambda=False):
    """Loads the model with the Keras that wrote it. Returns (model, keras module, kind).

    `allow_lambda` loads Lambda layers (Python bytecode in the file: Keras 3's safe_mode=False); only for files
    you trust."""
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
        elif allow_lambda:
            model = km.models.load_model(model_path, compile=False, safe_mode=False,
                                         custom_objects=application_layers(km))
        else:
            model = km.models.load_model(model_path, compile=False, custom_objects=application_layers(km))
    except Exception as e:  # noqa: BLE001 - report any loader failure as unreadable input
        first = str(e).splitlines()[0] if str(e) else ""
        hint = ("; the model has a Lambda layer (Python code): pass --allow-lambda if you trust the file"
                if "Lambda" in str(e) and not allow_lambda else "")
        fail(model_path, f"{km.__name__} {getattr(km, '__version__', '')} cannot load it ({kind}): "
             f"{type(e).__name__}: {first}{hint}")
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


def _is_model(layer):
    """A Functional or Sequential model used as a layer."""
    return hasattr(layer, "layers") and hasattr(layer, "inputs") and not _is_input(layer)


def _as_list(t):
    if t is None:
        return []
    return list(t) if isinstance(t, (list, tuple)) else [t]


def _node_layer(node):
    """The layer a graph node calls (Keras 3: node.operation; Keras 2: node.layer)."""
    return getattr(node, "operation", None) or getattr(node, "layer", None)


def _graph(model):
    """The object holding a model's node graph: Keras 3 Sequential keeps it in `_functional`."""
    return getattr(model, "_functional", None) or model


def _tensor_layer(t):
    """The layer that produced a symbolic tensor (its `_keras_history`)."""
    h = getattr(t, "_keras_history", None)
    if h is None:
        return None
    return h[0] if isinstance(h, tuple) else getattr(h, "layer", None)


def input_names(model):
    """The InputLayer names of the model's inputs, in order."""
    names = []
    for i, t in enumerate(_as_list(model.inputs)):
        layer = _tensor_layer(t)
        names.append(layer.name if layer is not None else (getattr(t, "name", None) or f"input_{i}"))
    return names


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


def nested_call_inputs(model, layer):
    """The symbolic input tensors of the one call of `layer` (a nested model) inside `model`'s graph, or None
    when it is called more than once or the graph cannot be read. (A nested Functional's own `.input` is the
    input of its inner graph, not the tensor the outer model feeds it.)"""
    by_depth = getattr(_graph(model), "_nodes_by_depth", None)
    if not by_depth:
        return None
    calls = [n for nodes in by_depth.values() for n in nodes if _node_layer(n) is layer]
    if len(calls) != 1:
        return None
    return _as_list(calls[0].input_tensors)


def probe_outputs(model, all_layers, prefix="", nested=None):
    """Ordered dict: recording key -> symbolic tensor, for the layers of `model` itself.

    Keys are prefixed with `prefix` (``<nested model>/`` inside a nested model). When `nested` is a list, every
    nested model called exactly once is appended to it as (position in the dict, layer, its input tensors), so
    record() can record the layers inside it; the model outputs are added only at the top (prefix "")."""
    outs = {}
    calls = call_counts(model)
    taken = {"input", "output"}
    for layer in model.layers:
        if _is_input(layer):
            continue
        shared = calls.get(layer.name, 1) > 1
        if _is_model(layer):
            inner = nested_call_inputs(model, layer) if not shared else None
            if nested is not None and inner is not None:
                nested.append((len(outs), layer, inner))
            elif any(_is_bn(sub) or _is_model(sub) or all_layers for sub in layer.layers):
                warn(f"layer '{prefix}{layer.name}' ({type(layer).__name__}) is a nested model used more than "
                     "once; the layers inside it are not recorded")
        if not (_is_bn(layer) or all_layers):
            continue
        key = prefix + layer.name
        if key in taken:
            warn(f"layer '{key}' clashes with the recording key '{key}'; not recorded")
            continue
        x, y = _single(layer, "input"), _single(layer, "output")
        if y is None or shared:
            if not _is_model(layer):  # a nested model was warned about above
                warn(f"layer '{key}' ({type(layer).__name__}) is used more than once; not recorded")
            continue
        if _is_model(layer):
            y = _single(layer, "output")  # a nested model's output in the outer graph is its node's output
            node_outs = [n for nodes in getattr(_graph(model), "_nodes_by_depth", {}).values() for n in nodes
                         if _node_layer(n) is layer]
            if len(node_outs) == 1:
                y = _as_list(node_outs[0].output_tensors)
                y = y[0] if len(y) == 1 else y
        if _is_bn(layer):
            if x is None or isinstance(x, (list, tuple)):
                warn(f"BatchNormalization layer '{key}' has no single input; not recorded")
                continue
            outs[f"{key}/pre_bn"] = x
            outs[f"{key}/post_bn"] = y
        else:
            if isinstance(y, (list, tuple)):
                for i, t in enumerate(y):
                    outs[f"{key}/output_{i}"] = t
            else:
                outs[f"{key}/output"] = y
    if prefix:
        return outs
    model_outputs = _as_list(model.outputs)
    if model_outputs:
        outs["output"] = model_outputs[0]
    if len(model_outputs) > 1:
        # several outputs: `output` is the first; every output layer's tensor as <layer>/output
        for t in model_outputs:
            layer = _tensor_layer(t)
            if layer is None or calls.get(layer.name, 1) > 1:
                continue
            outs.setdefault(f"{layer.name}/output", t)
    return outs


def _run(km, inputs, tensors, x_values):
    """Runs a probe model from `inputs` to `tensors` on the arrays `x_values` (inference mode)."""
    import numpy as np

    if not tensors:
        return []
    probe = km.Model(inputs=inputs if len(inputs) > 1 else inputs[0], outputs=list(tensors),
                     name="record_keras_probe")
    values = probe(x_values if len(x_values) > 1 else x_values[0], training=False)
    values = _as_list(values)
    return [np.ascontiguousarray(np.asarray(v), dtype=np.float32) for v in values]


def _record_model(model, km, x_values, all_layers, prefix):
    """Ordered (key, array) pairs for `model` fed `x_values`, recursing into nested models called once."""
    nested = []
    outs = probe_outputs(model, all_layers, prefix=prefix, nested=nested)
    keys = list(outs)
    extra = []  # the nested models' input tensors, fetched in the same forward pass
    for _, _, tensors in nested:
        extra.extend(tensors)
    values = _run(km, _as_list(model.inputs), [outs[k] for k in keys] + extra, x_values)
    own, fed = values[:len(keys)], values[len(keys):]
    pairs = list(zip(keys, own))
    insert = []
    for pos, layer, tensors in nested:
        vals, fed = fed[:len(tensors)], fed[len(tensors):]
        insert.append((pos, _record_model(layer, km, vals, all_layers, prefix + layer.name + "/")))
    for pos, sub in reversed(insert):  # each nested model's layers just before the nested model's own keys
        pairs[pos:pos] = sub
    return pairs


def _feed(model, x):
    """The arrays to feed, in the order of model.inputs. `x` is one array, a list, or a dict keyed by input
    layer name (or 'input/<name>')."""
    import numpy as np

    names = input_names(model)
    if isinstance(x, dict):
        missing = [n for n in names if n not in x and f"input/{n}" not in x]
        if missing:
            raise ValueError(f"no array for the model input(s) {missing}; the inputs are {names}")
        xs = [x[n] if n in x else x[f"input/{n}"] for n in names]
    elif isinstance(x, (list, tuple)):
        xs = list(x)
    else:
        xs = [x]
    if len(xs) != len(names):
        raise ValueError(f"the model has {len(names)} inputs {names}; {len(xs)} array(s) given")
    return names, [np.ascontiguousarray(v, dtype=np.float32) for v in xs]


def record(model, km, x, all_layers=False):
    """Runs the model once in inference mode. Returns an ordered dict of float32 arrays.

    `x` is the batch (one array), or for a model with several inputs a dict keyed by input layer name (or a list
    in the order of model.inputs); those are recorded as `input/<name>`. BatchNormalization layers inside nested
    models (called once) are recorded as `<nested model>/<layer>/pre_bn` and `/post_bn`."""
    names, xs = _feed(model, x)
    rec = {}
    if len(xs) == 1:
        rec["input"] = xs[0]
    else:
        for n, v in zip(names, xs):
            rec[f"input/{n}"] = v
    for k, v in _record_model(model, km, xs, all_layers, ""):
        if k in rec:
            warn(f"recording key '{k}' appears twice; the first is kept")
            continue
        rec[k] = v
    if "output" in rec:  # the model output last, as before
        rec["output"] = rec.pop("output")
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
    ap.add_argument("input", help="the input batch, a .npy array (cast to float32); for a model with several "
                                  "inputs an .npz with one array per input, named after its input layer")
    ap.add_argument("-o", "--output", required=True,
                    help="recording to write: HDF5 (.h5/.hdf5), or NPZ when the name ends in .npz")
    ap.add_argument("--all-layers", action="store_true",
                    help="also record every other layer's output as <layer>/output")
    ap.add_argument("--config", help="architecture JSON (model.to_json()) for a weights-only MODEL file")
    ap.add_argument("--allow-lambda", action="store_true",
                    help="load Lambda layers (Python bytecode stored in the file; Keras 3's safe_mode=False) - "
                         "only for files you trust")
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
        fail(args.input, f"not a .npy array or .npz archive: {e}")
    if isinstance(x, np.ndarray):
        x = x.astype(np.float32)
        shapes = tuple(x.shape)
    else:  # .npz: one array per model input, keyed by the input layer's name (or input/<name>)
        with x as z:
            x = {k: z[k].astype(np.float32) for k in z.files}
        if len(x) == 1:
            x = next(iter(x.values()))
            shapes = tuple(x.shape)
        else:
            shapes = {k: tuple(v.shape) for k, v in x.items()}

    model, km, kind = load(args.model, args.config, allow_lambda=args.allow_lambda)
    if isinstance(x, dict):
        names = input_names(model)
        missing = [n for n in names if n not in x and f"input/{n}" not in x]
        if missing:
            fail(args.input, f"no array named {missing[0]!r} (the model's inputs are {names}; "
                             f"the archive holds {sorted(x)})")
    try:
        rec = record(model, km, x, all_layers=args.all_layers)
    except Exception as e:  # noqa: BLE001
        fail(args.model, f"running the model on {args.input} {shapes} failed: "
             f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    write_recording(args.output, rec)
    if not args.quiet:
        n_bn = sum(1 for k in rec if k.endswith("/post_bn"))
        print(f"wrote {args.output}: {len(rec)} tensors ({n_bn} BatchNormalization layers) from {args.model} "
              f"[{kind}, {km.__name__} {getattr(km, '__version__', '')}], input {shapes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
