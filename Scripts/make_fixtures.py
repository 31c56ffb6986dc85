#!/usr/bin/env python3
"""Generate the tfparity test fixtures with TensorFlow (TF1-style graphs via tf.compat.v1).

Run from the repository root (or anywhere; paths are relative to this file):

    /path/to/venv/bin/python Scripts/make_fixtures.py

The venv is made from Scripts/requirements.txt. Deterministic (fixed seeds, numpy-initialised
variables, single-threaded sessions) and idempotent: every file is rewritten with the same bytes.

Writes:
  Fixtures/<net>/params.npz, params.h5     trained TF variables keyed by var.op.name
  Fixtures/<net>/spec.yaml, spec.json      the architecture for the parameter dumps
  Fixtures/<net>/recording.npz, .h5        an inference-mode (phase_train=False) recording
  Fixtures/diagnosis/*.npz                 recordings against the seed model that must fail
  Fixtures/diagnosis/manifest.json         which layer fails in each, and the expected diagnosis id
  Fixtures/readers/                        reader fixtures (Scripts/fixtures/*_readers.py, safetensors_files.py)
  Fixtures/ops/                            one NPZ per engine op case, Keras 3 and tf_keras; manifest.json for the
                                           issue-14 cases (Scripts/fixtures/keras_ops.py)
  Fixtures/keras/                          Keras model files + recordings, both flavours; manifest.json with
                                           `fixtures` and `pending` (Scripts/fixtures/keras_models.py)
  Fixtures/porting/                        a Keras CNN, its TF recording and numpy recordings with one porting mistake
                                           each; manifest.json (Scripts/fixtures/porting_mistakes.py)
  Fixtures/graphs/                         TF graphs and SavedModels + recordings (Scripts/fixtures/tf_graphs.py)
"""
import io
import json
import os
import subprocess
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # keep CPU kernels deterministic and plain

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")
tf.compat.v1.disable_v2_behavior()  # TF1 graphs, ref variables, v1 control flow (tf.cond)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Fixtures")

EPS = 1e-3          # epsilon used by the model (as in the classic TF1 batch_norm snippet)
DECAY = 0.9         # ExponentialMovingAverage decay
ATOL, RTOL = 1e-5, 1e-4

NETWORKS = {
    # name: config
    "seed": dict(
        seed=1234, input_scale=1.0, sizes=[8, 16, 8, 3], lr=3e-4, steps=40, batch=64,
        # columns of layer0/W and layer1/W scaled down so that some pre-BN (moving) variances end
        # up ~1e-4 after training (Adam moves them up from their initial values)
        tiny_columns={0: {0: 0.005, 1: 0.01, 2: 0.02}, 1: {0: 0.005, 1: 0.01}},
    ),
    "tiny_variance": dict(
        seed=4321, input_scale=1e-3, sizes=[8, 16, 8, 3], lr=1e-4, steps=40, batch=64,
        # layer1/W scaled down as a whole so layer1/bn's variances are also far below epsilon
        tiny_columns={1: {j: 0.05 for j in range(8)}},
    ),
}
RECORD_BATCH = 32


