#!/usr/bin/env bash
# kill -9 at random moments during a large convert, N times in a row (default 50).
#
#   Scripts/kill_test.sh [N]
#
# After every kill the destination must be exactly one of: absent (first round, nothing written yet), the previous
# version (byte-identical), or a complete model that `tfparity inspect` reads. Anything else fails. SIGKILL cannot be
# caught, so the writer's `.out.safetensors.tmp-*` file may stay behind; those are counted, reported and removed
# (they are 0600, never the destination; the next write to the same destination also removes any that are a minute
# old and not locked by a live writer).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-50}"
python="${PYTHON:-/work/venv-tf/bin/python}"
[[ -x "$python" ]] || python=python3
swift build >/dev/null
bin="$(swift build --show-bin-path)/tfparity"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ~130 MB source: two dense layers of 4096 x 4096 float32 and a batch norm, with its spec.
"$python" - "$work" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
np.savez(f"{d}/big.npz", **{
    "l0/W": rng.standard_normal((4096, 4096), dtype=np.float32), "l0/b": np.zeros(4096, np.float32),
    "l1/W": rng.standard_normal((4096, 4096), dtype=np.float32), "l1/b": np.zeros(4096, np.float32),
    "bn/mean": np.zeros(4096, np.float32), "bn/var": np.ones(4096, np.float32)})
open(f"{d}/big.yaml", "w").write(
    "layers:\n  - {type: dense, name: l0, kernel: l0/W, bias: l0/b}\n"
    "  - {type: batchnorm, name: bn, epsilon: 0.001, mean: bn/mean, variance: bn/var}\n"
    "  - {type: dense, name: l1, kernel: l1/W, bias: l1/b}\n")
PY
out="$work/out/model.safetensors"
mkdir -p "$work/out"
start=$(date +%s%N)
"$bin" convert "$work/big.npz" --spec "$work/big.yaml" -o "$work/full.safetensors" >/dev/null
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "one full convert: ${full_ms} ms; killing at random moments in [0, $((full_ms * 12 / 10))] ms"

absent=0 previous=0 complete=0 strays=0
for ((i = 1; i <= rounds; i++)); do
  before=""
  [[ -f "$out" ]] && before="$work/before.safetensors" && cp "$out" "$before"
  "$bin" convert "$work/big.npz" --spec "$work/big.yaml" -o "$out" >/dev/null 2>&1 &
  pid=$!
  delay=$(( RANDOM * RANDOM % (full_ms * 12 / 10 + 1) ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ ! -e "$out" ]]; then
    [[ -z "$before" ]] || { echo "round $i: FAIL: the previous version disappeared" >&2; exit 1; }
    state=absent; absent=$((absent + 1))
  elif [[ -n "$before" ]] && cmp -s "$out" "$before"; then
    state=previous; previous=$((previous + 1))
  elif "$bin" inspect "$out" >/dev/null 2>&1 && cmp -s "$out" "$work/full.safetensors"; then
    state=complete; complete=$((complete + 1))
  else
    echo "round $i: FAIL: $out is neither absent, the previous version, nor a complete model" >&2
    exit 1
  fi
  shopt -s nullglob
  left=("$work"/out/.model.safetensors.tmp-*)
  shopt -u nullglob
  strays=$((strays + ${#left[@]}))
  rm -f "${left[@]}"
  others=$(find "$work/out" -mindepth 1 ! -name model.safetensors | wc -l)
  [[ "$others" -eq 0 ]] || { echo "round $i: FAIL: unexpected files in the output directory" >&2; exit 1; }
  printf 'round %2d: killed after %4d ms: %s\n' "$i" "$delay" "$state"
done
echo "PASSED $rounds rounds: absent $absent, previous $previous, complete $complete; stray temp files removed: $strays"
