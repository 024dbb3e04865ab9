"""Reads a store from Python: word lookups, a gather, neighbours. From the repository root (any store will do):

    ./embstore demo --dir demo-store --keep
    PYTHONPATH=python python3 examples/python/quickstart.py demo-store
"""

import sys

import numpy as np

import embstore

path = sys.argv[1] if len(sys.argv) > 1 else "demo-store"
with embstore.open(path) as store:
    print(store)
    words = [store.word(row) for row in range(min(3, store.rows))]
    print("first words:", words)
    print("rows_of:", store.rows_of(words + ["surely-not-a-word"]))
    print("%s: %s..." % (words[0], np.array2string(store[words[0]][:4], precision=4)))
    batch = store.gather(np.array([[0, 1], [1, 2]]) % store.rows)
    print("gather [2, 2] ->", batch.shape, batch.dtype)
    for word, similarity in store.most_similar(words[0], topn=5):
        print("  %-12s %.4f" % (word, similarity))
