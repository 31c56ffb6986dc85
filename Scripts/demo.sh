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
echo "The seed's TF1 checkpoint, with no spec: the architecture and epsilon come from its meta graph."
echo "\$ tfparity convert Fixtures/graphs/seed_cf1/model.ckpt -o $out/seed-graph.safetensors"
"$bin" convert Fixtures/graphs/seed_cf1/model.ckpt -o "$out/seed-graph.safetensors"
echo "\$ tfparity verify $out/seed-graph.safetensors Fixtures/graphs/seed_cf1/recording.npz"
"$bin" verify "$out/seed-graph.safetensors" Fixtures/graphs/seed_cf1/recording.npz
echo
echo "Fixtures/checkpoints/tf1 has no meta graph beside it; --graph names the seed graph's:"
echo "\$ tfparity convert Fixtures/checkpoints/tf1/model.ckpt --graph Fixtures/graphs/seed_cf1/model.ckpt.meta -o $out/tf1.safetensors"
"$bin" convert Fixtures/checkpoints/tf1/model.ckpt --graph Fixtures/graphs/seed_cf1/model.ckpt.meta \
    -o "$out/tf1.safetensors"
echo "\$ tfparity verify $out/tf1.safetensors Fixtures/seed/recording.npz"
"$bin" verify "$out/tf1.safetensors" Fixtures/seed/recording.npz
echo
echo "A recording made with epsilon outside the square root, as in the hand-written formula:"
echo "\$ tfparity verify $out/seed.safetensors Fixtures/diagnosis/eps-outside-sqrt.npz"
status=0
"$bin" verify "$out/seed.safetensors" Fixtures/diagnosis/eps-outside-sqrt.npz || status=$?
echo "(exit code $status: 1 means a parity mismatch, as expected here)"
