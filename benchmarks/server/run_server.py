"""The server benchmarks: `embstore serve` against Redis, and the server-library prototypes against each other.

Run through benchmarks/server/run (it builds what is needed; see README.md here). Every load is the same closed-loop
generator (io.embstore.benchmarks.ServerLoad: C client threads, one keep-alive connection each, T seconds after W
seconds of warm-up) on loopback; every figure is the median of --repeats runs, the sides alternating.
  redis    embstore serve vs redis-server (Debian's), same 400K x 300 vectors, same batches: writes RESULTS-server.md
  library  the lookup prototypes on Helidon SE, the JDK's HttpServer and Netty: writes RESULTS-library.md
Both go to the data directory; benchmarks/results/server.md and server-library.md are written from them by hand.
"""
import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JAVA = os.path.join(os.environ["JAVA_HOME"], "bin", "java")
BENCH_JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
LIB_JAR = os.path.join(ROOT, "benchmarks", "server-library", "target", "server-library.jar")
LOAD = [JAVA, "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", BENCH_JAR,
        "io.embstore.benchmarks.ServerLoad"]
# The prototypes run with the launcher's flags (./embstore), so that they stand for what `embstore serve` runs with.
PROTO = [JAVA, "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", LIB_JAR,
         "io.embstore.benchmarks.serverlibrary.Prototype"]
EMBSTORE = [os.path.join(ROOT, "embstore")]
DIM = 300


def parse_args():
    p = argparse.ArgumentParser(prog="benchmarks/server/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("section", choices=("redis", "library"))
    p.add_argument("--rows", type=int, default=400_000, help="rows of the generated 300-d table (default 400000)")
    p.add_argument("--data", default="/tmp/embstore-srvbench", help="generated files, the store, the results")
    p.add_argument("--repeats", type=int, default=3, help="runs per side and row, alternating; medians (default 3)")
    p.add_argument("--seconds", type=float, default=10, help="measured seconds of each run (default 10)")
    p.add_argument("--warmup", type=float, default=3, help="untimed seconds before each run (default 3)")
    p.add_argument("--conns", default="16", help="comma-separated client counts (default 16)")
    p.add_argument("--batches", default="64,1024", help="comma-separated lookup batch sizes (default 64,1024)")
    p.add_argument("--libs", default="helidon,jdk,netty", help="library section: which prototypes")
    p.add_argument("--redis-port", type=int, default=6391, help="loopback port of the Redis started here")
    p.add_argument("--skip", default="", help="redis section: rows to skip (single,similar)")
    return p.parse_args()


A = None


def run(cmd, timeout=600):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out.stdout


def table_store():
    """The peer harness's table: VectorFileGenerator word2vec-binary, seed 1, converted to an f32 store."""
    os.makedirs(A.data, exist_ok=True)
    binary = os.path.join(A.data, f"w2v-{A.rows}x{DIM}.bin")
    store = os.path.join(A.data, f"store-{A.rows}x{DIM}")
    if not os.path.exists(binary):
        run([JAVA, "-cp", BENCH_JAR, "io.embstore.benchmarks.VectorFileGenerator", "word2vec-binary", binary,
             str(A.rows), str(DIM), "1"])
    if not os.path.isdir(store):
        run(EMBSTORE + ["convert", binary, store, "--quiet"])
    return store


class Proc:
    """A server process started here, stopped (SIGTERM, then SIGKILL after 15 s) by stop()."""

    def __init__(self, cmd, ready, log):
        self.log = open(log, "w")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 60
        self.first = ""
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"{' '.join(cmd)} ended before it was ready; see {log}")
            if ready(line):
                self.first = line.strip()
                break
        else:
            self.stop()
            raise RuntimeError(f"{' '.join(cmd)} not ready in 60 s")

    @property
    def pid(self):
        return self.p.pid

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def load(args):
    cmd = LOAD + ["run"] + [f"{k}={v}" for k, v in args.items()] + [f"seconds={A.seconds}", f"warmup={A.warmup}"]
    return json.loads(run(cmd, timeout=A.seconds + A.warmup + 120).strip().splitlines()[-1])


def memory(pid, store_dir=None):
    """RSS and PSS of the process (smaps_rollup), anonymous vs file RSS (status), and the part of RSS/PSS that is the
    mapped table (the smaps entries of files in store_dir)."""
    m = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Pss_Anon:", "Pss_File:", "Shared_Clean:", "Private_Clean:"):
                m[parts[0][:-1].lower()] = int(parts[1]) * 1024
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
                m[line.split(":")[0].lower()] = int(line.split()[1]) * 1024
    if store_dir:
        rss = pss = 0
        current = None
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and "-" in parts[0] and ":" in parts[3]:
                    current = parts[5] if len(parts) > 5 else ""
                elif current and current.startswith(store_dir.rstrip("/") + "/"):
                    if parts[0] == "Rss:":
                        rss += int(parts[1]) * 1024
                    elif parts[0] == "Pss:":
                        pss += int(parts[1]) * 1024
        m["table_rss"], m["table_pss"] = rss, pss
    return m


