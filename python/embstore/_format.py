"""The on-disk layouts a reader needs (docs/FORMAT.md), parsed and checked before anything is mapped.

Every constant here has its twin in the Java layout descriptors named in FORMAT.md (Manifest, ControlBlock,
NpyHeader, VocabularyIndex, DamagedRows); a test compares both sides' answers on the same files.
"""

import ast
import os
import struct

import numpy as np

from ._errors import StoreError

FORMAT_VERSION = 1
MAX_ROWS = 2**31 - 1
MAX_DIM = 1 << 16
MAX_WORD_BYTES = 1 << 16

MANIFEST_FILE = "manifest.txt"
CONTROL_FILE = "control.bin"
MATRIX_FILE = "matrix.npy"
SEQ_FILE = "rows.seq"
WORDS_FILE = "vocab.words"
OFFSETS_FILE = "vocab.offsets"
INDEX_FILE = "vocab.index"
NORMS_FILE = "norms.f32"
DAMAGED_FILE = "damaged.rows"

MANIFEST_MAGIC = "embstore-manifest"
MANIFEST_MAX_BYTES = 64 * 1024

# control.bin: 4096 bytes, little-endian; the i64 fields are read as aligned 8-byte loads (see Store._control).
CONTROL_BYTES = 4096
CONTROL_MAGIC = b"EMBSCTL1"
CONTROL_VERSION = 1
# Field -> index of its int64 in the block (byte offset / 8).
LIVE_ROWS = 2
GENERATION = 3
CAPACITY = 4
INDEX_EPOCH = 5
WORD_BYTES = 6
WRITER_PID = 7
NORMS_ROWS = 8
DAMAGED_ROWS = 9
DAMAGED_EPOCH = 10

# matrix.npy: NumPy format 1.0 with a 4096-byte header, so row 0 is page-aligned.
NPY_MAGIC = b"\x93NUMPY"
NPY_HEADER_BYTES = 4096
DTYPES = {"f32": ("<f4", 4), "f16": ("<f2", 2)}
NPY_DESCR_TO_DTYPE = {"<f4": "f32", "<f2": "f16"}
# Row-wise quantized dtypes (FBGEMM's fused rows, QuantizedRows in Java): the type of a row's scale and bias, and the
# bytes before its codes. One structured record a row: [('scale', T), ('bias', T), ('q', '|u1', (codes,))].
QUANTIZED = {"q8": ("<f4", 8), "q4": ("<f2", 4)}
SCALE_TYPE_TO_QUANTIZED = {"<f4": "q8", "<f2": "q4"}


def code_bytes(dtype, dim):
    """Bytes of the codes of a quantized row: dim (q8) or ceil(dim / 2) (q4, two 4-bit codes a byte)."""
    return dim if dtype == "q8" else (dim + 1) // 2


def row_bytes(dtype, dim):
    """Bytes of one stored row of ``dim`` elements."""
    if dtype in QUANTIZED:
        return QUANTIZED[dtype][1] + code_bytes(dtype, dim)
    return DTYPES[dtype][1] * dim


def matrix_dtype(dtype, dim):
    """The NumPy dtype of one element (f32, f16) or of one row's record (q8, q4)."""
    if dtype in QUANTIZED:
        t = QUANTIZED[dtype][0]
        return np.dtype([("scale", t), ("bias", t), ("q", "u1", (code_bytes(dtype, dim),))])
    return np.dtype(DTYPES[dtype][0])


def dequantize(records, dtype, dim):
    """Float32 values of quantized row records (any shape of records): ``scale * q + bias`` as a float32 multiply,
    then an add, never fused, so the bits equal the JVM's reads."""
    q = records["q"]
    if dtype == "q4":
        q = np.stack([q & 0x0F, q >> 4], axis=-1).reshape(q.shape[:-1] + (-1,))[..., :dim]
    scale = records["scale"].astype(np.float32)[..., None]
    bias = records["bias"].astype(np.float32)[..., None]
    return q.astype(np.float32) * scale + bias

# vocab.index: a 64-byte header, then slots of fingerprint (bits 63..40) | record offset + 1 (bits 39..0).
INDEX_MAGIC = b"EMBSIDX1"
INDEX_VERSION = 1
INDEX_HEADER_BYTES = 64
FINGERPRINT_SHIFT = 40
OFFSET_MASK = (1 << FINGERPRINT_SHIFT) - 1
RECORD_HEADER_BYTES = 8  # vocab.words record: int32 row, int32 length, then the UTF-8 bytes

