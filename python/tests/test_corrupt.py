"""Damaged, truncated, mismatched and crafted store directories, the cases of the JVM suite's StoreCorruptionTest:
each gives an embstore.StoreError naming the file (or the store) and what is wrong, never another exception, never
a wrong answer. Ends with a seeded corruption fuzz test (replay with EMBSTORE_SEED=N)."""

import random
import shutil
import signal
import struct
import time

import numpy as np
import pytest

import embstore
from conftest import seed

DIM = 5
#: The JVM test's words: ASCII, 2-byte and 3-byte UTF-8.
WORDS = ["wörd-%d" % i if i % 5 == 0 else "語-%d" % i if i % 7 == 0 else "w%d" % i for i in range(40)]
FILES = ["manifest.txt", "matrix.npy", "rows.seq", "vocab.words", "vocab.offsets", "vocab.index", "control.bin"]

# control.bin fields (docs/FORMAT.md)
MAGIC, VERSION, LIVE_ROWS, GENERATION, CAPACITY, INDEX_EPOCH, WORD_BYTES, WRITER_PID = 0, 8, 16, 24, 32, 40, 48, 56
# vocab.index
INDEX_HEADER_BYTES, SLOTS_AT, FINGERPRINT_SHIFT = 64, 16, 40
OFFSET_MASK = (1 << FINGERPRINT_SHIFT) - 1
MASK64 = (1 << 64) - 1


@pytest.fixture(scope="module")
def templates(make_store, make_java_store, jvm, tmp_path_factory):
    """A valid store of WORDS x DIM per dtype, made by `embstore convert` (each file as large as its content), and
    "grown": WORDS then 5 rows appended by a JVM writer (capacity beyond the rows, a manifest rewritten)."""
    rng = np.random.default_rng(7)
    vectors = rng.uniform(-1, 1, (len(WORDS), DIM)).astype(np.float32)
    made = {dtype: (make_store(WORDS, vectors.astype(np.float16).astype(np.float32) if dtype == "f16" else vectors,
                               dtype=dtype), vectors)
            for dtype in ("f32", "f16")}
    grown = make_java_store(WORDS, vectors)
    spec = tmp_path_factory.mktemp("append") / "rows.txt"
    spec.write_text("".join(f"appended-{i}".encode().hex() + "\t" + " ".join([str(float(i))] * DIM) + "\n"
                            for i in range(5)), encoding="ascii")
    jvm.run("MakeStore", "append", grown, spec)
    made["grown"] = (grown, vectors)
    return made


@pytest.fixture
def store(templates, tmp_path):
    """store(name, dtype="f32") -> a fresh copy of the template, to damage."""

    def copy(name="s", dtype="f32"):
        target = tmp_path / name
        shutil.copytree(templates[dtype][0], target)
        return target

    return copy


def open_fails(path):
    """The StoreError that opening path raises (any other exception propagates and fails the test)."""
    with pytest.raises(embstore.StoreError) as info:
        with embstore.open(path):
            pass
    return info.value


def assert_names(error, path, *what):
    assert isinstance(error, embstore.StoreError), repr(error)
    message = str(error)
    assert str(path) in message, f"the message must name {path}: {message}"
    for w in what:
        assert w in message, f"the message must say {w!r}: {message}"


def put(path, at, fmt, value):
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(struct.pack(fmt, value))


def get(path, at, fmt):
    with open(path, "rb") as f:
        f.seek(at)
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def truncate(path, length):
    with open(path, "r+b") as f:
        f.truncate(length)


def edit_manifest(directory, old, new):
    file = directory / "manifest.txt"
    text = file.read_text(encoding="utf-8")
    assert old in text, text
    file.write_text(text.replace(old, new), encoding="utf-8")


def edit_npy_header(directory, old, new):
    assert len(old) == len(new)
    file = directory / "matrix.npy"
    with open(file, "r+b") as f:
        header = f.read(4096).decode("latin-1")
        assert old in header, header.strip()
        f.seek(0)
        f.write(header.replace(old, new).encode("latin-1"))


# ------------------------------------------------------------------------------------------------ not a store

