#!/usr/bin/env bash
# Integration check on real architectures (issue 14): every keras.applications family of the issue's table
# (DenseNet121, EfficientNetB0, EfficientNetV2B0, ConvNeXtTiny, InceptionV3, InceptionResNetV2, MobileNet,
# MobileNetV2, MobileNetV3Small, NASNetMobile, RegNetX002, RegNetY002, ResNet50, ResNet50V2, VGG16, Xception) and a
# transfer-learning model (TransferResNet50: ResNet50(include_top=False) nested in an outer model, GAP + Dense(5)),
# in Keras 3 (.keras) and Keras 2 (tf_keras .h5), weights=None, BN statistics calibrated on 16 images
# (integration_keras_apps.py build --calibration-batch), each residual branch's end damped by 0.1 (--damp-residual),
# 64x64 inputs
# (96x96 for InceptionV3, InceptionResNetV2, Xception), recorded in inference mode by Scripts/record_keras.py; then
# per model and flavour: tfparity convert, verify (local checks, default tolerance), verify --end-to-end
# --atol 1e-3 --rtol 1e-3. Prints `family | flavour | convert | local | end-to-end | note`; a failure is a row,
# never the end of the run. Models are cached in .build/apps/<family>/ (never committed).
#
#   Scripts/integration_keras_apps.sh                              # every family, both flavours
#   Scripts/integration_keras_apps.sh MobileNetV3Small ConvNeXtTiny  # a subset (or TFPARITY_APPS=A,B)
#   Scripts/integration_keras_apps.sh --flavours keras2 RegNetX002
#   Scripts/integration_keras_apps.sh --onnx ResNet50              # also tfparity export --onnx + onnxruntime
#   Scripts/integration_keras_apps.sh --survey                     # also rewrite Scripts/apps_survey.json
#   Scripts/integration_keras_apps.sh --rebuild VGG16              # rebuild cached models
#
# Environment:
#   TFPARITY_PYTHON=/path/to/python   a Python with Scripts/requirements.txt installed (e.g. /work/venv-tf/bin/python);
#                                      without it a venv is made in .build/integration/venv from Scripts/requirements.txt
#   TFPARITY_ONNX_PYTHON=/path/to/python  with --onnx: the Python running Scripts/check_onnx.py (onnx, onnxruntime);
#                                      default .build/venv-check/bin/python (Scripts/test.sh makes it), else TFPARITY_PYTHON
#   TFPARITY_BIN=/path/to/tfparity    use this binary instead of building the release one
#   TFPARITY_APPS=A,B                 the families (when none are given as arguments)
#   TFPARITY_PYTHON_ONLY=1            build and record only (no swift build, convert or verify)
#   TFPARITY_E2E_ATOL/RTOL            the end-to-end tolerance (default 1e-3)
#
# Exit status: 0 when every row converts and passes both verifies, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
work=".build/integration"
cache=".build/apps"
mkdir -p "$work" "$cache"

models=()
flavours="keras3,keras2"
onnx=""
survey=""
rebuild=""
while (($#)); do
  case "$1" in
    --flavours) flavours="$2"; shift 2 ;;
    --flavours=*) flavours="${1#*=}"; shift ;;
    --onnx) onnx="--onnx"; shift ;;
    --survey) survey=1; shift ;;
    --rebuild) rebuild="--rebuild"; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) models+=("$1"); shift ;;
  esac
done
sel=()
if ((${#models[@]})); then
  sel=(--models "$(IFS=,; echo "${models[*]}")")
fi

py="${TFPARITY_PYTHON:-}"
if [[ -z "$py" ]]; then
  py="$work/venv/bin/python"
  if [[ ! -x "$py" ]] || ! "$py" -c "import tensorflow, keras, tf_keras, h5py" >/dev/null 2>&1; then
    echo "== creating $work/venv from Scripts/requirements.txt"
    "$(command -v python3.11 || command -v python3)" -m venv "$work/venv"
    "$work/venv/bin/pip" install -q -r Scripts/requirements.txt
  fi
fi
echo "== python: $py ($("$py" -c 'import tensorflow as tf, keras, tf_keras; print("tensorflow", tf.__version__, "keras", keras.__version__, "tf_keras", tf_keras.__version__)' 2>/dev/null))"

echo "== build and record (cache: $cache)"
"$py" Scripts/integration_keras_apps.py build "${sel[@]}" --flavours "$flavours" --cache "$cache" $rebuild
build_status=$?

if [[ -n "${TFPARITY_PYTHON_ONLY:-}" ]]; then
  echo "== TFPARITY_PYTHON_ONLY: convert and verify skipped"
  exit "$build_status"
fi

bin="${TFPARITY_BIN:-}"
if [[ -z "$bin" ]]; then
  source Scripts/lib/setup.sh
  ensure_system_packages
  echo "== swift build -c release"
  swift build -c release --static-swift-stdlib --product tfparity || exit 1
  bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/tfparity"
fi

echo "== tfparity: $bin"
onnx_python=()
if [[ -n "$onnx" ]]; then
  opy="${TFPARITY_ONNX_PYTHON:-}"
  [[ -z "$opy" && -x .build/venv-check/bin/python ]] && opy=".build/venv-check/bin/python"
  opy="${opy:-$py}"
  echo "== onnx check python: $opy ($("$opy" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)' 2>/dev/null || echo "no onnx/onnxruntime"))"
  onnx_python=(--onnx-python "$opy")
fi
"$py" Scripts/integration_keras_apps.py run "${sel[@]}" --flavours "$flavours" --cache "$cache" --bin "$bin" $onnx \
  "${onnx_python[@]}"
status=$?
if [[ -n "$survey" ]]; then
  "$py" Scripts/integration_keras_apps.py survey "${sel[@]}" --flavours "$flavours" --cache "$cache"
fi
((build_status == 0)) || status=1
exit "$status"
