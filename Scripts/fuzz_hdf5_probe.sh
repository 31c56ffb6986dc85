#!/usr/bin/env bash
# FuzzHDF5Probe: a bounded, deterministic mutation loop over Fixtures/' HDF5 files, run through the built tfparity
# with the HDF5 isolation child on (`__probe-hdf5`), checking how the parent classifies whatever the child does.
#
#   Scripts/fuzz_hdf5_probe.sh [--runs N] [--seconds S] [--seed K]     (Scripts/fuzz.sh hdf5-probe SECONDS)
#
# Each mutant is also read by the pure-Swift reader alone (`__catalog-hdf5`: exit 0 with a catalog or 4 when it hands
# the file to libhdf5, nothing else), and a catalog it makes is compared byte for byte with the libhdf5 child's.
# Not a libFuzzer target: the parent's side (HDF5Probe in the tfparity executable) is reached only by running the
# tool, and each input costs a process and its probe child (~0.1 s), far too slow for in-process fuzzing. Every
# mutant (bit flips, interesting bytes and 8-byte integers, truncation, copied blocks) is read by `inspect` and, for
# the files that make a model, by `convert`; each run must exit 0, or 2 with exactly one stderr line starting with
# `error: ` and nothing left beside the mutant, within the time allowed (the probe gets TFPARITY_HDF5_PROBE_TIMEOUT=5 s). Anything else (a crash of the
# parent, a hang, another exit code, a second line, a traceback) is a finding, saved in Fuzz/findings/hdf5-probe/
# with the command that failed. The same --seed and --runs always make the same mutants.
# TFPARITY_BINARY names the tfparity to run (default: .build/debug/tfparity, built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/lib/setup.sh
ensure_system_packages

runs=1000000 seconds=0 seed=1
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -jobs=* | -workers=*) shift ;;  # libFuzzer flags Scripts/fuzz.sh passes on: one process at a time here
    *) echo "error: unknown argument '$1' (--runs N, --seconds S, --seed K)" >&2; exit 64 ;;
  esac
done
if [[ -z "${TFPARITY_BINARY:-}" ]]; then
  swift build --product tfparity >&2
  TFPARITY_BINARY="$(swift build --show-bin-path)/tfparity"
fi

exec python3 - "$TFPARITY_BINARY" "$runs" "$seconds" "$seed" <<'PY'
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

binary, runs, seconds, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
findings = "Fuzz/findings/hdf5-probe"

# Seed file → the commands run on each of its mutants ({file}: the mutant, {out}: an output path).
inspect = ["inspect", "{file}"]
convert = ["convert", "{file}", "-o", "{out}", "--quiet"]
seeds = {
    "Fixtures/keras/cnn/model.h5": [inspect, convert],
    "Fixtures/keras/mlp_bn_variants/model.h5": [inspect, convert],
    "Fixtures/keras/mobilenet_block/model.h5": [inspect, convert],
    "Fixtures/keras/residual/model.h5": [inspect, convert],
    "Fixtures/keras/cropping/model.h5": [inspect, convert],
    "Fixtures/keras/mixed_float16/model.h5": [inspect, convert],
    "Fixtures/keras/mlp_weights_config/model.weights.h5": [
        convert + ["--config", "Fixtures/keras/mlp_weights_config/config.json"]],
    "Fixtures/seed/params.h5": [inspect, convert + ["--spec", "Fixtures/seed/spec.yaml"]],
    "Fixtures/seed/recording.h5": [inspect],
    "Fixtures/keras/mlp_bn_variants/recording.h5": [inspect],
    "Fixtures/readers/hdf5/datasets.h5": [inspect],
    "Fixtures/readers/hdf5/userblock.h5": [inspect],
    "Fixtures/readers/hdf5/refused.h5": [inspect],
    "Fixtures/corpus/h5-compound-type.h5": [inspect],
    "Fixtures/corpus/h5-vlen-type.h5": [inspect],
    "Fixtures/corpus/h5-reference-type.h5": [inspect],
    "Fixtures/corpus/h5-plugin-filter.h5": [inspect],
    "Fixtures/corpus/h5-virtual-dataset.h5": [inspect],
    "Fixtures/corpus/h5-external-storage.h5": [inspect],
}
originals = {path: open(path, "rb").read() for path in seeds}
INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF]
INTEGERS = [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**64 - 1]


