#!/usr/bin/env python3
"""How much q8 and q4 change a table's answers, against the same table in f32 (issue 14, "Quantized rows"). Run by
hand, not in CI:

    benchmarks/quantization-quality.py [WORKDIR [VECTOR_FILE...]]   (default WORKDIR: /tmp/embstore-quantization)

For each vector file of the shared data (../shared/data: lee_fasttext.vec, test_glove.txt, euclidean_vectors.bin)
it converts the file to f32, q8 and q4 stores with `./embstore convert --dtype`, then measures, through the CLI
only:
  - top-10 neighbour overlap with f32: for every word of the table as the query, |top10(f32) & top10(qN)| / 10,
    averaged (`./embstore similar -k 10 --json`);
  - WordSim-353 Spearman and analogy accuracy (questions-words) with `./embstore evaluate --json`, and their
    differences from f32 (pairs and questions with unknown words are skipped, as gensim does: on these small
    vocabularies most are);
  - the bytes of matrix.npy.
VECTOR_FILEs are measured the same way after the shared files: a larger real table, e.g. the 20,183 x 300 skip-gram
vectors trained on the shared corpora by `benchmarks/ann/gen_table.py base` (its recipe).
Prints a Markdown report (the one in benchmarks/results/quantization.md). Needs python3 (standard library only) and
the JDK the launcher finds.
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
EMBSTORE = os.path.join(ROOT, "embstore")
INPUTS = ["lee_fasttext.vec", "test_glove.txt", "euclidean_vectors.bin"]
DTYPES = ["f32", "q8", "q4"]
K = 10
QUERIES_PER_CALL = 400


def cli(*args):
    result = subprocess.run([EMBSTORE, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit("embstore %s failed: %s" % (" ".join(map(str, args)), result.stderr.strip()))
    return result.stdout


def words_of(path):
    """The words of a vector file, in file order (a word2vec header line is skipped)."""
    words = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if i == 0 and len(fields) == 2 and all(x.isdigit() for x in fields):
                continue
            words.append(fields[0])
    return words


def neighbours(store, words):
    out = {}
    for start in range(0, len(words), QUERIES_PER_CALL):
        chunk = words[start:start + QUERIES_PER_CALL]
        # After '--' every argument is a word, even '--' itself (test_glove.txt has it).
        payload = json.loads(cli("similar", store, "-k", K, "--json", "--", *chunk))
        for w in chunk:
            out[w] = [n["word"] for n in payload[w]]
    return out


def evaluate(store):
    return json.loads(cli("evaluate", store, "--json",
                          "--word-pairs", os.path.join(DATA, "wordsim353.tsv"),
                          "--analogies", os.path.join(DATA, "questions-words.txt")))


def difference(value, base, factor=1):
    """value - base, or None when either is undefined (no pair or question of the file in the vocabulary)."""
    return None if value is None or base is None else factor * (value - base)


def number(value, pattern, factor=1):
    return "n/a" if value is None else pattern % (factor * value)


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/embstore-quantization"
    os.makedirs(work, exist_ok=True)
    rows = []
    sources = [os.path.join(DATA, name) for name in INPUTS] + [os.path.abspath(p) for p in sys.argv[2:]]
    for source in sources:
        name = os.path.basename(source)
        stores = {}
        for dtype in DTYPES:
            store = os.path.join(work, "%s-%s" % (name.split(".")[0], dtype))
            if os.path.exists(store):
                shutil.rmtree(store)
            cli("convert", source, store, "--dtype", dtype, "--quiet")
            stores[dtype] = store
        # The words as the store holds them (a binary file is not read here): exported as word2vec text.
        exported = os.path.join(work, name + ".words.vec")
        cli("export", stores["f32"], exported, "--quiet")
        words = words_of(exported)
        exact = neighbours(stores["f32"], words)
        base = evaluate(stores["f32"])
        for dtype in DTYPES:
            got = exact if dtype == "f32" else neighbours(stores[dtype], words)
            overlap = sum(len(set(exact[w]) & set(got[w])) for w in words) / (K * len(words))
            identical = sum(exact[w] == got[w] for w in words) / len(words)
            ev = base if dtype == "f32" else evaluate(stores[dtype])
            pairs, analogies = ev["word_pairs"], ev["analogies"]
            rows.append({
                "table": name, "dtype": dtype, "rows": len(words),
                "bytes": os.path.getsize(os.path.join(stores[dtype], "matrix.npy")) - 4096,
                "overlap": overlap, "identical": identical,
                "pairs": pairs["pairs"], "spearman": pairs["spearman"],
                "d_spearman": difference(pairs["spearman"], base["word_pairs"]["spearman"]),
                "questions": analogies["total"], "accuracy": analogies["accuracy"],
                "d_accuracy": difference(analogies["accuracy"], base["analogies"]["accuracy"], 100),
            })
    print("| table | dtype | matrix bytes | top-10 overlap with f32 | same top-10 list | WordSim-353 Spearman (pairs) |"
          " difference | analogy accuracy (questions) | difference (points) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s (%d rows) | %s | %d | %.4f | %.3f | %s (%d) | %s | %s (%d) | %s |" % (
            r["table"], r["rows"], r["dtype"], r["bytes"], r["overlap"], r["identical"],
            number(r["spearman"], "%.4f"), r["pairs"], number(r["d_spearman"], "%+.4f"),
            number(r["accuracy"], "%.2f%%", 100), r["questions"], number(r["d_accuracy"], "%+.2f")))


if __name__ == "__main__":
    main()
