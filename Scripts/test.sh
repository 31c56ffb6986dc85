#!/usr/bin/env bash
# Installs what is missing and runs every test: a cross-check of a converted model with the reference Python
# safetensors package, then the Swift tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/setup.sh
ensure_system_packages

swift build --build-tests

# The model file must load in the reference safetensors package with every value equal to the source.
venv=".build/venv-check"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "numpy==2.4.6" "safetensors==0.8.0"
fi
bin="$(swift build --show-bin-path)/tfparity"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" convert Fixtures/seed/params.npz --spec Fixtures/seed/spec.yaml -o "$tmp/seed.safetensors" >/dev/null
"$venv/bin/python" Scripts/check_model.py "$tmp/seed.safetensors" --source Fixtures/seed/params.npz \
  --spec Fixtures/seed/spec.json

swift test
