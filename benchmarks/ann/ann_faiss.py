#!/usr/bin/python3
"""The exact answers and the FAISS peer of the ANN benchmark (benchmarks/ann/run). Reads a store's matrix.npy.

  ann_faiss.py truth STORE OUT [--queries 1000] [--k 10] [--seed 7]
      picks query rows (seeded, spread over the table), computes each one's exact top k by cosine without the
      row itself (numpy, float32 unit vectors, in blocks), writes OUT/queries.txt (one row a line) and
      OUT/truth.txt (the query row, then its k rows, best first) and OUT/truth.json (time, sims of the k-th).
  ann_faiss.py faiss STORE OUT [--m 16] [--ef-construction 100] [--build-threads 2] [--ef 16,32,64,128,256] [--index FILE]
      FAISS IndexHNSWFlat, inner product on unit vectors (= cosine), built with --build-threads OpenMP threads,
      then every query alone (one at a time, as a user's query comes) on one thread for each ef: recall@k against
      truth.txt, queries/s, p50/p99 latency, and the same from the thread's CPU time (time.thread_time: what the
      query cost, whatever else the machine runs); writes OUT/faiss.json. --index FILE saves the built index there,
      or, when FILE exists, reads it and only queries (repeated query runs without rebuilding).
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def unit_matrix(store):
    m = np.load(os.path.join(store, "matrix.npy"), mmap_mode="r")
    x = np.empty(m.shape, dtype=np.float32)
    step = 1 << 16
    for s in range(0, m.shape[0], step):
        block = np.asarray(m[s:s + step], dtype=np.float32)
        x[s:s + step] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x


def read_truth(out):
    rows, truth = [], []
    with open(os.path.join(out, "truth.txt")) as f:
        for line in f:
            v = [int(t) for t in line.split()]
            rows.append(v[0])
            truth.append(v[1:])
    return np.array(rows), np.array(truth)


def truth(args):
    t0 = time.time()
    x = unit_matrix(args.store)
    n = x.shape[0]
    rng = np.random.default_rng(args.seed)
    q = np.sort(rng.choice(n, args.queries, replace=False))
    xq = x[q]
    best_s = np.full((len(q), args.k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), args.k), dtype=np.int64)
    t1 = time.time()
    step = 1 << 17
    for s in range(0, n, step):
        sims = xq @ x[s:s + step].T
        self_in = (q >= s) & (q < s + step)
        sims[np.nonzero(self_in)[0], q[self_in] - s] = -np.inf
        part = np.argpartition(-sims, args.k, axis=1)[:, :args.k]
        cand_s = np.concatenate([best_s, np.take_along_axis(sims, part, 1)], axis=1)
        cand_i = np.concatenate([best_i, part + s], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :args.k]
        best_s = np.take_along_axis(cand_s, keep, 1)
        best_i = np.take_along_axis(cand_i, keep, 1)
    scan = time.time() - t1
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "queries.txt"), "w") as f:
        f.write("".join("%d\n" % r for r in q))
    with open(os.path.join(args.out, "truth.txt"), "w") as f:
        for r, row in zip(q, best_i):
            f.write("%d %s\n" % (r, " ".join(map(str, row))))
    info = {"rows": n, "dim": x.shape[1], "queries": len(q), "k": args.k, "seed": args.seed,
            "numpy_scan_s": scan, "total_s": time.time() - t0,
            "cos_1st_p10_p50_p90": np.percentile(best_s[:, 0], [10, 50, 90]).tolist(),
            "cos_kth_p10_p50_p90": np.percentile(best_s[:, -1], [10, 50, 90]).tolist()}
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info), file=sys.stderr)


def faiss_peer(args):
    import faiss
    q, exact = read_truth(args.out)
    k = exact.shape[1]
    x = unit_matrix(args.store)
    n, d = x.shape
    xq = x[q].copy()
    if args.index and os.path.exists(args.index):
        # A saved index: queries only (build_s and build_cpu_s are then None).
        index = faiss.read_index(args.index)
        build = build_cpu = None
        print(f"faiss: read {args.index} (M {index.hnsw.nb_neighbors(1)}), no build", file=sys.stderr)
    else:
        index = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = args.ef_construction
        faiss.omp_set_num_threads(args.build_threads)
        t, c = time.perf_counter(), time.process_time()
        index.add(x)
        build, build_cpu = time.perf_counter() - t, time.process_time() - c
        print(f"faiss: built {n} x {d} in {build:.1f} s ({args.build_threads} threads)", file=sys.stderr)
        if args.index:
            faiss.write_index(index, args.index)
    del x
    faiss.omp_set_num_threads(1)
    result = {"faiss_version": faiss.__version__, "rows": n, "dim": d, "m": args.m,
              "ef_construction": args.ef_construction, "build_threads": args.build_threads, "build_s": build,
              "build_cpu_s": build_cpu,
              "search_threads": 1, "queries": len(q), "k": k, "curve": []}
    for ef in [int(e) for e in args.ef.split(",")]:
        index.hnsw.efSearch = ef
        for i in range(min(50, len(q))):             # warm-up: the graph's pages and the code
            index.search(xq[i:i + 1], k + 1)
        lat = np.empty(len(q))
        cpu = np.empty(len(q))
        found = np.empty((len(q), k), dtype=np.int64)
        t_all = time.perf_counter()
        for i in range(len(q)):
            t, c = time.perf_counter(), time.thread_time()
            _, ids = index.search(xq[i:i + 1], k + 1)
            lat[i], cpu[i] = time.perf_counter() - t, time.thread_time() - c
            ids = [r for r in ids[0] if r != q[i] and r >= 0][:k]
            found[i, :len(ids)] = ids
            found[i, len(ids):] = -1
        wall = time.perf_counter() - t_all
        recall = np.mean([len(set(found[i]) & set(exact[i])) / k for i in range(len(q))])
        point = {"ef": ef, "recall": float(recall), "qps": len(q) / lat.sum(), "qps_wall": len(q) / wall,
                 "p50_ms": float(np.percentile(lat, 50) * 1e3), "p99_ms": float(np.percentile(lat, 99) * 1e3),
                 "qps_cpu": len(q) / cpu.sum(), "cpu_p50_ms": float(np.percentile(cpu, 50) * 1e3)}
        result["curve"].append(point)
        print("faiss: " + json.dumps(point), file=sys.stderr)
    with open(os.path.join(args.out, "faiss.json"), "w") as f:
        json.dump(result, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("truth")
    a.add_argument("store")
    a.add_argument("out")
    a.add_argument("--queries", type=int, default=1000)
    a.add_argument("--k", type=int, default=10)
    a.add_argument("--seed", type=int, default=7)
    a = sub.add_parser("faiss")
    a.add_argument("store")
    a.add_argument("out")
    a.add_argument("--m", type=int, default=16)
    a.add_argument("--ef-construction", type=int, default=100)
    a.add_argument("--build-threads", type=int, default=2)
    a.add_argument("--ef", default="16,32,64,128,256")
    a.add_argument("--index", help="save the built index here; if the file exists, read it and only query")
    args = p.parse_args()
    {"truth": truth, "faiss": faiss_peer}[args.what](args)


if __name__ == "__main__":
    main()
