#!/usr/bin/python3
"""The tables of the ANN benchmark (benchmarks/ann/run): seeded, so the same arguments give the same bytes.

Both are written as word2vec binary files (`word ` then dim little-endian float32, then a newline), which
`embstore convert` turns into a store; the store's matrix.npy is then the .npy FAISS reads (np.load(mmap_mode="r")),
so one copy of each 1M x 300 table is kept, not two.

  gen_table.py clustered OUT.bin [--rows 1000000] [--dim 300] [--clusters 4000] [--seed 1]
  gen_table.py base OUT.txt [--dim 300] [--seed 1]            word2vec (gensim) on the shared corpora
  gen_table.py expand BASE.txt OUT.bin [--rows 1000000] [--seed 1]

clustered: a Gaussian mixture shaped like an embedding table, not uniform noise (uniform random vectors have no
  near neighbours, so every index looks bad on them and none of the numbers transfer):
  - every vector shares a mean direction (word vectors are anisotropic: their mean is far from 0), and the
    centroids vary most along a few directions (a decaying spectrum in a random basis) instead of isotropically;
  - the centroids come in two levels: 200 topics, each with clusters around it, so clusters have near clusters;
  - cluster sizes are Zipf-like (weights 1/(rank+10)^1.1, so from a few rows to a few thousand), each cluster has
    its own spread (log-normal, a 4x range between the tight and the loose ones) and 4 directions of its own along
    which it is elongated;
  - rows are shuffled: a cluster's members are spread over the table, as a frequency-ordered vocabulary's are.
  At 1M rows the defaults give a nearest neighbour at cosine 0.74-0.85-0.91 (10th-50th-90th percentile over 1000
  rows) and a 10th neighbour at 0.62-0.79-0.88: HNSW needs ef 512 on it for recall@10 0.95, as on hard real tables.
base: 300-d skip-gram vectors trained by gensim (Debian's python3-gensim) on ../shared/data/lee_background.cor and
  head500.noblanks.cor (min_count 2, window 5, 10 epochs, one worker and a fixed seed: reproducible), written as
  word2vec text: the real table, 20,183 words. It is far too small for an ANN benchmark, so:
expand: the real rows first, then new rows, each made from a real row b: moved part of the way (t uniform in
  [0, 0.5]) towards one of b's 20 nearest real neighbours c, plus Gaussian noise whose size is drawn per row
  (log-normal around 0.25 of b's norm / sqrt(dim) per component), so that the new rows fill the real table's
  neighbourhoods (the space between related words) rather than making tight copies of each word. Words: the real
  word, then `word#N` for the new ones.
"""
import argparse
import os
import sys

import numpy as np

