#!/usr/bin/env python3
"""Record what TensorFlow computes for a TensorFlow graph, in the tfparity recording format.

Usage:

    python Scripts/record_graph.py SOURCE INPUT.npy [--inputs NAMES] [--outputs NAMES]
                                   [--feed NAME=VALUE]... [--tag TAG] [--signature NAME] [--all-layers]
                                   -o REC.h5|REC.npz

SOURCE is any of:

  * a TF1 checkpoint with its meta graph: the prefix ``model.ckpt`` (``model.ckpt.meta`` beside it) or the
    ``.meta`` file itself; the variables are restored from the checkpoint;
  * a frozen GraphDef ``.pb`` (weights as constants, ``convert_variables_to_constants``);
  * a SavedModel directory: a TF1 builder / ``simple_save`` model runs its signature in a session; a TF2 model
    (``tf.saved_model.save``, Keras 3 ``model.export``) has its signature function frozen and inlined by
    TensorFlow (``convert_variables_to_constants_v2``) and runs that; a tf_keras SavedModel (one with
    ``keras_metadata.pb``) is loaded with tf_keras and recorded layer by layer like ``record_keras.py``.

``--inputs``/``--outputs`` take comma-separated op names or ``op:N`` tensor names (tf2onnx's spelling); for a
meta graph or a frozen graph ``--outputs`` is required, ``--inputs`` defaults to the one float placeholder.
``--feed NAME=VALUE`` sets a scalar placeholder (``phase_train=false``); an unfed bool placeholder is fed
``false`` (inference) with a note on stderr.

The recording holds float32 arrays under the names tfparity gives the layers (see docs: CONTRACT.md):

  ``input``              the batch that was fed
  ``<bn>/pre_bn``        every inference-mode batch norm's input: ``FusedBatchNorm``/``V2``/``V3`` with
                         ``is_training=false``, and the decomposed ``tf.nn.batch_normalization`` arithmetic
                         (``Rsqrt(Add(variance, eps))``, optionally times gamma, then ``x*scale + ...``)
  ``<bn>/post_bn``       its output
  ``<layer>/output``     with ``--all-layers``: the output of every dense/convolution layer (``MatMul``,
                         ``Conv2D``, ``DepthwiseConv2dNative``, with the bias add that follows) and of every
                         activation and pooling op
  ``output``             the model's output (``output_0``, ``output_1``, ... for several)

A layer is named after the longest common name scope of the variables it reads, after dropping the scope
prefix every variable of the model shares; a layer without variables is named after its op. The variables of a
frozen graph are its float constants of more than one element; those of a TF2 SavedModel are the variables the
signature function captures, under their own names (``SavedVariable.name``).

Exit status 0 on success, 2 when the source or the input cannot be read or holds no such tensor, 64 on a usage
error.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

FUSED_BN = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
ACTIVATIONS = ("Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "Softplus",
               "Softsign", "MaxPool", "AvgPool", "Mean")
WEIGHTED = ("MatMul", "Conv2D", "DepthwiseConv2dNative")
# Ops a value passes through unchanged on its way from a variable to the op that uses it.
PASS_THROUGH = ("Identity", "ReadVariableOp", "Switch", "Merge", "Cast", "Squeeze", "Reshape")


def fail(path, reason, code=2):
    print(f"error: {path}: {reason}", file=sys.stderr)
    sys.exit(code)


def note(message):
    print(f"note: {message}", file=sys.stderr)


def parse_names(text):
    return [n.strip() for n in text.split(",") if n.strip()] if text else []


def tensor_name(name):
    """`op` -> `op:0`; `op:N` unchanged."""
    return name if ":" in name else name + ":0"


def parse_feed(text):
    if "=" not in text:
        fail("--feed", f"'{text}' is not NAME=VALUE", 64)
    name, value = text.split("=", 1)
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    try:
        return name.strip(), int(value)
    except ValueError:
        pass
    try:
        return name.strip(), float(value)
    except ValueError:
        fail("--feed", f"'{value}' is not a bool, an integer or a float", 64)


# ---------------------------------------------------------------------------------------------
# the graph walk: batch norms, layers and their names
# ---------------------------------------------------------------------------------------------
def data_ancestors(tensors, stop=()):
    """Every op the tensors depend on through data edges (control edges are not data)."""
    seen, stack = set(), [t.op for t in tensors]
    stop = set(stop)
    while stack:
        op = stack.pop()
        if op in seen or op in stop:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
    return seen


def is_const(op):
    return op.type == "Const" or (op.type in PASS_THROUGH[:2] and bool(op.inputs) and is_const(op.inputs[0].op))


def const_op(tensor):
    op = tensor.op
    while op.type != "Const":
        op = op.inputs[0].op
    return op


def const_size(tensor):
    shape = const_op(tensor).get_attr("value").tensor_shape
    size = 1
    for d in shape.dim:
        size *= d.size
    return size


def const_value(tensor):
    import tensorflow as tf
    op = tensor.op
    while op.type != "Const":
        op = op.inputs[0].op
    return float(tf.make_ndarray(op.get_attr("value")))


def dead_tensors(graph, feeds):
    """Tensors a v1 `Switch` on a fed predicate does not produce, and everything only they feed: the branch the
    feeds do not take. `feeds` maps tensors to the Python values fed."""

    def known(t):
        if t in feeds:
            return feeds[t]
        if t.op.type == "Identity" or (t.op.type == "Switch" and t.value_index in (0, 1)):
            return known(t.op.inputs[0])
        return None

    dead = set()
    for op in graph.get_operations():  # creation order is a topological order of a loop-free graph
        inputs = list(op.inputs)
        if op.type == "Merge":
            is_dead = bool(inputs) and all(t in dead for t in inputs)
        else:
            is_dead = any(t in dead for t in inputs)
        if is_dead:
            dead.update(op.outputs)
        elif op.type == "Switch":
            predicate = known(op.inputs[1])
            if predicate is not None:
                dead.add(op.outputs[0 if predicate else 1])
    return dead


def forward_ops(outputs, inputs, dead):
    """The live ops between the inputs and the outputs."""
    seen, stack = set(), [t.op for t in outputs]
    stop = {t.op for t in inputs}
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        if op in stop:
            continue
        stack.extend(t.op for t in op.inputs if t not in dead)
    return seen


def batch_norms(graph, live):
    """[(pre tensor, post tensor, param tensors, epsilon)] for every inference-mode batch norm among the live ops,
    in graph order."""

    def consumers(tensor, *types):
        return [c for c in tensor.consumers() if c in live and c.type in types]

    found = []
    for op in graph.get_operations():
        if op not in live:
            continue
        if op.type in FUSED_BN:
            if op.get_attr("is_training"):
                continue
            found.append((op.inputs[0], op.outputs[0], list(op.inputs[1:5]), op.get_attr("epsilon")))
        elif op.type == "Rsqrt":
            add = op.inputs[0].op
            if add.type not in ("Add", "AddV2"):
                continue
            # epsilon is a scalar constant; the variance may be a constant too (a frozen graph).
            consts = [t for t in add.inputs if is_const(t.op) and const_size(t) == 1]
            others = [t for t in add.inputs if all(t is not c for c in consts)]
            if len(consts) != 1 or len(others) != 1:
                continue
            epsilon = const_value(consts[0])
            params = [others[0]]
            scale = op.outputs[0]
            # inv *= gamma: a Mul whose result is itself used by two Muls.
            for m in consumers(scale, "Mul"):
                if len(consumers(m.outputs[0], "Mul")) == 2:
                    params.append([t for t in m.inputs if t is not scale][0])
                    scale = m.outputs[0]
                    break
            pre = post = None
            for m in consumers(scale, "Mul"):
                adds = consumers(m.outputs[0], "Add", "AddV2")
                if adds:
                    pre = [t for t in m.inputs if t is not scale][0]
                    post = adds[0].outputs[0]
                    params += [t for t in adds[0].inputs if t is not m.outputs[0]]
                else:  # mean * scale
                    params += [t for t in m.inputs if t is not scale]
            if pre is not None:
                found.append((pre, post, params, epsilon))
    return found


def spatial_mean(op):
    """A `Mean` over height and width (global average pooling), not the batch moments of a batch norm."""
    import tensorflow as tf
    axes = op.inputs[1]
    if not is_const(axes.op):
        return False
    return sorted(int(a) for a in tf.make_ndarray(const_op(axes).get_attr("value")).reshape(-1)) == [1, 2]


def scope(name):
    return name.split("/")[:-1]


def common_prefix(lists):
    if not lists:
        return []
    prefix = list(lists[0])
    for parts in lists[1:]:
        n = 0
        while n < min(len(prefix), len(parts)) and prefix[n] == parts[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


class Namer:
    """The contract's rule: the longest common scope of a layer's variables, minus the model-wide prefix."""

    def __init__(self, variables, outputs):
        self.variables = variables  # op -> variable name
        model = [variables[op] for op in data_ancestors(outputs) if op in variables]
        self.shared = len(common_prefix([scope(n) for n in model])) if model else 0

    def variables_of(self, tensors, exclude=()):
        stop = data_ancestors(exclude) if exclude else set()
        return sorted(self.variables[op] for op in data_ancestors(tensors) - stop if op in self.variables)

    def name(self, variable_names, op_name):
        if not variable_names:
            return strip_call_scopes(op_name)
        return "/".join(common_prefix([scope(n) for n in variable_names])[self.shared:]) or op_name


def strip_call_scopes(name):
    """`StatefulPartitionedCall/net_1/relu_1/Relu` -> `net_1/relu_1/Relu`: the inlining's own prefixes."""
    parts = name.split("/")
    while parts and parts[0] in ("StatefulPartitionedCall", "PartitionedCall"):
        parts = parts[1:]
    return "/".join(parts) or name


