"""The peer harness: embstore and the tools users would pick instead, on the same generated files, in one run.

Run it through ./benchmarks/peers/run, which installs the peers and builds the project. Writes
benchmarks/peers/RESULTS.md. Every figure is the median of REPEATS runs, project and peer alternating.
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.path.join(ROOT, "benchmarks", "peers")
DATA = os.environ.get("EMBSTORE_PEER_DATA", "/tmp/embstore-peers")
REPEATS = int(os.environ.get("EMBSTORE_PEER_REPEATS", "3"))
ROWS = int(os.environ.get("EMBSTORE_PEER_ROWS", "400000"))
DIM = 300
JAVA = os.path.join(os.environ["JAVA_HOME"], "bin", "java")
PY = "/usr/bin/python3"
JAR = os.path.join(ROOT, "tools", "target", "embstore.jar")
BENCH_JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
EMBSTORE = [JAVA, "--enable-native-access=ALL-UNNAMED", "-jar", JAR]
# The machine's OpenBLAS tuning variables slow a current numpy (see the env notes); unset for the peers alone.
PEER_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def run(cmd, env=None):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, out.stdout


def gensim(*args):
    _, out = run([PY, os.path.join(PEERS, "gensim_peer.py"), *args], env=PEER_ENV)
    return json.loads(out.strip().splitlines()[-1])


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    return path


def median(xs):
    return statistics.median(xs)


def main():
    os.makedirs(DATA, exist_ok=True)
    glove = os.path.join(DATA, f"glove-{ROWS}x{DIM}.txt")
    binary = os.path.join(DATA, f"w2v-{ROWS}x{DIM}.bin")
    for fmt, path in (("glove", glove), ("word2vec-binary", binary)):
        if not os.path.exists(path):
            subprocess.run([JAVA, "-cp", BENCH_JAR, "io.embstore.benchmarks.VectorFileGenerator", fmt, path, str(ROWS),
                            str(DIM), "1"], check=True)
    rows = []
    hw = json.loads(subprocess.run([os.path.join(DATA, "hwlimits"), str(DIM * 4)], check=True, capture_output=True,
                                   text=True).stdout)

    # Conversion: embstore convert (whole process: JVM start, parse, write, fsync) vs gensim's load (parse only).
    for label, path, gensim_cmd in (("convert GloVe text", glove, "load-glove"),
                                    ("convert word2vec binary", binary, "load-binary")):
        ours, theirs = [], []
        for _ in range(REPEATS):
            t, _ = run(EMBSTORE + ["convert", path, fresh(os.path.join(DATA, "store-conv")), "--quiet"])
            ours.append(t)
            theirs.append(gensim(gensim_cmd, path)["seconds"])
        size = os.path.getsize(path)
        rows.append((label + f" ({size / 1e9:.2f} GB)", f"{median(ours):.2f} s ({size / 1e6 / median(ours):.0f} MB/s)",
                     f"gensim load_word2vec_format {median(theirs):.2f} s ({size / 1e6 / median(theirs):.0f} MB/s)",
                     median(theirs) / median(ours), f"{size / median(ours) / (hw['memcpy_gb_s'] * 1e9):.3f} of memcpy"))

    # Export to text: embstore export (whole process) vs gensim save_word2vec_format (save only).
    store = fresh(os.path.join(DATA, "store-bin"))
    run(EMBSTORE + ["convert", binary, store, "--quiet"])
    ours, theirs = [], []
    for _ in range(REPEATS):
        out = os.path.join(DATA, "export.txt")
        t, _ = run(EMBSTORE + ["export", store, out, "--quiet"])
        ours.append(t)
        theirs.append(gensim("save-text", binary, os.path.join(DATA, "gensim-export.txt"))["seconds"])
    size = os.path.getsize(os.path.join(DATA, "export.txt"))
    rows.append((f"export to word2vec text ({size / 1e9:.2f} GB)", f"{median(ours):.2f} s",
                 f"gensim save_word2vec_format {median(theirs):.2f} s", median(theirs) / median(ours), "-"))

    # One most_similar query, k = 10, f32 and f16 (gensim holds float32).
    store16 = fresh(os.path.join(DATA, "store-bin16"))
    run(EMBSTORE + ["convert", binary, store16, "--quiet", "--dtype", "f16"])
    theirs = [gensim("most-similar", binary, "50", "10")["median_ms"] for _ in range(REPEATS)]
    for label, s, bytes_per in (("f32", store, 4), ("f16", store16, 2)):
        ours = []
        for _ in range(REPEATS):
            _, out = run([JAVA, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-cp",
                          BENCH_JAR, "io.embstore.benchmarks.QueryTimer", s, "50", "10"])
            ours.append(json.loads(out.strip().splitlines()[-1])["median_ms"])
        scan = ROWS * DIM * bytes_per
        rows.append((f"most_similar, one query, {label} ({scan / 1e6:.0f} MB scanned)", f"{median(ours):.1f} ms",
                     f"gensim most_similar {median(theirs):.1f} ms", median(theirs) / median(ours),
                     f"{scan / (median(ours) / 1000) / (hw['memcpy_gb_s'] * 1e9):.2f} of memcpy"))

    machine = (f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"{platform.platform()}; memcpy {hw['memcpy_gb_s']} GB/s, random {DIM * 4}-byte row gather "
               f"{hw['gather_rows_s'] / 1e6:.1f} M rows/s (one thread, C)")
    versions = subprocess.run([PY, "-c", "import gensim, numpy; print('gensim', gensim.__version__, 'numpy', numpy.__version__)"],
                              capture_output=True, text=True, env=PEER_ENV).stdout.strip()
    java = subprocess.run([JAVA, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    lines = ["| operation | embstore | peer | peer time / embstore time | fraction of the hardware limit |",
             "|---|---|---|---|---|"]
    for op, ours, theirs, ratio, frac in rows:
        lines.append(f"| {op} | {ours} | {theirs} | {ratio:.1f}x | {frac} |")
    text = "\n".join(lines) + f"\n\nMachine: {machine}. {java}; {versions}. Medians of {REPEATS} runs, alternating.\n"
    with open(os.path.join(PEERS, "RESULTS.md"), "w") as f:
        f.write("# Peer comparison (generated by benchmarks/peers/run)\n\n" + text)
    print(text)


if __name__ == "__main__":
    main()
