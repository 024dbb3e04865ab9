"""Python reader processes and a JVM writer process on one store: consistent reads are never torn, readers see new
generations and, after refresh(), the rows and words the writer appended; a row a killed writer left half-written is an
embstore.StoreError naming it, at once."""

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import embstore
from conftest import python_env, seed

READER = Path(__file__).with_name("cross_process_reader.py")
#: Few wide rows: the writer is inside one of them most of the time, so unprotected reads would see torn rows.
ROWS = 16
DIM = 4096
WRITE_MILLIS = 3000
#: Liveness bounds (a stuck child must fail the test, not hang it), far above what each step takes.
START_TIMEOUT = 120
RUN_TIMEOUT = 120


def read_line(proc, what, timeout=START_TIMEOUT):
    """The next line of a child's stdout, or a failure with its stderr if it does not come in time."""
    result = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"{what}: no line from the child within {timeout} s (exit {proc.returncode})\n{err}")
    return result[0].strip()


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_python_readers_see_a_jvm_writer_consistently(embstore_cli, jvm, tmp_path, dtype):
    words = tmp_path / "words.txt"
    words.write_text("".join(f"w{i}\n" for i in range(ROWS)), encoding="utf-8")
    store = tmp_path / "store"
    # Zeros: every row starts as dim copies of one value.
    embstore_cli.run("create", store, "--words", words, "--dim", DIM, "--init", "zeros", "--dtype", dtype)
    stop = tmp_path / "stop"
    base_seed = seed(f"cross-process {dtype}")
    torn = tmp_path / "torn-seen"
    readers = [subprocess.Popen([sys.executable, str(READER), str(store), str(stop), str(base_seed + i), str(ROWS),
                                 str(torn)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=python_env())
               for i in range(2)]
    writer = None
    try:
        for i, r in enumerate(readers):
            assert read_line(r, f"reader {i}") == "READY"
        writer = jvm.popen("RowWriter", "churn", store, WRITE_MILLIS, base_seed, torn)
        assert read_line(writer, "writer") == "READY"
        done = read_line(writer, "writer", timeout=RUN_TIMEOUT)
        assert writer.wait(RUN_TIMEOUT) == 0, writer.stderr.read()
        assert done.startswith("DONE "), done
        stats = {k: int(v) for k, v in (field.split("=") for field in done.split()[1:])}
        print("writer:", stats)
        assert stats["appends"] > 0 and stats["rows"] == ROWS + stats["appends"]
        # The appends outgrew the vocabulary index: the writer rebuilt it (renamed over vocab.index) while the
        # readers had it mapped, and their refresh() had to pick the new one up to find the appended words.
        index_epoch = int(np.fromfile(store / "control.bin", dtype="<i8", count=1, offset=40)[0])
        assert index_epoch > 1, f"index_epoch {index_epoch}: the test meant to make the writer rebuild the index (1 at creation)"
        stop.touch()
        findings = []
        for i, r in enumerate(readers):
            out, err = r.communicate(timeout=RUN_TIMEOUT)
            assert r.returncode == 0, f"reader {i} failed:\n{err}"
            findings.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop.touch()
        for p in readers + ([writer] if writer else []):
            if p.poll() is None:
                p.kill()
                p.wait()

    for i, f in enumerate(findings):
        summary = {k: v for k, v in f.items() if k not in ("generations", "rows_seen")}
        print(f"reader {i}: {summary}, {len(f['generations'])} generations, rows seen {f['rows_seen'][:5]}...")
        assert f["errors"] == [], f"reader {i}: {f['errors']}"
        assert f["torn"] == [], f"reader {i} got torn rows [id, first value, last value]: {f['torn']}"
        assert f["gathered"] > 0 and f["word_reads"] > 0
        assert len(f["generations"]) >= 2, f"reader {i} saw only generations {f['generations']}"
        assert f["final_rows"] == stats["rows"] and f["final_len"] == stats["rows"], \
            f"reader {i} has {f['final_rows']} rows after refresh(), the writer made {stats['rows']}"
        assert f["appended_checked"] == stats["appends"]
    # The same rows read without the seqlock do tear: zero torn consistent reads is the protocol's doing, not luck.
    assert sum(f["relaxed_torn"] for f in findings) > 0, "no relaxed read was torn: the test shows nothing"


def seq_counter(store, row):
    return int(np.fromfile(store / "rows.seq", dtype="<i4", count=1, offset=4 * row)[0])


def read_promptly(action, limit=8.0):
    """Runs action in a thread; returns (exception or None, seconds). Fails if it does not finish within limit: a
    reader that waited for the dead writer instead would not."""
    outcome = {}

    def run():
        start = time.monotonic()
        try:
            action()
            outcome["error"] = None
        except BaseException as e:  # noqa: B902 - the test reports whatever came out
            outcome["error"] = e
        outcome["seconds"] = time.monotonic() - start

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), f"the read did not finish within {limit} s: it waits for a writer that is gone"
    return outcome["error"], outcome["seconds"]


def assert_names_row(error, store, row):
    assert isinstance(error, embstore.StoreError), f"expected embstore.StoreError, got {error!r}"
    message = str(error)
    assert f"row {row}" in message, f"the error must name row {row}: {message}"
    assert str(store) in message, f"the error must name the store {store}: {message}"


def test_a_row_left_half_written_by_a_killed_jvm_writer_is_a_store_error(embstore_cli, jvm, tmp_path):
    """A wide row (256 KiB) rewritten for ever by a JVM that is then killed with SIGKILL, as DamagedRowsTest does."""
    store = tmp_path / "wide"
    dim = 65536
    embstore_cli.run("create", store, "--rows", 4, "--dim", dim, "--init", "zeros")
    rng = random.Random(seed("killed writer"))
    attempts = 0
    # Nearly all of the writer's time is inside a write; a kill that lands between two writes is retried.
    while seq_counter(store, 2) % 2 == 0:
        attempts += 1
        assert attempts <= 10, "no kill landed inside a write in 10 attempts"
        writer = jvm.popen("RowWriter", "hammer", store, 2)
        try:
            assert read_line(writer, "hammering writer") == "READY"
            time.sleep(0.05 + rng.random() * 0.2)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.communicate()  # reaped: a zombie's pid would still look alive
    print(f"killed mid-write after {attempts} attempt(s); counter {seq_counter(store, 2)}")

    with embstore.open(store) as s:
        assert s.gather(np.array([1, 3])).shape == (2, dim)
        # Before any writer opened the store again: the counter is odd and the writer named in control.bin is gone.
        error, seconds = read_promptly(lambda: s.gather(np.array([2])))
        assert_names_row(error, store, 2)
        error, _ = read_promptly(lambda: s.gather(np.array([[0, 1], [2, 3]])))
        assert_names_row(error, store, 2)
        print(f"refused in {seconds:.3f} s: {error}")
        # A relaxed read does not check, by definition.
        assert s.gather(np.array([2]), consistent=False).shape == (1, dim)

        # A writer's open lists the row in damaged.rows; this reader (open across it) and a new one both refuse it.
        jvm.run("RowWriter", "reopen", store)
        assert (store / "damaged.rows").exists()
        error, _ = read_promptly(lambda: s.gather(np.array([2])))
        assert_names_row(error, store, 2)
    with embstore.open(store) as s:
        error, _ = read_promptly(lambda: s.gather(np.array([2])))
        assert_names_row(error, store, 2)
        assert "damaged" in str(error), str(error)
        assert np.all(s.gather(np.array([0, 1, 3])) == 0)
