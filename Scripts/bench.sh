#!/usr/bin/env bash
# Benchmarks tfparity against what a user does today with TensorFlow, h5py and safetensors (issue 5) and against
# onnxruntime (issue 20), on this machine, and prints the ratios of issue 20's targets, then the details: medians,
# ratios and peak memory. Not a test: it times, it does not judge (every ratio comes from commands run side by side,
# alternating, in the same run).
#
#   Scripts/bench.sh                 # 5 alternating rounds
#   BENCH_RUNS=7 Scripts/bench.sh    # more rounds
#   BENCH_PAIRS=convert Scripts/bench.sh   # only some pairs (convert, verify, startup, onnxruntime)
#
# It does its own setup: a Python with TensorFlow (TFPARITY_PYTHON=/path/to/python to reuse one, e.g.
# /work/venv-tf/bin/python; else a venv in .build/bench/venv from Scripts/requirements.txt), the release build,
# ResNet50 and MobileNetV2 (keras.applications, weights=None, random BN statistics, .h5, a recorded batch of two
# 224x224 images; made once by Scripts/integration_keras_apps.py and Scripts/record_keras.py) and the seed MLP.
# Each round runs every command of every pair once, alternating tfparity and its baseline; every command runs
# under Scripts/bench/measure.py (wall from the clock; CPU and peak RSS from wait4, to the microsecond). Raw numbers: .build/bench/results.tsv.
#
# Pairs:
#   convert   tfparity convert ResNet50.h5  |  h5py reads every dataset + safetensors.numpy.save_file  |  cp
#   verify    tfparity verify (the default local checks: every BN layer's pre_bn and post_bn), and
#             tfparity verify --end-to-end (also the whole model from `input`, every recorded tensor compared again)
#             |  TensorFlow: load_model, probe model over every BN input/output, predict, compare
#   forward   tfparity's second call in one process (`tfparity __time-forward MODEL INPUT --calls 3`, the output alone;
#             verify --end-to-end's cold timings.forward_ms, which also keeps every value a check reads, beside it)  |
#             TensorFlow's second model call in process
#   startup   tfparity verify of the seed MLP fixture, end to end  |  process start-up (tfparity --version)
#   onnxruntime  tfparity's engine timed as onnxruntime is (`tfparity __time-forward MODEL INPUT --calls 7`: one
#             process, the model's output only, the median of the second call onward; verify --end-to-end's
#             timings.forward_ms, one cold pass that also keeps every value a check reads, is shown beside it)  |
#             onnxruntime 1.32 on tf2onnx's export of the same model, one
#             session with 2 intra-op threads, the median of its second call onward on the same batch; for the
#             Keras 3 models of Scripts/integration_keras_apps.py build (BENCH_APPS, default MobileNetV2, ResNet50V2,
#             DenseNet121, ResNet50, EfficientNetB0, Xception: 64x64, Xception 96x96, batch 2). Their cache is
#             TFPARITY_APPS_CACHE (e.g. /work/apps) when it holds them, else .build/apps (built there when missing).
#             onnxruntime and tf2onnx run in a venv of their own, .build/bench/venv-onnx, from
#             Scripts/bench/requirements-onnxruntime.txt (TensorFlow, keras, tf2onnx, onnxruntime, onnx, and the numpy
#             and protobuf they agree on); tf2onnx exports each model once (.build/bench/apps/<model>.onnx, redone
#             when the .keras file is newer).
#   baseline  with TFPARITY_BASELINE=/path/to/an/earlier/tfparity (a build of an earlier commit, e.g. the release
#             before issue 17's verdict): its verify of the same models (converted by that binary) beside ours, both
#             with their default rule, for issue 17's "verify at most 1.3x today's" (ratios in the details table)
# and, to show where convert's time goes: convert without the libhdf5 isolation child (TFPARITY_HDF5_ISOLATION=0),
# the isolation child alone (__probe-hdf5), process start-up (--version), and the SHA-256 of the source alone
# (`openssl dgst -sha256`, the provenance digest's own cost), which with cp makes convert's floor.
set -euo pipefail
cd "$(dirname "$0")/.."
work=".build/bench"
runs="${BENCH_RUNS:-5}"
pairs="${BENCH_PAIRS:-convert verify startup onnxruntime}"
models=(ResNet50 MobileNetV2)
read -r -a apps <<<"${BENCH_APPS:-MobileNetV2 ResNet50V2 DenseNet121 ResNet50 EfficientNetB0 Xception}"
mkdir -p "$work"
rm -f "$work/kernels.json"
wants() { [[ " $pairs " == *" $1 "* ]]; }

