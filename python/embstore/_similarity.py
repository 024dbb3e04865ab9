"""Cosine similarity queries over the mapped matrix, answered as the JVM answers them (SimilaritySearch): a float32
scan with the norms of ``norms.f32`` when they are current (computed as the scan goes otherwise) picks candidates,
which are then rescored exactly, in float64, from consistent copies of their rows, and sorted by similarity, then
row."""

import math

import numpy as np

from . import _format as fmt

# Rows a scan block covers, so the float32 copies an f16 or q8/q4 store needs stay small (about 16 MB at dim 256).
_BLOCK_VALUES = 1 << 22
# Candidates kept beyond the asked ones: the float32 scan may order near-ties differently from the exact rescoring.
_MARGIN = 16


def most_similar(store, query, topn, exclude):
    if isinstance(topn, bool) or not isinstance(topn, (int, np.integer)) or topn < 0:
        raise ValueError("topn must be an int >= 0, got %r" % (topn,))
    view = store._view
    excluded = set()
    if isinstance(query, str):
        row = store.row_of(query)
        if row >= 0:
            vector = store._read_row(view, row)
            excluded.add(row)
        elif store.subwords is not None:
            vector = store.subword_vector(query)
        else:
            raise KeyError("word %r is not in the store %s" % (query, store.path))
        name = "word %r" % query
    else:
        vector = np.asarray(query, dtype=np.float32)
        name = "the query vector"
        if vector.shape != (store.dim,):
            raise ValueError("%s has shape %s, the store's dim is %d" % (name, vector.shape, store.dim))
    if isinstance(exclude, str):
        exclude = (exclude,)
    if exclude:
        found = store.rows_of(list(exclude))
        excluded.update(int(r) for r in found[found >= 0])
    unit = _unit_query(vector, name)
    topn = int(min(topn, view.rows if store.subwords is None else min(view.rows, store.subwords.word_rows)))
    if topn == 0:
        return []
    excluded.update(store.damaged_rows())
    candidates = _scan(store, view, unit, min(view.rows, topn + len(excluded) + _MARGIN))
    q = vector.astype(np.float64)
    q_norm = math.sqrt(float(q @ q))
    scored = []
    for row in candidates.tolist():
        if row in excluded:
            continue
        x = store._read_row(view, row).astype(np.float64)
        xx = float(x @ x)
        if xx == 0 or not math.isfinite(xx):
            continue
        cosine = max(-1.0, min(1.0, float(q @ x) / (q_norm * math.sqrt(xx))))
        scored.append((-float(np.float32(cosine)), row))
    scored.sort()
    out = []
    for negative, row in scored[:topn]:
        key = store.word(row) if store.has_vocabulary else row
        out.append((key, -negative))
    return out


def similarity(store, w1, w2):
    """Cosine of two words' vectors, in float64 from float32 rows, clamped to [-1, 1], as a float32 value."""
    view = store._view
    u1 = _unit_word(store, view, w1)
    u2 = _unit_word(store, view, w2)
    return float(np.float32(max(-1.0, min(1.0, float(u1 @ u2)))))


def _unit_word(store, view, word):
    row = store.row_of(word)
    if row >= 0:
        x = store._read_row(view, row).astype(np.float64)
    elif store.subwords is not None:
        x = store.subword_vector(word).astype(np.float64)
    else:
        raise KeyError("word %r is not in the store %s" % (word, store.path))
    total = float(x @ x)
    if total == 0 or not math.isfinite(total):
        raise ValueError("word %r (%s) has a %s vector: its cosine similarity is undefined"
                         % (word, "row %d" % row if row >= 0 else "from its n-grams",
                            "zero" if total == 0 else "non-finite"))
    return x / math.sqrt(total)


def _unit_query(vector, name):
    if not np.isfinite(vector).all():
        at = int(np.flatnonzero(~np.isfinite(vector))[0])
        raise ValueError("%s has a non-finite value at %d: %s" % (name, at, vector[at]))
    v = vector.astype(np.float64)
    total = float(v @ v)
    if total == 0:
        raise ValueError("%s is a zero vector: its cosine similarity is undefined" % name)
    return (v / math.sqrt(total)).astype(np.float32)


def _trusted_norms(store, view):
    """norms.f32 when it covers every visible row and its writer (if any) lives; else None."""
    norms = view.norms
    if norms is None or store._control[fmt.NORMS_ROWS] < view.rows:
        return None
    pid = store._control[fmt.WRITER_PID]
    from ._store import _process_alive
    if pid != 0 and not _process_alive(pid):
        return None
    return norms


def _scan(store, view, unit, wanted):
    """Rows of the ``wanted`` best float32 cosine scores (unordered), never the padding row or a zero row, nor a
    fastText model's n-gram bucket rows (they follow its words)."""
    rows = view.rows if store.subwords is None else min(view.rows, store.subwords.word_rows)
    norms = _trusted_norms(store, view)
    block = max(1, _BLOCK_VALUES // store.dim)
    best_rows = []
    best_scores = []
    padding = store.padding_index
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, rows, block):
            end = min(rows, start + block)
            chunk = view.matrix[start:end]
            if store._quantized:
                chunk = fmt.dequantize(chunk, store.dtype, store.dim)
            elif chunk.dtype != np.float32:
                chunk = chunk.astype(np.float32)
            dots = chunk @ unit
            if norms is not None:
                n = norms[start:end]
            else:
                n = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
            scores = dots / n
            scores[~np.isfinite(scores)] = -np.inf
            if start <= padding < end:
                scores[padding - start] = -np.inf
            if wanted < scores.size:
                top = np.argpartition(-scores, wanted - 1)[:wanted]
            else:
                top = np.arange(scores.size)
            best_rows.append(top + start)
            best_scores.append(scores[top])
    if not best_rows:
        return np.empty(0, np.int64)
    all_rows = np.concatenate(best_rows)
    all_scores = np.concatenate(best_scores)
    keep = np.isfinite(all_scores)
    all_rows, all_scores = all_rows[keep], all_scores[keep]
    if wanted < all_scores.size:
        top = np.argpartition(-all_scores, wanted - 1)[:wanted]
        all_rows = all_rows[top]
    return all_rows
