"""Times the Python package embstore (python/embstore) on the harness's store, for benchmarks/peers/run.
Prints one JSON object.

usage: python_peer.py open-lookup STORE WORD | lookups STORE WORDS ROUNDS | rows-of STORE WORDS BATCH ROUNDS
                      | gather STORE IDS BATCH ROUNDS consistent|relaxed | reader STORE
WORDS is a text file of words, one a line (lookups: ROUNDS + 1 passes of different words, see fresh_passes_rate);
IDS raw little-endian int32 (the gather section's file). The harness runs
this with Debian's /usr/bin/python3 and PYTHONPATH=<root>/python, as gensim_peer.py runs the peer: the same
interpreter and numpy on both sides. Reading the input files is not timed.
"""
import time

T_START = time.perf_counter()  # before the imports: open-lookup reports what importing embstore costs

import json  # noqa: E402
import sys  # noqa: E402

import embstore  # noqa: E402
from peer_timing import fresh_passes_rate, median_rate, read_words  # noqa: E402

T_IMPORTED = time.perf_counter()


def main():
    cmd = sys.argv[1]
    if cmd == "open-lookup":
        # A user's first request in a fresh process: the clock starts before open, after the imports.
        t0 = time.perf_counter()
        store = embstore.open(sys.argv[2])
        t1 = time.perf_counter()
        v = store[sys.argv[3]]
        total = float(v.sum())
        t2 = time.perf_counter()
        print(json.dumps({"open_lookup_ms": 1000 * (t2 - t0), "open_ms": 1000 * (t1 - t0),
                          "import_ms": 1000 * (T_IMPORTED - T_START), "sum": total}))
    elif cmd == "lookups":
        # store[word] one word at a time: a consistent copy of the row each (gensim's kv[word] returns a view). The
        # Store remembers the rows of words it found (a bounded dict): fresh words in every pass keep that honest.
        store = embstore.open(sys.argv[2])
        words = read_words(sys.argv[3])
        rate = fresh_passes_rate(store.__getitem__, words, int(sys.argv[4]))
        print(json.dumps({"words_s": rate, "sum": float(store[words[-1]].sum())}))
    elif cmd == "rows-of":
        store = embstore.open(sys.argv[2])
        words = read_words(sys.argv[3])
        batch = int(sys.argv[4])
        batches = [words[i:i + batch] for i in range(0, len(words), batch)]
        rate = median_rate(store.rows_of, batches, len(words), int(sys.argv[5]))
        rows = store.rows_of(batches[-1])
        if (rows < 0).any():
            raise SystemExit(f"rows_of: {int((rows < 0).sum())} words of {sys.argv[3]} not found")
        print(json.dumps({"words_s": rate, "last_row": int(rows[-1])}))
    elif cmd == "gather":
        import numpy as np
        store = embstore.open(sys.argv[2])
        batch = int(sys.argv[4])
        ids = np.fromfile(sys.argv[3], dtype="<i4")
        n = len(ids) // batch
        work = list(ids[:n * batch].reshape(n, batch).astype(np.int64))  # int64, as numpy's and torch's sides get
        consistent = {"consistent": True, "relaxed": False}[sys.argv[6]]
        out = [None]

        def one(b):
            out[0] = store.gather(b, consistent=consistent)
        rate = median_rate(one, work, n * batch, int(sys.argv[5]))
        print(json.dumps({"rows_s": rate, "last_batch_sum": float(np.asarray(out[0], dtype=np.float64).sum())}))
    elif cmd == "reader":
        # A serving process, as PeerProbe reader: opens the table, reads every row once with consistent gathers of
        # 1024 rows, then stays alive until stdin closes so that the harness can read its /proc/PID/smaps.
        import numpy as np
        store = embstore.open(sys.argv[2])
        total = 0.0
        block = 1024
        for base in range(0, store.rows, block):
            total += float(store.gather(np.arange(base, min(base + block, store.rows))).sum(dtype=np.float64))
        print(json.dumps({"ready": True, "rows": store.rows, "sum": total}), flush=True)
        sys.stdin.read()
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
