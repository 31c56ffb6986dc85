#!/usr/bin/env bash
# Installs what is missing and runs every test: a cross-check of a converted model with the reference Python
# safetensors package, then the Swift tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/setup.sh
ensure_system_packages

swift build --build-tests

# The model file must load in the reference safetensors package with every value equal to the source; exported ONNX
# models must pass onnx's checker and run in onnxruntime (Scripts/check_onnx.py, called by ONNXFormatTests and
# ONNXExportTests).
# Reinstalled when the pins change (the stamp holds the pins last installed).
venv=".build/venv-check"
pins=("numpy==2.4.6" "safetensors==0.8.0" "onnx==1.23.2" "onnxruntime==1.32.0" "protobuf==7.36.2")
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.pins" 2>/dev/null)" != "${pins[*]}" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${pins[@]}"
  echo "${pins[*]}" >"$venv/.pins"
fi
bin="$(swift build --show-bin-path)/tfparity"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" convert Fixtures/seed/params.npz --spec Fixtures/seed/spec.yaml -o "$tmp/seed.safetensors" >/dev/null
"$venv/bin/python" Scripts/check_model.py "$tmp/seed.safetensors" --source Fixtures/seed/params.npz \
  --spec Fixtures/seed/spec.json
# The seed exported as ONNX must pass onnx's full check and reproduce TF's recorded output in onnxruntime.
"$bin" export "$tmp/seed.safetensors" --onnx "$tmp/seed.onnx" --recording Fixtures/seed/recording.npz >/dev/null
"$venv/bin/python" Scripts/check_onnx.py "$tmp/seed.onnx" --expect Fixtures/seed/recording.npz

# The venv is there now: the onnxruntime tests (ONNXCheck) fail rather than skip if it cannot be used.
ONNX_CHECK_REQUIRED=1 swift test