# ----------------------------------------------------------------------------------------------
# deterministic writers
# ----------------------------------------------------------------------------------------------
def save_npz(path, arrays):
    """Like np.savez but with fixed zip timestamps, so reruns produce identical bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            zi = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            with zf.open(zi, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def save_h5(path, arrays):
    """One float32 dataset per key; '/' in a key makes nested groups. No timestamps."""
    if os.path.exists(path):
        os.remove(path)
    with h5py.File(path, "w", libver="earliest") as f:
        for key, arr in arrays.items():
            f.create_dataset(key, data=np.ascontiguousarray(arr), track_times=False)


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def rel(path):
    return os.path.relpath(path, ROOT)


# ----------------------------------------------------------------------------------------------
# the model, as a TF1 user wrote it
# ----------------------------------------------------------------------------------------------
def initial_values(cfg):
    """Numpy initial values (deterministic), keyed by the variable name they will get."""
    rs = np.random.RandomState(cfg["seed"])
    sizes = cfg["sizes"]
    init = {}
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        lim = np.sqrt(6.0 / (n_in + n_out))
        W = rs.uniform(-lim, lim, size=(n_in, n_out))
        for col, scale in cfg["tiny_columns"].get(i, {}).items():
            W[:, col] *= scale
        init[f"layer{i}/W"] = W.astype(np.float32)
        init[f"layer{i}/b"] = rs.uniform(-0.1, 0.1, size=(n_out,)).astype(np.float32)
        if i < len(sizes) - 2:  # hidden layers get BN
            init[f"layer{i}/bn/gamma"] = rs.uniform(0.5, 1.5, size=(n_out,)).astype(np.float32)
            init[f"layer{i}/bn/beta"] = rs.uniform(-0.5, 0.5, size=(n_out,)).astype(np.float32)
    return init


def bn_apply(h, mean, var, beta, gamma, variant):
    """The normalisation step. variant None = the model; others make the diagnosis recordings."""
    kind = variant[0] if variant else "tf"
    if kind == "tf":
        return tf.nn.batch_normalization(h, mean, var, beta, gamma, EPS)
    if kind == "eps":          # same formula, another epsilon
        return tf.nn.batch_normalization(h, mean, var, beta, gamma, variant[1])
    if kind == "no_gamma":     # scale not applied (scale=None)
        return tf.nn.batch_normalization(h, mean, var, beta, None, EPS)
    if kind == "no_beta":      # offset not applied (offset=None)
        return tf.nn.batch_normalization(h, mean, var, None, gamma, EPS)
    if kind == "fused":        # fused kernel on a reshaped NHWC tensor, inference mode
        n = tf.shape(h)[0]
        c = h.shape[-1]
        x4 = tf.reshape(h, [n, 1, 1, c])
        y4, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x4, gamma, beta, mean=mean, variance=var, epsilon=variant[1],
            is_training=False, data_format="NHWC", name="fused")
        return tf.reshape(y4, [n, c])
    raise ValueError(kind)


def build(cfg, init, variants=None, with_train_op=False):
    """Builds the graph in the current default graph and returns a dict of tensors/ops."""
    variants = variants or {}
    sizes = cfg["sizes"]
    t = {"bn": []}
    x = tf.compat.v1.placeholder(tf.float32, [None, sizes[0]], name="x")
    y_true = tf.compat.v1.placeholder(tf.float32, [None, sizes[-1]], name="y")
    phase_train = tf.compat.v1.placeholder(tf.bool, [], name="phase_train")
    t.update(x=x, y=y_true, phase_train=phase_train)
    a = x
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        W = tf.compat.v1.get_variable(f"layer{i}/W", [n_in, n_out],
                                      initializer=tf.compat.v1.constant_initializer(init[f"layer{i}/W"]))
        b = tf.compat.v1.get_variable(f"layer{i}/b", [n_out],
                                      initializer=tf.compat.v1.constant_initializer(init[f"layer{i}/b"]))
        h = tf.matmul(a, W) + b
        t[f"layer{i}/output"] = h
        if i == len(sizes) - 2:
            a = h  # linear output layer
            break
        name = f"layer{i}/bn"
        with tf.compat.v1.variable_scope(name):
            beta = tf.compat.v1.get_variable(
                "beta", [n_out], initializer=tf.compat.v1.constant_initializer(init[name + "/beta"]))
            gamma = tf.compat.v1.get_variable(
                "gamma", [n_out], initializer=tf.compat.v1.constant_initializer(init[name + "/gamma"]))
            batch_mean, batch_var = tf.nn.moments(h, [0], name="moments")
            ema = tf.compat.v1.train.ExponentialMovingAverage(decay=DECAY)

            def mean_var_with_update():
                ema_apply_op = ema.apply([batch_mean, batch_var])
                with tf.control_dependencies([ema_apply_op]):
                    return tf.identity(batch_mean), tf.identity(batch_var)

            mean, var = tf.cond(phase_train, mean_var_with_update,
                                lambda: (ema.average(batch_mean), ema.average(batch_var)))
            normed = bn_apply(h, mean, var, beta, gamma, variants.get(name))
        t[name + "/pre_bn"] = h
        t[name + "/post_bn"] = normed
        t["bn"].append(dict(name=name, beta=beta, gamma=gamma,
                            mean=ema.average(batch_mean), variance=ema.average(batch_var),
                            batch_mean=batch_mean, batch_var=batch_var, normed=normed))
        a = tf.nn.relu(normed, name=f"layer{i}/relu")
    t["output"] = a
    if with_train_op:
        loss = tf.reduce_mean(tf.square(a - y_true))
        t["loss"] = loss
        t["train_op"] = tf.compat.v1.train.AdamOptimizer(cfg["lr"]).minimize(loss)
    return t


def model_vars(t):
    """Model variables only (no Adam slots / beta powers), in creation order."""
    names = []
    for v in tf.compat.v1.global_variables():
        n = v.op.name
        if "/Adam" in n or n.startswith("beta1_power") or n.startswith("beta2_power"):
            continue
        names.append(v)
    return names


def session():
    cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1,
                                   device_count={"GPU": 0})
    return tf.compat.v1.Session(config=cfg)


def record_keys(t):
    """Recorded tensors in graph order: layerN/output, layerN/bn/pre_bn, layerN/bn/post_bn, ..., output."""
    out = {k: v for k, v in t.items()
           if k.startswith("layer") and (k.endswith("/output") or k.endswith("/pre_bn") or k.endswith("/post_bn"))}
    out["output"] = t["output"]
    return out


def fetch_recording(sess, t, x_rec, phase=False, extra_feed=None):
    fetches = record_keys(t)
    feed = {t["x"]: x_rec, t["phase_train"]: phase}
    if extra_feed:
        feed.update(extra_feed)
    vals = sess.run(fetches, feed_dict=feed)
    rec = {"input": x_rec.astype(np.float32)}
    for k, v in vals.items():
        rec[k] = np.asarray(v, dtype=np.float32)
    return rec


# ----------------------------------------------------------------------------------------------
# spec
# ----------------------------------------------------------------------------------------------
def make_spec(t, var_names):
    layers = []
    sizes_n = len([k for k in t if k.endswith("/output") and k.startswith("layer")])
    bn_by_name = {b["name"]: b for b in t["bn"]}
    for i in range(sizes_n):
        layers.append({"type": "dense", "name": f"layer{i}", "kernel": f"layer{i}/W", "bias": f"layer{i}/b"})
        name = f"layer{i}/bn"
        if name in bn_by_name:
            b = bn_by_name[name]
            entry = {"type": "batchnorm", "name": name, "epsilon": EPS,
                     "mean": b["mean"].op.name, "variance": b["variance"].op.name,
                     "gamma": b["gamma"].op.name, "beta": b["beta"].op.name}
            for k in ("mean", "variance", "gamma", "beta"):
                assert entry[k] in var_names, entry[k]
            layers.append(entry)
            layers.append({"type": "relu", "name": f"layer{i}/relu"})
    return {"layers": layers}


def spec_yaml(spec, title):
    lines = [f"# {title}", "# Generated by Scripts/make_fixtures.py; same content as spec.json.", "layers:"]
    for layer in spec["layers"]:
        parts = []
        for k, v in layer.items():
            parts.append(f"{k}: {v!r}" if isinstance(v, float) else f"{k}: {v}")
        text = "{" + ", ".join(parts) + "}"
        if len(text) > 100:  # wrap like the contract does
            lines.append("  - {" + parts[0] + ", " + parts[1] + ", " + parts[2] + ",")
            for p in parts[3:-1]:
                lines.append("     " + p + ",")
            lines.append("     " + parts[-1] + "}")
        else:
            lines.append("  - " + text)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# numpy references for the checks and the hand-formula mistakes
# ----------------------------------------------------------------------------------------------
def np_bn(x, mean, var, gamma, beta, eps):
    """TF's formula, float32: inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv)."""
    f = np.float32
    inv = (f(1.0) / np.sqrt(var.astype(f) + f(eps))).astype(f)
    if gamma is not None:
        inv = inv * gamma
    off = (beta - mean * inv) if beta is not None else (-mean * inv)
    return (x * inv + off).astype(f)