def test_directory_without_manifest_is_not_a_store(tmp_path):
    directory = tmp_path / "empty"
    directory.mkdir()
    (directory / "matrix.npy").write_text("not really")
    assert_names(open_fails(directory), directory, "manifest.txt")


def test_regular_file_is_not_a_store(tmp_path):
    file = tmp_path / "file"
    file.write_text("hello")
    assert_names(open_fails(file), file, "not a directory")


def test_missing_path_is_reported(tmp_path):
    missing = tmp_path / "no" / "such"
    assert_names(open_fails(missing), missing)


@pytest.mark.parametrize("name", ["rows.seq", "vocab.words", "vocab.offsets", "vocab.index", "control.bin",
                                  "matrix.npy"])
def test_missing_file_is_reported(store, name):
    directory = store()
    (directory / name).unlink()
    assert_names(open_fails(directory), directory / name, "missing")


# ------------------------------------------------------------------------------------------------ truncation

@pytest.mark.parametrize("name", FILES[1:])
@pytest.mark.parametrize("cut", ["empty", "half", "one byte short"])
def test_truncated_file_is_reported_at_open(store, name, cut):
    directory = store()
    file = directory / name
    size = file.stat().st_size
    length = {"empty": 0, "half": size // 2, "one byte short": size - 1}[cut]
    truncate(file, length)
    assert_names(open_fails(directory), file, "truncated", f"{length} bytes")


# ------------------------------------------------------------------------------------------------ manifest and header

def test_manifest_dim_smaller_than_the_files_disagrees_with_the_npy_header(store):
    directory = store()
    edit_manifest(directory, "dim=5\n", "dim=4\n")
    assert_names(open_fails(directory), directory / "matrix.npy", "5", "4")


def test_manifest_dim_larger_than_the_files_is_a_truncated_matrix(store):
    directory = store()
    edit_manifest(directory, "dim=5\n", "dim=6\n")
    assert_names(open_fails(directory), directory / "matrix.npy")


def test_manifest_dtype_f16_on_an_f32_matrix_disagrees_with_the_npy_header(store):
    directory = store()
    edit_manifest(directory, "dtype=f32\n", "dtype=f16\n")
    assert_names(open_fails(directory), directory / "matrix.npy", "f16", "f32")


def test_manifest_dtype_f32_on_an_f16_matrix_is_refused(store):
    directory = store(dtype="f16")
    edit_manifest(directory, "dtype=f16\n", "dtype=f32\n")
    assert_names(open_fails(directory), directory / "matrix.npy")


def test_unknown_dtype_in_manifest(store):
    directory = store()
    edit_manifest(directory, "dtype=f32\n", "dtype=bf16\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "bf16")


@pytest.mark.parametrize("version", ["2", "0", "999999999999"])
def test_unknown_format_version(store, version):
    directory = store()
    edit_manifest(directory, "format_version=1\n", f"format_version={version}\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "format_version", version)


def test_manifest_without_magic_line_or_key(store):
    directory = store("s1")
    edit_manifest(directory, "embstore-manifest\n", "some-other-tool\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "embstore-manifest")
    directory = store("s2")
    edit_manifest(directory, "dim=5\n", "")
    assert_names(open_fails(directory), directory / "manifest.txt", "dim")
    directory = store("s3")
    edit_manifest(directory, "dim=5\n", "dim=five\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "dim", "five")


def test_manifest_rows_beyond_the_live_rows_or_padding_outside(store):
    directory = store("s1")
    edit_manifest(directory, "rows=40\n", "rows=41\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "41")
    directory = store("s2")
    edit_manifest(directory, "padding_index=-1\n", "padding_index=40\n")
    assert_names(open_fails(directory), directory / "manifest.txt", "padding_index", "40")


def test_npy_header_dim_disagrees_with_the_manifest(store):
    directory = store()
    edit_npy_header(directory, "(40, 5)", "(40, 4)")
    assert_names(open_fails(directory), directory / "matrix.npy", "4", "5")


def test_npy_header_dtype_disagrees_with_the_manifest_or_is_unsupported(store):
    directory = store("s1")
    edit_npy_header(directory, "'<f4'", "'<f2'")
    assert_names(open_fails(directory), directory / "matrix.npy", "f16", "f32")
    directory = store("s2")
    edit_npy_header(directory, "'<f4'", "'<f8'")
    assert_names(open_fails(directory), directory / "matrix.npy", "<f8")
    directory = store("s3")
    edit_npy_header(directory, "'<f4'", "'>f4'")
    assert_names(open_fails(directory), directory / "matrix.npy", ">f4")


def test_npy_header_fortran_order_rows_beyond_capacity_or_bad_magic(store):
    directory = store("s1")
    edit_npy_header(directory, "False, 'shape': (40, 5), }", "True, 'shape': (40, 5), } ")
    assert_names(open_fails(directory), directory / "matrix.npy", "ortran")
    directory = store("s2")
    edit_npy_header(directory, "(40, 5)", "(41, 5)")
    assert_names(open_fails(directory), directory / "matrix.npy", "41")
    directory = store("s3")
    edit_npy_header(directory, "NUMPY", "NUMPX")
    assert_names(open_fails(directory), directory / "matrix.npy", "magic")
    directory = store("s4")
    edit_npy_header(directory, "'shape': (40, 5)", "'shape': [40, 5]")
    assert_names(open_fails(directory), directory / "matrix.npy")


# ------------------------------------------------------------------------------------------------ control block

def test_control_block_magic_version_and_counts(store):
    cases = [
        ("magic", MAGIC, "<Q", int.from_bytes(b"EMBSCTL2", "little"), ["magic"]),
        ("version", VERSION, "<I", 2, ["version 2"]),
        ("live", LIVE_ROWS, "<q", 41, ["live_rows", "41"]),
        ("capacity", CAPACITY, "<q", -3, ["capacity", "-3"]),
        ("wordbytes", WORD_BYTES, "<q", -1, ["word_bytes", "-1"]),
    ]
    for name, at, fmt, value, what in cases:
        directory = store(name)
        control = directory / "control.bin"
        put(control, at, fmt, value)
        assert_names(open_fails(directory), control, *what)
    # A capacity larger than the files: caught before anything is mapped past the end of a file (SIGBUS in the JVM,
    # a ValueError or a wrong answer from numpy).
    directory = store("bigger")
    put(directory / "control.bin", CAPACITY, "<q", 1000)
    assert_names(open_fails(directory), directory / "matrix.npy", "truncated")


def test_control_block_that_is_not_one_at_all(store):
    directory = store()
    control = directory / "control.bin"
    control.write_bytes(bytes(4096))
    assert_names(open_fails(directory), control, "magic")


# ------------------------------------------------------------------------------------------------ vocabulary

def word_hash(word):
    """FNV-1a 64 over the UTF-8 bytes, then MurmurHash3's fmix64 (docs/FORMAT.md, vocab.index)."""
    h = 0xcbf29ce484222325
    for b in word.encode("utf-8"):
        h = ((h ^ b) * 0x100000001b3) & MASK64
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & MASK64
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & MASK64
    h ^= h >> 33
    return h


def slot_of(directory, word, row):
    """Byte offset in vocab.index of the slot that holds word (of row)."""
    index = directory / "vocab.index"
    slots = get(index, SLOTS_AT, "<Q")
    record = get(directory / "vocab.offsets", 8 * row, "<q")
    h = word_hash(word)
    i = h & (slots - 1)
    for _ in range(slots):
        at = INDEX_HEADER_BYTES + 8 * i
        slot = get(index, at, "<Q")
        assert slot != 0, f"no slot for {word}"
        if (slot & OFFSET_MASK) - 1 == record:
            assert slot >> FINGERPRINT_SHIFT == h >> FINGERPRINT_SHIFT, "the test's hash differs from the store's"
            return at
        i = (i + 1) & (slots - 1)
    raise AssertionError(f"no slot for {word}")


def check_vocabulary(s, damaged_word, damaged_row, file, *what):
    """row_of for every word and word for every row: damaged_word / damaged_row (-1 for none) must raise a StoreError
    naming file and saying what; every other one must still be right."""
    for r, w in enumerate(WORDS):
        if r == damaged_word:
            with pytest.raises(embstore.StoreError) as info:
                s.row_of(w)
            assert_names(info.value, file, *what)
            with pytest.raises(embstore.StoreError):
                s[w]
        else:
            assert s.row_of(w) == r, w
        if r == damaged_row:
            with pytest.raises(embstore.StoreError) as info:
                s.word(r)
            assert_names(info.value, file, *what)
        else:
            assert s.word(r) == w
    assert s.row_of("absent") == -1


def test_index_slot_pointing_outside_the_words_file(store):
    directory = store()
    row = 17
    at = slot_of(directory, WORDS[row], row)
    index = directory / "vocab.index"
    words_size = (directory / "vocab.words").stat().st_size
    slot = get(index, at, "<Q")
    outside = words_size + 1000
    put(index, at, "<Q", (slot & ~OFFSET_MASK & MASK64) | (outside + 1))
    with embstore.open(directory) as s:
        check_vocabulary(s, row, -1, index, str(outside))
    # The largest offset a slot can hold.
    put(index, at, "<Q", (slot & ~OFFSET_MASK & MASK64) | OFFSET_MASK)
    with embstore.open(directory) as s:
        check_vocabulary(s, row, -1, index)


def test_index_slot_with_the_right_fingerprint_and_no_offset(store):
    """A slot holding a word's fingerprint but offset bits 0 (no record) is damage, never 'record -1'."""
    directory = store()
    index = directory / "vocab.index"
    for row in (0, 1, 17):
        at = slot_of(directory, WORDS[row], row)
        slot = get(index, at, "<Q")
        put(index, at, "<Q", slot & ~OFFSET_MASK & MASK64)
        with embstore.open(directory) as s:
            check_vocabulary(s, row, -1, index)
            # The batched lookup too (more words than its one-by-one tail, so the vectorised probe meets the slot).
            with pytest.raises(embstore.StoreError) as info:
                s.rows_of(WORDS)
            assert_names(info.value, index)
        put(index, at, "<Q", slot)


def test_index_slot_with_no_offset_for_a_word_matching_the_bytes_before_the_first_record(make_store):
    """As above, for a word whose bytes equal what a record at offset -1 would hold: its length would be read from
    bytes 3..6 of vocab.words (0x100) and its bytes from byte 7 on. A reader that read the record at -1 (or wrapped
    around to the end of the file) would find it; it must be a StoreError instead."""
    words = ["a"] + ["w%d" % i for i in range(1, 60)]
    directory = make_store(words, np.zeros((len(words), DIM), np.float32))
    data = (directory / "vocab.words").read_bytes()
    # Record 0 is row 0 (00 00 00 00), length 1 (01 00 00 00), "a": the int at bytes 3..6 is 0x100.
    crafted = data[7:7 + 0x100]
    word = crafted.decode("utf-8")
    index = directory / "vocab.index"
    slots = get(index, SLOTS_AT, "<Q")
    h = word_hash(word)
    i = h & (slots - 1)
    while get(index, INDEX_HEADER_BYTES + 8 * i, "<Q") != 0:
        i = (i + 1) & (slots - 1)
    put(index, INDEX_HEADER_BYTES + 8 * i, "<Q", h >> FINGERPRINT_SHIFT << FINGERPRINT_SHIFT)
    with embstore.open(directory) as s:
        with pytest.raises(embstore.StoreError) as info:
            s.row_of(word)
        assert_names(info.value, index, f"index slot {i}")
        with pytest.raises(embstore.StoreError):
            s.rows_of(words + [word])
        for r, w in enumerate(words):
            assert s.row_of(w) == r and s.word(r) == w


def test_index_header_damage(store):
    directory = store("magic")
    put(directory / "vocab.index", 0, "<Q", 0)
    assert_names(open_fails(directory), directory / "vocab.index", "magic")
    directory = store("slots")
    put(directory / "vocab.index", SLOTS_AT, "<Q", 100)
    assert_names(open_fails(directory), directory / "vocab.index", "100")
    directory = store("more-slots")
    put(directory / "vocab.index", SLOTS_AT, "<Q", 1 << 20)
    assert_names(open_fails(directory), directory / "vocab.index", "truncated")


@pytest.mark.parametrize("offset", [-1, -8, 1_000_000, 2**63 - 1, 2**63 - 8, -2**63])
def test_offsets_entry_pointing_outside_the_words_file(store, offset):
    directory = store()
    row = 23
    put(directory / "vocab.offsets", 8 * row, "<q", offset)
    with embstore.open(directory) as s:
        check_vocabulary(s, -1, row, directory / "vocab.words", f"row {row}", str(offset))


def test_offsets_entry_pointing_at_another_rows_record(store):
    directory = store()
    offsets = directory / "vocab.offsets"
    put(offsets, 8 * 3, "<q", get(offsets, 8 * 4, "<q"))
    with embstore.open(directory) as s:
        check_vocabulary(s, -1, 3, directory / "vocab.words", "row 4", "row 3")


def test_word_record_length_running_past_the_end(store):
    directory = store()
    row = 39
    record = get(directory / "vocab.offsets", 8 * row, "<q")
    words = directory / "vocab.words"
    put(words, record + 4, "<i", 1000)
    with embstore.open(directory) as s:
        with pytest.raises(embstore.StoreError) as info:
            s.word(row)
        assert_names(info.value, words, "1000")
        # The index still points at the record, but its length no longer matches the word: not found.
        assert s.row_of(WORDS[row]) == -1
        assert WORDS[row] not in s


# ------------------------------------------------------------------------------------------------ rows.seq

def leave_row_half_written(directory, row, writer_pid):
    """Row's counter odd, as a writer that died in the middle of the row would leave it."""
    put(directory / "rows.seq", 4 * row, "<i", 7)
    put(directory / "control.bin", WRITER_PID, "<q", writer_pid)


def dead_pid():
    import subprocess
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_row_left_half_written_by_a_writer_that_is_gone_fails_promptly(store):
    for pid in (0, dead_pid()):
        directory = store(f"s{pid}")
        leave_row_half_written(directory, 11, pid)
        with embstore.open(directory) as s:
            s.gather(np.array([10, 12]))
            for ids in (np.array([11]), np.array([3, 11])):
                start = time.monotonic()
                with pytest.raises(embstore.StoreError) as info:
                    s.gather(ids)
                # A liveness bound, not a speed check: a reader that waited for the row would wait for ever, or for
                # the JVM's 10 s live-writer bound.
                assert time.monotonic() - start < 8
                assert_names(info.value, directory, "row 11")
            with pytest.raises(embstore.StoreError) as info:
                s[WORDS[11]]
            assert_names(info.value, directory, "row 11")


def test_row_under_write_by_a_live_writer_is_waited_for(store):
    """A live writer descheduled in the middle of a row is waited for, not reported: here the 'writer' is this very
    process (its pid in control.bin), which completes the row 300 ms later from another thread."""
    import os
    import threading
    directory = store()
    new_values = np.array([1.5, 2.5, 3.5, 4.5, 5.5], dtype="<f4")
    leave_row_half_written(directory, 11, os.getpid())
    with embstore.open(directory) as s:
        result = {}

        def read():
            try:
                result["row"] = s.gather(np.array([11]))[0]
            except BaseException as e:  # noqa: B902
                result["error"] = e

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(0.3)
        assert not result, f"the read returned while the row was still odd: {result}"
        with open(directory / "matrix.npy", "r+b") as f:
            f.seek(4096 + 11 * DIM * 4)
            f.write(new_values.tobytes())
        put(directory / "rows.seq", 4 * 11, "<i", 8)
        reader.join(15)
        assert not reader.is_alive(), "the read still waits after the row was completed"
        assert "error" not in result, f"the read failed while a live writer was writing the row: {result['error']!r}"
        np.testing.assert_array_equal(result["row"], new_values)


# ------------------------------------------------------------------------------------------------ fuzz

FUZZ_ITERATIONS = 1000


class Hung(Exception):
    pass


def exercise(directory):
    """Opens the store and uses all of it. 0: everything worked; 1: open refused it; 2: some use gave a StoreError.
    Any other exception escapes."""
    try:
        s = embstore.open(directory)
    except embstore.StoreError as e:
        assert str(directory) in str(e), f"the message must name the store or a file: {e}"
        return 1
    failures = 0

    def use(action):
        nonlocal failures
        try:
            action()
        except embstore.StoreError:
            failures += 1

    with s:
        rows, dim = s.rows, s.dim
        n = min(rows, 4096)
        for r in range(rows):
            use(lambda: s.gather(np.array([r])))
            use(lambda: s.word(r))
        use(lambda: s.gather(np.arange(n)[::-1]))
        use(lambda: s.gather(np.arange(n), consistent=False))

        def lookup(w):
            r = s.row_of(w)
            assert -1 <= r < rows, f"row_of({w!r}) = {r} outside [-1, {rows})"
            if r >= 0:
                assert s[w].shape == (dim,)

        for w in WORDS:
            use(lambda: lookup(w))
        use(lambda: s.rows_of(WORDS + [f"appended-{i}" for i in range(5)]))
        use(lambda: s.most_similar(np.ones(dim, np.float32), topn=3))
        use(s.refresh)
        use(lambda: s.generation)
        use(lambda: repr(s))
    return 0 if failures == 0 else 2


def mutate(directory, rng):
    """Flips bytes in, cuts, or extends one file of directory; returns what it did."""
    name = rng.choice(FILES + ["writer.lock", "norms.f32"])
    file = directory / name
    if not file.exists():
        return f"{name}: absent"
    data = bytearray(file.read_bytes())
    kind = rng.randrange(10)
    if kind < 6 and data:
        region = {"matrix.npy": 128 if rng.random() < 0.5 else len(data),
                  "control.bin": 64 if rng.randrange(4) > 0 else len(data),
                  "vocab.index": 64 if rng.random() < 0.5 else len(data)}.get(name, len(data))
        region = min(region, len(data))
        what = []
        for _ in range(1 + rng.randrange(4)):
            at = rng.randrange(region)
            old = data[at]
            data[at] = old ^ (1 + rng.randrange(255))
            what.append(f"{at}:{old:02x}->{data[at]:02x}")
        file.write_bytes(bytes(data))
        return f"{name}: flip " + " ".join(what)
    if kind < 8 and data:
        length = rng.randrange(len(data))
        truncate(file, length)
        return f"{name}: cut {len(data)}->{length}"
    extra = bytes(1 + rng.randrange(5000)) if rng.random() < 0.5 else rng.randbytes(1 + rng.randrange(5000))
    with open(file, "ab") as f:
        f.write(extra)
    return f"{name}: extend {len(data)}+{len(extra)}"


def test_random_corruption_gives_store_error_or_valid_results(templates, tmp_path):
    fuzz_seed = seed("corruption fuzz")
    rng = random.Random(fuzz_seed)
    outcomes = [0, 0, 0]

    def hung(signum, frame):
        raise Hung()

    previous = signal.signal(signal.SIGALRM, hung)
    try:
        for iteration in range(FUZZ_ITERATIONS):
            dtype = rng.choice(["f32", "f16", "grown"])
            directory = tmp_path / f"fuzz-{iteration}"
            shutil.copytree(templates[dtype][0], directory)
            mutation = mutate(directory, rng)
            context = f"seed={fuzz_seed} iteration={iteration} template={dtype} mutation={mutation}"
            # A liveness bound (a damaged store must not make a reader loop for ever), not a speed check.
            signal.alarm(30)
            try:
                outcomes[exercise(directory)] += 1
            except Hung:
                pytest.fail(f"hung: {context}")
            except Exception as e:  # noqa: B902 - any other exception is the failure being looked for
                raise AssertionError(f"only StoreError may come out of a damaged store: {context}: {e!r}") from e
            finally:
                signal.alarm(0)
            shutil.rmtree(directory)
    finally:
        signal.signal(signal.SIGALRM, previous)
    print(f"fuzz: {FUZZ_ITERATIONS} iterations: {outcomes[0]} fine, {outcomes[1]} refused at open, "
          f"{outcomes[2]} failed on use")
    assert all(outcomes), f"the fuzz test should see all three outcomes (seed={fuzz_seed}): {outcomes}"
