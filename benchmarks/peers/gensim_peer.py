"""Times gensim on the same files as embstore, for benchmarks/peers/run. Prints one JSON object.

usage: gensim_peer.py load-glove FILE | load-binary FILE | save-text FILE OUT | most-similar FILE QUERIES K
Times exclude Python's start-up and the gensim import (a favour to gensim: embstore's times are whole processes).
"""
import json
import sys
import time

from gensim.models import KeyedVectors


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
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
