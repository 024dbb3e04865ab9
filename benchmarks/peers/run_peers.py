"""The peer harness: embstore and the tools users would pick instead, on the same files, in one run.

Run it through benchmarks/peers/run, which installs the peers and builds the project (see README.md here for the
options). A full run writes benchmarks/peers/RESULTS.md; a partial (--only) or smoke run writes RESULTS-partial.md in
the data directory instead, so that the committed table only ever comes from a full run. Every figure is the median
of --repeats runs, project and peer alternating, in fresh processes.
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.path.join(ROOT, "benchmarks", "peers")
DIM = 300
JAVA = os.path.join(os.environ["JAVA_HOME"], "bin", "java")
PY = "/usr/bin/python3"
BENCH_JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
# The command users run: the launcher, with the JDK 25 AOT cache it records once per build (run recorded it, untimed).
EMBSTORE = [os.path.join(ROOT, "embstore")]
PROBE = [JAVA, "--enable-native-access=ALL-UNNAMED", "-cp", BENCH_JAR, "io.embstore.benchmarks.PeerProbe"]
# The machine's OpenBLAS tuning variables slow a current numpy (see the env notes); unset for the peers alone.
PEER_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
SECTIONS = ("convert", "export", "similar", "open", "memory", "gather", "optimizer", "classifier", "pretrained",
            "python")
# Debian package that provides each peer, for the "not installed" rows.
PACKAGES = {"gensim": "python3-gensim", "torch": "python3-torch", "fasttext": "fasttext"}
MR = os.path.join(os.path.dirname(ROOT), "shared", "data", "mr-train.txt")


def parse_args():
    p = argparse.ArgumentParser(prog="benchmarks/peers/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=int(os.environ.get("EMBSTORE_PEER_ROWS", "400000")),
                   help="rows of the generated 300-d vector files (default 400000)")
    p.add_argument("--repeats", type=int, default=int(os.environ.get("EMBSTORE_PEER_REPEATS", "3")),
                   help="fresh-process runs per side, alternating; figures are medians (default 3)")
    p.add_argument("--only", default="", help="comma-separated sections to run: " + ",".join(SECTIONS))
    p.add_argument("--data", default=os.environ.get("EMBSTORE_PEER_DATA", "/tmp/embstore-peers"),
                   help="where generated files and stores go (default /tmp/embstore-peers; reused when present)")
    p.add_argument("--threads", type=int, default=2, help="threads of the optimizer and classifier rows (default 2)")
    p.add_argument("--opt-rows", type=int, default=1_000_000, help="rows of the optimizer table (default 1000000)")
    p.add_argument("--opt-dim", type=int, default=128, help="dim of the optimizer table (default 128)")
    p.add_argument("--opt-warmup", type=int, default=100, help="untimed optimizer steps first (default 100)")
    p.add_argument("--opt-window", type=int, default=100, help="optimizer steps per timed window (default 100)")
    p.add_argument("--opt-windows", type=int, default=3, help="timed windows per process, median taken (default 3)")
    p.add_argument("--opt-dir", default="/dev/shm/embstore-peers-opt" if os.path.isdir("/dev/shm") else None,
                   help="where the trainer's table and state files go (default /dev/shm/embstore-peers-opt, in RAM as "
                        "torch's tensors are; without /dev/shm, DATA/opt-work)")
    p.add_argument("--buckets", type=int, default=2_000_000, help="hash buckets of both classifiers (default 2000000)")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, one repeat, its own data directory: checks the harness runs end to end")
    a = p.parse_args()
    if a.smoke:
        a.rows, a.repeats, a.opt_rows = 20_000, 1, 50_000
        a.opt_warmup, a.opt_window, a.opt_windows = 3, 5, 1
        a.data = a.data.rstrip("/") + "-smoke"
        if a.opt_dir:
            a.opt_dir = a.opt_dir.rstrip("/") + "-smoke"
    a.only = [s for s in a.only.split(",") if s]
    for s in a.only:
        if s not in SECTIONS:
            p.error(f"--only: unknown section {s}; sections: {','.join(SECTIONS)}")
    return a


A = None  # the parsed options


def run(cmd, env=None):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return time.perf_counter() - t, out.stdout


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def gensim(*args):
    _, out = run([PY, os.path.join(PEERS, "gensim_peer.py"), *args], env=PEER_ENV)
    return last_json(out)


def python_env():
    """The Python package runs from the repository, on the interpreter and numpy the peers run on. Its bytecode is
    cached (under DATA/pycache, keeping the checkout clean) as an installed package's is and as Debian ships gensim's
    and numpy's: with PYTHONDONTWRITEBYTECODE set, every start would compile it again (about 10 ms)."""
    env = {k: v for k, v in PEER_ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONPYCACHEPREFIX"] = os.path.join(A.data, "pycache")
    return env


def pyembstore(*args):
    _, out = run([PY, os.path.join(PEERS, "python_peer.py"), *map(str, args)], env=python_env())
    return last_json(out)


def probe(*args):
    t, out = run(PROBE + list(args))
    return t, last_json(out)


def torch_peer(*args):
    _, out = run([PY, os.path.join(PEERS, "torch_peer.py"), *map(str, args)], env=PEER_ENV)
    return last_json(out)


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    return path


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def median(xs):
    return statistics.median(xs)


def alternate(*sides, repeats=None):
    """Runs each side once per repeat, in turn (ours, peer, ours, peer...); a side that is None is skipped."""
    results = [[] for _ in sides]
    for _ in range(repeats or A.repeats):
        for i, side in enumerate(sides):
            if side is not None:
                results[i].append(side())
    return results


def peer_available():
    ok = {
        "gensim": subprocess.run([PY, "-c", "import gensim"], capture_output=True, env=PEER_ENV).returncode == 0,
        "torch": subprocess.run([PY, "-c", "import torch"], capture_output=True, env=PEER_ENV).returncode == 0,
        "fasttext": shutil.which("fasttext") is not None,
    }
    return ok


def missing(peer):
    return f"{peer}: not installed (apt-get install {PACKAGES[peer]} failed)"


def mb(b):
    return f"{b / 1e6:,.0f} MB"


class Ctx:
    """Files shared by the sections, made once (untimed) and reused across runs when present."""

    def __init__(self, peers, hw):
        self.peers = peers
        self.hw = hw
        self.rows = A.rows
        self.glove = os.path.join(A.data, f"glove-{A.rows}x{DIM}.txt")
        self.binary = os.path.join(A.data, f"w2v-{A.rows}x{DIM}.bin")
        self._store = None
        self._kv = None

    def vector_file(self, fmt, path):
        if not os.path.exists(path):
            subprocess.run([JAVA, "-cp", BENCH_JAR, "io.embstore.benchmarks.VectorFileGenerator", fmt, path,
                            str(A.rows), str(DIM), "1"], check=True)
        return path

    def store(self):
        """The word2vec binary file converted to an f32 store (rows w0..wN-1)."""
        if self._store is None:
            self._store = fresh(os.path.join(A.data, f"store-{A.rows}x{DIM}"))
            run(EMBSTORE + ["convert", self.vector_file("word2vec-binary", self.binary), self._store, "--quiet"])
        return self._store

    def kv(self):
        """The same vectors in gensim's own format (KeyedVectors.save): vocabulary pickled, vectors in a .npy."""
        if self._kv is None:
            d = fresh(os.path.join(A.data, f"gensim-kv-{A.rows}x{DIM}"))
            os.makedirs(d)
            self._kv = os.path.join(d, "vectors.kv")
            gensim("save-kv", self.vector_file("word2vec-binary", self.binary), self._kv)
        return self._kv


def store_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def disk_fraction(c, written, seconds):
    """The disk's own time for what a convert or export writes (and fsyncs), as a fraction of the whole process's."""
    if not c.hw.get("disk_write_mb_s"):
        return "-"
    disk_s = written / 1e6 / c.hw["disk_write_mb_s"]
    return f"{disk_s / seconds:.2f} of the disk (writing and fsyncing its {written / 1e6:,.0f} MB alone: {disk_s:.2f} s)"


def section_convert(c, rows):
    # Conversion: embstore convert (whole process: JVM start, parse, write, fsync) vs gensim's load (parse only).
    for label, fmt, path, gensim_cmd in (("convert GloVe text", "glove", c.glove, "load-glove"),
                                         ("convert word2vec binary", "word2vec-binary", c.binary, "load-binary")):
        c.vector_file(fmt, path)
        ours, theirs = alternate(
            lambda: run(EMBSTORE + ["convert", path, fresh(os.path.join(A.data, "store-conv")), "--quiet"])[0],
            (lambda: gensim(gensim_cmd, path)["seconds"]) if c.peers["gensim"] else None)
        size = os.path.getsize(path)
        ours_s = f"{median(ours):.2f} s ({size / 1e6 / median(ours):.0f} MB/s)"
        frac = disk_fraction(c, store_bytes(os.path.join(A.data, "store-conv")), median(ours))
        if not theirs:
            rows.append((label + f" ({size / 1e9:.2f} GB)", ours_s, missing("gensim"), None, frac))
            continue
        rows.append((label + f" ({size / 1e9:.2f} GB)", ours_s,
                     f"gensim load_word2vec_format {median(theirs):.2f} s ({size / 1e6 / median(theirs):.0f} MB/s)",
                     median(theirs) / median(ours), frac))


def section_export(c, rows):
    # Export to text: embstore export (whole process) vs gensim save_word2vec_format (save only).
    store = c.store()
    out = os.path.join(A.data, "export.txt")
    ours, theirs = alternate(
        lambda: run(EMBSTORE + ["export", store, out, "--quiet"])[0],
        (lambda: gensim("save-text", c.binary, os.path.join(A.data, "gensim-export.txt"))["seconds"])
        if c.peers["gensim"] else None)
    size = os.path.getsize(out)
    peer = f"gensim save_word2vec_format {median(theirs):.2f} s" if theirs else missing("gensim")
    rows.append((f"export to word2vec text ({size / 1e9:.2f} GB)", f"{median(ours):.2f} s", peer,
                 median(theirs) / median(ours) if theirs else None, disk_fraction(c, size, median(ours))))


def section_similar(c, rows):
    # One most_similar query, k = 10, f32 and f16 (gensim holds float32).
    store = c.store()
    store16 = fresh(os.path.join(A.data, f"store-{A.rows}x{DIM}-f16"))
    run(EMBSTORE + ["convert", c.binary, store16, "--quiet", "--dtype", "f16"])
    theirs = [gensim("most-similar", c.binary, "50", "10")["median_ms"]
              for _ in range(A.repeats)] if c.peers["gensim"] else []
    for label, s, bytes_per in (("f32", store, 4), ("f16", store16, 2)):
        ours = []
        for _ in range(A.repeats):
            _, out = run([JAVA, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-cp",
                          BENCH_JAR, "io.embstore.benchmarks.QueryTimer", s, "50", "10"])
            ours.append(last_json(out)["median_ms"])
        scan = A.rows * DIM * bytes_per
        peer = f"gensim most_similar {median(theirs):.1f} ms" if theirs else missing("gensim")
        rows.append((f"most_similar, one query, {label} ({scan / 1e6:.0f} MB scanned)", f"{median(ours):.1f} ms", peer,
                     median(theirs) / median(ours) if theirs else None,
                     f"{scan / (median(ours) / 1000) / (c.hw['read_gb_s'] * 1e9):.2f} of the 2-thread read rate"))


def section_open(c, rows):
    """Open + first lookup in a fresh process: whole-process wall time, and the in-process time each side reports."""
    store = c.store()
    word = f"w{A.rows - 1}"
    kv = c.kv() if c.peers["gensim"] else None

    def ours():
        t, r = probe("open", f"store={store}", f"word={word}")
        return t, r["open_lookup_ms"]

    def theirs():
        t, out = run([PY, os.path.join(PEERS, "gensim_peer.py"), "open-lookup", kv, word], env=PEER_ENV)
        r = last_json(out)
        return t, r["open_lookup_ms"], r["import_ms"]

    ours()  # page cache and file system caches warm for both sides
    if kv:
        theirs()
    # Cheap runs: more of them, for a steadier median.
    o, t = alternate(ours, theirs if kv else None, repeats=max(5, 2 * A.repeats + 1))
    ow, oi = median([x[0] for x in o]) * 1000, median([x[1] for x in o])
    label = f"open + first lookup, {A.rows // 1000}K x {DIM} f32"
    if not t:
        rows.append((label + ", fresh process, wall time", f"{ow:.0f} ms", missing("gensim"), None, "-"))
        rows.append((label + ", in-process", f"{oi:.1f} ms", missing("gensim"), None, "-"))
        return
    tw, ti, imp = (median([x[i] for x in t]) for i in range(3))
    tw *= 1000
    rows.append((label + ", fresh process, whole-process wall time (JVM start vs Python start + import gensim)",
                 f"{ow:.0f} ms (java, EmbeddingStore.open, rowOf, read)",
                 f"{tw:.0f} ms (python3, KeyedVectors.load(mmap='r'), kv[word])", tw / ow, "-"))
    rows.append((label + ", in-process: open to first row read (start-up and imports excluded)", f"{oi:.1f} ms",
                 f"{ti:.1f} ms (import gensim, not counted: {imp:.0f} ms)", ti / oi, "-"))


def pss_of(pid, prefix):
    """(Rss, Pss, Pss of the mappings under prefix) in bytes, from /proc/PID/smaps_rollup and /proc/PID/smaps."""
    total = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] in ("Rss:", "Pss:"):
                total[parts[0]] = int(parts[1]) * 1024
    mapped = 0
    inside = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if "-" in parts[0] and not parts[0].endswith(":"):  # a mapping's header line
                inside = len(parts) >= 6 and parts[5].startswith(prefix)
            elif inside and parts[0] == "Pss:":
                mapped += int(parts[1]) * 1024
    return total["Rss:"], total["Pss:"], mapped


