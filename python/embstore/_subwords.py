"""fastText's vectors for words a store converted from a ``.bin`` model does not have (docs/FORMAT.md, "Subwords"):
the mean of the bucket rows of the character n-grams of ``<word>``, computed as fastText's
``Dictionary::computeSubwords`` and ``FastText::getWordVector`` do, and as the JVM's ``Subwords`` does."""

import numpy as np

HASH = "fasttext-fnv1a32"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 16777619
_MASK32 = 0xFFFFFFFF


class Layout:
    """The manifest's subword keys: rows [0, word_rows) are words, [word_rows, word_rows + buckets) n-gram buckets."""

    __slots__ = ("minn", "maxn", "buckets", "word_rows")

    def __init__(self, minn, maxn, buckets, word_rows):
        self.minn = minn
        self.maxn = maxn
        self.buckets = buckets
        self.word_rows = word_rows

    def is_bucket_row(self, row):
        return self.word_rows <= row < self.word_rows + self.buckets

    def __repr__(self):
        return "Layout(minn=%d, maxn=%d, buckets=%d, word_rows=%d)" % (self.minn, self.maxn, self.buckets,
                                                                      self.word_rows)


def ngram_buckets(utf8, minn, maxn, buckets):
    """The buckets of the n-grams of ``b"<" + utf8 + b">"`` of minn..maxn characters, in fastText's order, repeats
    kept. A character starts at any byte that is not a UTF-8 continuation byte (10xxxxxx); the lone ``<`` and ``>``
    are not n-grams; ``</s>`` has none. Each byte enters the 32-bit FNV-1a sign-extended, as fastText's
    ``uint32_t(int8_t(c))``."""
    if utf8 == b"</s>":
        return []
    w = b"<" + utf8 + b">"
    n_bytes = len(w)
    out = []
    for i in range(n_bytes):
        if w[i] & 0xC0 == 0x80:
            continue
        h = _FNV_OFFSET
        j = i
        n = 1
        while j < n_bytes and n <= maxn:
            b = w[j]
            h = ((h ^ (b | 0xFFFFFF00 if b & 0x80 else b)) * _FNV_PRIME) & _MASK32
            j += 1
            while j < n_bytes and w[j] & 0xC0 == 0x80:
                b = w[j]
                h = ((h ^ (b | 0xFFFFFF00)) * _FNV_PRIME) & _MASK32
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == n_bytes)):
                out.append(h % buckets)
            n += 1
    return out


def vector(store, view, word):
    """The mean of the bucket rows of ``word``'s n-grams as float32 (zeros when it has none, as fastText prints)."""
    layout = store._manifest.subwords
    buckets = ngram_buckets(word.encode("utf-8", "surrogatepass"), layout.minn, layout.maxn, layout.buckets)
    if not buckets:
        return np.zeros(store.dim, dtype=np.float32)
    rows = np.asarray(buckets, dtype=np.int64) + layout.word_rows
    gathered = np.stack([store._read_row(view, int(r)) for r in rows])
    # Row after row in float32, then a multiply by 1/n rounded to float32: fastText's own arithmetic.
    total = np.add.reduce(gathered, axis=0, dtype=np.float32)
    return total * np.float32(1.0 / len(buckets))