def mutate(data, rng):
    """One to eight mutations of `data`, chosen by `rng` (deterministic for its seed)."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        kind = rng.randrange(6)
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[at] = rng.choice(INTERESTING)
        elif kind == 2 and at + 8 <= len(data):
            data[at : at + 8] = rng.choice(INTEGERS).to_bytes(8, "little")
        elif kind == 3 and at + 4 <= len(data):
            data[at : at + 4] = (rng.choice(INTEGERS) & 0xFFFFFFFF).to_bytes(4, "little")
        elif kind == 4:
            size = rng.randint(1, 64)
            source = rng.randrange(len(data))
            data[at : at + size] = data[source : source + size]
        elif kind == 5 and rng.random() < 0.2:
            del data[rng.randint(0, len(data)) :]
            if not data:
                data = bytearray(b"\x89HDF\r\n\x1a\n")
    return bytes(data)


def judge(result):
    """None when the run is a clean outcome, else what is wrong with it."""
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    if result.returncode == 0:
        return None if not any(line.startswith("error:") for line in lines) else "exit 0 with an error line"
    if result.returncode == 2:
        if len(lines) == 1 and lines[0].startswith("error: "):
            return None
        return f"exit 2 with {len(lines)} stderr lines"
    if result.returncode < 0:
        return f"killed by signal {-result.returncode}"
    return f"exit {result.returncode}"


def save_finding(base, mutant, problem, command, stderr):
    """Keeps a finding: the mutant, and beside it what was wrong, the command and its stderr; returns its path."""
    os.makedirs(findings, exist_ok=True)
    name = f"{findings}/{base}"
    with open(name, "wb") as handle:
        handle.write(mutant)
    with open(name + ".txt", "w") as handle:
        handle.write(f"{problem}\n{command}\n{(stderr or b'').decode('utf-8', 'replace')}")
    return name


environment = dict(os.environ, TFPARITY_HDF5_PROBE_TIMEOUT="5")
environment.pop("TFPARITY_HDF5_ISOLATION", None)
started = time.monotonic()
executions = 0
mutants = 0
outcomes = {}
failures = 0
scratch = tempfile.mkdtemp(prefix="tfparity-fuzz-hdf5-")
try:
    for index in range(runs):
        if seconds and time.monotonic() - started >= seconds:
            break
        rng = random.Random(f"{seed}:{index}")
        path = sorted(seeds)[index % len(seeds)]
        mutant = mutate(originals[path], rng)
        mutants += 1
        directory = os.path.join(scratch, str(index))
        os.mkdir(directory)
        file = os.path.join(directory, os.path.basename(path))
        with open(file, "wb") as handle:
            handle.write(mutant)
        # The pure-Swift reader (`__catalog-hdf5`) on its own: it must end with a catalog (exit 0) or hand the file
        # back (exit 4), and a catalog it makes must be the one the libhdf5 child makes of the same mutant.
        try:
            native = subprocess.run([binary, "__catalog-hdf5", file], capture_output=True, timeout=30,
                                    stdin=subprocess.DEVNULL)
            problem = None if native.returncode in (0, 4) else f"__catalog-hdf5 exit {native.returncode}"
            if native.returncode == 0:
                try:
                    child = subprocess.run([binary, "__probe-hdf5", file], capture_output=True, timeout=10,
                                           env=dict(environment, MALLOC_ARENA_MAX="1"), stdin=subprocess.DEVNULL)
                    if child.returncode != 0:
                        key = f"native catalog, libhdf5 child exit {child.returncode}"
                    elif child.stdout != native.stdout:
                        key, problem = "native catalog differs", "the native catalog differs from libhdf5's"
                    else:
                        key = "native catalog equal to libhdf5's"
                except subprocess.TimeoutExpired:
                    key = "native catalog, libhdf5 child timed out"
            else:
                key = "native unsupported" if problem is None else problem
        except subprocess.TimeoutExpired as expired:
            native, key, problem = expired, "__catalog-hdf5 no exit within 30 s", "__catalog-hdf5 no exit within 30 s"
        executions += 1
        outcomes[key] = outcomes.get(key, 0) + 1
        if problem is not None:
            failures += 1
            name = save_finding(f"{seed}-{index}-native-{os.path.basename(path)}", mutant, problem,
                                f"__catalog-hdf5 {file}", native.stderr)
            print(f"finding: {name}: {problem}", file=sys.stderr)
        for template in seeds[path]:
            command = [part.format(file=file, out=os.path.join(directory, "out.safetensors")) for part in template]
            try:
                result = subprocess.run(
                    [binary] + command, capture_output=True, env=environment, timeout=30, stdin=subprocess.DEVNULL)
                problem = judge(result)
                leftovers = sorted(set(os.listdir(directory)) - {os.path.basename(file), "out.safetensors"})
                if problem is None and (leftovers or (result.returncode != 0 and len(os.listdir(directory)) > 1)):
                    problem = f"left behind: {', '.join(leftovers) or 'out.safetensors'}"
            except subprocess.TimeoutExpired as expired:
                result, problem = expired, "no exit within 30 s"
            executions += 1
            key = "clean error" if problem is None and result.returncode == 2 else problem or "exit 0"
            if problem is None and result.returncode == 2:
                # Tally by kind of reason, so the summary shows the child's outcomes were classified.
                line = result.stderr.decode("utf-8", "replace")
                key = "error: libhdf5 crashed" if "crashed" in line else (
                    "error: libhdf5 timed out" if "did not finish" in line else (
                        "error: libhdf5 could not read" if "could not read" in line else "error: other"))
            outcomes[key] = outcomes.get(key, 0) + 1
            if problem is not None:
                failures += 1
                name = save_finding(f"{seed}-{index}-{os.path.basename(path)}", mutant, problem, " ".join(command),
                                    result.stderr)
                print(f"finding: {name}: {problem}: {' '.join(template)}", file=sys.stderr)
        shutil.rmtree(directory)
finally:
    shutil.rmtree(scratch, ignore_errors=True)
elapsed = time.monotonic() - started
print(f"hdf5-probe: {executions} executions over {mutants} mutants in {elapsed:.0f} s, "
      f"{failures} findings", file=sys.stderr)
for key in sorted(outcomes):
    print(f"  {outcomes[key]:7d}  {key}", file=sys.stderr)
sys.exit(1 if failures else 0)
PY