def mismatch(actual, expected):
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    bad = ~(err <= ATOL + RTOL * np.abs(expected.astype(np.float64)))
    bad |= ~np.isfinite(actual) | ~np.isfinite(expected)
    return int(bad.sum()), float(err.max()), bad.size


def fit_epsilon(x, y, mean, var, gamma):
    """Per channel least-squares slope of y on x gives gamma/sqrt(var+eps); return eps per channel."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    xc = x - x.mean(0)
    slope = (xc * (y - y.mean(0))).sum(0) / (xc * xc).sum(0)
    return (gamma.astype(np.float64) / slope) ** 2 - var.astype(np.float64)


# ----------------------------------------------------------------------------------------------
def make_network(name, cfg):
    out_dir = os.path.join(FIXTURES, name)
    os.makedirs(out_dir, exist_ok=True)
    init = initial_values(cfg)
    rs = np.random.RandomState(cfg["seed"] + 1)
    sizes = cfg["sizes"]
    A = rs.randn(sizes[0], 12)
    B = rs.randn(12, sizes[-1]) / np.sqrt(12)
    steps = cfg["steps"]
    X_train = rs.randn(steps, cfg["batch"], sizes[0])
    Y_train = (np.tanh(X_train @ A) @ B).astype(np.float32)
    X_train = (X_train * cfg["input_scale"]).astype(np.float32)
    x_rec = (np.random.RandomState(cfg["seed"] + 2).randn(RECORD_BATCH, sizes[0])
             * cfg["input_scale"]).astype(np.float32)

    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(cfg["seed"])
        t = build(cfg, init, with_train_op=True)
        mvars = model_vars(t)
        print(f"[{name}] tf.compat.v1.global_variables():")
        for v in tf.compat.v1.global_variables():
            print(f"    {v.op.name:70s} {v.shape}")
        sess = session()
        sess.run(tf.compat.v1.global_variables_initializer())
        losses = []
        for s in range(steps):
            _, l = sess.run([t["train_op"], t["loss"]],
                            {t["x"]: X_train[s], t["y"]: Y_train[s], t["phase_train"]: True})
            losses.append(l)
        print(f"[{name}] trained {steps} Adam steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
        params = {v.op.name: np.asarray(sess.run(v), dtype=np.float32) for v in mvars}
        rec = fetch_recording(sess, t, x_rec, phase=False)
        spec = make_spec(t, set(params))

        extra = {}
        if name == "seed":
            extra = make_seed_tf_failures(sess, t, params, rec, x_rec)
        sess.close()

    save_npz(os.path.join(out_dir, "params.npz"), params)
    save_h5(os.path.join(out_dir, "params.h5"), params)
    write_text(os.path.join(out_dir, "spec.json"), json.dumps(spec, indent=2) + "\n")
    write_text(os.path.join(out_dir, "spec.yaml"),
               spec_yaml(spec, f"tfparity spec for Fixtures/{name}/params.npz and params.h5"))
    save_npz(os.path.join(out_dir, "recording.npz"), rec)
    save_h5(os.path.join(out_dir, "recording.h5"), rec)
    for f in ("params.npz", "params.h5", "spec.yaml", "spec.json", "recording.npz", "recording.h5"):
        p = os.path.join(out_dir, f)
        print(f"  wrote {rel(p)} ({os.path.getsize(p)} bytes)")
    for b in spec["layers"]:
        if b["type"] == "batchnorm":
            v = params[b["variance"]]
            print(f"  {b['name']}: moving variance min {v.min():.3g} max {v.max():.3g}; "
                  f"gamma [{params[b['gamma']].min():.3f}, {params[b['gamma']].max():.3f}] "
                  f"beta [{params[b['beta']].min():.3f}, {params[b['beta']].max():.3f}]")
    return dict(cfg=cfg, init=init, params=params, rec=rec, spec=spec, x_rec=x_rec, extra=extra)


def make_seed_tf_failures(sess, t, params, rec, x_rec):
    """Failing recordings that TF itself can make. Called after params/rec were captured."""
    out = {}
    bn0 = t["bn"][0]
    # --- batch-statistics: the same graph, phase_train=True. This runs the EMA update op, so it
    # happens after the dump, and the variables are restored (and checked) afterwards.
    post0_train = sess.run(bn0["normed"], {t["x"]: x_rec, t["phase_train"]: True})
    r = fetch_recording(sess, t, x_rec, phase=False, extra_feed={bn0["normed"]: post0_train})
    r["layer0/bn/post_bn"] = post0_train.astype(np.float32)
    out["batch-statistics"] = (r, "layer0/bn", ["layer0/bn"])
    # the whole graph in training mode (both BN layers use the batch's moments): a user who
    # forgot phase_train=False
    r_all = fetch_recording(sess, t, x_rec, phase=True)
    out["batch-statistics-all-layers"] = (r_all, "layer0/bn", ["layer0/bn", "layer1/bn"])
    # restore the dumped values (the training-mode runs moved the moving averages)
    for v in model_vars(t):
        v.load(params[v.op.name], sess)
    again = fetch_recording(sess, t, x_rec, phase=False)
    for k in rec:
        assert np.array_equal(again[k], rec[k]), k
    return out


def variant_recording(cfg, params, x_rec, variants):
    """Build a fresh graph with a different BN op on one layer, load the dumped values, record."""
    g = tf.Graph()
    with g.as_default():
        t = build(cfg, initial_values(cfg), variants=variants)
        sess = session()
        sess.run(tf.compat.v1.global_variables_initializer())
        for v in model_vars(t):
            v.load(params[v.op.name], sess)
        rec = fetch_recording(sess, t, x_rec, phase=False)
        info = {}
        for op in g.get_operations():
            if op.type.startswith("FusedBatchNorm"):
                info["fused_op"] = op.type
                info["fused_epsilon_attr"] = op.get_attr("epsilon")
        sess.close()
    return rec, info


def effective_epsilon(requested, info):
    """The epsilon the fused op really uses, as a decimal (the attr is stored as float32)."""
    attr = info["fused_epsilon_attr"]
    return requested if np.float32(attr) == np.float32(requested) else float(np.float32(attr))


def downstream_from(cfg, params, x_rec, layer, post_bn):
    """Feed a changed post_bn into the real seed graph; TF recomputes everything downstream."""
    g = tf.Graph()
    with g.as_default():
        t = build(cfg, initial_values(cfg))
        sess = session()
        sess.run(tf.compat.v1.global_variables_initializer())
        for v in model_vars(t):
            v.load(params[v.op.name], sess)
        normed = {b["name"]: b["normed"] for b in t["bn"]}[layer]
        rec = fetch_recording(sess, t, x_rec, phase=False, extra_feed={normed: post_bn})
        sess.close()
    rec[layer + "/post_bn"] = post_bn.astype(np.float32)
    return rec


def make_diagnosis(results):
    seed = results["seed"]
    out_dir = os.path.join(FIXTURES, "diagnosis")
    os.makedirs(out_dir, exist_ok=True)
    cfg, params, rec, x_rec = seed["cfg"], seed["params"], seed["rec"], seed["x_rec"]
    bn = {b["name"]: b for b in seed["spec"]["layers"] if b["type"] == "batchnorm"}

    tv = results["tiny_variance"]

    def P(layer):
        b = bn[layer]
        return params[b["mean"]], params[b["variance"]], params[b["gamma"]], params[b["beta"]]

    cases = []  # (file stem, recording, layer, expected_id, epsilon, affected layers, how)
    # TF-made
    r, info = variant_recording(cfg, params, x_rec, {"layer0/bn": ("eps", 1e-5)})
    cases.append(("eps-mismatch", r, "layer0/bn", "eps-mismatch", 1e-5, ["layer0/bn"],
                  "tf.nn.batch_normalization(..., variance_epsilon=1e-5) in place of 1e-3"))
    r, info = variant_recording(cfg, params, x_rec, {"layer0/bn": ("fused", 1e-5)})
    eff = effective_epsilon(1e-5, info)
    print(f"  fused_batch_norm(epsilon=1e-5): op {info['fused_op']}, epsilon attr "
          f"{info['fused_epsilon_attr']!r} (TF 2.21 does not clamp to 1.001e-5)")
    cases.append(("eps-mismatch-fused", r, "layer0/bn", "eps-mismatch", eff, ["layer0/bn"],
                  f"tf.compat.v1.nn.fused_batch_norm(epsilon=1e-5, is_training=False) on NHWC "
                  f"[N,1,1,C]; op {info['fused_op']} epsilon attr {info['fused_epsilon_attr']!r}"))
    r, info = variant_recording(cfg, params, x_rec, {"layer1/bn": ("eps", 1e-5)})
    cases.append(("eps-mismatch-layer1", r, "layer1/bn", "eps-mismatch", 1e-5, ["layer1/bn"],
                  "tf.nn.batch_normalization(..., variance_epsilon=1e-5) on layer1/bn only"))
    r, _ = variant_recording(cfg, params, x_rec, {"layer0/bn": ("no_gamma",)})
    cases.append(("no-gamma", r, "layer0/bn", "no-gamma", None, ["layer0/bn"],
                  "tf.nn.batch_normalization(..., scale=None)"))
    r, _ = variant_recording(cfg, params, x_rec, {"layer0/bn": ("no_beta",)})
    cases.append(("no-beta", r, "layer0/bn", "no-beta", None, ["layer0/bn"],
                  "tf.nn.batch_normalization(..., offset=None)"))
    for stem, (r, layer, affected) in seed["extra"].items():
        how = ("seed graph run with phase_train=True for layer0/bn's post_bn; downstream recomputed by "
               "TF with phase_train=False") if stem == "batch-statistics" else \
              "the whole seed graph run with phase_train=True (every BN layer uses batch moments)"
        cases.append((stem, r, layer, "batch-statistics", None, affected, how))
    # numpy hand formulas on TF's recorded pre_bn; downstream recomputed by TF (fed post_bn)
    x0 = rec["layer0/bn/pre_bn"]
    m, v, gm, bt = P("layer0/bn")
    f = np.float32
    y = (gm * (x0 - m) / (np.sqrt(v) + f(EPS)) + bt).astype(f)
    cases.append(("eps-outside-sqrt", downstream_from(cfg, params, x_rec, "layer0/bn", y), "layer0/bn",
                  "eps-outside-sqrt", None, ["layer0/bn"],
                  "numpy float32: gamma*(x-mean)/(sqrt(var)+eps)+beta"))
    y = np_bn(x0, m, np.sqrt(v).astype(f), gm, bt, EPS)
    cases.append(("std-as-variance", downstream_from(cfg, params, x_rec, "layer0/bn", y), "layer0/bn",
                  "std-as-variance", None, ["layer0/bn"],
                  "numpy float32: TF's formula with sqrt(moving_variance) in place of moving_variance"))

    # tiny_variance: the fused kernel with 1.001e-5, the epsilon older TF (<= 2.1 fused_batch_norm)
    # and Keras' fused path silently raised smaller values to. Variances ~1e-7..1e-6 make 1.001e-5
    # distinguishable from 1e-5 (relative difference ~4e-4 in the scale).
    r, info = variant_recording(tv["cfg"], tv["params"], tv["x_rec"], {"layer0/bn": ("fused", 1.001e-5)})
    cases.append(("tiny_variance-eps-mismatch-fused", r, "layer0/bn", "eps-mismatch",
                  effective_epsilon(1.001e-5, info), ["layer0/bn"],
                  f"tiny_variance model; tf.compat.v1.nn.fused_batch_norm(epsilon=1.001e-5, "
                  f"is_training=False) on NHWC [N,1,1,C]; op {info['fused_op']} epsilon attr "
                  f"{info['fused_epsilon_attr']!r}", "tiny_variance"))

    manifest = [{"recording": "../seed/recording.npz", "model": "seed", "layer": None,
                 "expected_id": None, "affected_layers": [],
                 "how": "passing: the seed graph in inference mode (phase_train=False)"}]
    manifest.append({"recording": "../tiny_variance/recording.npz", "model": "tiny_variance",
                     "layer": None, "expected_id": None, "affected_layers": [],
                     "how": "passing: the tiny_variance graph in inference mode (phase_train=False)"})
    for case in cases:
        stem, r, layer, eid, eps, affected, how = case[:7]
        model = case[7] if len(case) > 7 else "seed"
        base = results[model]["rec"]
        assert list(r.keys())[:1] == ["input"] and np.array_equal(r["input"], base["input"])
        assert list(r) == list(base), stem  # same keys, same order as the passing recording
        for k in list(base)[:list(base).index(layer + "/post_bn")]:
            assert np.array_equal(r[k], base[k]), (stem, k)  # upstream of the change: TF's values
        path = os.path.join(out_dir, stem + ".npz")
        save_npz(path, r)
        print(f"  wrote {rel(path)} ({os.path.getsize(path)} bytes)")
        entry = {"recording": stem + ".npz", "model": model, "layer": layer, "expected_id": eid}
        if eps is not None:
            entry["epsilon"] = eps
        entry["affected_layers"] = affected
        entry["how"] = how
        manifest.append(entry)
    mpath = os.path.join(out_dir, "manifest.json")
    write_text(mpath, json.dumps(manifest, indent=2) + "\n")
    print(f"  wrote {rel(mpath)}")
    return manifest


# ----------------------------------------------------------------------------------------------
# self-checks
# ----------------------------------------------------------------------------------------------
def np_forward_layers(spec, params, rec):
    """Local checks as tfparity does them. Returns {(layer, stage): (mismatches, max_abs, n)}."""
    res = {}
    layers = spec["layers"]
    for idx, L in enumerate(layers):
        if L["type"] != "batchnorm":
            continue
        name = L["name"]
        if name + "/pre_bn" not in rec:
            continue
        # pre_bn: from the nearest upstream recorded post_bn (or input)
        start, a = None, rec["input"]
        for j in range(idx - 1, -1, -1):
            if layers[j]["type"] == "batchnorm" and layers[j]["name"] + "/post_bn" in rec:
                start, a = j, rec[layers[j]["name"] + "/post_bn"]
                break
        for K in layers[(start + 1 if start is not None else 0):idx]:
            a = np_layer(K, params, a)
        res[(name, "pre_bn")] = mismatch(a, rec[name + "/pre_bn"])
        y = np_layer(L, params, rec[name + "/pre_bn"])
        res[(name, "post_bn")] = mismatch(y, rec[name + "/post_bn"])
    # end to end
    a = rec["input"]
    for K in layers:
        a = np_layer(K, params, a)
    res[("output", "end_to_end")] = mismatch(a, rec["output"])
    return res


def np_layer(L, params, a):
    f = np.float32
    if L["type"] == "dense":
        return (a @ params[L["kernel"]] + params[L["bias"]]).astype(f)
    if L["type"] == "relu":
        return np.maximum(a, f(0))
    if L["type"] == "batchnorm":
        return np_bn(a, params[L["mean"]], params[L["variance"]], params[L["gamma"]], params[L["beta"]],
                     L["epsilon"])
    raise ValueError(L["type"])


def load_npz(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_h5(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def self_check(manifest):
    ok = True
    print("\nSelf-checks (numpy float32, TF's formula, atol 1e-5 + rtol 1e-4):")
    for net in NETWORKS:
        d = os.path.join(FIXTURES, net)
        pn, ph = load_npz(os.path.join(d, "params.npz")), load_h5(os.path.join(d, "params.h5"))
        rn, rh = load_npz(os.path.join(d, "recording.npz")), load_h5(os.path.join(d, "recording.h5"))
        same = (set(pn) == set(ph) and all(np.array_equal(pn[k], ph[k]) and ph[k].dtype == np.float32
                                           for k in pn)
                and set(rn) == set(rh) and all(np.array_equal(rn[k], rh[k]) for k in rn))
        specs = [json.load(open(os.path.join(d, "spec.json")))]
        ok &= same
        print(f"  [{net}] params.npz == params.h5 and recording.npz == recording.h5: {same}")
        spec = specs[0]
        for (layer, stage), (bad, mx, n) in np_forward_layers(spec, pn, rn).items():
            good = bad == 0 and mx <= 1e-5
            ok &= good
            print(f"  [{net}] {layer:10s} {stage:10s} mismatches {bad}/{n} max_abs {mx:.3g}  "
                  f"{'OK' if good else 'FAIL'}")
    for e in manifest:
        if e["expected_id"] is None:
            continue
        model_dir = os.path.join(FIXTURES, e["model"])
        params = load_npz(os.path.join(model_dir, "params.npz"))
        spec = json.load(open(os.path.join(model_dir, "spec.json")))
        bnspec = {L["name"]: L for L in spec["layers"] if L["type"] == "batchnorm"}
        rec = load_npz(os.path.join(FIXTURES, "diagnosis", e["recording"]))
        res = np_forward_layers(spec, params, rec)
        line = []
        for L in bnspec:
            for stage in ("pre_bn", "post_bn"):
                bad, mx, n = res[(L, stage)]
                should_fail = stage == "post_bn" and L in e["affected_layers"]
                if should_fail:
                    # "far more than tolerance": most elements out and max error >> tolerance
                    good = bad >= n // 4 and mx > 1e-3
                else:
                    good = bad == 0
                ok &= good
                line.append(f"{L}/{stage} {bad}/{n} max_abs {mx:.3g}{'' if good else ' UNEXPECTED'}")
        bad, mx, n = res[("output", "end_to_end")]
        line.append(f"end_to_end output {bad}/{n} max_abs {mx:.3g}")
        print(f"  diagnosis/{e['recording']:34s} expect {e['expected_id']:17s}: " + "; ".join(line))
        # the recorded values are explained by the intended convention
        L = bnspec[e["layer"]]
        x, y = rec[e["layer"] + "/pre_bn"], rec[e["layer"] + "/post_bn"]
        m, v, g, b = (params[L[k]] for k in ("mean", "variance", "gamma", "beta"))
        f = np.float32
        eid = e["expected_id"]
        if eid == "eps-mismatch":
            ref = np_bn(x, m, v, g, b, e["epsilon"])
            eps_c = fit_epsilon(x, y, m, v, g)
            k = int(np.argmin(v))
            small = v < 1e-3
            print(f"      fitted epsilon: smallest-variance channel (var {v[k]:.3g}) {eps_c[k]:.6g}; "
                  f"median over the {int(small.sum())} channels with var<1e-3 "
                  f"{np.median(eps_c[small]):.6g}; intended {e['epsilon']:.6g}")
        elif eid == "batch-statistics":
            bm, bv = x.mean(0, dtype=np.float64).astype(f), x.var(0, dtype=np.float64).astype(f)
            ref = np_bn(x, bm, bv, g, b, EPS)
        elif eid == "no-gamma":
            ref = np_bn(x, m, v, None, b, EPS)
        elif eid == "no-beta":
            ref = np_bn(x, m, v, g, None, EPS)
        elif eid == "eps-outside-sqrt":
            ref = (g * (x - m) / (np.sqrt(v) + f(EPS)) + b).astype(f)
        elif eid == "std-as-variance":
            ref = np_bn(x, m, np.sqrt(v).astype(f), g, b, EPS)
        bad, mx, n = mismatch(ref, y)
        ok &= bad == 0
        print(f"      recomputed with the intended convention: mismatches {bad}/{n} max_abs {mx:.3g} "
              f"{'OK' if bad == 0 else 'FAIL'}")
    print("\nALL CHECKS PASSED" if ok else "\nSOME CHECKS FAILED")
    return ok


def main():
    np.set_printoptions(precision=4, suppress=False)
    results = {}
    for name, cfg in NETWORKS.items():
        results[name] = make_network(name, cfg)
    print("[diagnosis]")
    manifest = make_diagnosis(results)
    ok = self_check(manifest)
    # The reader fixtures (numpy, h5py and safetensors files with their expected values) come from their own
    # generators, run here with the same interpreter so one command regenerates every fixture.
    here = os.path.dirname(os.path.abspath(__file__))
    for generator in ("numpy_readers.py", "hdf5_readers.py", "safetensors_files.py", "checkpoints.py", "keras_ops.py"):
        print(f"[readers] {generator}")
        ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", generator)]).returncode == 0
    # Keras 2 (tf_keras) and Keras 3 model files with recordings made by Scripts/record_keras.py.
    print("[keras] keras_models.py")
    ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", "keras_models.py")]).returncode == 0
    # A Keras CNN and numpy re-implementations of it, each with one porting mistake (the porting diagnosis).
    print("[porting] porting_mistakes.py")
    ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", "porting_mistakes.py")]).returncode == 0
    # TensorFlow graphs (meta graphs, frozen GraphDefs, SavedModels) with recordings by Scripts/record_graph.py.
    print("[graphs] tf_graphs.py")
    ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", "tf_graphs.py")]).returncode == 0
    # The malformed-input corpus is derived from the fixtures above, so it comes last.
    print("[corpus] corpus.py")
    ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", "corpus.py")]).returncode == 0
    print("[corpus] corpus_attributes.py")
    ok &= subprocess.run([sys.executable, os.path.join(here, "fixtures", "corpus_attributes.py")]).returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
