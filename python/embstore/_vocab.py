"""Word -> row through the mapped ``vocab.index`` and row -> word through ``vocab.offsets``: one word in plain
Python, many at once in numpy (the hash and the probes vectorised across words). Nothing is built per store: a
lookup reads the mapped pages, as the JVM's does."""

import os
import struct

import numpy as np

from . import _format as fmt
from ._errors import StoreError

_RECORD = struct.Struct("<II")
# Below this many words still being hashed at one byte position, the rest are hashed one by one in Python: a word
# far longer than its batch would otherwise cost one numpy pass per byte for itself alone.
_VECTOR_MIN_ACTIVE = 8
# Below this many words still probing, rows_of finishes them one by one.
_SCALAR_TAIL = 24


def row_of(view, utf8, words_path):
    """The row of the word ``utf8`` in ``view``, or -1."""
    index = view.index
    slots = index.view
    mask = index.mask
    h = fmt.word_hash(utf8)
    fingerprint = h >> fmt.FINGERPRINT_SHIFT
    i = h & mask
    words = view.words
    visible = view.word_bytes
    n = len(utf8)
    for _ in range(index.slots):
        slot = slots[i]
        if slot == 0:
            return -1
        if slot >> fmt.FINGERPRINT_SHIFT == fingerprint:
            record = (slot & fmt.OFFSET_MASK) - 1
            if record < 0:
                raise StoreError(index.path, "index slot %d holds a fingerprint but no record offset" % i)
            # A record past what this view has published is a word appended since its last refresh (or one whose
            # append never completed): not a match, and the probe goes on (the else below). Past the file itself, it
            # is damage.
            if record + fmt.RECORD_HEADER_BYTES <= visible:
                row, length = _RECORD.unpack_from(words, record)
                if length == n:
                    start = record + fmt.RECORD_HEADER_BYTES
                    if start + n > visible:
                        raise _record_error(words_path, record, length, visible)
                    if words[start:start + n] == utf8:
                        return row if row < view.rows else -1
            elif record + fmt.RECORD_HEADER_BYTES > len(words):
                _check_inside_file(index.path, i, record, words_path)
        i = (i + 1) & mask
    return -1


def _check_inside_file(index_path, slot, record, words_path):
    """A record past this view's mapping of vocab.words: normal for a word appended since the last refresh (the file
    grew), damage when it is past the file itself (as the JVM's lookup decides). The stat runs only on this path."""
    try:
        size = os.path.getsize(words_path)
    except OSError as e:
        raise StoreError(words_path, "cannot read the file's size: %s" % (e.strerror or e), "io") from None
    if record + fmt.RECORD_HEADER_BYTES > size:
        raise StoreError(index_path, "index slot %s points to record offset %d outside %s (%d bytes)"
                         % (slot, record, os.path.basename(words_path), size))


def _record_error(words_path, record, length, visible):
    return StoreError(words_path, "word record at offset %d has length %d which runs past the %d bytes in use"
                      % (record, length, visible))


