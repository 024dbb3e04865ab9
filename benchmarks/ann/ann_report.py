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


def qps_at(curve, recall, key="qps"):
    """FAISS' queries/s at this recall, interpolated on its curve (log qps, linear in recall); None outside it."""
    pts = sorted((p["recall"], p[key]) for p in curve if key in p)
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
    lines += [f"| ef | embstore recall@{truth.get('k', 10)} | q/s | p50 ms | p99 ms | q/s (CPU) | FAISS recall | q/s "
              "| p50 ms | p99 ms | q/s (CPU) | embstore / FAISS at embstore's recall: q/s, q/s (CPU) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ours = {p["ef"]: p for p in (search or {}).get("curve", [])}
    theirs = {p["ef"]: p for p in (faiss or {}).get("curve", [])}
    for ef in sorted(set(ours) | set(theirs)):
        o, t = ours.get(ef), theirs.get(ef)
        cells = [str(ef)]
        for p in (o, t):
            cells += ["%.4f" % p["recall"], "%.0f" % p["qps"], "%.3f" % p["p50_ms"], "%.3f" % p["p99_ms"],
                      "%.0f" % p.get("qps_cpu", float("nan"))] if p else ["-"] * 5
        peer = qps_at(faiss["curve"], o["recall"]) if (o and faiss) else None
        peer_cpu = qps_at(faiss["curve"], o["recall"], "qps_cpu") if (o and faiss) else None
        cells.append("%.2f, %.2f" % (o["qps"] / peer, o["qps_cpu"] / peer_cpu) if peer and peer_cpu
                     else "outside FAISS' curve" if o else "-")
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
        # The first point at the target recall or above that FAISS' curve covers (FAISS may start above it).
        for p in sorted(search["curve"], key=lambda p: p["ef"]):
            if p["recall"] >= TARGET_RECALL and qps_at(faiss["curve"], p["recall"]):
                at = p
                break
        peer = qps_at(faiss["curve"], at["recall"])
        peer_cpu = qps_at(faiss["curve"], at["recall"], "qps_cpu")
        if peer and peer_cpu:
            rows.append(("queries/s >= FAISS' at equal recall",
                         f"ef {at['ef']}: {at['qps']:.0f} vs {peer:.0f} (FAISS interpolated at recall {at['recall']:.4f}): "
                         f"{at['qps'] / peer:.2f}x; by CPU time {at['qps_cpu']:.0f} vs {peer_cpu:.0f}: "
                         f"{at['qps_cpu'] / peer_cpu:.2f}x",
                         "wall " + yes(at["qps"] >= peer) + ", CPU " + yes(at["qps_cpu"] >= peer_cpu)))
        else:
            rows.append(("queries/s >= FAISS' at equal recall",
                         f"embstore's recall {at['recall']:.4f} is outside FAISS' curve: compare the rows above", "-"))
    if build and faiss:
        ratio = build["build_s"] / faiss["build_s"]
        cpu = build["build_cpu_s"] / faiss["build_cpu_s"]
        rows.append(("build <= 2x FAISS'", f"{build['build_s']:.0f} s vs {faiss['build_s']:.0f} s "
                     f"({build['threads']} / {faiss['build_threads']} threads, M {build['m']} / {faiss.get('m', '?')}, beam/efConstruction "
                     f"{build['beam']} / {faiss['ef_construction']}): {ratio:.2f}x the time; CPU "
                     f"{build['build_cpu_s']:.0f} s vs {faiss['build_cpu_s']:.0f} s: {cpu:.2f}x",
                     "wall " + yes(ratio <= 2) + ", CPU " + yes(cpu <= 2)))
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


def compare_section(path):
    c = load(path)
    if not c:
        return ""
    lines = ["## jvector or Lucene (the prototype behind the choice)", "",
             f"`LibraryCompare` (what `benchmarks/ann/run --compare ROWS` runs): the two libraries alone (no store, no "
             f"re-rank) on the same unit vectors on the heap, the first {c['rows']:,} rows of the clustered table, "
             f"{c['queries']} query rows, exact top {c['k']} by the store's scan over the same rows; degree {c['m']}, "
             f"beam {c['beam']}, build threads: {c['threads']}, queries one at a time on one thread.", ""]
    libs = [(n, c[n]) for n in ("jvector", "lucene") if n in c]
    lines += ["| library | version | degree | build s | " + " | ".join(
        f"ef {p['ef']}: recall, q/s" for p in libs[0][1]["curve"]) + " |",
              "|---|---|---|---|" + "---|" * len(libs[0][1]["curve"])]
    for name, lib in libs:
        lines.append(f"| {name} | {lib['version']} | {lib['degree']} | {lib['build_s']:.1f} | " + " | ".join(
            f"{p['recall']:.4f}, {p['qps']:.0f}" for p in lib["curve"]) + " |")
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
            "50). Latencies per query; queries/s = queries / the sum of their latencies; \"(CPU)\": the same from "
            "the querying thread's CPU time (`ThreadMXBean.getCurrentThreadCpuTime`, Python's `time.thread_time`), "
            "which a loaded machine does not inflate; build CPU: the whole process'. Recall@10: the share of "
            "numpy's exact top 10 found. \"At equal recall\": FAISS' queries/s interpolated on its curve at "
            "embstore's recall. The exact scan is the store's `mostSimilar` on all cores (as shipped) and, in a JVM "
            "limited to one processor, on one.", "",
            "The tables (`benchmarks/ann/gen_table.py`, seeded; its docstring has the details): **clustered**, a "
            "Gaussian mixture shaped like an embedding table (a shared mean direction, centroids spread along a "
            "decaying spectrum in a random basis, two levels: topics and clusters around them, Zipf-like cluster "
            "sizes, a log-normal spread and 4 elongated directions per cluster, rows shuffled), never uniform noise; "
            "**real**, the recipe for a larger real table from the small shared data: 300-d skip-gram vectors "
            "trained by gensim on `../shared/data/lee_background.cor` and `head500.noblanks.cor` (20,183 words, "
            "one worker, fixed seed), then grown to the row count by moving each new row part of the way from a real "
            "word towards one of its 20 nearest real words, plus noise. Both are written as word2vec binary files and "
            "converted with `embstore convert`; FAISS reads the store's own `matrix.npy` (one copy of each table).", "",
            "The machine is shared with other work (2 cores): the load averages below are part of the result; "
            "ratios within a run are what to compare, and the CPU-time figures are the ones the load does not "
            "inflate.", ""]
    if run.get("note"):
        head += ["**This run:** " + run["note"], ""]
    body = [section(d) for d in dirs]
    body.append(compare_section(os.path.join(os.path.dirname(run_json), "library-compare.json")))
    with open(results, "w") as f:
        f.write("\n".join(head + body))
    print(f"ann: wrote {results}", file=sys.stderr)


if __name__ == "__main__":
    main()