py="${TFPARITY_PYTHON:-}"
if [[ -z "$py" ]]; then
  py="$work/venv/bin/python"
  if [[ ! -x "$py" ]] || ! "$py" -c "import tensorflow, keras, h5py, safetensors" >/dev/null 2>&1; then
    echo "== creating $work/venv from Scripts/requirements.txt"
    "$(command -v python3.11 || command -v python3)" -m venv "$work/venv"
    "$work/venv/bin/pip" install -q -r Scripts/requirements.txt
  fi
fi
export TF_CPP_MIN_LOG_LEVEL=3
echo "== python: $py"

source Scripts/lib/setup.sh
ensure_system_packages
# The convert pair's floor with the digest: OpenSSL's own SHA-256 of the source (the libcrypto tfparity opens).
if wants convert && ! command -v openssl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi
echo "== swift build -c release --static-swift-stdlib (the Swift runtime linked in: a faster start)"
swift build -c release --static-swift-stdlib --product tfparity 2>&1 | tail -1
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/tfparity"

if wants convert || wants verify; then
  for m in "${models[@]}"; do
    if [[ ! -f "$work/$m.recording.h5" ]]; then
      echo "== making $m"
      "$py" Scripts/integration_keras_apps.py "$m" --out "$work"
      "$py" Scripts/record_keras.py "$work/$m.h5" "$work/$m.input.npy" -o "$work/$m.recording.h5"
    fi
    rm -f "$work/$m.safetensors"
    "$bin" convert "$work/$m.h5" -o "$work/$m.safetensors" >/dev/null
    if [[ -n "${TFPARITY_BASELINE:-}" ]]; then
      rm -f "$work/$m.baseline.safetensors"
      "$TFPARITY_BASELINE" convert "$work/$m.h5" -o "$work/$m.baseline.safetensors" >/dev/null
    fi
  done
fi
rm -f "$work/seed.safetensors"
"$bin" convert Fixtures/seed/params.npz --spec Fixtures/seed/spec.yaml -o "$work/seed.safetensors" >/dev/null

if wants onnxruntime; then
  onnxpy="$work/venv-onnx/bin/python"
  # Remade when the pins change (the venv keeps a copy of the file it was made from).
  if [[ ! -x "$onnxpy" ]] || ! cmp -s Scripts/bench/requirements-onnxruntime.txt "$work/venv-onnx/requirements.txt"; then
    echo "== creating $work/venv-onnx from Scripts/bench/requirements-onnxruntime.txt"
    rm -rf "$work/venv-onnx"
    "$(command -v python3.11 || command -v python3)" -m venv "$work/venv-onnx"
    "$work/venv-onnx/bin/pip" install -q --no-deps -r Scripts/bench/requirements-onnxruntime.txt
    cp Scripts/bench/requirements-onnxruntime.txt "$work/venv-onnx/requirements.txt"
  fi
  # The models: a cache that holds them all (the lead's /work/apps once its READY file is there), else our own.
  cache="${TFPARITY_APPS_CACHE:-}"
  have_all() { local m; for m in "${apps[@]}"; do [[ -f "$1/$m/keras3.recording.h5" ]] || return 1; done; }
  if [[ -z "$cache" ]] || ! have_all "$cache"; then
    [[ -n "$cache" ]] && echo "== $cache does not hold every model of BENCH_APPS yet: using .build/apps"
    cache=".build/apps"
    if ! have_all "$cache"; then
      echo "== building ${apps[*]} (Keras 3, Scripts/integration_keras_apps.py build) into $cache"
      "$py" Scripts/integration_keras_apps.py build --models "$(IFS=,; echo "${apps[*]}")" --flavours keras3 \
        --cache "$cache"
    fi
  fi
  echo "== apps from $cache"
  mkdir -p "$work/apps"
  timed=()
  for m in "${apps[@]}"; do
    rm -f "$work/apps/$m.safetensors"
    "$bin" convert "$cache/$m/keras3.keras" -o "$work/apps/$m.safetensors" >/dev/null
    if [[ ! "$work/apps/$m.onnx" -nt "$cache/$m/keras3.keras" ]]; then
      echo "== tf2onnx: $m"
      "$onnxpy" Scripts/bench/onnxruntime_pair.py export "$cache/$m/keras3.keras" "$cache/$m/input.npy" \
        "$work/apps/$m.onnx" 2>"$work/tf2onnx-$m.log" | tail -1 ||
        echo "   tf2onnx or onnxruntime failed on $m (see $work/tf2onnx-$m.log): not timed"
    fi
    [[ -f "$work/apps/$m.onnx" ]] && timed+=("$m")
  done
fi

results="$work/results.tsv"
printf 'name\tround\twall_s\tcpu_s\tpeak_rss_kb\tforward_ms\texit\n' >"$results"

