"""Times gensim on the same files as embstore, for benchmarks/peers/run. Prints one JSON object.

usage: gensim_peer.py load-glove FILE | load-binary FILE | save-text FILE OUT | most-similar FILE QUERIES K
                      | save-kv FILE OUT | open-lookup KV WORD | reader KV
Times exclude Python's start-up and the gensim import (a favour to gensim: embstore's times are whole processes);
open-lookup reports the import's time separately.
"""
import time

T_START = time.perf_counter()  # before the imports: open-lookup reports what importing gensim costs

import json  # noqa: E402
import sys  # noqa: E402

import numpy  # noqa: E402
from gensim.models import KeyedVectors  # noqa: E402

T_IMPORTED = time.perf_counter()


def load(path, binary=False, no_header=False):
    return KeyedVectors.load_word2vec_format(path, binary=binary, no_header=no_header)


def main():
    cmd = sys.argv[1]
    t0 = time.perf_counter()
    if cmd == "load-glove":
        kv = load(sys.argv[2], no_header=True)
        print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(kv.index_to_key)}))
    elif cmd == "load-binary":
        kv = load(sys.argv[2], binary=True)
        print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(kv.index_to_key)}))
    elif cmd == "save-text":
        kv = load(sys.argv[2], binary=True)
        t0 = time.perf_counter()
        kv.save_word2vec_format(sys.argv[3], binary=False)
        print(json.dumps({"seconds": time.perf_counter() - t0}))
    elif cmd == "most-similar":
        kv = load(sys.argv[2], binary=True)
        queries = int(sys.argv[3])
        k = int(sys.argv[4])
        kv.fill_norms()
        kv.most_similar(kv.index_to_key[0], topn=k)  # warm-up
        times = []
        for i in range(queries):
            t = time.perf_counter()
            kv.most_similar(kv.index_to_key[(i * 7919) % len(kv.index_to_key)], topn=k)
            times.append(time.perf_counter() - t)
        times.sort()
        print(json.dumps({"median_ms": 1000 * times[len(times) // 2]}))
    elif cmd == "save-kv":
        # Prepares open-lookup and reader (untimed): gensim's own format, the vectors in a separate .npy that
        # KeyedVectors.load(mmap="r") maps, the vocabulary pickled. (gensim separates arrays of 10M elements or more
        # by itself; naming the vectors makes the small tables of a smoke run mappable too.)
        load(sys.argv[2], binary=True).save(sys.argv[3], separately=["vectors"])
        print(json.dumps({"saved": sys.argv[3]}))
    elif cmd == "open-lookup":
        t0 = time.perf_counter()
        kv = KeyedVectors.load(sys.argv[2], mmap="r")
        v = kv[sys.argv[3]]
        total = float(v.sum())
        t = time.perf_counter() - t0
        print(json.dumps({"open_lookup_ms": 1000 * t, "import_ms": 1000 * (T_IMPORTED - T_START), "sum": total}))
    elif cmd == "reader":
        # A serving process: maps the vectors, unpickles its own vocabulary, reads every row once, then stays alive
        # until stdin closes so that the harness can read its /proc/PID/smaps.
        kv = KeyedVectors.load(sys.argv[2], mmap="r")
        total = float(numpy.sum(kv.vectors, dtype=numpy.float64))
        print(json.dumps({"ready": True, "rows": len(kv.index_to_key), "sum": total,
                          "vectors": getattr(kv.vectors, "filename", None)}), flush=True)
        sys.stdin.read()
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
