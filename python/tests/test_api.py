"""Every point of the package's API on stores the JVM made: shapes, words (non-ASCII, awkward, absent), gather in
every shape, ids outside the table, padding, f16, the raw matrix, refresh after a JVM append, similarity, torch."""

import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))

import embstore  # noqa: E402
from jvm_stores import append_rows, cli, make_store  # noqa: E402

SEED = int(os.environ.get("EMBSTORE_SEED", "20261204"))
AWKWARD = ["a b", "", "café", "cafe\u0301", "日本語", "tab\there", "emoji😀", "ﬁ", "x" * 300, "new\nline",
           "UPPER", "upper", "ß", "ss"]


def _vectors(rows, dim, seed):
    print("seed", seed)
    return np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    directory = tmp_path_factory.mktemp("awkward") / "s.store"
    vectors = _vectors(len(AWKWARD), 8, SEED)
    return make_store(directory, AWKWARD, vectors), vectors


@pytest.fixture(scope="module")
def half(tmp_path_factory):
    directory = tmp_path_factory.mktemp("half") / "h.store"
    vectors = _vectors(50, 16, SEED + 1)
    words = ["w%d" % i for i in range(50)]
    return make_store(directory, words, vectors, dtype="f16", padding_index=3), vectors


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """400,000 words converted from a GloVe text file by the CLI."""
    base = tmp_path_factory.mktemp("large")
    text = base / "large.txt"
    rng = np.random.default_rng(SEED + 2)
    print("seed", SEED + 2)
    values = rng.integers(-99, 100, size=(400_000, 4))
    with open(text, "w", encoding="utf-8") as f:
        for i in range(400_000):
            # Words of every length from 1 to ~12 bytes, a few non-ASCII.
            word = ("ü%d" if i % 97 == 0 else "w%x") % (i * 2654435761 % 10**12)
            f.write("%s %s\n" % (word, " ".join(str(v / 10) for v in values[i])))
    cli("convert", "--quiet", text, base / "large.store")
    return str(base / "large.store")


def test_shape_and_properties(half):
    path, vectors = half
    with embstore.open(path) as store:
        assert (store.rows, store.dim, store.dtype, len(store)) == (50, 16, "f16", 50)
        assert store.padding_index == 3
        assert isinstance(store.generation, int) and store.generation >= 1
        assert store.has_vocabulary
        assert path in repr(store)
    with pytest.raises(ValueError, match="closed"):
        store.rows


def test_awkward_words_are_found_at_their_rows(awkward):
    path, vectors = awkward
    with embstore.open(path) as store:
        for row, word in enumerate(AWKWARD):
            assert store.row_of(word) == row, word
            assert store.word(row) == word
            assert word in store
            np.testing.assert_array_equal(store[word], vectors[row])
        assert list(store.rows_of(AWKWARD)) == list(range(len(AWKWARD)))
        assert store.rows_of(AWKWARD).dtype == np.int64


def test_absent_words(awkward):
    path, _ = awkward
    with embstore.open(path) as store:
        absent = ["a  b", " ", "cafe", "日本", "x" * 299, "x" * 301, "\ud800", "upper "]
        for word in absent:
            assert store.row_of(word) == -1
            assert word not in store
        assert list(store.rows_of(absent + ["café"])) == [-1] * len(absent) + [2]
        with pytest.raises(KeyError, match="'cafe' is not in the store"):
            store["cafe"]
        assert 5 not in store
        with pytest.raises(TypeError, match="gather"):
            store[5]
        with pytest.raises(TypeError):
            store.rows_of(["ok", 7])
        with pytest.raises(IndexError, match="row 14 is outside"):
            store.word(14)


def test_vector_is_a_float32_copy(awkward):
    path, vectors = awkward
    with embstore.open(path) as store:
        v = store["café"]
        assert v.dtype == np.float32 and v.shape == (8,) and v.flags.writeable
        v[:] = 0
        np.testing.assert_array_equal(store["café"], vectors[2])


def test_every_word_of_a_large_store_is_at_its_row(large):
    with embstore.open(large) as store:
        assert store.rows == 400_000
        words = [store.word(i) for i in range(store.rows)]
        assert len(set(words)) == store.rows
        np.testing.assert_array_equal(store.rows_of(words), np.arange(store.rows))
        rng = np.random.default_rng(SEED)
        for row in rng.integers(0, store.rows, 3000).tolist():
            assert store.row_of(words[row]) == row
        assert (store.rows_of([w + "?" for w in words[:5000]]) == -1).all()


