#!/usr/bin/env bash
# Builds one libFuzzer target of Fuzz/ (with the fuzzer and address sanitizers) and runs it for SECONDS.
#
#   Scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
#   TARGET: npy | npz | safetensors | checkpoint | spec | model-graph | keras-config  (or the product name, e.g.
#           FuzzNPZ); hdf5-probe is not a libFuzzer target: it runs Scripts/fuzz_hdf5_probe.sh for SECONDS
#
# Seeds come from Fixtures/ and Fuzz/seeds/ (architecture documents extracted from Fixtures/ by
# Scripts/fuzz_seeds.py); the growing corpus lives in .build/fuzz-corpus/TARGET and crash inputs land in
# Fuzz/findings/TARGET/ (copy each into Fuzz/regressions/TARGET/ once fixed: a Swift test replays that folder).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/setup.sh
ensure_system_packages

target="${1:?usage: Scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:?usage: Scripts/fuzz.sh TARGET SECONDS}"
shift 2
case "$target" in
  npy | FuzzNPY) product=FuzzNPY name=npy seeds=(Fixtures/readers/npy/*.npy Fixtures/readers/npy/tree/*/*.npy) ;;
  npz | FuzzNPZ) product=FuzzNPZ name=npz seeds=(Fixtures/readers/npy/*.npz Fixtures/seed/params.npz) ;;
  safetensors | FuzzSafeTensors)
    product=FuzzSafeTensors name=safetensors seeds=(Fixtures/readers/safetensors/*.safetensors) ;;
  checkpoint | FuzzCheckpoint)
    product=FuzzCheckpoint name=checkpoint
    seeds=(Fixtures/checkpoints/{tf1,tf2,dtypes,sharded,partitioned}/*.index Fixtures/checkpoints/corrupt/*/*.index) ;;
  spec | FuzzSpec)
    product=FuzzSpec name=spec seeds=(Fixtures/seed/spec.* Fixtures/checkpoints/tf2/spec.yaml Fuzz/seeds/spec/*) ;;
  model-graph | FuzzModelGraph) product=FuzzModelGraph name=model-graph seeds=(Fuzz/seeds/model-graph/*) ;;
  keras-config | FuzzKerasConfig) product=FuzzKerasConfig name=keras-config seeds=(Fuzz/seeds/keras-config/*) ;;
  hdf5-probe | FuzzHDF5Probe) exec Scripts/fuzz_hdf5_probe.sh --seconds "$seconds" "$@" ;;
  *)
    echo "error: unknown fuzz target '$target' (npy, npz, safetensors, checkpoint, spec, model-graph, keras-config," \
      "hdf5-probe)" >&2
    exit 64 ;;
esac

# libFuzzer ships with the Swift toolchain on Linux; nothing else to install.
# Only the fuzz products: the main package's tfparity executable is not needed here (and ld.gold cannot link it
# with the sanitizers); lld links these.
# swiftc keeps only the last `-sanitize=` it is given, and SwiftPM passes one per `--sanitize`: without the combined
# flag last, the Swift code gets AddressSanitizer but no coverage instrumentation, and libFuzzer fuzzes blind
# ("no interesting inputs were found"). SwiftPM's own two flags still select the runtimes it links.
flags=(-c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
for fuzz_product in FuzzNPY FuzzNPZ FuzzSafeTensors FuzzCheckpoint FuzzSpec FuzzModelGraph FuzzKerasConfig; do
  (cd Fuzz && swift build "${flags[@]}" --product "$fuzz_product" >&2)
done
binary="$(cd Fuzz && swift build "${flags[@]}" --show-bin-path)/$product"

root="$PWD"
corpus="$root/.build/fuzz-corpus/$name"
findings="$root/Fuzz/findings/$name"
# `-jobs=N` makes libFuzzer write fuzz-<job>.log into the working directory: one per target, so runs of two
# targets side by side keep their logs apart.
logs="$root/.build/fuzz-logs/$name"
mkdir -p "$corpus" "$findings" "$logs"
for seed in "${seeds[@]}"; do
  [[ -f "$seed" ]] && cp -n "$seed" "$corpus/seed-$(basename "$(dirname "$seed")")-$(basename "$seed")" || true
done
if [[ -d "Fuzz/regressions/$name" ]]; then
  cp -n Fuzz/regressions/"$name"/* "$corpus/" 2>/dev/null || true
fi

cd "$logs"
# Reader bugs show up as Swift traps (SIGILL/SIGTRAP) or ASan reports; libFuzzer saves the input either way.
# -rss_limit_mb: a reader that allocates what the file merely claims is a finding too.
exec "$binary" "$corpus" \
  -dict="$root/Fuzz/dictionaries/$name.dict" \
  -max_total_time="$seconds" \
  -max_len=65536 \
  -rss_limit_mb=1024 \
  -malloc_limit_mb=512 \
  -timeout=10 \
  -print_final_stats=1 \
  -artifact_prefix="$findings/" \
  "$@"
