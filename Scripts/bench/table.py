#!/usr/bin/env python3
"""Prints Scripts/bench.sh's table (Markdown) from its results.tsv: medians, ratios against the targets of issue 5."""
import csv
import statistics
import sys


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

    lines = [("what", "tfparity", "baseline", "ratio", "target", "met",
              "peak RSS tfparity", "peak RSS baseline")]

    def mib(kb):
        return f"{kb / 1024:.0f} MiB"

    def row(what, ours, base, ratio, target, met, rss_ours, rss_base):
        lines.append((what, ours, base, f"{ratio:.2f}" if ratio == ratio else "-", target,
                      "yes" if met else "**no**", rss_ours, rss_base))

    t, p, c = "tfparity-convert", "python-convert", "cp"
    if t in by:
        convert_rows(row, med, mib, t, p, c)
    for m in ("ResNet50", "MobileNetV2"):
        for ours, how in ((f"tfparity-check-{m}", "verify"), (f"tfparity-verify-{m}", "verify --end-to-end")):
            if ours not in by:
                continue
            base = f"tf-verify-{m}"
            ratio = med(ours, "wall_s") / med(base, "wall_s")
            judged = m == "ResNet50" and how == "verify"
            row(f"{how} {m}, whole command, wall (vs TensorFlow)", f"{med(ours, 'wall_s'):.3f} s",
                f"{med(base, 'wall_s'):.3f} s", ratio, "≤ 0.2×" if judged else "-", ratio <= 0.2 if judged else True,
                mib(med(ours, "peak_rss_kb")), mib(med(base, "peak_rss_kb")))
    for m in ("ResNet50", "MobileNetV2"):
        ours, base = f"tfparity-verify-{m}", f"tf-forward-{m}"
        if ours not in by:
            continue
        ratio = med(ours, "forward_ms") / med(base, "forward_ms")
        row(f"forward pass {m} (batch 2), in process", f"{med(ours, 'forward_ms'):.0f} ms",
            f"{med(base, 'forward_ms'):.0f} ms", ratio, "≤ 1.5×", ratio <= 1.5, "-", "-")
    s = "tfparity-verify-seed"
    if s in by:
        row("verify seed MLP, end to end, wall", f"{med(s, 'wall_s') * 1e3:.0f} ms", "-", float("nan"), "≤ 30 ms",
            med(s, "wall_s") <= 0.030, mib(med(s, "peak_rss_kb")), "-")

    print_table(lines)

    if "tfparity-convert-unisolated" in by:
        print("\nconvert ResNet50 .h5, where the time goes (medians; each command run on its own):")
        parts = [("what", "wall", "CPU")]
        for name, what in (("tfparity-convert", "tfparity convert"),
                           ("tfparity-convert-unisolated", "  without the libhdf5 isolation child"),
                           ("tfparity-probe", "  the isolation child alone (__probe-hdf5)"),
                           ("tfparity-start", "  process start-up (--version)"),
                           ("cp", "cp (kernel copy, the floor)")):
            parts.append((what, f"{med(name, 'wall_s') * 1e3:.0f} ms", f"{med(name, 'cpu_s') * 1e3:.0f} ms"))
        print_table(parts)
    bad = {name: failures(name) for name in by if failures(name)}
    if bad:
        print("\nnon-zero exits: " + ", ".join(f"{k} ({v})" for k, v in sorted(bad.items())))


def convert_rows(row, med, mib, t, p, c):
    row("convert ResNet50 .h5, wall (vs h5py + safetensors)", f"{med(t, 'wall_s'):.3f} s",
        f"{med(p, 'wall_s'):.3f} s", med(p, "wall_s") / med(t, "wall_s"), "≥ 5× faster",
        med(p, "wall_s") / med(t, "wall_s") >= 5, mib(med(t, "peak_rss_kb")), mib(med(p, "peak_rss_kb")))
    row("convert ResNet50 .h5, CPU (vs cp)", f"{med(t, 'cpu_s'):.3f} s", f"{med(c, 'cpu_s'):.3f} s",
        med(t, "cpu_s") / max(med(c, "cpu_s"), 1e-3), "≤ 3×",
        med(t, "cpu_s") / max(med(c, "cpu_s"), 1e-3) <= 3, mib(med(t, "peak_rss_kb")), mib(med(c, "peak_rss_kb")))
    row("convert ResNet50 .h5, peak RSS", mib(med(t, "peak_rss_kb")), "-", float("nan"), "≤ 64 MiB",
        med(t, "peak_rss_kb") <= 64 * 1024, mib(med(t, "peak_rss_kb")), "-")


def print_table(lines):
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(line, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".build/bench/results.tsv")
