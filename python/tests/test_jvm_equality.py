"""The Python reader gives what the JVM gives on the same store: vectors bit for bit (`embstore get --json`), and the
same neighbours (`embstore similar --json`, and the library's vector query with exclusions), f32 and f16, with
non-ASCII and awkward words."""

import numpy as np
import pytest

import embstore
from conftest import AWKWARD_WORDS, seed, vectors_for

DTYPES = ["f32", "f16"]


def bits(values):
    """float32 values as their bit patterns, so -0.0 and 0.0 differ and equality is exact."""
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def json_vectors(payload):
    """{word-or-row: float32 vector} from `get --json`."""
    return {v["row"]: (v.get("word"), np.array(v["vector"], dtype=np.float32)) for v in payload["vectors"]}


@pytest.fixture(scope="module", params=DTYPES)
def small_store(request, make_store):
    """AWKWARD_WORDS and 300 plain words x 37 dims (an odd width, so no vectorised loop is all there is)."""
    dtype = request.param
    rng = np.random.default_rng(seed(f"small_store {dtype}"))
    words = AWKWARD_WORDS + [f"w{i}" for i in range(300)]
    vectors = vectors_for(len(words), 37, rng, dtype)
    return dtype, words, vectors, make_store(words, vectors, dtype=dtype)


def test_word_lookups_are_bit_equal_to_get_json(small_store, embstore_cli):
    dtype, words, vectors, path = small_store
    payload = embstore_cli.json("get", path, *words)
    assert payload["missing"] == []
    by_row = json_vectors(payload)
    with embstore.open(path) as store:
        assert store.dtype == dtype
        assert (store.rows, store.dim, len(store)) == (len(words), 37, len(words))
        for row, word in enumerate(words):
            assert store.row_of(word) == row, word
            assert store.word(row) == word
            assert word in store
            jvm_word, jvm_vector = by_row[row]
            assert jvm_word == word
            mine = store[word]
            assert mine.dtype == np.float32 and mine.shape == (37,)
            np.testing.assert_array_equal(bits(mine), bits(jvm_vector), err_msg=f"store[{word!r}] differs from get --json")
            # What went in comes out (f16 inputs were already f16 values).
            np.testing.assert_array_equal(bits(mine), bits(vectors[row]), err_msg=word)
        np.testing.assert_array_equal(store.rows_of(words), np.arange(len(words)))


def test_gather_is_bit_equal_to_get_rows_json(small_store, embstore_cli):
    dtype, words, vectors, path = small_store
    rng = np.random.default_rng(seed(f"gather {dtype}"))
    ids = rng.integers(0, len(words), size=(4, 5, 3))
    wanted = sorted(set(int(i) for i in ids.ravel()))
    by_row = json_vectors(embstore_cli.json("get", path, "--rows", ",".join(map(str, wanted))))
    with embstore.open(path) as store:
        for consistent in (True, False):
            got = store.gather(ids, consistent=consistent)
            assert got.shape == (4, 5, 3, 37) and got.dtype == np.float32
            for index in np.ndindex(ids.shape):
                row = int(ids[index])
                np.testing.assert_array_equal(bits(got[index]), bits(by_row[row][1]),
                                              err_msg=f"gather row {row} at {index} (consistent={consistent})")


def test_empty_word_and_padding_row_match_the_jvm(make_java_store, embstore_cli):
    """Words the text formats cannot hold (the empty word, a line break) and a padding row, from the Java library."""
    rng = np.random.default_rng(seed("empty word"))
    words = ["", "line\nbreak", "tab\there", " leading", "trailing ", "pad", "日本"]
    vectors = vectors_for(len(words), 9, rng)
    padding = words.index("pad")
    path = make_java_store(words, vectors, padding_index=padding)
    by_row = json_vectors(embstore_cli.json("get", path, "--rows", ",".join(map(str, range(len(words))))))
    with embstore.open(path) as store:
        assert store.padding_index == padding
        for row, word in enumerate(words):
            assert store.row_of(word) == row, repr(word)
            assert store.word(row) == word
            expected = np.zeros(9, np.float32) if row == padding else vectors[row]
            np.testing.assert_array_equal(bits(store[word]), bits(expected), err_msg=repr(word))
            np.testing.assert_array_equal(bits(store[word]), bits(by_row[row][1]), err_msg=repr(word))
        np.testing.assert_array_equal(store.gather(np.array([padding, 0, padding])),
                                      np.stack([np.zeros(9, np.float32), vectors[0], np.zeros(9, np.float32)]))
    # The empty word as a command-line argument reaches the JVM too.
    assert embstore_cli.json("get", path, "")["vectors"][0]["row"] == 0