# The word hash: FNV-1a 64 over the UTF-8 bytes, then MurmurHash3's fmix64.
FNV_OFFSET_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
FMIX_C1 = 0xFF51AFD7ED558CCD
FMIX_C2 = 0xC4CEB9FE1A85EC53
MASK64 = 0xFFFFFFFFFFFFFFFF

DAMAGED_MAGIC = b"EMBSDMG1"
DAMAGED_VERSION = 1
DAMAGED_HEADER_BYTES = 24


def word_hash(utf8):
    """FNV-1a 64 of ``utf8`` followed by fmix64, as VocabularyIndex.hash computes it."""
    h = FNV_OFFSET_BASIS
    if len(utf8) <= 32:
        # The low 64 bits of a product depend only on the low 64 bits of its factors, and the XOR touches only the
        # low 8: one mask at the end gives the same hash, and saves a Python operation per byte of a short word.
        for b in utf8:
            h = (h ^ b) * FNV_PRIME
        h &= MASK64
    else:
        for b in utf8:
            h = ((h ^ b) * FNV_PRIME) & MASK64
    h ^= h >> 33
    h = (h * FMIX_C1) & MASK64
    h ^= h >> 33
    h = (h * FMIX_C2) & MASK64
    return h ^ (h >> 33)


class Manifest:
    __slots__ = ("dtype", "dim", "rows", "vocabulary", "padding_index", "subwords")

    def __init__(self, dtype, dim, rows, vocabulary, padding_index, subwords=None):
        self.subwords = subwords
        self.dtype = dtype
        self.dim = dim
        self.rows = rows
        self.vocabulary = vocabulary
        self.padding_index = padding_index


def _abbreviate(s):
    printable = "".join("?" if ord(c) < 32 or ord(c) == 127 else c for c in s)
    return printable if len(printable) <= 60 else printable[:60] + "..."


