#!/usr/bin/env python3
"""Builds keras.applications models for Scripts/integration_keras_apps.sh (the Python half).

    python Scripts/integration_keras_apps.py ResNet50 --out .build/integration [--seed 0]

Writes OUT/<Model>.h5 (Keras 3 legacy HDF5, `model.save("x.h5")`) and OUT/<Model>.input.npy (a batch of two
224x224x3 images, N(0, 1), seeded). The model is built with weights=None (random initial weights, nothing is
downloaded), then every BatchNormalization layer gets non-trivial, seeded parameters:

  * moving_mean     = the channel's real mean on a calibration batch + N(0, 0.2) * its real std
  * moving_variance = the channel's real variance * U(0.5, 2); in one channel per layer it is set below the
                      layer's epsilon (0.3 * epsilon), with that channel's gamma scaled down so the output
                      keeps its size (a deep net with arbitrary statistics overflows to inf/NaN)
  * gamma           = U(0.5, 1.5), beta = U(-0.5, 0.5)

The statistics are measured on a separate calibration batch, layer after layer in topological order (each BN
sees its already-set upstream BNs), so activations stay of order one through ResNet50's 53 BN layers.
Prints the sizes, parameter counts and timings.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=["ResNet50", "MobileNetV2"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

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
    bns = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    for layer in bns:
        probe = keras.Model(model.inputs, layer.input)
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
        moving_var[k] = 0.3 * eps
        gamma[k] *= np.sqrt(moving_var[k] + eps) / np.sqrt(var[k] + eps)
        names = [w.name for w in layer.weights]
        values = {"gamma": gamma, "beta": beta, "moving_mean": moving_mean, "moving_variance": moving_var}
        layer.set_weights([values[n].astype(np.float32) for n in names])
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
    print(f"{args.model}: {len(model.layers)} layers, {len(bns)} BatchNormalization, "
          f"{model.count_params():,} parameters; built in {t_build:.1f}s, BN statistics set in {t_calib:.1f}s, "
          f"saved {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {t_save:.1f}s; "
          f"output {y.shape} range [{y.min():.3g}, {y.max():.3g}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