def assert_same_neighbours(mine, jvm, context):
    """Same words in the same order, similarities within 1e-6; rows whose similarities are that close may trade
    places (the JVM ranks in float and says so: EmbeddingStore.mostSimilar's javadoc)."""
    assert len(mine) == len(jvm), f"{context}: {len(mine)} neighbours, the JVM gives {len(jvm)}\n{mine}\n{jvm}"
    for i, ((word, sim), (jword, jsim)) in enumerate(zip(mine, jvm)):
        assert abs(sim - jsim) <= 1e-6, f"{context}: #{i} {word!r} {sim} vs the JVM's {jword!r} {jsim}\n{mine}\n{jvm}"
        if word != jword:
            # Only a near-tie may swap: the JVM's word must be among mine with (nearly) the same similarity.
            near = [w for w, s in mine if abs(s - jsim) <= 1e-6]
            assert jword in near, f"{context}: #{i} is {word!r}, the JVM says {jword!r}\n{mine}\n{jvm}"


@pytest.fixture(scope="module", params=DTYPES)
def wide_store(request, make_store):
    """3000 rows x 64: enough that the top 10 are a real choice. The f16 one from a GloVe file (no header line)."""
    dtype = request.param
    rng = np.random.default_rng(seed(f"wide_store {dtype}"))
    words = AWKWARD_WORDS + [f"t{i}" for i in range(3000 - len(AWKWARD_WORDS))]
    fmt = "glove" if dtype == "f16" else "word2vec"
    return dtype, words, make_store(words, vectors_for(len(words), 64, rng, dtype), dtype=dtype, fmt=fmt)


def test_most_similar_equals_similar_json(wide_store, embstore_cli):
    dtype, words, path = wide_store
    queries = ["café", "日本語", "🙂", "new york", "a  b", "t0", "t1234", "t2981"]
    payload = embstore_cli.json("similar", path, "-k", "10", *queries)
    with embstore.open(path) as store:
        for q in queries:
            jvm = [(n["word"], n["similarity"]) for n in payload[q]]
            mine = [(w, float(s)) for w, s in store.most_similar(q, topn=10)]
            assert_same_neighbours(mine, jvm, f"most_similar({q!r}) in the {dtype} store")
            assert q not in [w for w, _ in mine]
            # similarity() agrees with the ranked list.
            assert abs(store.similarity(q, jvm[0][0]) - jvm[0][1]) <= 1e-6


def test_vector_query_with_exclude_equals_the_library(wide_store, jvm, tmp_path):
    dtype, words, path = wide_store
    rng = np.random.default_rng(seed(f"vector query {dtype}"))
    with embstore.open(path) as store:
        query = rng.standard_normal(64).astype(np.float32)
        best = [w for w, _ in store.most_similar(query, topn=3)]
        exclude = [best[0], best[2], "日本語", "not-in-the-store"]
        request = tmp_path / "request.txt"
        request.write_text(" ".join(format(int(b), "x") for b in bits(query)) + "\n"
                           + "".join(w.encode("utf-8").hex() + "\n" for w in exclude), encoding="ascii")
        jvm_lines = jvm.run("Neighbors", path, 10, request).stdout.splitlines()
        jvm_result = []
        for line in jvm_lines:
            _, sim_bits, word_hex = line.split("\t")
            sim = float(np.array([int(sim_bits, 16)], dtype=np.uint32).view(np.float32)[0])
            jvm_result.append((bytes.fromhex(word_hex).decode("utf-8"), sim))
        mine = [(w, float(s)) for w, s in store.most_similar(query, topn=10, exclude=exclude)]
        assert_same_neighbours(mine, jvm_result, f"most_similar(vector, exclude={exclude}) in the {dtype} store")
        assert not {best[0], best[2], "日本語"} & {w for w, _ in mine}
        assert best[1] in [w for w, _ in mine]
