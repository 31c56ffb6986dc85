#!/usr/bin/env python3
"""Prints Scripts/bench.sh's tables (Markdown) from its results.tsv: first every ratio issue 20's targets name, then
the details (medians, ratios, peak memory; issue 5's table), the forward pass against onnxruntime model by model, and
where convert's time goes.

    python3 Scripts/bench/table.py [.build/bench/results.tsv]     # BENCH_APPS: the onnxruntime pair's models
"""
import csv
import math
import os
import statistics
import sys

DEFAULT_APPS = "MobileNetV2 ResNet50V2 DenseNet121 ResNet50 EfficientNetB0 Xception"


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    by = {}
    for r in rows:
        by.setdefault(r["name"], []).append(r)

    def med(name, field):
        values = [float(r[field]) for r in by.get(name, []) if r[field] not in ("", None)]
        return statistics.median(values) if values else float("nan")

    def failures(name):
        return sum(1 for r in by.get(name, []) if r["exit"] != "0")

    apps = [m for m in os.environ.get("BENCH_APPS", DEFAULT_APPS).split() if f"onnxruntime-{m}" in by]
    # Like for like: the engine's warm forward pass of the output alone (tfparity __time-forward) against
    # onnxruntime's; verify's cold timings.forward_ms, which keeps every value a check reads, is shown beside it.
    app_ratios = {m: med(f"tfparity-forward-app-{m}", "forward_ms") / med(f"onnxruntime-{m}", "forward_ms")
                  for m in apps}

    def paired(ours, peer, field):
        # The ratio within each round (the two commands ran one after the other), which a host whose speed drifts
        # from minute to minute moves less than it moves either median.
        peers = {r["round"]: r[field] for r in by.get(peer, []) if r[field] not in ("", None)}
        return [float(r[field]) / float(peers[r["round"]]) for r in by.get(ours, [])
                if r[field] not in ("", None) and r["round"] in peers and float(peers[r["round"]]) > 0]

    app_paired = {m: paired(f"tfparity-forward-app-{m}", f"onnxruntime-{m}", "forward_ms") for m in apps}

    # Issue 20's targets, each a ratio (or a figure) from commands run side by side in this run.
    targets = [("work", "tfparity", "peer (same run)", "ratio", "target", "met")]

    def target(what, ours, peer, ratio, goal, met):
        targets.append((what, ours, peer, fmt(ratio), goal, "-" if ratio != ratio else ("yes" if met else "**no**")))

    if apps:
        ratios = [app_ratios[m] for m in apps]
        geo = geomean(ratios)
        target(f"forward pass vs onnxruntime, geometric mean over {len(apps)} models (batch 2)",
               "__time-forward, warm", "onnxruntime, 2 threads, warm", geo, "≤ 1.0× (milestone ≤ 1.5×)", geo <= 1.0)
    t, f = "tfparity-warm-ResNet50", "tf-forward-ResNet50"
    if t in by:
        r = med(t, "forward_ms") / med(f, "forward_ms")
        target("forward pass ResNet50 224×224 batch 2 vs TensorFlow", ms(med(t, "forward_ms")),
               ms(med(f, "forward_ms")), r, "≤ 0.8×", r <= 0.8)
    t, p, c = "tfparity-convert", "python-convert", "cp"
    if t in by:
        r = med(t, "wall_s") / med(p, "wall_s")
        target("convert ResNet50 .h5, wall, vs h5py + safetensors", secs(med(t, "wall_s")), secs(med(p, "wall_s")),
               r, "≤ 0.5×", r <= 0.5)
        r = med(t, "cpu_s") / max(med(c, "cpu_s"), 1e-3)
        target("convert ResNet50 .h5, CPU, vs cp", secs(med(t, "cpu_s")), secs(med(c, "cpu_s")), r, "≤ 4×", r <= 4)
        rss = med(t, "peak_rss_kb")
        targets.append(("convert ResNet50 .h5, peak RSS", mib(rss), mib(med(p, "peak_rss_kb")) + " (h5py)", "-",
                        "≤ 64 MiB", "yes" if rss <= 64 * 1024 else "**no**"))
    t = "tfparity-check-ResNet50"
    if t in by:
        rss = med(t, "peak_rss_kb")
        targets.append(("verify ResNet50 224 (local checks), peak RSS", mib(rss),
                        mib(med("tf-verify-ResNet50", "peak_rss_kb")) + " (TensorFlow)", "-", "≤ 256 MiB",
                        "yes" if rss <= 256 * 1024 else "**no**"))
    s = "tfparity-verify-seed"
    if s in by:
        wall = med(s, "wall_s")
        targets.append(("verify of the seed MLP, whole command, wall", ms(wall * 1e3),
                        ms(med("tfparity-start", "wall_s") * 1e3) + " (process start-up, --version)", "-", "≤ 25 ms",
                        "yes" if wall <= 0.025 else "**no**"))
    print("issue 20's targets:")
    print_table(targets)

    lines = [("what", "tfparity", "baseline", "ratio", "peak RSS tfparity", "peak RSS baseline")]
    if "tfparity-convert" in by:
        t, p, c = "tfparity-convert", "python-convert", "cp"
        lines.append(("convert ResNet50 .h5, wall (vs h5py + safetensors)", secs(med(t, "wall_s")),
                      secs(med(p, "wall_s")), fmt(med(t, "wall_s") / med(p, "wall_s")), mib(med(t, "peak_rss_kb")),
                      mib(med(p, "peak_rss_kb"))))
        lines.append(("convert ResNet50 .h5, CPU (vs cp)", secs(med(t, "cpu_s")), secs(med(c, "cpu_s")),
                      fmt(med(t, "cpu_s") / max(med(c, "cpu_s"), 1e-3)), mib(med(t, "peak_rss_kb")),
                      mib(med(c, "peak_rss_kb"))))
    for m in ("ResNet50", "MobileNetV2"):
        for ours, how in ((f"tfparity-check-{m}", "verify"), (f"tfparity-verify-{m}", "verify --end-to-end")):
            if ours not in by:
                continue
            base = f"tf-verify-{m}"
            lines.append((f"{how} {m} 224, whole command, wall (vs TensorFlow)", secs(med(ours, "wall_s")),
                          secs(med(base, "wall_s")), fmt(med(ours, "wall_s") / med(base, "wall_s")),
                          mib(med(ours, "peak_rss_kb")), mib(med(base, "peak_rss_kb"))))
    for m in ("ResNet50", "MobileNetV2"):
        ours, base = f"tfparity-check-{m}", f"baseline-check-{m}"
        if ours in by and base in by:
            lines.append((f"verify {m} 224, whole command, wall (vs TFPARITY_BASELINE, the earlier build)",
                          secs(med(ours, "wall_s")), secs(med(base, "wall_s")),
                          fmt(med(ours, "wall_s") / med(base, "wall_s")), mib(med(ours, "peak_rss_kb")),
                          mib(med(base, "peak_rss_kb"))))
    for m in ("ResNet50", "MobileNetV2"):
        warm, cold, base = f"tfparity-warm-{m}", f"tfparity-verify-{m}", f"tf-forward-{m}"
        if warm in by:
            lines.append((f"forward pass {m} 224 (batch 2), second call in process (vs TensorFlow's second call)",
                          ms(med(warm, "forward_ms")), ms(med(base, "forward_ms")),
                          fmt(med(warm, "forward_ms") / med(base, "forward_ms")), "-", "-"))
        if cold in by:
            lines.append((f"forward pass {m} 224 (batch 2), verify --end-to-end's one cold pass keeping every checked "
                          "value (vs TensorFlow's second call)",
                          ms(med(cold, "forward_ms")), ms(med(base, "forward_ms")),
                          fmt(med(cold, "forward_ms") / med(base, "forward_ms")), "-", "-"))
    s = "tfparity-verify-seed"
    if s in by:
        lines.append(("verify seed MLP, whole command, wall (vs process start-up)", ms(med(s, "wall_s") * 1e3),
                      ms(med("tfparity-start", "wall_s") * 1e3), fmt(med(s, "wall_s") / med("tfparity-start", "wall_s")),
                      mib(med(s, "peak_rss_kb")), mib(med("tfparity-start", "peak_rss_kb"))))
    if len(lines) > 1:
        print("\ndetails (medians):")
        print_table(lines)

    if apps:
        print("\nforward pass against onnxruntime (batch 2; both the median of the second call onward in one process, "
              "the output alone: tfparity __time-forward, onnxruntime with 2 intra-op threads; medians over rounds; "
              "beside them verify --end-to-end's cold timings.forward_ms, which keeps every value a check reads):")
        table = [("model", "tfparity", "onnxruntime", "ratio", "ratio in each round: median (range)",
                  "verify's forward_ms", "tfparity verify --end-to-end, peak RSS")]
        for m in apps:
            ours, check = f"tfparity-forward-app-{m}", f"tfparity-verify-app-{m}"
            rounds = app_paired[m]
            spread = (f"{fmt(statistics.median(rounds))} ({fmt(min(rounds))}–{fmt(max(rounds))})" if rounds else "-")
            table.append((m, ms(med(ours, "forward_ms")), ms(med(f"onnxruntime-{m}", "forward_ms")),
                          fmt(app_ratios[m]), spread, ms(med(check, "forward_ms")), mib(med(check, "peak_rss_kb"))))
        medians = [statistics.median(r) for r in app_paired.values() if r]
        table.append(("geometric mean", "", "", fmt(geomean(list(app_ratios.values()))),
                      fmt(geomean(medians)) if len(medians) == len(apps) else "-", "", ""))
        print_table(table)
        print("(the target's ratio is the first: the median of tfparity's times over the median of onnxruntime's; the "
              "second is each round's own ratio, whose range shows how far this host moved one run's figures)")

    if "tfparity-convert-unisolated" in by:
        print("\nconvert ResNet50 .h5, where the time goes (medians; each command run on its own):")
        parts = [("what", "wall", "CPU")]
        for name, what in (("tfparity-convert", "tfparity convert"),
                           ("tfparity-convert-unisolated", "  without the libhdf5 isolation child"),
                           ("tfparity-probe", "  the isolation child alone (__probe-hdf5)"),
                           ("tfparity-start", "  process start-up (--version)"),
                           ("cp", "cp (kernel copy)"),
                           ("sha256", "SHA-256 of the source alone (openssl dgst -sha256)")):
            if name in by:
                parts.append((what, ms(med(name, "wall_s") * 1e3), ms(med(name, "cpu_s") * 1e3)))
        if "sha256" in by:
            floor = med("cp", "cpu_s") + med("sha256", "cpu_s")
            parts.append(("the floor: cp + SHA-256, CPU", "", ms(floor * 1e3)))
            parts.append(("tfparity convert's CPU against that floor", "",
                          fmt(med("tfparity-convert", "cpu_s") / max(floor, 1e-3))))
        print_table(parts)
    bad = {name: failures(name) for name in by if failures(name)}
    if bad:
        print("\nnon-zero exits (1 is a parity mismatch at the fixed 1e-3 tolerance, still timed): "
              + ", ".join(f"{k} ({v})" for k, v in sorted(bad.items())))


def geomean(values):
    values = [v for v in values if v == v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def fmt(ratio):
    return f"{ratio:.2f}×" if ratio == ratio else "-"


def mib(kb):
    return f"{kb / 1024:.0f} MiB" if kb == kb else "-"


def ms(value):
    """Milliseconds, with a decimal under 100 ms (a 2 ms and a 1 ms pass are not a 2x ratio)."""
    if value != value:
        return "-"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def secs(value):
    return f"{value:.3f} s" if value == value else "-"


def print_table(lines):
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(line, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".build/bench/results.tsv")