def test_gather_any_shape(half):
    path, vectors = half
    expected = vectors.astype(np.float16).astype(np.float32)
    expected[3] = 0  # the padding row
    with embstore.open(path) as store:
        rng = np.random.default_rng(SEED)
        for shape in [(), (7,), (4, 5), (2, 3, 4), (0,), (3, 0)]:
            for dtype in (np.int64, np.int32, np.uint64, np.uint32, np.uint16, np.int8):
                ids = rng.integers(0, 50, size=shape).astype(dtype)
                got = store.gather(ids)
                assert got.shape == shape + (16,) and got.dtype == np.float32
                np.testing.assert_array_equal(got, expected[ids.astype(np.int64)])
                np.testing.assert_array_equal(store.gather(ids, consistent=False), got)
        np.testing.assert_array_equal(store.gather([3, 3])[0], np.zeros(16, np.float32))
        np.testing.assert_array_equal(store["w3"], np.zeros(16, np.float32))
        np.testing.assert_array_equal(store.gather(5), expected[5])


def test_gather_rejects_ids_outside_the_table(half):
    path, _ = half
    with embstore.open(path) as store:
        with pytest.raises(IndexError, match=r"id 50 at position 3 is outside \[0, 50\)"):
            store.gather([0, 1, 2, 50])
        with pytest.raises(IndexError, match=r"id -1 at position \(1, 0\) is outside \[0, 50\).*50 rows"):
            store.gather(np.array([[0, 1], [-1, 2]]))
        with pytest.raises(IndexError, match="id 18446744073709551615"):
            store.gather(np.array([2**64 - 1], np.uint64))
        with pytest.raises(TypeError, match="integers"):
            store.gather([0.5, 1.0])


def test_matrix_is_the_read_only_mapped_table(half):
    path, _ = half
    with embstore.open(path) as store:
        m = store.matrix
        assert m.shape == (50, 16) and m.dtype == np.float16 and not m.flags.writeable
        on_disk = np.load(os.path.join(path, "matrix.npy"), mmap_mode="r")
        np.testing.assert_array_equal(m, on_disk[:50])
        with pytest.raises(ValueError):
            m[0, 0] = 1


def test_refresh_picks_up_rows_the_jvm_appended(tmp_path):
    vectors = _vectors(10, 4, SEED + 3)
    path = make_store(tmp_path / "grow.store", ["w%d" % i for i in range(10)], vectors)
    with embstore.open(path) as store:
        generation = store.generation
        extra = _vectors(5000, 4, SEED + 4)
        append_rows(path, ["new%d" % i for i in range(5000)], extra)
        # Appended rows are not visible before refresh(), as for a JVM reader.
        assert store.rows == 10 and store.row_of("new0") == -1
        with pytest.raises(IndexError):
            store.gather([10])
        assert store.generation > generation
        assert store.refresh() is True
        assert store.refresh() is False
        assert store.rows == 5010
        assert store.row_of("new4999") == 5009
        np.testing.assert_array_equal(store.rows_of(["new0", "w9", "new4999"]), [10, 9, 5009])
        np.testing.assert_array_equal(store.gather([10, 5009]), extra[[0, 4999]])
        np.testing.assert_array_equal(store["new17"], extra[17])
        assert store.word(5009) == "new4999"


def _reference_neighbours(vectors, query, topn, excluded, padding=-1):
    q = query.astype(np.float64)
    x = vectors.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (x @ q) / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))
    ranked = [(-np.float32(c), r) for r, c in enumerate(cos) if r not in excluded and r != padding
              and np.isfinite(c)]
    return [(r, -float(c)) for c, r in sorted(ranked)[:topn]]


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_most_similar_matches_an_exact_reference(tmp_path, dtype):
    vectors = _vectors(3000, 24, SEED + 5)
    words = ["w%d" % i for i in range(3000)]
    path = make_store(tmp_path / "s.store", words, vectors, dtype=dtype, padding_index=7)
    stored = vectors.astype(np.float16).astype(np.float32) if dtype == "f16" else vectors.copy()
    stored[7] = 0
    with embstore.open(path) as store:
        got = store.most_similar("w5", topn=10, exclude=["w9", "absent"])
        want = _reference_neighbours(stored, stored[5], 10, {5, 9}, padding=7)
        assert [w for w, _ in got] == ["w%d" % r for r, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6)
        by_vector = store.most_similar(stored[5] * 3, topn=4)
        assert by_vector[0][0] == "w5" and abs(by_vector[0][1] - 1) < 1e-6
        assert store.most_similar("w5", topn=0) == []
        assert len(store.most_similar("w5", topn=10**6)) == 3000 - 2  # not itself, not the padding row
        assert abs(store.similarity("w1", "w2") - want_similarity(stored, 1, 2)) < 1e-6
        assert store.similarity("w1", "w1") == pytest.approx(1.0, abs=1e-6)
        with pytest.raises(ValueError, match="zero vector"):
            store.most_similar(np.zeros(24))
        with pytest.raises(ValueError, match="non-finite value at 2"):
            store.most_similar(np.array([1, 1, np.nan] + [0] * 21))
        with pytest.raises(ValueError, match="dim is 24"):
            store.most_similar(np.ones(5))
        with pytest.raises(KeyError, match="absent"):
            store.most_similar("absent")
        with pytest.raises(ValueError, match="zero vector"):
            store.similarity("w7", "w1")