def layer_tensors(graph, namer, inputs, outputs, feeds, all_layers):
    """Ordered {recording key: tensor}, in graph order."""
    on_path = forward_ops(outputs, inputs, dead_tensors(graph, feeds))
    norms = {post.op: (pre, post, params) for pre, post, params, _ in batch_norms(graph, on_path)}
    fetches = {}
    for op in graph.get_operations():
        if op not in on_path:
            continue
        if op in norms:
            pre, post, params = norms[op]
            name = namer.name(namer.variables_of(params, exclude=[pre]), post.op.name)
            fetches[f"{name}/pre_bn"] = pre
            fetches[f"{name}/post_bn"] = post
        if not all_layers:
            continue
        if op.type in WEIGHTED:
            out = op.outputs[0]
            data = op.inputs[0]
            consumers = [c for c in out.consumers() if c in on_path]
            if len(consumers) == 1 and consumers[0].type in ("BiasAdd", "Add", "AddV2"):
                other = [t for t in consumers[0].inputs if t is not out][0]
                if namer.variables_of([other], exclude=[data]):
                    out = consumers[0].outputs[0]
            name = namer.name(namer.variables_of(out.op.inputs, exclude=[data]), op.name)
            fetches.setdefault(f"{name}/output", out)
        elif op.type in ACTIVATIONS and (op.type != "Mean" or spatial_mean(op)):
            fetches.setdefault(f"{strip_call_scopes(op.name)}/output", op.outputs[0])
    return fetches