def hashes(encoded):
    """word_hash of every byte string in ``encoded``, as a uint64 array, vectorised across words."""
    n = len(encoded)
    lengths = np.fromiter(map(len, encoded), np.int64, n)
    data = np.frombuffer(b"".join(encoded), np.uint8)
    starts = np.zeros(n, np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    # Longest first, so the words still being hashed at byte position p are a prefix of the order.
    order = np.argsort(-lengths, kind="stable")
    lengths_sorted = lengths[order]
    starts_sorted = starts[order]
    h = np.full(n, fmt.FNV_OFFSET_BASIS, np.uint64)
    prime = np.uint64(fmt.FNV_PRIME)
    # active[p] = how many words are longer than p
    active = np.searchsorted(-lengths_sorted, -np.arange(int(lengths_sorted[0]) if n else 0), side="left")
    for p, k in enumerate(active):
        if k < _VECTOR_MIN_ACTIVE:
            break
        hk = h[:k]
        hk ^= data[starts_sorted[:k] + p]
        hk *= prime
    else:
        p, k = len(active), 0
    out = np.empty(n, np.uint64)
    if k:
        # The few long words left: on in plain Python from where the vector loop stopped.
        tail = h[:k].tolist()
        for j in range(k):
            x = tail[j]
            w = encoded[order[j]]
            for b in w[p:]:
                x = ((x ^ b) * fmt.FNV_PRIME) & fmt.MASK64
            tail[j] = x
        h[:k] = np.array(tail, np.uint64)
    h ^= h >> np.uint64(33)
    h *= np.uint64(fmt.FMIX_C1)
    h ^= h >> np.uint64(33)
    h *= np.uint64(fmt.FMIX_C2)
    h ^= h >> np.uint64(33)
    out[order] = h
    return out, data, starts, lengths


def rows_of(view, encoded, words_path):
    """The rows of the byte strings ``encoded`` (-1 where absent), as an int64 array: the probes of all words run
    together, one numpy pass per probe step."""
    n = len(encoded)
    result = np.full(n, -1, np.int64)
    if n == 0:
        return result
    h, data, starts, lengths = hashes(encoded)
    index = view.index
    words = view.words_array
    visible = view.word_bytes
    fingerprint = h >> np.uint64(fmt.FINGERPRINT_SHIFT)
    slot = (h & np.uint64(index.mask)).astype(np.int64)
    pending = np.arange(n)
    offset_mask = np.uint64(fmt.OFFSET_MASK)
    shift = np.uint64(fmt.FINGERPRINT_SHIFT)
    for _ in range(index.slots):
        if pending.size <= _SCALAR_TAIL:
            # The last few words of long probe chains: one numpy pass per probe step would cost more than a plain
            # lookup each (probe chains are short on average at load <= 1/2, but a batch has a long tail).
            for j in pending.tolist():
                result[j] = row_of(view, encoded[j], words_path)
            break
        value = index.array[slot]
        live = value != 0
        # An empty slot ends a probe: the word is absent.
        pending, slot, value = pending[live], slot[live], value[live]
        candidate = (value >> shift) == fingerprint[pending]
        if candidate.any():
            found = _match(candidate, value, pending, words, visible, data, starts, lengths, index, words_path)
            if found is not None:
                matched, rows = found
                result[pending[matched]] = np.where(rows < view.rows, rows, -1)
                keep = ~matched
                pending, slot = pending[keep], slot[keep]
        slot = (slot + 1) & index.mask
    return result


def _match(candidate, value, pending, words, visible, data, starts, lengths, index, words_path):
    """Which candidate slots hold their word: the record's length and bytes compared in place. Returns a mask over
    ``pending`` and the rows of the matched ones, or None when nothing matched."""
    cand = np.flatnonzero(candidate)
    record = (value[cand] & np.uint64(fmt.OFFSET_MASK)).astype(np.int64) - 1
    if (record < 0).any():
        raise StoreError(index.path, "index slot holds a fingerprint but no record offset")
    past = record + fmt.RECORD_HEADER_BYTES > words.size
    if past.any():
        _check_inside_file(index.path, "of a batch", int(record[past].max()), words_path)
    inside = record + fmt.RECORD_HEADER_BYTES <= visible
    cand, record = cand[inside], record[inside]
    if cand.size == 0:
        return None
    length = _u32(words, record + 4)
    want = lengths[pending[cand]]
    same = length == want
    cand, record, length = cand[same], record[same], length[same]
    if cand.size == 0:
        return None
    start = record + fmt.RECORD_HEADER_BYTES
    over = start + length > visible
    if over.any():
        j = int(np.flatnonzero(over)[0])
        raise _record_error(words_path, int(record[j]), int(length[j]), visible)
    # Every byte of every candidate compared at once: flat positions into the query bytes and into vocab.words.
    total = int(length.sum())
    equal = np.ones(cand.size, bool)
    if total:
        run_start = np.zeros(cand.size, np.int64)
        np.cumsum(length[:-1], out=run_start[1:])
        step = np.arange(total, dtype=np.int64) - np.repeat(run_start, length)
        query_bytes = data[np.repeat(starts[pending[cand]], length) + step]
        stored_bytes = words[np.repeat(start, length) + step]
        differ = (query_bytes != stored_bytes).astype(np.int64)
        nonempty = length > 0
        counts = np.zeros(cand.size, np.int64)
        counts[nonempty] = np.add.reduceat(differ, run_start[nonempty])
        equal = counts == 0
    cand, record = cand[equal], record[equal]
    if cand.size == 0:
        return None
    matched = np.zeros(pending.size, bool)
    matched[cand] = True
    rows = _u32(words, record)
    # matched is in pending order, rows in cand order: cand is ascending, so the two agree.
    return matched, rows


def _u32(words, at):
    """Little-endian uint32 at each (unaligned) byte offset ``at`` of ``words``, as int64."""
    b = words
    return (b[at].astype(np.int64) | b[at + 1].astype(np.int64) << 8 | b[at + 2].astype(np.int64) << 16
            | b[at + 3].astype(np.int64) << 24)


def word(view, row, words_path):
    """The word of ``row`` (checked against the record's own row field)."""
    record = view.offsets_view[row]
    visible = view.word_bytes
    if record < 0 or record > visible - fmt.RECORD_HEADER_BYTES:
        raise StoreError(words_path, "row %d points to record offset %d outside the %d bytes in use"
                         % (row, record, visible))
    stored_row, length = _RECORD.unpack_from(view.words, record)
    if length > fmt.MAX_WORD_BYTES or record + fmt.RECORD_HEADER_BYTES + length > visible:
        raise _record_error(words_path, record, length, visible)
    if stored_row != row:
        raise StoreError(words_path, "word record at offset %d belongs to row %d, expected row %d"
                         % (record, stored_row, row))
    start = record + fmt.RECORD_HEADER_BYTES
    return bytes(view.words[start:start + length]).decode("utf-8", "replace")
