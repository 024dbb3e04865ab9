"""A store converted from a fastText .bin model answers absent words from character n-grams in Python as the JVM
and fastText do: a small model is trained here with Debian's fasttext on the shared lee corpus, converted with
./embstore, and the package's vectors are compared with `embstore get --json` (the same float32 arithmetic: equal
to 1e-6) and with `fasttext print-word-vectors` (five significant digits: cosine >= 0.9999, relative error <= 1e-4).
"""

import shutil
import subprocess

import numpy as np
import pytest

import embstore
from conftest import IN_CI, REPO
from embstore._subwords import ngram_buckets

ABSENT = ["naïve", "日本語", "zzqxv", "Straße", "🙂ok", "q", "ÉCOLE", "antidisestablishmentarianismus"]
LEE = REPO.parent / "shared" / "data" / "lee_background.cor"


@pytest.fixture(scope="module")
def model(tmp_path_factory, embstore_cli):
    missing = [what for what, ok in (("the fasttext command (apt-get install fasttext)", shutil.which("fasttext")),
                                     ("../shared/data/lee_background.cor", LEE.is_file())) if not ok]
    if missing:
        if IN_CI:
            pytest.fail("%s missing: CI must run the fastText subword tests" % ", ".join(missing))
        pytest.skip("%s missing: skipping the fastText subword tests" % ", ".join(missing))
    d = tmp_path_factory.mktemp("fasttext")
    subprocess.run(["fasttext", "skipgram", "-input", str(LEE), "-output", str(d / "sg"), "-dim", "16", "-bucket",
                    "2000", "-minn", "3", "-maxn", "6", "-epoch", "1", "-thread", "1", "-verbose", "0"], check=True)
    embstore_cli.run("convert", d / "sg.bin", d / "sg.store", "--quiet")
    return d


def print_word_vectors(model_bin, words):
    out = subprocess.run(["fasttext", "print-word-vectors", str(model_bin)], input="\n".join(words) + "\n",
                         capture_output=True, text=True, encoding="utf-8", check=True).stdout
    vectors = {}
    for line in out.splitlines():
        fields = line.strip().split(" ")
        vectors[fields[0]] = np.array(fields[1:], dtype=np.float32)
    return vectors


def assert_close(word, expected, actual, cosine_min, relative_max):
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    cosine = float(e @ a) / np.sqrt(float(e @ e) * float(a @ a))
    relative = float(np.linalg.norm(e - a) / np.linalg.norm(e))
    assert cosine >= cosine_min and relative <= relative_max, (word, cosine, relative, expected, actual)


def test_ngram_buckets_follow_fasttext():
    # "<a>" is an n-gram of "a" (3 characters); the lone "<" and ">" never are; a 2-byte character counts as one.
    assert len(ngram_buckets(b"a", 3, 6, 2000)) == 1
    assert len(ngram_buckets("ï".encode(), 1, 1, 2000)) == 1
    assert len(ngram_buckets(b"ab", 1, 1, 2000)) == 2
    assert ngram_buckets(b"</s>", 3, 6, 2000) == []
    # "<ab>" with n = 3..6: "<ab", "ab>", "<ab>".
    assert len(ngram_buckets(b"ab", 3, 6, 2000)) == 3


def test_absent_and_present_words_match_the_jvm_and_fasttext(model, embstore_cli):
    store_path = model / "sg.store"
    with embstore.open(store_path) as store:
        layout = store.subwords
        assert (layout.minn, layout.maxn, layout.buckets) == (3, 6, 2000)
        present = [store.word(r) for r in range(0, layout.word_rows, 97)]
        words = present + ABSENT
        for w in ABSENT:
            assert w not in store
        ours = {w: store[w] for w in words}
    jvm = {v["word"]: (np.array(v["vector"], dtype=np.float32), v.get("subword", False))
           for v in embstore_cli.json("get", store_path, *words)["vectors"]}
    oracle = print_word_vectors(model / "sg.bin", words)
    for w in words:
        vector, subword = jvm[w]
        assert subword == (w in ABSENT), w
        assert_close(w, vector, ours[w], 1 - 1e-7, 1e-6)
        assert_close(w, oracle[w], ours[w], 0.9999, 1e-4)


def test_queries_rank_words_only(model):
    with embstore.open(model / "sg.store") as store:
        word_rows = store.subwords.word_rows
        assert store.row_of("<ngram bucket 0>") == -1
        assert list(store.rows_of(["<ngram bucket 5>", store.word(0)])) == [-1, 0]
        near = store.most_similar("naïve", topn=5000)
        assert len(near) == word_rows
        assert all(store.row_of(w) >= 0 for w, _ in near[:50])
        assert -1 <= store.similarity("naïve", "日本語") <= 1