# ---------------------------------------------------------------------------------------------
# running the sources
# ---------------------------------------------------------------------------------------------
def run_graph(graph, sess, namer, inputs, outputs, feeds, x, all_layers):
    import numpy as np
    feed_dict = {inputs[0]: x}
    for name, value in feeds.items():
        feed_dict[graph.get_tensor_by_name(tensor_name(name))] = value
    for op in graph.get_operations():
        if op.type in ("Placeholder", "PlaceholderWithDefault") and op.get_attr("dtype").name == "bool":
            if op.outputs[0] not in feed_dict and op.type == "Placeholder":
                note(f"the bool placeholder '{op.name}' is fed false (inference)")
                feed_dict[op.outputs[0]] = False
    fetches = layer_tensors(graph, namer, inputs, outputs, feed_dict, all_layers)
    if len(outputs) == 1:
        fetches["output"] = outputs[0]
    else:
        for i, t in enumerate(outputs):
            fetches[f"output_{i}"] = t
    values = sess.run(fetches, feed_dict=feed_dict)
    recording = {"input": np.asarray(x, np.float32)}
    for key in fetches:
        recording[key] = np.asarray(values[key], np.float32)
    return recording


def session(graph):
    import tensorflow as tf
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf.compat.v1.Session(graph=graph, config=config)


def pick_inputs(graph, names, source, outputs):
    """The named inputs, or the one float placeholder the outputs depend on."""
    if names:
        return [graph.get_tensor_by_name(tensor_name(n)) for n in names]
    upstream = data_ancestors(outputs)
    floats = [op for op in graph.get_operations()
              if op.type == "Placeholder" and op.get_attr("dtype").is_floating and op in upstream]
    if len(floats) != 1:
        fail(source, f"{len(floats)} float placeholders ({', '.join(o.name for o in floats)}): name one with --inputs",
             64)
    return [floats[0].outputs[0]]


def record_meta_graph(source, args, x, feeds):
    import tensorflow as tf
    prefix = source[:-5] if source.endswith(".meta") else source
    meta = prefix + ".meta"
    if not os.path.exists(meta):
        fail(source, "no meta graph (expected PREFIX.meta beside the checkpoint)")
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        sess = session(graph)
        saver.restore(sess, prefix)
        variables = {op: op.name for op in graph.get_operations() if op.type in VARIABLE_OPS}
        return finish(graph, sess, variables, args, x, feeds, source)


def record_frozen(source, args, x, feeds):
    import tensorflow as tf
    graph_def = tf.compat.v1.GraphDef()
    with open(source, "rb") as f:
        graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
        variables = {}
        for op in graph.get_operations():
            if op.type == "Const":
                value = op.get_attr("value")
                if value.dtype in (1, 2, 14, 19) and tf.make_ndarray(value).size > 1:
                    variables[op] = op.name
        return finish(graph, session(graph), variables, args, x, feeds, source)