def readers(cmd, prefix, env=None, n=4):
    """Starts n reader processes, waits until each has read every row, reads their memory, then lets them exit."""
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(n)]
    try:
        for p in procs:
            line = p.stdout.readline()
            if not line or not json.loads(line).get("ready"):
                raise RuntimeError(f"{' '.join(cmd)}: reader did not get ready ({line!r})")
        figures = [pss_of(p.pid, prefix) for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
        for p in procs:
            p.wait(timeout=60)
    return tuple(sum(f[i] for f in figures) for i in range(3))


def section_memory(c, rows):
    """Resident memory of 4 reader processes sharing one table; PSS splits each shared page among its sharers."""
    store = os.path.realpath(c.store())
    kv = c.kv() if c.peers["gensim"] else None
    table = os.path.getsize(os.path.join(store, "matrix.npy"))
    ours_cmd = PROBE + ["reader", f"store={store}"]
    theirs_cmd = [PY, os.path.join(PEERS, "gensim_peer.py"), "reader", kv] if kv else None
    o, t = alternate(lambda: readers(ours_cmd, store + "/"),
                     (lambda: readers(theirs_cmd, os.path.dirname(os.path.realpath(kv)) + "/", PEER_ENV))
                     if kv else None)
    orss, opss, omap = (median([x[i] for x in o]) for i in range(3))
    label = f"4 reader processes, one {A.rows // 1000}K x {DIM} f32 table ({mb(table)}), every row read"
    frac = f"{opss / table:.2f}x the matrix file"
    ours_s = f"{mb(opss)}: store files {mb(omap)}, 4 JVMs (heap, code, runtime) {mb(opss - omap)}"
    if not t:
        rows.append((label + ": sum of PSS", ours_s, missing("gensim"), None, frac))
        return
    trss, tpss, tmap = (median([x[i] for x in t]) for i in range(3))
    rows.append((label + ": sum of PSS (physical memory paid)", ours_s,
                 f"gensim load(mmap='r'): {mb(tpss)}: vectors .npy {mb(tmap)}, 4 Pythons (interpreter, gensim and its imports, "
                 f"the unpickled vocabulary) {mb(tpss - tmap)}", tpss / opss, frac))
    rows.append((label + ": sum of RSS (shared pages counted 4 times)", mb(orss), f"gensim {mb(trss)}", trss / orss,
                 "-"))


def zipf_ids(n, count, seed, s=1.05):
    """Zipf(s) over ranks 1..n by inverse CDF; rank k is row (k * 7919) mod n, scattering hot rows (as the JMH one)."""
    import numpy as np
    cdf = np.cumsum(np.arange(1, n + 1, dtype=np.float64) ** -s)
    u = np.random.default_rng(seed).random(count) * cdf[-1]
    ranks = np.minimum(np.searchsorted(cdf, u), n - 1)
    return ((ranks * 7919) % n).astype("<i4")


def id_file(name, make):
    path = os.path.join(A.data, name)
    if not os.path.exists(path):
        make().astype("<i4").tofile(path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


GATHER_BATCH, GATHER_BATCHES, GATHER_ROUNDS = 4096, 64, 5


def uniform_gather_ids():
    import numpy as np
    return id_file(f"gather-uniform-{A.rows}.i32",
                   lambda: np.random.default_rng(1).integers(0, A.rows, GATHER_BATCH * GATHER_BATCHES))


def section_gather(c, rows):
    """Batch gather of 4096 ids from the converted 300-d table, one thread on every side."""
    store = c.store()
    matrix = os.path.join(store, "matrix.npy")
    batch, nbatches, rounds = GATHER_BATCH, GATHER_BATCHES, GATHER_ROUNDS
    dists = {
        "uniform": uniform_gather_ids(),
        "Zipf(1.05)": id_file(f"gather-zipf-{A.rows}.i32", lambda: zipf_ids(A.rows, batch * nbatches, 2)),
    }
    limit = c.hw["gather_rows_s"]
    for dist, ids in dists.items():
        args = [f"store={store}", f"ids={ids}", f"batch={batch}", f"rounds={rounds}"]
        sides = [lambda: probe("gather", *args)[1]["rows_s"],
                 lambda: probe("gather", *args, "mode=relaxed")[1]["rows_s"],
                 lambda: torch_peer("gather", "numpy", matrix, ids, batch, rounds)["rows_s"],
                 (lambda: torch_peer("gather", "torch", matrix, ids, batch, rounds)["rows_s"])
                 if c.peers["torch"] else None]
        cons, relax, npy, tor = alternate(*sides)
        ours = median(cons)
        ours_s = f"{ours / 1e6:.2f} M rows/s (relaxed reads {median(relax) / 1e6:.2f} M)"
        label = f"gather {batch} {dist} ids, {A.rows // 1000}K x {DIM} f32 (1200-byte rows), 1 thread"
        rows.append((label + "; peer: numpy m[ids] (table in memory)", ours_s, f"{median(npy) / 1e6:.2f} M rows/s",
                     ours / median(npy),
                     f"embstore {ours / limit:.2f}, numpy {median(npy) / limit:.2f} of the C row gather"))
        if tor:
            rows.append((label + "; peer: torch nn.Embedding forward (from_numpy, no_grad)", ours_s,
                         f"{median(tor) / 1e6:.2f} M rows/s", ours / median(tor),
                         f"embstore {ours / limit:.2f}, torch {median(tor) / limit:.2f} of the C row gather"))
        else:
            rows.append((label + "; peer: torch nn.Embedding", ours_s, missing("torch"), None, "-"))


def section_optimizer(c, rows):
    """Lazy Adam, one step at a time on the same table, ids and gradients; unique rows updated per second."""
    import numpy as np
    n, dim, batch = A.opt_rows, A.opt_dim, 4096
    steps = A.opt_warmup + A.opt_window * A.opt_windows
    ref = os.path.join(A.data, f"opt-table-{n}x{dim}-normal42")
    if not os.path.exists(ref):
        probe("create", f"store={ref}", f"rows={n}", f"dim={dim}", "seed=42")
    matrix = os.path.join(ref, "matrix.npy")
    ids = id_file(f"opt-zipf-{n}-{steps}x{batch}.i32", lambda: zipf_ids(n, steps * batch, 7))
    grads = os.path.join(A.data, f"opt-grads-{batch}x{dim}.f32")
    if not os.path.exists(grads):
        (np.random.default_rng(11).standard_normal((batch, dim)) * 0.01).astype("<f4").tofile(grads)
    work = A.opt_dir or os.path.join(A.data, "opt-work")
    common = [f"dir={work}", f"rows={n}", f"dim={dim}", "seed=42", f"ids={ids}", f"grads={grads}", f"batch={batch}",
              f"threads={A.threads}", f"warmup={A.opt_warmup}", f"window={A.opt_window}", f"windows={A.opt_windows}"]
    tail = [A.threads, A.opt_warmup, A.opt_window, A.opt_windows]
    # One row's p, m and v are each read and written once, as memcpy reads and writes each byte it copies: a row is
    # worth 3 * dim * 4 bytes of memcpy.
    row_bytes = 3 * dim * 4
    mem = c.hw["memcpy_gb_s"] * 1e9
    where = "tmpfs" if work.startswith("/dev/shm") else "disk"
    label = (f"lazy Adam, {n // 1000}K x {dim} f32 (embstore's files on {where}), {batch} Zipf(1.05) ids per step, "
             f"{A.threads} threads, unique rows/s")
    for mode, what in (("step", "step only"), ("forward", "forward + backward + step")):
        forward = f"forward={'true' if mode == 'forward' else 'false'}"
        sides = [lambda: probe("optimizer", *common, forward)[1],
                 (lambda: probe("optimizer", *common, forward, "undo=false")[1]) if mode == "step" else None,
                 (lambda: torch_peer("optimizer", mode, matrix, ids, grads, batch, *tail))
                 if c.peers["torch"] else None]
        ours, no_undo, theirs = alternate(*sides)
        o = median([r["unique_rows_s"] for r in ours])
        unique = median([r["unique_per_step"] for r in ours])
        ours_s = f"{o / 1e6:.2f} M (undo log on)"
        if no_undo:
            ours_s += f"; {median([r['unique_rows_s'] for r in no_undo]) / 1e6:.2f} M with the undo log off"
        ours_s += f" [{unique:.0f} unique ids per step]"
        peer_what = ("SparseAdam.step() on a sparse grad" if mode == "step"
                     else "nn.Embedding(sparse=True) forward, backward, SparseAdam.step()")
        op = f"{label}: {what}" + (" (embstore: gather + step)" if mode == "forward" else "")
        frac = f"{o * row_bytes / mem:.2f} of memcpy (p, m, v each read and written once)"
        if not theirs:
            rows.append((op, ours_s, missing("torch"), None, frac))
            continue
        t = median([r["unique_rows_s"] for r in theirs])
        # Same table, ids, gradients and steps: a trained row must come out the same on both sides.
        a, b = ours[0]["row0_sum"], theirs[0]["row0_sum"]
        if abs(a - b) > 1e-4 * max(1.0, abs(a)):
            print(f"peers: optimizer {mode}: a trained row's sum differs, embstore {a} vs torch {b}", file=sys.stderr)
        rows.append((op, ours_s, f"torch {peer_what}: {t / 1e6:.2f} M", o / t, frac))
    shutil.rmtree(work, ignore_errors=True)


def classifier_available():
    # An unknown command's --help prints the top-level usage and exits 0: look for the command's own option.
    out = subprocess.run(EMBSTORE + ["train-classifier", "--help"], capture_output=True, text=True)
    return out.returncode == 0 and "--train" in out.stdout


def fasttext_accuracy(out):
    for line in out.splitlines():
        if line.startswith("P@1"):
            return float(line.split()[1])
    raise RuntimeError("fasttext test printed no P@1: " + out)


def mr_split():
    """mr-train.txt shuffled with a fixed seed and split 90/10: (train, test, training lines, all lines), or None."""
    if not os.path.exists(MR):
        return None
    with open(MR, encoding="utf-8") as f:
        lines = f.readlines()
    random.Random(20261122).shuffle(lines)
    cut = len(lines) * 9 // 10
    train, test = os.path.join(A.data, "mr-train90.txt"), os.path.join(A.data, "mr-test10.txt")
    with open(train, "w", encoding="utf-8") as f:
        f.writelines(lines[:cut])
    with open(test, "w", encoding="utf-8") as f:
        f.writelines(lines[cut:])
    return train, test, cut, len(lines)


def section_classifier(c, rows):
    """fastText supervised vs embstore train-classifier on one fixed 90/10 split of mr-train.txt."""
    split = mr_split()
    if split is None:
        rows.append(("text classification (mr-train.txt)", f"{MR} missing", "-", None, "-"))
        return
    train, test, cut, total = split
    ours_ok = classifier_available()
    ours_model = os.path.join(A.data, "mr-embstore.model")
    # fastText at its defaults (5 epochs of SGD at lr 0.1) and at its own advice for small supervised sets (more
    # epochs, a higher rate). embstore runs its documented defaults in both comparisons: they were tuned on held-out
    # lines of the training file (benchmarks/results/classifier.md), and Adam's rate is not on SGD's scale.
    ft_settings = (("defaults, 5 epochs, lr 0.1", []), ("-epoch 25 -lr 0.5", ["-epoch", "25", "-lr", "0.5"]))
    for ngrams in (2, 1):
        def ours():
            remove(ours_model)  # a file or a directory: whichever train-classifier writes
            t, _ = run(EMBSTORE + ["train-classifier", "--train", train, "--model", ours_model, "--ngrams", str(ngrams),
                                   "--buckets", str(A.buckets), "--threads", str(A.threads), "--quiet"])
            _, out = run(EMBSTORE + ["test-classifier", "--model", ours_model, "--test", test, "--json"])
            return t, float(last_json(out)["accuracy"])

        def fasttext(extra, i):
            ft_model = os.path.join(A.data, f"mr-fasttext-{i}")

            def theirs():
                t, _ = run(["fasttext", "supervised", "-input", train, "-output", ft_model, "-wordNgrams", str(ngrams),
                            "-bucket", str(A.buckets), "-thread", str(A.threads), "-verbose", "0"] + extra)
                _, out = run(["fasttext", "test", ft_model + ".bin", test])
                return t, fasttext_accuracy(out)
            return theirs if c.peers["fasttext"] else None

        o, *fts = alternate(ours if ours_ok else None, *(fasttext(extra, i) for i, (_, extra) in enumerate(ft_settings)))
        label = (f"text classification, mr-train.txt 90/10 split ({cut} / {total - cut} lines), "
                 f"{'bigrams' if ngrams == 2 else 'unigrams'}, {A.threads} threads")
        ours_t = (f"{median([x[0] for x in o]):.2f} s (defaults: 3 epochs, Adam lr 0.01)" if o
                  else "train-classifier not available")
        ours_a = f"{median([x[1] for x in o]):.4f}" if o else "train-classifier not available"
        for (what, _), t in zip(ft_settings, fts):
            if t:
                tt, ta = median([x[0] for x in t]), median([x[1] for x in t])
                peer_t, peer_a = f"fastText supervised ({what}) {tt:.2f} s", f"fastText ({what}) {ta:.4f}"
            else:
                peer_t = peer_a = missing("fasttext")
            rows.append((f"{label}, fastText {what}: training time (whole process)", ours_t, peer_t,
                         tt / median([x[0] for x in o]) if o and t else None, "-"))
            rows.append((f"{label}, fastText {what}: test accuracy", ours_a, peer_a,
                         median([x[1] for x in o]) / ta if o and t else None, "-"))


PRETRAINED_DIM = 50  # train-classifier's default dim; fastText's -pretrainedVectors needs -dim to match


def section_pretrained(c, rows):
    """Pretrained word rows in the classifier (issue 17): vectors trained without labels on the training split's own
    text (fastText skipgram), then embstore random init vs pretrained frozen vs fine-tuned, against fastText supervised
    random vs -pretrainedVectors with the same .vec, at fastText's defaults and at -epoch 25 -lr 0.5."""
    split = mr_split()
    if split is None:
        rows.append(("pretrained rows (mr-train.txt)", f"{MR} missing", "-", None, "-"))
        return
    if not c.peers["fasttext"]:
        rows.append(("pretrained rows (mr-train.txt): skipgram vectors", "-", missing("fasttext"), None, "-"))
        return
    train, test, cut, total = split
    # The training split's text without its labels: the vectors never see a label, nor a test line. Split on ASCII
    # white space only, as fastText does (Python's split() would also split the no-break spaces some words contain).
    text = os.path.join(A.data, "mr-train90-text.txt")
    with open(train, encoding="utf-8") as f, open(text, "w", encoding="utf-8") as out:
        for line in f:
            words = re.split(r"[ \t\n\r\v\f]+", line)
            out.write(" ".join(w for w in words if w and not w.startswith("__label__")) + "\n")
    sg = os.path.join(A.data, f"mr-skipgram{PRETRAINED_DIM}")
    # -minCount 1 (skipgram's default is 5): a vector for every word the classifier has, rare ones mostly from their
    # character n-grams, so the comparison is about the starting rows, not about coverage.
    sg_t, _ = run(["fasttext", "skipgram", "-input", text, "-output", sg, "-dim", str(PRETRAINED_DIM), "-minCount", "1",
                   "-thread", str(A.threads), "-verbose", "0"])
    vec = sg + ".vec"
    store = fresh(os.path.join(A.data, f"mr-skipgram{PRETRAINED_DIM}-store"))
    run(EMBSTORE + ["convert", vec, store, "--quiet"])
    ours_model = os.path.join(A.data, "mr-pretrained-embstore.model")
    ft_model = os.path.join(A.data, "mr-pretrained-fasttext")
    coverage = {}

    def ours(*extra):
        def side():
            remove(ours_model)
            t, out = run(EMBSTORE + ["train-classifier", "--train", train, "--model", ours_model, "--threads",
                                     str(A.threads), "--quiet", "--json", *extra])
            p = last_json(out).get("pretrained")
            if p:
                coverage["text"] = f"{p['words_found']:,} of {p['words']:,} words"
            _, out = run(EMBSTORE + ["test-classifier", "--model", ours_model, "--test", test, "--json"])
            return t, float(last_json(out)["accuracy"])
        return side

    def theirs(*extra):
        def side():
            t, _ = run(["fasttext", "supervised", "-input", train, "-output", ft_model, "-dim", str(PRETRAINED_DIM),
                        "-thread", str(A.threads), "-verbose", "0", *extra])
            _, out = run(["fasttext", "test", ft_model + ".bin", test])
            return t, fasttext_accuracy(out)
        return side

    pre = ["--pretrained", store]
    ft_pre = ["-pretrainedVectors", vec]
    long_run = ["-epoch", "25", "-lr", "0.5"]
    o_rand, o_frozen, o_tuned, t_rand, t_pre, t_rand25, t_pre25 = alternate(
        ours("--dim", str(PRETRAINED_DIM)), ours(*pre, "--freeze"), ours(*pre),
        theirs(), theirs(*ft_pre), theirs(*long_run), theirs(*ft_pre, *long_run))

    def cell(runs):
        return f"{median([x[1] for x in runs]):.4f}, {median([x[0] for x in runs]):.2f} s"

    def acc(runs):
        return median([x[1] for x in runs])

    head = (f"mr-train.txt 90/10 split ({cut} / {total - cut} lines), unigrams, dim {PRETRAINED_DIM}, {A.threads} "
            f"threads, test accuracy and training time (whole process)")
    rows.append((f"{head}: pretrained vectors, fastText skipgram -dim {PRETRAINED_DIM} -minCount 1 on the training "
                 f"lines' text (labels stripped), then embstore convert",
                 f"train-classifier --pretrained: {coverage.get('text', '?')} found", f"skipgram {sg_t:.1f} s", None,
                 "-"))
    rows.append((f"{head}: random init (embstore defaults; fastText supervised defaults)", "random: " + cell(o_rand),
                 "fastText random: " + cell(t_rand), acc(o_rand) / acc(t_rand), "-"))
    rows.append((f"{head}: pretrained, frozen (embstore --freeze; fastText has no freeze, so -pretrainedVectors)",
                 "pretrained frozen: " + cell(o_frozen), "fastText -pretrainedVectors: " + cell(t_pre),
                 acc(o_frozen) / acc(t_pre), "-"))
    rows.append((f"{head}: pretrained, fine-tuned (embstore --pretrained; fastText -pretrainedVectors)",
                 "pretrained fine-tuned: " + cell(o_tuned), "fastText -pretrainedVectors: " + cell(t_pre),
                 acc(o_tuned) / acc(t_pre), "-"))
    rows.append((f"{head}: fastText at -epoch 25 -lr 0.5, random init (embstore: its defaults, random)",
                 "random: " + cell(o_rand), "fastText random, -epoch 25 -lr 0.5: " + cell(t_rand25),
                 acc(o_rand) / acc(t_rand25), "-"))
    rows.append((f"{head}: fastText at -epoch 25 -lr 0.5 with -pretrainedVectors (embstore: its defaults, pretrained "
                 "fine-tuned)", "pretrained fine-tuned: " + cell(o_tuned),
                 "fastText -pretrainedVectors, -epoch 25 -lr 0.5: " + cell(t_pre25), acc(o_tuned) / acc(t_pre25), "-"))


def words_file(count, dist="uniform"):
    """count words of the table, one a line, drawn uniformly (seed 3) or Zipf(1.05) with the hot rows scattered (seed
    4, as the gather ids): the lookups of both sides, in the same order."""
    import numpy as np
    path = os.path.join(A.data, f"words-{dist}-{A.rows}-{count}.txt")
    if not os.path.exists(path):
        rows = (np.random.default_rng(3).integers(0, A.rows, count) if dist == "uniform"
                else zipf_ids(A.rows, count, 4))
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.writelines(f"w{i}\n" for i in rows)
        os.replace(path + ".tmp", path)
    return path


def embstore_importable():
    """None when python/embstore imports on the peers' interpreter, else the reason, for the rows."""
    out = subprocess.run([PY, "-c", "import embstore"], capture_output=True, text=True, env=python_env())
    if out.returncode == 0:
        return None
    last = (out.stderr.strip().splitlines() or ["?"])[-1]
    return f"python/embstore does not import: {last}"


def section_python(c, rows):
    """The Python package (python/embstore) vs gensim's KeyedVectors and numpy, on the converted f32 table."""
    store = os.path.realpath(c.store())
    kv = c.kv() if c.peers["gensim"] else None
    table = os.path.getsize(os.path.join(store, "matrix.npy"))
    size = f"{A.rows // 1000}K x {DIM} f32"
    head = "Python package: "
    broken = embstore_importable()
    if broken:
        rows.append((head + f"every row, {size}", broken, "-", None, "-"))
        return
    py = [PY, os.path.join(PEERS, "python_peer.py")]
    gs = [PY, os.path.join(PEERS, "gensim_peer.py")]

    # Open + first lookup in a fresh process; the floor of the whole-process time is the interpreter and numpy alone.
    word = f"w{A.rows - 1}"

    def ours():
        t, out = run(py + ["open-lookup", store, word], env=python_env())
        r = last_json(out)
        return t, r["open_lookup_ms"], r["open_ms"], r["import_ms"]

    def theirs():
        t, out = run(gs + ["open-lookup", kv, word], env=PEER_ENV)
        r = last_json(out)
        return t, r["open_lookup_ms"], r["import_ms"]

    def bare():
        return run([PY, "-c", "import numpy"], env=PEER_ENV)[0]

    ours()  # caches warm for every side (and embstore's bytecode written)
    if kv:
        theirs()
    o, t, b = alternate(ours, theirs if kv else None, bare, repeats=max(5, 2 * A.repeats + 1))
    ow, oi, oo, oimp = (median([x[i] for x in o]) for i in range(4))
    ow *= 1000
    floor = f"python3 -c 'import numpy' alone: {median(b) * 1000:.0f} ms"
    label = head + f"open + first lookup, {size}"
    ours_w = f"{ow:.0f} ms (python3, import embstore, embstore.open, store[word])"
    ours_i = f"{oi:.2f} ms (open {oo:.2f} ms; import embstore, not counted: {oimp:.0f} ms)"
    if t:
        tw, ti, timp = (median([x[i] for x in t]) for i in range(3))
        tw *= 1000
        rows.append((label + ", fresh process, whole-process wall time (Python start + imports + open + lookup)", ours_w,
                     f"{tw:.0f} ms (python3, import gensim, KeyedVectors.load(mmap='r'), kv[word])", tw / ow, floor))
        rows.append((label + ", in-process: open to first row read (start-up and imports excluded)", ours_i,
                     f"{ti:.1f} ms (import gensim, not counted: {timp:.0f} ms)", ti / oi, "-"))
    else:
        rows.append((label + ", fresh process, whole-process wall time", ours_w, missing("gensim"), None, floor))
        rows.append((label + ", in-process", ours_i, missing("gensim"), None, "-"))

    # Word lookups: one at a time (every timed pass of its own words), and batched (4096 words a call), the same
    # words in the same order on both sides.
    per_pass, rounds = GATHER_BATCH * 25, GATHER_ROUNDS
    for dist in ("uniform", "Zipf(1.05)"):
        lookups = words_file(per_pass * (rounds + 1), "uniform" if dist == "uniform" else "zipf")
        o, t = alternate(lambda: pyembstore("lookups", store, lookups, rounds)["words_s"],
                         (lambda: gensim("lookups", kv, lookups, str(rounds))) if kv else None)
        label = head + f"single-word lookup, {size}, {dist} random words, {per_pass:,} a pass, 1 thread"
        ours_s = f"{median(o) / 1e6:.2f} M words/s ({1e6 / median(o):.2f} us a word; store[word], a consistent copy)"
        if t:
            tv, tc = median([r["words_s"] for r in t]), median([r["copy_words_s"] for r in t])
            rows.append((label, ours_s, f"gensim kv[word], a view (the row is not read): {tv / 1e6:.2f} M words/s "
                                        f"({1e6 / tv:.2f} us); kv[word].copy(), which reads it: {tc / 1e6:.2f} M "
                                        f"({1e6 / tc:.2f} us; ratio {median(o) / tc:.2f}x)", median(o) / tv, "-"))
        else:
            rows.append((label, ours_s, missing("gensim"), None, "-"))
    words = words_file(per_pass)
    o, t = alternate(lambda: pyembstore("rows-of", store, words, GATHER_BATCH, rounds)["words_s"],
                     (lambda: gensim("rows-of", kv, words, str(GATHER_BATCH), str(rounds))) if kv else None)
    label = head + f"words to rows, batches of {GATHER_BATCH} uniform random words, {size}, 1 thread"
    ours_s = f"{median(o) / 1e6:.2f} M words/s (store.rows_of(words))"
    if t:
        best = max({r["best"] for r in t}, key=lambda k: median([r["rates"][k] for r in t]))
        tr = median([r["rates"][best] for r in t])
        rows.append((label, ours_s, f"gensim {best} (its fastest of {len(t[0]['rates'])} ways): "
                                    f"{tr / 1e6:.2f} M words/s", median(o) / tr, "-"))
    else:
        rows.append((label, ours_s, missing("gensim"), None, "-"))

    # Gather of 4096 uniform ids vs numpy fancy indexing on the same mapped matrix.npy.
    ids = uniform_gather_ids()
    matrix = os.path.join(store, "matrix.npy")
    limit = c.hw["gather_rows_s"]
    args = [store, ids, GATHER_BATCH, GATHER_ROUNDS]
    cons, relax, npy = alternate(lambda: pyembstore("gather", *args, "consistent")["rows_s"],
                                 lambda: pyembstore("gather", *args, "relaxed")["rows_s"],
                                 lambda: torch_peer("gather", "numpy-mmap", matrix, ids, GATHER_BATCH,
                                                    GATHER_ROUNDS)["rows_s"])
    ours = median(cons)
    rows.append((head + f"gather {GATHER_BATCH} uniform ids, {size} (1200-byte rows), 1 thread; peer: numpy m[ids] on "
                        "np.load(matrix.npy, mmap_mode='r')",
                 f"{ours / 1e6:.2f} M rows/s, store.gather(ids) (consistent=False: {median(relax) / 1e6:.2f} M)",
                 f"{median(npy) / 1e6:.2f} M rows/s", ours / median(npy),
                 f"embstore {ours / limit:.2f} (consistent=False {median(relax) / limit:.2f}), numpy "
                 f"{median(npy) / limit:.2f} of the C row gather"))

    # Memory of 4 reader processes on one table: the harness's smaps logic, as the JVM readers' rows.
    theirs_cmd = gs + ["reader", kv] if kv else None
    o, t = alternate(lambda: readers(py + ["reader", store], store + "/", python_env()),
                     (lambda: readers(theirs_cmd, os.path.dirname(os.path.realpath(kv)) + "/", PEER_ENV))
                     if kv else None)
    orss, opss, omap = (median([x[i] for x in o]) for i in range(3))
    label = head + f"4 reader processes, one {size} table ({mb(table)}), every row read"
    frac = (f"{opss / table:.2f}x the matrix file (target: the file + 4 x 40 MB = {mb(table + 4 * 40e6)}; 4 "
            f"Pythons {(opss - omap) / 4 / 1e6:.0f} MB each)")
    ours_s = f"{mb(opss)}: store files {mb(omap)}, 4 Pythons (interpreter, numpy, embstore) {mb(opss - omap)}"
    if not t:
        rows.append((label + ": sum of PSS", ours_s, missing("gensim"), None, frac))
        return
    trss, tpss, tmap = (median([x[i] for x in t]) for i in range(3))
    rows.append((label + ": sum of PSS (physical memory paid)", ours_s,
                 f"gensim load(mmap='r'): {mb(tpss)}: vectors .npy {mb(tmap)}, 4 Pythons (interpreter, gensim and its "
                 f"imports, the unpickled vocabulary) {mb(tpss - tmap)}", tpss / opss, frac))
    rows.append((label + ": sum of RSS (shared pages counted 4 times)", mb(orss), f"gensim {mb(trss)}", trss / orss,
                 "-"))


def versions():
    v = subprocess.run([PY, "-c", "import numpy; print('numpy', numpy.__version__)"], capture_output=True, text=True,
                       env=PEER_ENV).stdout.strip()
    for mod in ("gensim", "torch"):
        out = subprocess.run([PY, "-c", f"import {mod}; print({mod}.__version__)"], capture_output=True, text=True,
                             env=PEER_ENV)
        v += f", {mod} " + (out.stdout.strip() if out.returncode == 0 else "not installed")
    ft = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "fasttext"], capture_output=True, text=True)
    v += ", fastText " + (ft.stdout.strip() if ft.returncode == 0 and ft.stdout.strip() else "not installed")
    return v