def read_manifest(directory):
    """Reads and checks ``manifest.txt``; a directory without one is "not an embstore store"."""
    path = os.path.join(directory, MANIFEST_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read(MANIFEST_MAX_BYTES + 1)
    except FileNotFoundError:
        raise StoreError(directory, "not an embstore store: no %s in this directory" % MANIFEST_FILE,
                         "corrupt") from None
    except OSError as e:
        raise StoreError(path, "cannot read the manifest: %s" % (e.strerror or e), "io") from None
    if len(raw) > MANIFEST_MAX_BYTES:
        raise StoreError(path, "manifest is more than %d bytes, more than a manifest can be" % MANIFEST_MAX_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError(path, "manifest is not UTF-8 text") from None
    lines = text.split("\n")
    if lines[0] != MANIFEST_MAGIC:
        raise StoreError(path, "line 1 must be '%s', found '%s'" % (MANIFEST_MAGIC, _abbreviate(lines[0])))
    kv = {}
    for i, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        eq = line.find("=")
        if eq <= 0:
            raise StoreError(path, "line %d: expected key=value, found '%s'" % (i, _abbreviate(line)))
        kv[line[:eq]] = line[eq + 1:]

    def required(key):
        if key not in kv:
            raise StoreError(path, "missing key '%s'" % key)
        return kv[key]

    def number(key, lo, hi):
        v = required(key)
        # Java's Long.parseLong: an optional sign and ASCII digits, nothing else (no spaces, no underscores).
        digits = v[1:] if v[:1] in ("-", "+") else v
        if not digits or not digits.isascii() or not digits.isdigit():
            raise StoreError(path, "%s must be an integer, found '%s'" % (key, _abbreviate(v)))
        n = int(v)
        if n < lo or n > hi:
            raise StoreError(path, "%s %d is outside [%d, %d]" % (key, n, lo, hi))
        return n

    version = number("format_version", 1, 2**31 - 1)
    if version != FORMAT_VERSION:
        raise StoreError(path, "format_version %d is not supported: this embstore reads version %d"
                         % (version, FORMAT_VERSION))
    dtype = required("dtype")
    if dtype not in DTYPES and dtype not in QUANTIZED:
        raise StoreError(path, "dtype '%s' is unknown, expected f32, f16, q8 or q4" % _abbreviate(dtype))
    dim = number("dim", 1, MAX_DIM)
    rows = number("rows", 0, MAX_ROWS)
    vocabulary = required("vocabulary")
    if vocabulary not in ("true", "false"):
        raise StoreError(path, "vocabulary must be true or false, found '%s'" % _abbreviate(vocabulary))
    padding = number("padding_index", -1, MAX_ROWS)
    header_bytes = number("matrix_header_bytes", 0, 2**63 - 1)
    if header_bytes != NPY_HEADER_BYTES:
        raise StoreError(path, "matrix_header_bytes is %d, expected %d" % (header_bytes, NPY_HEADER_BYTES))
    subwords = None
    if "subword_hash" in kv:
        # A store converted from a fastText .bin model: absent words are answered from n-gram buckets (_subwords).
        from ._subwords import HASH, Layout
        if kv["subword_hash"] != HASH:
            raise StoreError(path, "subword_hash '%s' is unknown, expected %s" % (_abbreviate(kv["subword_hash"]), HASH))
        minn = number("subword_minn", 1, 2**31 - 1)
        maxn = number("subword_maxn", minn, 2**31 - 1)
        buckets = number("subword_buckets", 1, rows)
        subwords = Layout(minn, maxn, buckets, number("word_rows", 0, rows - buckets))
    return Manifest(dtype, dim, rows, vocabulary == "true", padding, subwords)


def check_control(raw, path):
    """Checks the control block's fixed fields (``raw``: its 4096 bytes or a buffer over them)."""
    if len(raw) != CONTROL_BYTES:
        raise StoreError(path, "control block is %d bytes, expected %d" % (len(raw), CONTROL_BYTES))
    if bytes(raw[0:8]) != CONTROL_MAGIC:
        raise StoreError(path, 'bad control block magic, expected "EMBSCTL1"')
    version = struct.unpack_from("<i", raw, 8)[0]
    if version != CONTROL_VERSION:
        raise StoreError(path, "control block version %d is not supported, expected %d" % (version, CONTROL_VERSION))
    live, _, capacity, _, word_bytes, _, norms_rows, damaged_rows = struct.unpack_from("<8q", raw, 16)
    if capacity < 0 or capacity > MAX_ROWS:
        raise StoreError(path, "capacity %d is outside [0, %d]" % (capacity, MAX_ROWS))
    if live < 0 or live > capacity:
        raise StoreError(path, "live_rows %d is outside [0, capacity=%d]" % (live, capacity))
    if norms_rows < 0:
        raise StoreError(path, "norms_rows %d is negative" % norms_rows)
    if damaged_rows < 0:
        raise StoreError(path, "damaged_rows %d is negative" % damaged_rows)
    if word_bytes < 0:
        raise StoreError(path, "word_bytes %d is negative" % word_bytes)


def read_npy_header(head, path):
    """Parses the 4096-byte ``matrix.npy`` header: returns (dtype label, rows, dim), where dim is the code bytes of
    a row for the quantized dtypes (their header has one record a row, shape (rows,))."""
    if len(head) < NPY_HEADER_BYTES or bytes(head[0:6]) != NPY_MAGIC:
        raise StoreError(path, "not a .npy file: bad magic")
    major, minor = head[6], head[7]
    if (major, minor) != (1, 0):
        raise StoreError(path, ".npy version %d.%d is not supported, expected 1.0" % (major, minor))
    length = struct.unpack_from("<H", head, 8)[0]
    if 10 + length != NPY_HEADER_BYTES:
        raise StoreError(path, ".npy header is %d bytes, expected %d" % (10 + length, NPY_HEADER_BYTES))
    text = bytes(head[10:NPY_HEADER_BYTES])
    try:
        # A literal dictionary: literal_eval evaluates no code.
        d = ast.literal_eval(text.decode("latin-1").strip())
        descr, fortran, shape = d["descr"], d["fortran_order"], d["shape"]
        if type(shape) is not tuple:
            raise ValueError  # numpy refuses a shape that is not a tuple too
        if isinstance(descr, list):
            return _read_records_header(descr, fortran, shape, path)
        rows, dim = shape
        if not (isinstance(rows, int) and isinstance(dim, int)):
            raise ValueError
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError):
        raise StoreError(path, "unreadable .npy header dictionary: %s" % _abbreviate(text.decode("latin-1").strip()))
    if descr not in NPY_DESCR_TO_DTYPE:
        raise StoreError(path, ".npy dtype '%s' is not supported, expected '<f4' or '<f2'" % _abbreviate(str(descr)))
    if fortran is not False:
        raise StoreError(path, ".npy matrix is in Fortran order, expected C order")
    if dim < 1 or dim > MAX_DIM:
        raise StoreError(path, ".npy dim %d is outside [1, %d]" % (dim, MAX_DIM))
    if rows < 0:
        raise StoreError(path, ".npy rows %d is negative" % rows)
    return NPY_DESCR_TO_DTYPE[descr], rows, dim


def _read_records_header(descr, fortran, shape, path):
    """The structured header of a q8/q4 matrix (docs/FORMAT.md, "Quantized rows")."""
    try:
        (n1, t1), (n2, t2), (n3, t3, (codes,)) = descr
        ok = (n1, n2, n3, t3) == ("scale", "bias", "q", "|u1") and t1 == t2 and t1 in SCALE_TYPE_TO_QUANTIZED
        ok = ok and len(shape) == 1 and isinstance(shape[0], int) and isinstance(codes, int)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise StoreError(path, ".npy structured dtype %s with shape %s is not a quantized matrix, expected "
                         "[('scale', '<f4' or '<f2'), ('bias', same), ('q', '|u1', (codes,))] and shape (rows,)"
                         % (_abbreviate(str(descr)), _abbreviate(str(shape))))
    dtype = SCALE_TYPE_TO_QUANTIZED[t1]
    if fortran is not False:
        raise StoreError(path, ".npy matrix is in Fortran order, expected C order")
    if codes < 1 or codes > code_bytes(dtype, MAX_DIM):
        raise StoreError(path, ".npy row of %d code bytes is outside [1, %d]" % (codes, code_bytes(dtype, MAX_DIM)))
    if shape[0] < 0:
        raise StoreError(path, ".npy rows %d is negative" % shape[0])
    return dtype, shape[0], codes


def check_index_header(head, size, path):
    """Checks the ``vocab.index`` header against the file's size; returns its slot count."""
    if size < INDEX_HEADER_BYTES:
        raise StoreError(path, "truncated index: %d bytes, the header alone is %d" % (size, INDEX_HEADER_BYTES))
    if bytes(head[0:8]) != INDEX_MAGIC:
        raise StoreError(path, 'bad index magic, expected "EMBSIDX1"')
    version = struct.unpack_from("<i", head, 8)[0]
    if version != INDEX_VERSION:
        raise StoreError(path, "index version %d is not supported, expected %d" % (version, INDEX_VERSION))
    slots = struct.unpack_from("<Q", head, 16)[0]
    if slots < 16 or slots & (slots - 1) or slots > 1 << 40:
        raise StoreError(path, "slot count must be a power of 2 in [16, 2^40]: slots=%d" % slots)
    if size < INDEX_HEADER_BYTES + slots * 8:
        raise StoreError(path, "truncated index: %d bytes, expected %d for %d slots"
                         % (size, INDEX_HEADER_BYTES + slots * 8, slots))
    return slots


def read_damaged(directory):
    """The rows listed in ``damaged.rows`` (ascending), or none when the file is absent."""
    path = os.path.join(directory, DAMAGED_FILE)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return ()
    except OSError as e:
        raise StoreError(path, "cannot read the list of damaged rows: %s" % (e.strerror or e), "io") from None
    if len(raw) < DAMAGED_HEADER_BYTES or raw[0:8] != DAMAGED_MAGIC:
        raise StoreError(path, 'not a list of damaged rows: bad magic, expected "EMBSDMG1"')
    version = struct.unpack_from("<i", raw, 8)[0]
    if version != DAMAGED_VERSION:
        raise StoreError(path, "version %d is not supported, expected %d" % (version, DAMAGED_VERSION))
    count = struct.unpack_from("<q", raw, 16)[0]
    body = len(raw) - DAMAGED_HEADER_BYTES
    if count < 0 or body % 8 or count != body // 8:
        raise StoreError(path, "count %d does not match the file's %d bytes" % (count, len(raw)))
    rows = struct.unpack_from("<%dq" % count, raw, DAMAGED_HEADER_BYTES)
    for i, row in enumerate(rows):
        if row < 0 or (i > 0 and row <= rows[i - 1]):
            raise StoreError(path, "row %d at entry %d is negative or out of order" % (row, i))
    return rows