def finish(graph, sess, variables, args, x, feeds, source):
    outputs = parse_names(args.outputs)
    if not outputs:
        fail(source, "name the model's outputs with --outputs (op or op:N names)", 64)
    try:
        outs = [graph.get_tensor_by_name(tensor_name(n)) for n in outputs]
        inputs = pick_inputs(graph, parse_names(args.inputs), source, outs)
    except KeyError as error:
        fail(source, str(error))
    namer = Namer(variables, outs)
    return run_graph(graph, sess, namer, inputs, outs, feeds, x, args.all_layers)


def record_saved_model(source, args, x, feeds):
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    if os.path.exists(os.path.join(source, "keras_metadata.pb")):
        return record_tf_keras(source, args, x)
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(source, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    metas = [m for m in saved.meta_graphs if args.tag in m.meta_info_def.tags]
    if not metas:
        fail(source, f"no meta graph tagged '{args.tag}'")
    meta = metas[0]
    if args.signature not in meta.signature_def:
        fail(source, f"no signature '{args.signature}' (the SavedModel has: {', '.join(sorted(meta.signature_def))})")
    signature = meta.signature_def[args.signature]
    if len(meta.object_graph_def.nodes) == 0:
        # A TF1 builder / simple_save model: the signature names tensors of the graph itself.
        graph = tf.Graph()
        with graph.as_default():
            sess = session(graph)
            tf.compat.v1.saved_model.loader.load(sess, [args.tag], source)
            variables = {op: op.name for op in graph.get_operations() if op.type in VARIABLE_OPS}
            if not args.outputs:
                args.outputs = ",".join(signature.outputs[k].name for k in sorted(signature.outputs))
            if not args.inputs:
                args.inputs = ",".join(signature.inputs[k].name for k in sorted(signature.inputs))
            return finish(graph, sess, variables, args, x, feeds, source)
    return record_tf2(source, args, x)


def record_tf2(source, args, x):
    import tensorflow as tf
    from tensorflow.python.framework import convert_to_constants
    loaded = tf.saved_model.load(source, tags=[args.tag])
    function = loaded.signatures[args.signature]
    # The capture placeholders become the frozen graph's constants, under the placeholders' names.
    handles = {id(v.handle): v.name[:-2] if v.name.endswith(":0") else v.name for v in function.variables}
    captured = {internal.op.name: handles[id(external)]
                for external, internal in function.graph.captures if id(external) in handles}
    frozen = convert_to_constants.convert_variables_to_constants_v2(function)
    graph_def = frozen.graph.as_graph_def()
    input_names = [t.name for t in frozen.inputs]
    output_names = [t.name for t in frozen.outputs]
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
        variables = {graph.get_operation_by_name(n): v for n, v in captured.items()}
        inputs = [graph.get_tensor_by_name(n) for n in input_names]
        outputs = [graph.get_tensor_by_name(n) for n in output_names]
        namer = Namer(variables, outputs)
        return run_graph(graph, session(graph), namer, inputs, outputs, {}, x, args.all_layers)


def record_tf_keras(source, args, x):
    import tf_keras
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import record_keras
    model = tf_keras.models.load_model(source, compile=False)
    return record_keras.record(model, tf_keras, x, all_layers=args.all_layers)


def write(path, recording):
    import io
    import zipfile
    import numpy as np
    if path.endswith(".npz"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            for key, value in recording.items():
                info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                with archive.open(info, "w") as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(value), allow_pickle=False)
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
    else:
        import h5py
        with h5py.File(path, "w") as f:
            for key, value in recording.items():
                f.create_dataset(key, data=value, track_times=False)


def record(source, x, args):
    feeds = dict(parse_feed(f) for f in args.feed)
    if os.path.isdir(source):
        if not os.path.exists(os.path.join(source, "saved_model.pb")):
            fail(source, "a directory without saved_model.pb is not a SavedModel")
        return record_saved_model(source, args, x, feeds)
    if source.endswith(".meta") or os.path.exists(source + ".meta"):
        return record_meta_graph(source, args, x, feeds)
    if os.path.exists(source):
        return record_frozen(source, args, x, feeds)
    fail(source, "no such file")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("input")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--inputs")
    parser.add_argument("--outputs")
    parser.add_argument("--feed", action="append", default=[])
    parser.add_argument("--tag", default="serve")
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--all-layers", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np
    try:
        x = np.load(args.input, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as error:
        fail(args.input, f"cannot be read as .npy ({error})")
    recording = record(args.source, x, args)
    write(args.output, recording)
    for key, value in recording.items():
        print(f"{key}: {list(value.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
