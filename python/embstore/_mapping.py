"""The store's files mapped read-only at one capacity (a ``View``), checked before each mapping."""

import mmap
import os

import numpy as np

from . import _format as fmt
from ._errors import StoreError


def _open(path):
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise StoreError(path, "missing file", "not_found") from None
    except OSError as e:
        raise StoreError(path, "cannot open: %s" % (e.strerror or e), "io") from None


def map_file(path, min_bytes, map_bytes=None, private=False):
    """Maps ``map_bytes`` (default: the whole file) of ``path`` after checking that it holds at least ``min_bytes``:
    reading a mapping past the end of its file is a SIGBUS, so the check comes first. Returns an ``mmap`` or, for zero
    bytes (which mmap refuses), an empty ``bytes``. ``private``: a copy-on-write mapping whose writes never reach the
    file (for torch, which wants a writable array)."""
    fd = _open(path)
    try:
        size = os.fstat(fd).st_size
        if size < min_bytes:
            raise StoreError(path, "truncated: %d bytes, expected at least %d" % (size, min_bytes))
        if map_bytes is None:
            map_bytes = size
        elif map_bytes > size:
            raise StoreError(path, "truncated: %d bytes, expected %d" % (size, map_bytes))
        if map_bytes == 0:
            return b""
        return _map_fd(fd, path, map_bytes, private)
    finally:
        os.close(fd)


def _map_fd(fd, path, map_bytes, private):
    try:
        if private:
            return mmap.mmap(fd, map_bytes, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        return mmap.mmap(fd, map_bytes, access=mmap.ACCESS_READ)
    except (OSError, ValueError, OverflowError) as e:
        raise StoreError(path, "cannot map %d bytes (check free address space: ulimit -v, and the map count: "
                               "sysctl vm.max_map_count): %s" % (map_bytes, e), "io") from None


class Index:
    """``vocab.index`` mapped: its slots as a numpy ``uint64`` array and a ``memoryview`` (single lookups are
    faster through the memoryview, batches through numpy)."""
    __slots__ = ("path", "slots", "mask", "epoch", "array", "view")

    def __init__(self, path):
        self.path = path
        # One descriptor for the header and the mapping: a writer may rename a rebuilt index over the path at any
        # moment, and a header of one file with the slots of another would answer lookups wrongly.
        fd = _open(path)
        try:
            size = os.fstat(fd).st_size
            head = os.pread(fd, fmt.INDEX_HEADER_BYTES, 0)
            self.slots = fmt.check_index_header(head, size, path)
            self.mask = self.slots - 1
            self.epoch = int.from_bytes(head[24:32], "little")
            mm = _map_fd(fd, path, fmt.INDEX_HEADER_BYTES + self.slots * 8, False)
        finally:
            os.close(fd)
        self.array = np.frombuffer(mm, "<u8", self.slots, fmt.INDEX_HEADER_BYTES)
        self.view = memoryview(mm)[fmt.INDEX_HEADER_BYTES:].cast("Q")


class View:
    """What a ``Store`` shows: its files mapped for ``capacity`` rows, of which ``rows`` (and ``word_bytes`` of
    vocab.words) are published. Immutable: ``refresh()`` replaces the store's view as a whole, so a read that took
    the old one finishes on it."""
    __slots__ = ("rows", "capacity", "word_bytes", "matrix", "seq", "seq_view", "offsets", "offsets_view", "words",
                 "words_array", "index", "norms")

    def __init__(self, directory, manifest, rows, capacity, word_bytes, previous=None, index_epoch=None):
        self.rows = rows
        self.capacity = capacity
        self.word_bytes = word_bytes
        dim = manifest.dim
        element = fmt.matrix_dtype(manifest.dtype, dim)
        quantized = manifest.dtype in fmt.QUANTIZED
        if previous is not None and previous.capacity == capacity:
            self.matrix, self.seq, self.seq_view = previous.matrix, previous.seq, previous.seq_view
            self.offsets, self.offsets_view = previous.offsets, previous.offsets_view
            # norms.f32 is optional and may appear later (the writer makes it at its first similarity query).
            self.norms = previous.norms if previous.norms is not None else _map_norms(directory, capacity)
        else:
            matrix_bytes = fmt.NPY_HEADER_BYTES + capacity * fmt.row_bytes(manifest.dtype, dim)
            path = os.path.join(directory, fmt.MATRIX_FILE)
            mm = map_file(path, matrix_bytes, max(matrix_bytes, fmt.NPY_HEADER_BYTES))
            if quantized:
                # One record a row (scale, bias, codes): what numpy.load gives for the file too.
                self.matrix = np.frombuffer(mm, element, capacity, fmt.NPY_HEADER_BYTES)
            else:
                self.matrix = np.frombuffer(mm, element, capacity * dim, fmt.NPY_HEADER_BYTES).reshape(capacity, dim)
            seq = map_file(os.path.join(directory, fmt.SEQ_FILE), capacity * 4, capacity * 4)
            self.seq = np.frombuffer(seq, "<i4", capacity)
            self.seq_view = memoryview(seq).cast("i")
            self.offsets = self.offsets_view = None
            if manifest.vocabulary:
                off = map_file(os.path.join(directory, fmt.OFFSETS_FILE), capacity * 8, capacity * 8)
                self.offsets = np.frombuffer(off, "<i8", capacity)
                self.offsets_view = memoryview(off).cast("q")
            self.norms = _map_norms(directory, capacity)
        self.words = self.words_array = self.index = None
        if manifest.vocabulary:
            if previous is not None and len(previous.words) >= word_bytes:
                self.words, self.words_array = previous.words, previous.words_array
            else:
                path = os.path.join(directory, fmt.WORDS_FILE)
                self.words = map_file(path, word_bytes)
                self.words_array = np.frombuffer(self.words, np.uint8)
            if previous is not None and index_epoch == previous.index.epoch:
                self.index = previous.index
            else:
                self.index = Index(os.path.join(directory, fmt.INDEX_FILE))


def _map_norms(directory, capacity):
    path = os.path.join(directory, fmt.NORMS_FILE)
    if not os.path.exists(path):
        return None
    return np.frombuffer(map_file(path, capacity * 4, capacity * 4), "<f4", capacity)
