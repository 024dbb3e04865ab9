#!/usr/bin/python3
"""Writes the ANN benchmark's table (benchmarks/results/ann.md) from the JSON files of one run of benchmarks/ann/run.

  ann_report.py RESULTS.md RUN.json DATASET_OUT_DIR...

Each DATASET_OUT_DIR holds truth.json, faiss.json, embstore-build.json, embstore-search.json,
embstore-exact-*.json and load.txt (written by run). Ratios are oriented so that above 1 means embstore is ahead.
"""
import json
import math
import os
import sys

TARGET_RECALL = 0.95


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def qps_at(curve, recall):
    """FAISS' queries/s at this recall, interpolated on its curve (log qps, linear in recall); None outside it."""
    pts = sorted((p["recall"], p["qps"]) for p in curve)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= recall <= r1:
            if r1 == r0:
                return max(q0, q1)
            w = (recall - r0) / (r1 - r0)
            return math.exp(math.log(q0) + w * (math.log(q1) - math.log(q0)))
    if pts and abs(recall - pts[0][0]) < 1e-9:
        return pts[0][1]
    return None


def first_at_target(curve):
    for p in sorted(curve, key=lambda p: p["ef"]):
        if p["recall"] >= TARGET_RECALL:
            return p
    return None


def yes(ok):
    return "yes" if ok else "**no**"