# measure NAME ROUND COMMAND...: one run under Scripts/bench/measure.py (wall time from the clock, CPU time and peak
# RSS from wait4's rusage, to the microsecond: GNU time's 10 ms steps made a 40 ms `cp` read as 20-40 ms); stdout kept
# in $work/last.out
measure() {
  local name=$1 round=$2
  shift 2
  local rc=0
  python3 Scripts/bench/measure.py "$work/time.txt" "$@" >"$work/last.out" 2>"$work/last.err" || rc=$?
  local forward=""
  case "$name" in
    tfparity-verify-*) forward=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings"].get("forward_ms", ""))' "$work/last.out" 2>/dev/null || true) ;;
    tf-forward-* | tfparity-warm-*) forward=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["second_ms"])' "$work/last.out" 2>/dev/null || true) ;;
    onnxruntime-* | tfparity-forward-*) forward=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["median_ms"])' "$work/last.out" 2>/dev/null || true) ;;
  esac
  case "$name" in
    tfparity-forward-* | tfparity-warm-*) tail -n 1 "$work/last.out" >"$work/kernels.json" 2>/dev/null || true ;;
  esac
  local wall cpu rss code
  read -r wall cpu rss code <"$work/time.txt"
  [[ "$rc" == 0 ]] || rc=${code:-$rc}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$wall" "$cpu" "$rss" "$forward" "$rc" >>"$results"
}

echo "== $runs rounds (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq 1 "$runs"); do
  echo "   round $round"
  rm -f "$work/out.safetensors" "$work/out-py.safetensors" "$work/copy.h5"
  if wants convert; then
  measure tfparity-convert "$round" "$bin" convert "$work/ResNet50.h5" -o "$work/out.safetensors"
  measure python-convert "$round" "$py" Scripts/bench/baselines.py convert "$work/ResNet50.h5" "$work/out-py.safetensors"
  measure cp "$round" cp "$work/ResNet50.h5" "$work/copy.h5"
  measure sha256 "$round" openssl dgst -sha256 "$work/ResNet50.h5"
  # Where convert's time goes: the same convert without the libhdf5 isolation child, the child alone, process start.
  rm -f "$work/out.safetensors"
  measure tfparity-convert-unisolated "$round" env TFPARITY_HDF5_ISOLATION=0 "$bin" convert "$work/ResNet50.h5" \
    -o "$work/out.safetensors"
  measure tfparity-probe "$round" "$bin" __probe-hdf5 "$work/ResNet50.h5"
  measure tfparity-start "$round" "$bin" --version
  fi
  wants verify && for m in "${models[@]}"; do
    measure "tfparity-check-$m" "$round" "$bin" verify "$work/$m.safetensors" "$work/$m.recording.h5" --quiet
    if [[ -n "${TFPARITY_BASELINE:-}" ]]; then
      measure "baseline-check-$m" "$round" "$TFPARITY_BASELINE" verify "$work/$m.baseline.safetensors" \
        "$work/$m.recording.h5" --quiet
    fi
    measure "tfparity-verify-$m" "$round" "$bin" verify "$work/$m.safetensors" "$work/$m.recording.h5" \
      --end-to-end --atol 1e-3 --rtol 1e-3 --format json --quiet
    measure "tf-verify-$m" "$round" "$py" Scripts/bench/baselines.py verify "$work/$m.h5" "$work/$m.recording.h5"
    measure "tf-forward-$m" "$round" "$py" Scripts/bench/baselines.py forward "$work/$m.h5" "$work/$m.input.npy" --calls 3
    # Like for like with TensorFlow's second call: the engine's second call in one process, the output alone.
    measure "tfparity-warm-$m" "$round" "$bin" __time-forward "$work/$m.safetensors" "$work/$m.input.npy" --calls 3
  done
  wants startup && for _ in 1 2 3; do
    measure tfparity-verify-seed "$round" "$bin" verify "$work/seed.safetensors" Fixtures/seed/recording.npz --quiet
    measure tfparity-start "$round" "$bin" --version
  done
  wants onnxruntime && for m in "${timed[@]}"; do
    measure "tfparity-forward-app-$m" "$round" "$bin" __time-forward "$work/apps/$m.safetensors" \
      "$cache/$m/input.npy" --calls 7
    measure "tfparity-verify-app-$m" "$round" "$bin" verify "$work/apps/$m.safetensors" \
      "$cache/$m/keras3.recording.h5" --end-to-end --atol 1e-3 --rtol 1e-3 --format json --quiet
    measure "onnxruntime-$m" "$round" "$onnxpy" Scripts/bench/onnxruntime_pair.py time "$work/apps/$m.onnx" \
      "$cache/$m/input.npy" --calls 7 --threads 2
  done
done

echo
echo "== results (medians of $runs rounds; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
# Which of the engine's kernels ran (the last __time-forward line names them).
if [[ -s "$work/kernels.json" ]]; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("   engine: matrix product %s, element-wise kernels %s" % (d["matrix_product"], d["vector_kernels"]))' "$work/kernels.json" || true
fi
BENCH_APPS="${apps[*]}" python3 Scripts/bench/table.py "$results"