def mb(b):
    return f"{b / 1e6:,.0f} MB"


def machine_line():
    cores = os.cpu_count()
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1e6
    java = subprocess.run([JAVA, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    load1, load5, load15 = os.getloadavg()
    return (f"{cores} cores, {mem:.0f} GB, {platform.platform()}, {java}; load average at the end "
            f"{load1:.2f} {load5:.2f} {load15:.2f} (the machine is shared: compare sides within a run)")


def med(results, key):
    return statistics.median(r[key] for r in results)


def tmo(results):
    return sum(r.get("timeouts", 0) for r in results)


def fmt_runs(results, key, f="{:,.0f}"):
    return " / ".join(f.format(r[key]) for r in results)


# ---------------------------------------------------------------------------------------------------------- redis
def section_redis(store):
    out = []
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    version = run([redis_bin, "--version"]).split()[2]
    log = os.path.join(A.data, "redis.log")
    redis = Proc([redis_bin, "--port", str(A.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "notice"],
                 lambda line: "Ready to accept connections" in line, log)
    server = None
    try:
        filled = json.loads(run(LOAD + ["load", f"port={A.redis_port}", f"store={store}"]).strip())
        server = Proc(EMBSTORE + ["serve", f"t={store}", "--port", "0"],
                      lambda line: line.startswith("embstore serve: listening on"), os.path.join(A.data, "serve.log"))
        port = int(re.search(r"http://[^ ]+:(\d+)", server.first).group(1))
        common = {"store": store, "host": "127.0.0.1"}
        rows = []  # (label, metric kind, ours, theirs)
        plans = []
        for conns in A.conns.split(","):
            for b in A.batches.split(","):
                plans.append((f"lookup {b} words, npy vs MGET, {conns} clients", "rows",
                              dict(common, proto="http", op="lookup", port=port, batch=b, conns=conns),
                              dict(common, proto="resp", op="lookup", port=A.redis_port, batch=b, conns=conns)))
            if "single" not in A.skip:
                plans.append((f"single word, npy vs GET, {conns} clients", "requests",
                              dict(common, proto="http", op="lookup", port=port, batch=1, conns=conns),
                              dict(common, proto="resp", op="get", port=A.redis_port, batch=1, conns=conns)))
            if "similar" not in A.skip:
                plans.append((f"similar k=10, {conns} clients", "queries",
                              dict(common, proto="http", op="similar", port=port, batch=1, conns=conns, k=10), None))
        for label, kind, ours_args, theirs_args in plans:
            ours, theirs = [], []
            for i in range(A.repeats):
                order = [("ours", ours_args), ("theirs", theirs_args)]
                if i % 2 == 1:
                    order.reverse()
                for side, args in order:
                    if args is None:
                        continue
                    r = load(args)
                    print(f"server: {label} [{side}] {json.dumps(r)}", file=sys.stderr, flush=True)
                    (ours if side == "ours" else theirs).append(r)
            rows.append((label, kind, ours, theirs))
        mem_ours = memory(server.pid, store)
        mem_redis = memory(redis.pid)
        info = subprocess.run(["redis-cli", "-p", str(A.redis_port), "info", "memory"], capture_output=True,
                              text=True).stdout
        used = next((l.split(":")[1].strip() for l in info.splitlines() if l.startswith("used_memory:")), "?")
    finally:
        if server:
            server.stop()
        redis.stop()
    out.append(f"# embstore serve vs Redis {version}\n")
    out.append(f"Table: {A.rows:,} x {DIM} f32 (VectorFileGenerator word2vec-binary, seed 1), words w0..; Redis holds "
               f"the same rows as 1200-byte strings (loaded in {filled['seconds']:.1f} s, pipelined SET). Closed loop, "
               f"loopback, {A.seconds:g} s after {A.warmup:g} s warm-up per run, medians of {A.repeats} runs alternating "
               "sides (each run's figure in brackets). Ratio: embstore / Redis for rates, Redis / embstore for latency "
               "(above 1: embstore ahead).\n")
    out.append("| row | embstore | Redis | ratio | embstore p50 / p99 ms | Redis p50 / p99 ms | p99 ratio | timeouts |")
    out.append("|---|---|---|---|---|---|---|---|")
    for label, kind, ours, theirs in rows:
        key = "rows_per_s" if kind == "rows" else "requests_per_s"
        unit = {"rows": "rows/s", "requests": "req/s", "queries": "queries/s"}[kind]
        o = med(ours, key)
        o_lat = f"{med(ours, 'p50_ms'):.2f} / {med(ours, 'p99_ms'):.2f}"
        if theirs:
            t = med(theirs, key)
            t_lat = f"{med(theirs, 'p50_ms'):.2f} / {med(theirs, 'p99_ms'):.2f}"
            out.append(f"| {label} | {o:,.0f} {unit} ({fmt_runs(ours, key)}) | {t:,.0f} {unit} ({fmt_runs(theirs, key)}) "
                       f"| {o / t:.2f} | {o_lat} | {t_lat} | {med(theirs, 'p99_ms') / med(ours, 'p99_ms'):.2f} | {tmo(ours)} / {tmo(theirs)} |")
        else:
            out.append(f"| {label} | {o:,.0f} {unit} ({fmt_runs(ours, key)}) | - | - | {o_lat} | - | - | {tmo(ours)} |")
    out.append("")
    out.append("Memory after the runs (`/proc/PID/smaps_rollup`, `/proc/PID/status`, `/proc/PID/smaps`):\n")
    out.append(f"- embstore serve: RSS {mb(mem_ours['rss'])} (anonymous {mb(mem_ours['rssanon'])}: heap, code, "
               f"runtime; file-backed {mb(mem_ours['rssfile'])}), PSS {mb(mem_ours['pss'])}; of which the mapped table "
               f"files: RSS {mb(mem_ours['table_rss'])}, PSS {mb(mem_ours['table_pss'])} (page-cache pages this "
               "process maps; a page shared with k other mappers counts 1/k in PSS; the rest of the jar/JDK files "
               "are the remaining file-backed RSS).")
    out.append(f"- Redis: RSS {mb(mem_redis['rss'])} (anonymous {mb(mem_redis['rssanon'])}), PSS "
               f"{mb(mem_redis['pss'])}; INFO used_memory {int(used) / 1e6 if used.isdigit() else used:,.0f} MB.")
    out.append("")
    out.append(f"Machine: {machine_line()}\n")
    return "\n".join(out), rows, (mem_ours, mem_redis)


# -------------------------------------------------------------------------------------------------------- library
def section_library(store):
    libs = A.libs.split(",")
    plans = [(b, c) for c in A.conns.split(",") for b in A.batches.split(",")]
    results = {(lib, b, c): [] for lib in libs for b, c in plans}
    mems = {lib: [] for lib in libs}
    for i in range(A.repeats):
        order = libs if i % 2 == 0 else list(reversed(libs))
        for lib in order:
            p = Proc(PROTO + [lib, store, "0"], lambda line: line.startswith("listening on"),
                     os.path.join(A.data, f"proto-{lib}.log"))
            try:
                port = int(p.first.split()[2])
                for b, c in plans:
                    r = load({"proto": "http", "op": "lookup", "by": "ids", "path": "/lookup", "port": port,
                              "store": store, "batch": b, "conns": c})
                    print(f"library: {lib} batch {b} conns {c}: {json.dumps(r)}", file=sys.stderr, flush=True)
                    results[(lib, b, c)].append(r)
                mems[lib].append(memory(p.pid, store))
            finally:
                p.stop()
    out = [f"# Server-library prototypes: POST ids -> npy rows of a {A.rows:,} x {DIM} table\n",
           f"Closed loop, loopback, {A.seconds:g} s after {A.warmup:g} s warm-up per run, medians of {A.repeats} "
           "rounds (libraries alternating; each run's figure in brackets).\n",
           "| library | batch | clients | rows/s | requests/s | p50 ms | p99 ms | timeouts (> 10 s) |", "|---|---|---|---|---|---|---|---|"]
    for b, c in plans:
        for lib in libs:
            rs = results[(lib, b, c)]
            out.append(f"| {lib} | {b} | {c} | {med(rs, 'rows_per_s'):,.0f} ({fmt_runs(rs, 'rows_per_s')}) | "
                       f"{med(rs, 'requests_per_s'):,.0f} | {med(rs, 'p50_ms'):.2f} | {med(rs, 'p99_ms'):.2f} | "
                       f"{sum(r.get('timeouts', 0) for r in rs)} |")
    out.append("")
    out.append("| library | RSS after its runs | anonymous (heap, runtime) | mapped table |")
    out.append("|---|---|---|---|")
    for lib in libs:
        ms = mems[lib]
        out.append(f"| {lib} | {mb(statistics.median(m['rss'] for m in ms))} | "
                   f"{mb(statistics.median(m['rssanon'] for m in ms))} | {mb(statistics.median(m['table_rss'] for m in ms))} |")
    out.append("")
    out.append(f"Machine: {machine_line()}\n")
    return "\n".join(out)


def main():
    global A
    A = parse_args()
    store = table_store()
    if A.section == "redis":
        text = section_redis(store)[0]
        path = os.path.join(A.data, "RESULTS-server.md")
    else:
        text = section_library(store)
        path = os.path.join(A.data, "RESULTS-library.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
