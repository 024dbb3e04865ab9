"""``Store``: a read-only view of an embstore store directory, shared through the page cache with every other
reader (JVM or Python) and with the store's one writer."""

import os
import threading
import time

import numpy as np

from . import _format as fmt
from . import _similarity
from . import _subwords
from . import _vocab
from ._errors import StoreError
from ._mapping import View, map_file

# x86-64 keeps loads in program order (TSO), so the seqlock's read, copy, read again needs no fence there. Elsewhere
# (aarch64) a lock released then taken again orders them: loads before the release stay before it, loads after the
# acquire stay after it, and the two operations on one lock keep their order.
_TSO = os.uname().machine.lower() in ("x86_64", "amd64", "i386", "i686", "x86")
_fence_lock = threading.Lock()
_fence_lock.acquire()


def _load_fence():
    if not _TSO:
        _fence_lock.release()
        _fence_lock.acquire()


# A reader spins this many times on a row whose counter is odd before it checks that the writer still lives, and
# gives up after ROW_WAIT_SECONDS, as the JVM reader does.
SPINS_BEFORE_CHECK = 256
# Words whose rows a Store remembers (a dict, about 100 bytes a word): single-word lookups of the frequent words then
# skip the hash and the probe, which cost a few microseconds in Python.
FOUND_WORDS_REMEMBERED = 1 << 16
ROW_WAIT_SECONDS = 10.0