def main():
    global A
    A = parse_args()
    os.makedirs(A.data, exist_ok=True)
    hwbin = os.path.join(A.data, "hwlimits")
    subprocess.run(["gcc", "-O3", "-march=native", "-pthread", "-o", hwbin, os.path.join(PEERS, "hwlimits.c")], check=True)
    hw = json.loads(subprocess.run([hwbin, str(DIM * 4), A.data], check=True, capture_output=True, text=True).stdout)
    peers = peer_available()
    for p, ok in peers.items():
        if not ok:
            print(f"peers: {p} is not installed; its rows say so", file=sys.stderr)
    c = Ctx(peers, hw)
    rows = []
    for name in SECTIONS:
        if A.only and name not in A.only:
            continue
        print(f"peers: {name}...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        globals()["section_" + name](c, rows)
        print(f"peers: {name} done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)

    machine = (f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"{platform.platform()}; memcpy {hw['memcpy_gb_s']} GB/s, sequential read {hw['read_gb_s']} GB/s (2 threads), "
               f"random {DIM * 4}-byte row gather "
               f"{hw['gather_rows_s'] / 1e6:.1f} M rows/s (one thread, C), sequential disk write with fsync "
               f"{hw['disk_write_mb_s']:.0f} MB/s direct, {hw['disk_write_buffered_mb_s']:.0f} MB/s through the page "
               f"cache (512 MB, in {A.data})")
    java = subprocess.run([JAVA, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    lines = ["| operation | embstore | peer | ratio (above 1: embstore ahead) | fraction of the hardware limit |",
             "|---|---|---|---|---|"]
    for op, ours, theirs, ratio, frac in rows:
        r = "-" if ratio is None else f"{ratio:.2f}x"
        lines.append(f"| {op} | {ours} | {theirs} | {r} | {frac} |")
    load = open("/proc/loadavg").read().split()[:3]
    text = ("\n".join(lines) + f"\n\nMachine: {machine}. {java}; {versions()}. Medians of {A.repeats} runs per side, "
            f"alternating, fresh processes; load average at the end {' '.join(load)}.\n"
            "Ratios are peer time / embstore time, embstore rate / peer rate, peer memory / embstore memory, or "
            "embstore accuracy / peer accuracy: above 1, embstore is ahead; below 1, the peer is.\n")
    full = not A.only and not A.smoke
    target = os.path.join(PEERS, "RESULTS.md") if full else os.path.join(A.data, "RESULTS-partial.md")
    with open(target, "w") as f:
        f.write("# Peer comparison (generated by benchmarks/peers/run)\n\n" + text)
    print(text)
    print(f"peers: written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
