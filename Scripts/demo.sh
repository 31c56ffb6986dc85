#!/usr/bin/env bash
# The main job: install what is missing, build, convert the bundled seed fixture, verify it, print the parity table.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/setup.sh
ensure_system_packages

swift build -c release --static-swift-stdlib --product tfparity >&2
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/tfparity"
out=".demo"
mkdir -p "$out"

echo "\$ tfparity convert Fixtures/seed/params.npz --spec Fixtures/seed/spec.yaml -o $out/seed.safetensors"
"$bin" convert Fixtures/seed/params.npz --spec Fixtures/seed/spec.yaml -o "$out/seed.safetensors"
echo
echo "\$ tfparity inspect $out/seed.safetensors"
"$bin" inspect "$out/seed.safetensors"
echo
echo "\$ tfparity verify $out/seed.safetensors Fixtures/seed/recording.npz --end-to-end"
"$bin" verify "$out/seed.safetensors" Fixtures/seed/recording.npz --end-to-end
echo
echo "A recording made with epsilon outside the square root, as in the hand-written formula:"
echo "\$ tfparity verify $out/seed.safetensors Fixtures/diagnosis/eps-outside-sqrt.npz"
status=0
"$bin" verify "$out/seed.safetensors" Fixtures/diagnosis/eps-outside-sqrt.npz || status=$?
echo "(exit code $status: 1 means a parity mismatch, as expected here)"