def section(out_dir):
    name = os.path.basename(out_dir.rstrip("/"))
    truth = load(os.path.join(out_dir, "truth.json")) or {}
    faiss = load(os.path.join(out_dir, "faiss.json"))
    build = load(os.path.join(out_dir, "embstore-build.json"))
    search = load(os.path.join(out_dir, "embstore-search.json"))
    exact_all = load(os.path.join(out_dir, "embstore-exact-default.json"))
    exact_one = load(os.path.join(out_dir, "embstore-exact-1thread.json"))
    describe = {}
    try:
        with open(os.path.join(out_dir, "dataset.txt")) as f:
            describe = f.read().strip()
    except OSError:
        describe = ""
    lines = [f"### {name}", ""]
    if describe:
        lines += [describe, ""]
    if truth:
        lines += [f"{truth['rows']:,} x {truth['dim']}, {truth['queries']} query rows (seed {truth['seed']}), exact "
                  f"top {truth['k']} by numpy over unit vectors. Cosine of the 1st / {truth['k']}th exact neighbour, "
                  f"10th-50th-90th percentiles: "
                  + " / ".join("-".join("%.2f" % v for v in truth[key])
                               for key in ("cos_1st_p10_p50_p90", "cos_kth_p10_p50_p90")) + ".", ""]
    try:
        with open(os.path.join(out_dir, "load.txt")) as f:
            lines += ["Load average (1, 5, 15 min) at each step: " + "; ".join(
                l.strip() for l in f if l.strip()) + ".", ""]
    except OSError:
        pass
    if not (faiss and build and search):
        missing = [n for n, v in (("faiss", faiss), ("embstore build", build), ("embstore search", search)) if not v]
        lines += [f"Not measured in this run: {', '.join(missing)} (see the run's log).", ""]
    lines += [f"| ef | embstore recall@{truth.get('k', 10)} | embstore q/s | p50 ms | p99 ms | FAISS recall | FAISS q/s "
              "| p50 ms | p99 ms | embstore / FAISS q/s at embstore's recall |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    ours = {p["ef"]: p for p in (search or {}).get("curve", [])}
    theirs = {p["ef"]: p for p in (faiss or {}).get("curve", [])}
    for ef in sorted(set(ours) | set(theirs)):
        o, t = ours.get(ef), theirs.get(ef)
        cells = [str(ef)]
        cells += ["%.4f" % o["recall"], "%.0f" % o["qps"], "%.3f" % o["p50_ms"], "%.3f" % o["p99_ms"]] if o else ["-"] * 4
        cells += ["%.4f" % t["recall"], "%.0f" % t["qps"], "%.3f" % t["p50_ms"], "%.3f" % t["p99_ms"]] if t else ["-"] * 4
        peer = qps_at(faiss["curve"], o["recall"]) if (o and faiss) else None
        cells.append("%.2f" % (o["qps"] / peer) if peer else "outside FAISS' curve" if o else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    rows = []
    at = first_at_target(search["curve"]) if search else None
    if at:
        rows.append(("recall@10 >= 0.95", f"{at['recall']:.4f} at ef {at['ef']} (the smallest ef listed that "
                     "reaches it)", "yes"))
    elif search:
        best = max(search["curve"], key=lambda p: p["recall"])
        rows.append(("recall@10 >= 0.95", f"best {best['recall']:.4f} (ef {best['ef']})", yes(False)))
    if at and exact_all:
        s_all = exact_all["p50_ms"] / at["p50_ms"]
        s_one = exact_one["p50_ms"] / at["p50_ms"] if exact_one else None
        text = (f"p50 {at['p50_ms']:.3f} ms (ef {at['ef']}, one thread) vs the exact scan's "
                f"{exact_all['p50_ms']:.1f} ms on {exact_all['processors']} threads: {s_all:.0f}x")
        if s_one:
            text += f"; vs {exact_one['p50_ms']:.1f} ms on one thread: {s_one:.0f}x"
        rows.append(("one query >= 20x faster than the exact scan", text, yes(s_all >= 20)))
    if at and faiss:
        peer = qps_at(faiss["curve"], at["recall"])
        if peer:
            rows.append(("queries/s >= FAISS' at equal recall",
                         f"{at['qps']:.0f} vs {peer:.0f} (FAISS interpolated at recall {at['recall']:.4f}): "
                         f"{at['qps'] / peer:.2f}x", yes(at["qps"] >= peer)))
    if build and faiss:
        ratio = build["build_s"] / faiss["build_s"]
        rows.append(("build <= 2x FAISS'", f"{build['build_s']:.0f} s vs {faiss['build_s']:.0f} s "
                     f"({build['threads']} / {faiss['build_threads']} threads, M {build['m']}, beam/efConstruction "
                     f"{build['beam']} / {faiss['ef_construction']}): {ratio:.2f}x the time", yes(ratio <= 2)))
    if exact_all:
        rows.append(("exact scan (`mostSimilar`) for reference",
                     f"p50 {exact_all['p50_ms']:.1f} ms, p99 {exact_all['p99_ms']:.1f} ms on "
                     f"{exact_all['processors']} threads"
                     + (f"; p50 {exact_one['p50_ms']:.1f} ms on one" if exact_one else "")
                     + f"; recall {exact_all['recall']:.4f} against numpy's answer", "-"))
    if build and build.get("index_bytes", 0) > 0:
        rows.append(("index files", f"{build['index_bytes'] / 1e6:.0f} MB (`ann.*`)", "-"))
    if rows:
        lines += ["| target | measured | met? |", "|---|---|---|"]
        lines += ["| %s | %s | %s |" % r for r in rows]
        lines.append("")
    return "\n".join(lines)


def main():
    results, run_json, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    run = load(run_json) or {}
    head = ["# ANN index: embstore (jvector graph, exact re-rank) against FAISS HNSW", "",
            "Written by `benchmarks/ann/run` (" + run.get("command", "") + "), " + run.get("started", "") + " to "
            + run.get("finished", "") + ". Machine: " + run.get("machine", "") + ". " + run.get("versions", ""), "",
            "Both sides in the same run, one after the other on the same rows and the same query rows (rows of the "
            "table; each query leaves its own row out, as `similar` does): FAISS' `IndexHNSWFlat` (inner product on "
            "unit vectors) built with the same M and efConstruction (= embstore's beam) and the same build threads, "
            "then every query alone on one thread (`faiss.omp_set_num_threads(1)`) for each ef (`efSearch`); "
            "embstore's `AnnIndex.build`, then `AnnIndex.mostSimilar(word, 10, ef)` one query at a time on one "
            "thread in a fresh JVM (index opened from the store directory, 100 untimed warm-up queries per ef; FAISS "
            "50). Latencies per query; queries/s = queries / the sum of their latencies. Recall@10: the share of "
            "numpy's exact top 10 found. \"At equal recall\": FAISS' queries/s interpolated on its curve at "
            "embstore's recall. The exact scan is the store's `mostSimilar` on all cores (as shipped) and, in a JVM "
            "limited to one processor, on one.", "",
            "The machine is shared with other work (2 cores): the load averages below are part of the result; "
            "ratios within a run are what to compare.", ""]
    body = [section(d) for d in dirs]
    with open(results, "w") as f:
        f.write("\n".join(head + body))
    print(f"ann: wrote {results}", file=sys.stderr)


if __name__ == "__main__":
    main()
