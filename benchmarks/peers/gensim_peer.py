"""Times gensim on the same files as embstore, for benchmarks/peers/run. Prints one JSON object.

usage: gensim_peer.py load-glove FILE | load-binary FILE | save-text FILE OUT | most-similar FILE QUERIES K
                      | save-kv FILE OUT | open-lookup KV WORD | reader KV | lookups KV WORDS ROUNDS
                      | rows-of KV WORDS BATCH ROUNDS
Times exclude Python's start-up and the gensim import (a favour to gensim: embstore's times are whole processes);
open-lookup reports the import's time separately.
"""
import time

T_START = time.perf_counter()  # before the imports: open-lookup reports what importing gensim costs

import json  # noqa: E402
import sys  # noqa: E402

import numpy  # noqa: E402
from gensim.models import KeyedVectors  # noqa: E402
from peer_timing import fresh_passes_rate, median_rate, read_words  # noqa: E402

T_IMPORTED = time.perf_counter()


def load(path, binary=False, no_header=False):
    return KeyedVectors.load_word2vec_format(path, binary=binary, no_header=no_header)


def words_to_indexes(kv):
    """The ways a gensim user maps a batch of words to row indexes; rows-of reports the fastest here."""
    d = kv.key_to_index
    return {
        "[kv.key_to_index[w] for w in words]": lambda words: [kv.key_to_index[w] for w in words],
        "[kv.get_index(w) for w in words]": lambda words: [kv.get_index(w) for w in words],
        "list(map(key_to_index.__getitem__, words))": lambda words: list(map(d.__getitem__, words)),
        "np.fromiter(map(key_to_index.__getitem__, words), int64)":
            lambda words: numpy.fromiter(map(d.__getitem__, words), numpy.int64, len(words)),
        "np.array([key_to_index.get(w, -1) for w in words], int64)":
            lambda words: numpy.array([d.get(w, -1) for w in words], numpy.int64),
    }


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
    elif cmd == "lookups":
        kv = KeyedVectors.load(sys.argv[2], mmap="r")
        words = read_words(sys.argv[3])
        rate = fresh_passes_rate(kv.__getitem__, words, int(sys.argv[4]))
        # kv[word] is a view: the row's bytes are not read. A copy reads them, as store[word] does.
        copy = fresh_passes_rate(lambda w: kv[w].copy(), words, int(sys.argv[4]))
        print(json.dumps({"words_s": rate, "copy_words_s": copy, "sum": float(kv[words[-1]].sum())}))
    elif cmd == "rows-of":
        # Every way of words_to_indexes on the same batches, in turn, median of each; the fastest is the peer.
        kv = KeyedVectors.load(sys.argv[2], mmap="r")
        words = read_words(sys.argv[3])
        batch = int(sys.argv[4])
        batches = [words[i:i + batch] for i in range(0, len(words), batch)]
        rates = {name: median_rate(f, batches, len(words), int(sys.argv[5]))
                 for name, f in words_to_indexes(kv).items()}
        best = max(rates, key=rates.get)
        print(json.dumps({"words_s": rates[best], "best": best, "rates": rates}))
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
