"""q8/q4 stores made by the JVM (the CLI's `convert --dtype`, and the library through jvm/MakeStore.java): the Python
reader's rows, gathers and neighbours are bit-equal to the JVM's dequantized reads (`embstore get --json`,
`embstore similar --json`), and `matrix` is the file's structured array."""

import numpy as np
import pytest

import embstore
from conftest import AWKWARD_WORDS, seed, vectors_for
from test_jvm_equality import assert_same_neighbours, bits, json_vectors

DTYPES = ["q8", "q4"]


@pytest.fixture(scope="module", params=DTYPES)
def quantized_store(request, make_store):
    """AWKWARD_WORDS and 300 plain words x 37 dims (odd: q4's last byte holds one code)."""
    dtype = request.param
    rng = np.random.default_rng(seed(f"quantized_store {dtype}"))
    words = AWKWARD_WORDS + [f"w{i}" for i in range(300)]
    vectors = vectors_for(len(words), 37, rng)
    return dtype, words, vectors, make_store(words, vectors, dtype=dtype)


def test_rows_and_gathers_are_bit_equal_to_the_jvm_reads(quantized_store, embstore_cli):
    dtype, words, vectors, path = quantized_store
    by_row = json_vectors(embstore_cli.json("get", path, "--rows", ",".join(map(str, range(len(words))))))
    rng = np.random.default_rng(seed(f"quantized gather {dtype}"))
    ids = rng.integers(0, len(words), size=(6, 7))
    with embstore.open(path) as store:
        assert store.dtype == dtype
        assert (store.rows, store.dim) == (len(words), 37)
        for row, word in enumerate(words):
            mine = store[word]
            assert mine.dtype == np.float32 and mine.shape == (37,)
            np.testing.assert_array_equal(bits(mine), bits(by_row[row][1]), err_msg=f"store[{word!r}] ({dtype})")
            # Quantized: close to what went in, not equal (the bound itself is tested on the JVM side).
            step = (vectors[row].max() - vectors[row].min()) / (255 if dtype == "q8" else 15)
            assert np.abs(mine - vectors[row]).max() <= step * 0.51 + 1e-3 * np.abs(vectors[row]).max()
        for consistent in (True, False):
            got = store.gather(ids, consistent=consistent)
            assert got.shape == (6, 7, 37) and got.dtype == np.float32
            for index in np.ndindex(ids.shape):
                np.testing.assert_array_equal(bits(got[index]), bits(by_row[int(ids[index])][1]),
                                              err_msg=f"gather {index} consistent={consistent} ({dtype})")


def test_matrix_is_the_structured_array_numpy_load_gives(quantized_store):
    dtype, words, _, path = quantized_store
    codes = 37 if dtype == "q8" else 19
    scale = "<f4" if dtype == "q8" else "<f2"
    with embstore.open(path) as store:
        m = store.matrix
        assert m.shape == (len(words),)
        assert m.dtype == np.dtype([("scale", scale), ("bias", scale), ("q", "u1", (codes,))])
        loaded = np.load(path / "matrix.npy", mmap_mode="r")
        assert loaded.dtype == m.dtype
        np.testing.assert_array_equal(np.asarray(loaded).view(np.uint8), np.asarray(m).view(np.uint8))
        if dtype == "q4":
            # An odd dim leaves the last byte's high nibble 0.
            assert not (m["q"][:, -1] >> 4).any()
        everything = store.gather(np.arange(store.rows))
        assert everything.shape == (len(words), 37)


def test_most_similar_equals_similar_json(quantized_store, embstore_cli):
    dtype, words, _, path = quantized_store
    queries = ["café", "日本語", "w0", "w17", "w299"]
    payload = embstore_cli.json("similar", path, "-k", "10", *queries)
    with embstore.open(path) as store:
        for q in queries:
            jvm = [(n["word"], n["similarity"]) for n in payload[q]]
            mine = [(w, float(s)) for w, s in store.most_similar(q, topn=10)]
            assert_same_neighbours(mine, jvm, f"most_similar({q!r}) in the {dtype} store")
            assert abs(store.similarity(q, jvm[0][0]) - jvm[0][1]) <= 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_library_made_store_with_padding_and_appends(dtype, make_java_store, embstore_cli, tmp_path):
    """Rows written by WritableStore.write (the library), a padding row, and rows appended later."""
    from jvm_stores import append_rows
    rng = np.random.default_rng(seed(f"quantized java {dtype}"))
    words = [f"x{i}" for i in range(20)]
    vectors = vectors_for(len(words), 8, rng)
    vectors[3] = 0.75  # a constant row: scale 0, read back exactly
    path = make_java_store(words, vectors, dtype=dtype, padding_index=5)
    with embstore.open(path) as store:
        append_rows(path, ["late0", "late1"], vectors_for(2, 8, rng))
        assert store.refresh()
        by_row = json_vectors(embstore_cli.json("get", path, "--rows", ",".join(map(str, range(store.rows)))))
        got = store.gather(np.arange(store.rows))
        for row in range(store.rows):
            np.testing.assert_array_equal(bits(got[row]), bits(by_row[row][1]), err_msg=f"row {row} ({dtype})")
        np.testing.assert_array_equal(store["x5"], np.zeros(8, np.float32))
        np.testing.assert_array_equal(store["x3"], np.full(8, 0.75, np.float32))
