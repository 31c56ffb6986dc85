#!/usr/bin/env python3
"""The onnxruntime side of Scripts/bench.sh's forward pair (issue 20), run by the bench's own venv
(.build/bench/venv-onnx: tensorflow-cpu, keras, tf2onnx, onnxruntime, pinned in Scripts/bench.sh).

    python Scripts/bench/onnxruntime_pair.py export MODEL.keras INPUT.npy OUT.onnx [--opset 17]
    python Scripts/bench/onnxruntime_pair.py time MODEL.onnx INPUT.npy [--calls 7] [--threads 2]

export  loads the Keras 3 model, traces it as a tf.function at the input's shape (inference mode) and converts it
        with tf2onnx.convert.from_graph_def (variables and captured constants frozen), then runs the export once in onnxruntime against Keras' own output; prints
        one JSON line {"seconds", "opset", "tf2onnx", "max_abs_vs_keras"}. Run once per model: Scripts/bench.sh
        keeps the .onnx.
time    one onnxruntime InferenceSession (intra-op threads THREADS, one inter-op thread, sequential execution, every
        graph optimisation), called CALLS times on the batch; prints one JSON line {"first_ms", "median_ms",
        "calls"}: median_ms is the median of the second call onward, the figure set beside tfparity's
        timings.forward_ms.
"""
import argparse
import json
import os
import sys
import time

from timing import time_calls

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def export(args):
    import numpy as np
    import tensorflow as tf
    import keras
    import tf2onnx

    x = np.load(args.input).astype(np.float32)
    model = keras.models.load_model(args.model, compile=False)
    spec = (tf.TensorSpec(x.shape, tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def forward(batch):
        return model(batch, training=False)

    start = time.perf_counter()
    tmp = args.out + ".tmp"
    # Frozen first: what the function captures (variables, and constants such as a Normalization layer's mean and
    # variance, which from_function would leave as graph inputs) becomes constants of the graph.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(forward.get_concrete_function())
    tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=args.opset, output_path=tmp)
    seconds = time.perf_counter() - start
    import onnxruntime as ort

    session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    error = float(np.max(np.abs(got - np.asarray(forward(x)))))
    os.replace(tmp, args.out)
    print(json.dumps({"seconds": seconds, "opset": args.opset, "tf2onnx": tf2onnx.__version__,
                      "max_abs_vs_keras": error}))


def time_session(args):
    import numpy as np
    import onnxruntime as ort

    x = np.load(args.input).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    print(json.dumps(time_calls(lambda: session.run(None, {name: x}), args.calls)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("model")
    e.add_argument("input")
    e.add_argument("out")
    e.add_argument("--opset", type=int, default=17)
    t = sub.add_parser("time")
    t.add_argument("model")
    t.add_argument("input")
    t.add_argument("--calls", type=int, default=7)
    t.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    return {"export": export, "time": time_session}[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