def want_similarity(vectors, a, b):
    x, y = vectors[a].astype(np.float64), vectors[b].astype(np.float64)
    return float(np.float32(x @ y / (np.linalg.norm(x) * np.linalg.norm(y))))


def test_a_store_without_vocabulary(tmp_path):
    vectors = _vectors(20, 4, SEED + 6)
    path = make_store(tmp_path / "ids.store", None, vectors)
    with embstore.open(path) as store:
        assert not store.has_vocabulary
        np.testing.assert_array_equal(store.gather([[19, 0]]), vectors[[[19, 0]]])
        with pytest.raises(ValueError, match="no vocabulary"):
            store.row_of("x")
        with pytest.raises(ValueError, match="no vocabulary"):
            store["x"]
        hits = store.most_similar(vectors[4], topn=3)
        assert hits[0][0] == 4 and isinstance(hits[0][0], int)


def test_not_a_store_is_a_store_error(tmp_path):
    with pytest.raises(embstore.StoreError, match="no such store directory") as e:
        embstore.open(tmp_path / "missing")
    assert e.value.kind == "not_found" and e.value.path == str(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(embstore.StoreError, match="not a directory"):
        embstore.open(tmp_path / "file")
    with pytest.raises(embstore.StoreError, match="not an embstore store: no manifest.txt"):
        embstore.open(tmp_path)


def _torch_or_none():
    try:
        import torch
        return torch
    except ImportError:
        return None


def test_to_torch_without_torch_says_how_to_install(half, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with embstore.open(half[0]) as store:
        with pytest.raises(ImportError, match="needs PyTorch.*python3-torch"):
            store.to_torch()


@pytest.mark.skipif(_torch_or_none() is None and os.environ.get("CI") != "true", reason="torch is not installed")
def test_to_torch_maps_f32_rows_without_a_copy(tmp_path):
    import torch
    vectors = _vectors(100, 8, SEED + 7)
    path = make_store(tmp_path / "t.store", ["w%d" % i for i in range(100)], vectors, padding_index=0)
    with embstore.open(path) as store:
        layer = store.to_torch()
        assert layer.padding_idx == 0 and not layer.weight.requires_grad
        expected = vectors.copy()
        expected[0] = 0
        np.testing.assert_array_equal(layer(torch.tensor([[1, 2], [0, 99]])).numpy(), expected[[[1, 2], [0, 99]]])
        # No copy: the weight's memory lies in a mapping of this store's matrix.npy.
        address = layer.weight.data_ptr()
        matrix = os.path.realpath(os.path.join(path, "matrix.npy"))
        with open("/proc/self/maps") as maps:
            spans = [line.split() for line in maps if line.rstrip().endswith(matrix)]
        assert any(int(s[0].split("-")[0], 16) <= address < int(s[0].split("-")[1], 16) for s in spans)
        trainable = store.to_torch(freeze=False)
        assert trainable.weight.requires_grad
        optimizer = torch.optim.SGD(trainable.parameters(), lr=1.0)
        trainable(torch.tensor([5])).sum().backward()
        optimizer.step()
        # Training changed this process's copy of the row, never the file or other readers.
        assert not np.array_equal(trainable.weight.detach().numpy()[5], vectors[5])
        np.testing.assert_array_equal(np.load(os.path.join(path, "matrix.npy"))[5], vectors[5])
        np.testing.assert_array_equal(layer.weight.detach().numpy()[5], vectors[5])


@pytest.mark.skipif(_torch_or_none() is None and os.environ.get("CI") != "true", reason="torch is not installed")
def test_to_torch_converts_f16_rows(half):
    path, vectors = half
    with embstore.open(path) as store:
        layer = store.to_torch()
        assert layer.weight.dtype.is_floating_point and str(layer.weight.dtype) == "torch.float32"
        expected = vectors.astype(np.float16).astype(np.float32)
        expected[3] = 0
        np.testing.assert_array_equal(layer.weight.detach().numpy(), expected)


def test_the_readme_example_runs(tmp_path):
    demo = tmp_path / "demo-store"
    cli("demo", "--dir", demo, "--keep")
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python",
                           "quickstart.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    out = subprocess.run([sys.executable, example, str(demo)], env=env, capture_output=True, text=True, check=True)
    with embstore.open(demo) as store:
        first = store.word(0)
        assert "first words: ['%s'" % first in out.stdout
        best = store.most_similar(first, topn=1)[0][0]
    assert "gather [2, 2] -> (2, 2, 50) float32" in out.stdout and best in out.stdout