def _process_alive(pid):
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        # OverflowError: a pid beyond what the OS can have (a damaged control block) names no running writer.
        return False
    except PermissionError:
        pass
    # A killed writer that its parent has not reaped yet is a zombie: it will never finish a write.
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class Store:
    """An open store, read-only. Use ``embstore.open(path)``.

    Reads are consistent (never half old, half new while a writer rewrites a row) unless they say otherwise:
    ``store.matrix`` and ``gather(ids, consistent=False)`` are relaxed. Rows appended by a writer appear after
    ``refresh()``; rewritten rows are seen at once. Safe to share between threads.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            if os.path.exists(self.path):
                raise StoreError(self.path, "not an embstore store: not a directory")
            raise StoreError(self.path, "no such store directory", "not_found")
        self._manifest = m = fmt.read_manifest(self.path)
        self._words_path = os.path.join(self.path, fmt.WORDS_FILE)
        control_path = os.path.join(self.path, fmt.CONTROL_FILE)
        control = map_file(control_path, fmt.CONTROL_BYTES, fmt.CONTROL_BYTES)
        fmt.check_control(control, control_path)
        self._control_path = control_path
        # Aligned 8-byte loads of the control block's fields: each is read whole (the writer release-writes them).
        self._control = memoryview(control).cast("q")
        # live_rows first: the writer releases it last, so everything it covers is visible after this read.
        rows = self._control[fmt.LIVE_ROWS]
        capacity = self._control[fmt.CAPACITY]
        word_bytes = self._control[fmt.WORD_BYTES]
        if m.rows > rows:
            raise StoreError(os.path.join(self.path, fmt.MANIFEST_FILE),
                             "manifest says rows=%d but the control block has only %d live rows" % (m.rows, rows))
        if m.padding_index >= rows:
            raise StoreError(os.path.join(self.path, fmt.MANIFEST_FILE),
                             "padding_index %d is outside the %d rows" % (m.padding_index, rows))
        matrix_path = os.path.join(self.path, fmt.MATRIX_FILE)
        try:
            with open(matrix_path, "rb") as f:
                head = f.read(fmt.NPY_HEADER_BYTES)
        except FileNotFoundError:
            raise StoreError(matrix_path, "missing file", "not_found") from None
        except OSError as e:
            raise StoreError(matrix_path, "cannot open: %s" % (e.strerror or e), "io") from None
        if len(head) < fmt.NPY_HEADER_BYTES:
            raise StoreError(matrix_path, "truncated: %d bytes, expected at least the %d-byte header"
                             % (len(head), fmt.NPY_HEADER_BYTES))
        dtype, header_rows, dim = fmt.read_npy_header(head, matrix_path)
        expected_dim = fmt.code_bytes(m.dtype, m.dim) if m.dtype in fmt.QUANTIZED else m.dim
        if dtype != m.dtype or dim != expected_dim:
            raise StoreError(matrix_path, ".npy header says %s x %d but the manifest says %s x %d"
                             % (dtype, dim, m.dtype, m.dim))
        if header_rows > capacity:
            raise StoreError(matrix_path, ".npy header says %d rows but the files hold %d" % (header_rows, capacity))
        self._view = View(self.path, m, rows, capacity, word_bytes,
                          index_epoch=self._control[fmt.INDEX_EPOCH])
        self._damaged = (None, frozenset())
        self._refresh_lock = threading.Lock()
        self._found = {}
        self._f32 = m.dtype == "f32"
        self._quantized = m.dtype in fmt.QUANTIZED

    # ------------------------------------------------------------------------------------------- shape

    @property
    def rows(self):
        """Rows visible to this object: as of the last ``refresh()``."""
        return self._view.rows

    def __len__(self):
        return self._view.rows

    @property
    def dim(self):
        return self._manifest.dim

    @property
    def dtype(self):
        """``"f32"``, ``"f16"``, ``"q8"`` or ``"q4"``: the element type of the matrix file (reads always return
        float32; q8/q4 rows are dequantized)."""
        return self._manifest.dtype

    @property
    def padding_index(self):
        """The padding row (reads as zeros), or -1."""
        return self._manifest.padding_index

    @property
    def generation(self):
        """The store's generation now, read from the control block: it moves at every flush, append or checkpoint
        of the writer, so polling it tells when to ``refresh()``."""
        return self._control[fmt.GENERATION]

    @property
    def has_vocabulary(self):
        return self._manifest.vocabulary

    @property
    def matrix(self):
        """The raw mapped matrix, rows x dim, read-only, in the file's dtype. Relaxed: a row being rewritten may be
        read half old, half new; use ``gather`` for consistent reads.

        For a q8/q4 store this is the structured array of the file, one record a row (``["scale"]``, ``["bias"]``,
        ``["q"]``: the codes, two 4-bit codes a byte for q4), shape (rows,), as ``numpy.load`` maps it; ``gather``
        gives the rows dequantized to float32 (``gather(np.arange(store.rows))`` for the whole table)."""
        v = self._view
        return v.matrix[:v.rows]

    def refresh(self):
        """Picks up rows appended since the last refresh (the control block's live row count); True when there
        were any."""
        with self._refresh_lock:
            v = self._view
            rows = self._control[fmt.LIVE_ROWS]
            epoch = self._control[fmt.INDEX_EPOCH]
            if rows == v.rows and (v.index is None or epoch == v.index.epoch):
                return False
            capacity = self._control[fmt.CAPACITY]
            word_bytes = self._control[fmt.WORD_BYTES]
            if rows < v.rows or rows > capacity or word_bytes < v.word_bytes:
                raise StoreError(self._control_path, "control block went backwards or is damaged: live_rows %d, "
                                 "capacity %d, word_bytes %d" % (rows, capacity, word_bytes))
            self._view = View(self.path, self._manifest, rows, capacity, word_bytes, v, epoch)
            return rows != v.rows

    # ------------------------------------------------------------------------------------------- words

    def _vocabulary_view(self):
        if not self._manifest.vocabulary:
            raise ValueError("%s has no vocabulary: it is an id-indexed table (use gather with row ids)" % self.path)
        return self._view

    @property
    def subwords(self):
        """How absent words are answered in a store converted from a fastText ``.bin`` model (minn, maxn, buckets,
        word_rows), or None: then ``store[word]``, ``most_similar`` and ``similarity`` take an absent word's vector
        from its character n-grams, as fastText does, and ``most_similar`` ranks word rows only."""
        return self._manifest.subwords

    def subword_vector(self, word):
        """The mean of the bucket rows of ``word``'s character n-grams (what fastText gives a word it does not
        know); ValueError in a store without subwords."""
        if self._manifest.subwords is None:
            raise ValueError("%s has no subwords: it was not converted from a fastText .bin model" % self.path)
        return _subwords.vector(self, self._view, word)

    def row_of(self, word):
        """The row of ``word``, or -1 when the store does not have it."""
        row = self._found.get(word)
        return row if row is not None else self._look_up(word)

    def _look_up(self, word):
        view = self._vocabulary_view()
        row = _vocab.row_of(view, _encode(word), self._words_path)
        subwords = self._manifest.subwords
        if subwords is not None and subwords.is_bucket_row(row):
            return -1  # a bucket's vocabulary entry only names it
        # A word keeps its row for good once it has one (rows are only appended), so a found word may be
        # remembered; an absent one may be appended later, so it is not.
        if row >= 0 and len(self._found) < FOUND_WORDS_REMEMBERED:
            self._found[word] = row
        return row

    def rows_of(self, words):
        """The rows of many words at once (-1 where absent), as an int64 array: what a tokenizer feeding ``gather``
        wants, and much faster than a loop of ``row_of``."""
        view = self._vocabulary_view()
        try:
            encoded = [w.encode("utf-8", "surrogatepass") for w in words]
        except AttributeError:
            encoded = [_encode(w) for w in words]  # raises the TypeError naming the type
        rows = _vocab.rows_of(view, encoded, self._words_path)
        subwords = self._manifest.subwords
        if subwords is not None:
            rows[(rows >= subwords.word_rows) & (rows < subwords.word_rows + subwords.buckets)] = -1
        return rows

    def word(self, row):
        """The word of ``row``."""
        view = self._vocabulary_view()
        row = _check_row(row, view.rows)
        return _vocab.word(view, row, self._words_path)

    def __contains__(self, word):
        return isinstance(word, str) and self.row_of(word) >= 0

    def __getitem__(self, word):
        """The vector of ``word`` as a new float32 array, read consistently; KeyError when absent, unless the store
        has subwords (``subword_vector``)."""
        row = self._found.get(word)
        if row is None:
            if not isinstance(word, str):
                raise TypeError("store[...] takes a word (str), not %s: use gather(ids) for rows"
                                % type(word).__name__)
            row = self._look_up(word)
            if row < 0:
                if self._manifest.subwords is not None:
                    return self.subword_vector(word)
                raise KeyError("word %r is not in the store %s" % (word, self.path))
        view = self._view
        seq = view.seq_view
        begin = seq[row]
        if _TSO and not begin & 1:
            # The seqlock's fast path inline (see _read_row): a function call less per word, and copy() rather than
            # astype() for f32 rows (about 100 ns less of the ~450 a lookup takes).
            if self._f32:
                vector = view.matrix[row].copy()
            elif self._quantized:
                vector = fmt.dequantize(view.matrix[row:row + 1], self.dtype, self.dim)[0]
            else:
                vector = view.matrix[row].astype(np.float32)
            if seq[row] == begin:
                return vector
        return self._read_row(view, row)

    # ------------------------------------------------------------------------------------------- rows

    def gather(self, ids, consistent=True):
        """The rows of ``ids`` (any integer array shape) as a float32 array of shape ``ids.shape + (dim,)``: the
        forward of ``nn.Embedding``. Consistent reads by default (the row seqlock); ``consistent=False`` reads the
        mapped rows as they are, for speed. IndexError for an id outside the table, before anything is read."""
        view = self._view
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            if ids.size == 0:
                ids = ids.astype(np.int64)
            else:
                raise TypeError("ids must be integers, got an array of %s" % ids.dtype)
        flat = ids.reshape(-1)
        if flat.size:
            bad = (flat < 0) | (flat >= view.rows)
            if bad.any():
                at = int(np.flatnonzero(bad)[0])
                position = tuple(int(i) for i in np.unravel_index(at, ids.shape)) if ids.ndim > 1 else at
                raise IndexError("id %d at position %s is outside [0, %d): the store %s has %d rows"
                                 % (int(flat[at]), position, view.rows, self.path, view.rows))
        # Checked to lie in [0, rows), so any integer dtype fits numpy's index type (numpy 1.x's take refuses uint64).
        flat = flat.astype(np.intp, copy=False)
        if not consistent or flat.size == 0:
            return self._as_float32(view.matrix.take(flat, axis=0)).reshape(ids.shape + (self.dim,))
        # The seqlock, a batch at a time: every counter read before the copy, every counter again after it; a row
        # whose counter was odd or moved is read again on its own until it is whole.
        before = view.seq.take(flat)
        out = view.matrix.take(flat, axis=0)
        _load_fence()
        after = view.seq.take(flat)
        torn = np.flatnonzero((before != after) | (before & 1).astype(bool))
        out = self._as_float32(out)
        for at in torn.tolist():
            out[at] = self._read_row(view, int(flat[at]))
        return out.reshape(ids.shape + (self.dim,))

    def _read_row(self, view, row):
        """Row ``row`` as a new float32 array, never half old and half new: retried while its counter is odd or
        moves; a StoreError for a damaged row, or one whose writer died mid-write or holds it too long."""
        seq = view.seq_view
        matrix = view.matrix
        spins = 0
        waiting_since = None
        while True:
            begin = seq[row]
            if not begin & 1:
                if self._quantized:
                    vector = fmt.dequantize(matrix[row:row + 1], self.dtype, self.dim)[0]
                else:
                    vector = np.array(matrix[row], dtype=np.float32)
                _load_fence()
                if seq[row] == begin:
                    return vector
            elif self._is_damaged(row):
                raise StoreError(self.path, "row %d is damaged: a write of it did not complete (its writer died or "
                                 "the write failed), so its content is unknown; rewrite it in the writer "
                                 "(WritableStore.write, or a trainer's attach restores it from its undo log)" % row)
            spins += 1
            if spins < SPINS_BEFORE_CHECK:
                continue
            if waiting_since is None:
                waiting_since = time.monotonic()
            pid = self._control[fmt.WRITER_PID]
            if not _process_alive(pid):
                raise StoreError(self.path, "row %d was left half-written (sequence %d) by a writer that is no longer "
                                 "running: its content is unknown; open the store for writing and rewrite the row"
                                 % (row, begin))
            if time.monotonic() - waiting_since > ROW_WAIT_SECONDS:
                raise StoreError(self.path, "row %d has been under write by pid %d for more than %d s"
                                 % (row, pid, ROW_WAIT_SECONDS), "locked")
            time.sleep(50e-6)

    def _as_float32(self, rows):
        """Copied rows (floats, or a quantized store's records) as float32 rows."""
        if self._quantized:
            return fmt.dequantize(rows, self.dtype, self.dim)
        return _as_float32(rows)

    def _is_damaged(self, row):
        """Whether ``row`` is listed in damaged.rows (as of the control block's damaged_epoch now)."""
        epoch, rows = self._damaged
        now = self._control[fmt.DAMAGED_EPOCH]
        if now != epoch:
            # The epoch first: the file read after it is at least that new.
            listed = self._control[fmt.DAMAGED_ROWS] != 0
            rows = frozenset(fmt.read_damaged(self.path)) if listed else frozenset()
            self._damaged = (now, rows)
        return row in rows

    def damaged_rows(self):
        """Rows a writer left half-written and no one has rewritten since (their values are unknown)."""
        view = self._view
        self._is_damaged(-1)
        return sorted(r for r in self._damaged[1] if r < view.rows and view.seq_view[r] & 1)

    # ------------------------------------------------------------------------------------------- similarity

    def most_similar(self, word_or_vector, topn=10, exclude=()):
        """The ``topn`` rows most similar (cosine) to a word or a vector, best first, as ``[(word, similarity)]``
        (row numbers for a store without vocabulary). A query word and the words of ``exclude`` are never
        returned. The same answers as the JVM's ``mostSimilar`` and ``embstore similar``."""
        return _similarity.most_similar(self, word_or_vector, topn, exclude)

    def similarity(self, w1, w2):
        """The cosine similarity of two words."""
        return _similarity.similarity(self, w1, w2)

    def to_torch(self, freeze=True):
        """An ``nn.Embedding`` over this store's rows (``padding_idx`` set from the store). See README, "From
        Python": f32 rows are not copied; f16 rows are converted (a copy in float32)."""
        from ._torch import to_embedding
        return to_embedding(self, freeze)

    # ------------------------------------------------------------------------------------------- lifetime

    def close(self):
        """Drops this object's mappings; later calls raise ValueError. Arrays it returned that view the mapping
        (``matrix``) keep it alive."""
        closed = _Closed(self.path)
        self._view = closed
        self._control = closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        v = self._view
        if isinstance(v, _Closed):
            return "<embstore.Store %s (closed)>" % self.path
        return "<embstore.Store %s: %d x %d %s>" % (self.path, v.rows, self.dim, self.dtype)


def _encode(word):
    if not isinstance(word, str):
        raise TypeError("a word is a str, not %s" % type(word).__name__)
    # A lone surrogate cannot be in a store (its words are UTF-8): kept as bytes that match nothing.
    return word.encode("utf-8", "surrogatepass")


def _check_row(row, rows):
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
        raise TypeError("a row is an int, not %s" % type(row).__name__)
    row = int(row)
    if row < 0 or row >= rows:
        raise IndexError("row %d is outside [0, %d)" % (row, rows))
    return row


def _as_float32(a):
    return a if a.dtype == np.float32 and a.dtype.isnative else a.astype(np.float32)


class _Closed:
    """Stands in for a closed store's view and control block: any use says the store is closed."""

    def __init__(self, path):
        self._path = path

    def __getattr__(self, name):
        raise ValueError("the store %s is closed" % self._path)

    def __getitem__(self, key):
        raise ValueError("the store %s is closed" % self._path)