SHARED = os.environ.get("EMBSTORE_SHARED_DATA",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data"))


def write_word2vec_binary(path, words, chunks, rows, dim):
    """chunks yields float32 arrays of rows; words(i) gives the word of row i."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"%d %d\n" % (rows, dim))
        i = 0
        for block in chunks:
            block = np.ascontiguousarray(block, dtype="<f4")
            parts = []
            for r in range(block.shape[0]):
                parts.append(words(i).encode("utf-8") + b" ")
                parts.append(block[r].tobytes())
                parts.append(b"\n")
                i += 1
            f.write(b"".join(parts))
    assert i == rows, (i, rows)
    os.replace(tmp, path)


def clustered(args):
    rng = np.random.default_rng(args.seed)
    n, d, c = args.rows, args.dim, args.clusters
    topics = 200
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)  # a random orthonormal basis
    spectrum = (1.0 / np.sqrt(np.arange(d) + 8.0)).astype(np.float32)
    spectrum /= np.sqrt((spectrum ** 2).mean())                               # mean variance 1 per component
    mean = rng.standard_normal(d).astype(np.float32)
    mean *= 0.6 / np.linalg.norm(mean)

    def shaped(k, scale):  # k anisotropic Gaussian vectors, per-component rms `scale`
        return (rng.standard_normal((k, d)).astype(np.float32) * spectrum) @ basis * scale

    topic_centres = shaped(topics, 0.8 / np.sqrt(d))
    centre_topic = rng.integers(0, topics, c)
    centres = mean + topic_centres[centre_topic] + shaped(c, 0.55 / np.sqrt(d))
    weights = 1.0 / (np.arange(c) + 10.0) ** 1.1
    rng.shuffle(weights)
    sizes = np.floor(weights / weights.sum() * n).astype(np.int64)
    sizes[np.argsort(-weights)[: n - sizes.sum()]] += 1                     # exactly n rows
    spread = (0.85 / np.sqrt(d)) * np.exp(rng.normal(0.0, 0.35, c)).astype(np.float32)
    order = rng.permutation(n)                                               # row of the i-th generated vector
    out = np.empty((n, d), dtype=np.float32)
    start = 0
    for j in range(c):
        k = int(sizes[j])
        if k == 0:
            continue
        own = rng.standard_normal((4, d)).astype(np.float32) / np.sqrt(d)   # the cluster's elongated directions
        x = centres[j] + shaped(k, spread[j])
        x += (rng.standard_normal((k, 4)).astype(np.float32) * (1.0 * spread[j] * np.sqrt(d))) @ own
        out[order[start:start + k]] = x
        start += k
    print(f"clustered: {n} rows x {d}, {c} clusters of {sizes.min()}..{sizes.max()} rows "
          f"(median {int(np.median(sizes))}), seed {args.seed}", file=sys.stderr)
    step = 65536
    write_word2vec_binary(args.out, lambda i: "w%d" % i, (out[s:s + step] for s in range(0, n, step)), n, d)


def base(args):
    os.environ.setdefault("PYTHONHASHSEED", "0")
    from gensim.models import Word2Vec
    sentences = []
    for name in ("lee_background.cor", "head500.noblanks.cor"):
        with open(os.path.join(SHARED, name), encoding="utf-8") as f:
            sentences += [line.split() for line in f if line.strip()]
    model = Word2Vec(sentences, vector_size=args.dim, window=5, min_count=2, sg=1, epochs=10, workers=1,
                     seed=args.seed)
    model.wv.save_word2vec_format(args.out, binary=False)
    print(f"base: {len(model.wv)} words x {args.dim} from {len(sentences)} documents", file=sys.stderr)


def read_word2vec_text(path):
    with open(path, encoding="utf-8") as f:
        rows, dim = map(int, f.readline().split())
        words, vecs = [], np.empty((rows, dim), dtype=np.float32)
        for i in range(rows):
            parts = f.readline().rstrip().split(" ")
            words.append(parts[0])
            vecs[i] = np.asarray(parts[1:], dtype=np.float32)
    return words, vecs


def expand(args):
    rng = np.random.default_rng(args.seed)
    words, real = read_word2vec_text(args.base)
    v, d = real.shape
    n = args.rows
    unit = real / np.linalg.norm(real, axis=1, keepdims=True)
    neighbours = np.empty((v, 20), dtype=np.int64)
    for s in range(0, v, 2048):
        sims = unit[s:s + 2048] @ unit.T
        sims[np.arange(sims.shape[0]), np.arange(s, s + sims.shape[0])] = -2
        neighbours[s:s + 2048] = np.argpartition(-sims, 20, axis=1)[:, :20]
    norms = np.linalg.norm(real, axis=1)
    if n < v:                                 # a small run (--smoke): the first n real rows alone
        words, real, v = words[:n], real[:n], n
    extra = n - v
    source = rng.integers(0, v, extra)
    towards = neighbours[source, rng.integers(0, 20, extra)]
    t = rng.uniform(0.0, 0.5, extra).astype(np.float32)
    noise = (0.25 * np.exp(rng.normal(0.0, 0.4, extra)) * norms[source] / np.sqrt(d)).astype(np.float32)
    copies = np.zeros(v, dtype=np.int64)
    suffix = np.empty(extra, dtype=np.int64)
    for i, b in enumerate(source):           # word#N: the N-th new row made from that word
        copies[b] += 1
        suffix[i] = copies[b]

    def chunks(step=65536):
        yield real
        for s in range(0, extra, step):
            e = min(extra, s + step)
            b, c = real[source[s:e]], real[towards[s:e]]
            x = b + t[s:e, None] * (c - b)
            x += rng.standard_normal((e - s, d)).astype(np.float32) * noise[s:e, None]
            yield x

    def word(i):
        return words[i] if i < v else "%s#%d" % (words[source[i - v]], suffix[i - v])

    print(f"expand: {v} real rows -> {n} rows x {d}, seed {args.seed}", file=sys.stderr)
    write_word2vec_binary(args.out, word, chunks(), n, d)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("clustered")
    a.add_argument("out")
    a.add_argument("--rows", type=int, default=1_000_000)
    a.add_argument("--dim", type=int, default=300)
    a.add_argument("--clusters", type=int, default=4000)
    a.add_argument("--seed", type=int, default=1)
    a = sub.add_parser("base")
    a.add_argument("out")
    a.add_argument("--dim", type=int, default=300)
    a.add_argument("--seed", type=int, default=1)
    a = sub.add_parser("expand")
    a.add_argument("base")
    a.add_argument("out")
    a.add_argument("--rows", type=int, default=1_000_000)
    a.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    {"clustered": clustered, "base": base, "expand": expand}[args.what](args)


if __name__ == "__main__":
    main()
