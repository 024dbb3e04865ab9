"""A Python reader process of test_cross_process.py (run as a script, with the package on PYTHONPATH).

    cross_process_reader.py STORE STOP_FILE SEED INITIAL_ROWS TORN_FILE

Every row of the store's first INITIAL_ROWS holds dim copies of one value (the JVM writer, RowWriter churn, keeps it
so); appended row INITIAL_ROWS + K is word "appended-K" holding dim copies of BASE + K (1e6, or 1024 in an f16
store). Until STOP_FILE exists, gathers
random rows (consistent reads, counting rows that are not one value: torn), looks words up with store[word], notes
each generation seen, and refreshes now and then to check the appended rows; creates TORN_FILE once a relaxed read was torn. Then refreshes once more, checks every
appended row, and prints one JSON line of findings.
"""

import json
import os
import sys
import time

import numpy as np

import embstore

#: A reader that outlives this is stuck: stop and say so rather than hang the test.
MAX_SECONDS = 120


def uniform(rows):
    """Indices of the rows (2-D array) that are not dim copies of one value."""
    return np.flatnonzero((rows != rows[:, :1]).any(axis=1))


def check_appended(store, initial_rows, findings):
    """Every row past INITIAL_ROWS is its word and its value, by word and by id."""
    rows = store.rows
    base = 1024.0 if store.dtype == "f16" else 1e6
    for row in range(initial_rows, rows):
        k = row - initial_rows
        word = f"appended-{k}"
        problems = []
        if store.word(row) != word:
            problems.append(f"word({row}) = {store.word(row)!r}")
        if store.row_of(word) != row:
            problems.append(f"row_of({word!r}) = {store.row_of(word)}")
        if word not in store:
            problems.append(f"{word!r} not in store")
        by_word = store[word]
        by_id = store.gather(np.array([row]))[0]
        if not (np.all(by_word == base + k) and np.all(by_id == base + k)):
            problems.append(f"{word!r} holds {by_word[:3]}... / {by_id[:3]}..., expected {base + k}")
        if problems:
            findings["errors"].append(f"appended row {row}: " + "; ".join(problems))
    findings["appended_checked"] = max(findings["appended_checked"], rows - initial_rows)
    return rows


def main():
    path, stop_file, seed, initial_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torn_file = sys.argv[5]
    rng = np.random.default_rng(seed)
    findings = {"gathered": 0, "torn": [], "relaxed_torn": 0, "word_reads": 0, "generations": [],
                "rows_seen": [], "appended_checked": 0, "errors": []}
    generations = set()
    rows_seen = set()
    with embstore.open(path) as store:
        dim = store.dim
        print("READY", flush=True)
        start = time.monotonic()
        rounds = 0
        while not os.path.exists(stop_file):
            if time.monotonic() - start > MAX_SECONDS:
                findings["errors"].append(f"still running after {MAX_SECONDS} s: the stop file never came")
                break
            rounds += 1
            ids = rng.integers(0, initial_rows, size=64)
            rows = store.gather(ids)
            if rows.shape != (64, dim):
                findings["errors"].append(f"gather of 64 ids gave shape {rows.shape}")
            for i in uniform(rows):
                if len(findings["torn"]) < 20:
                    findings["torn"].append([int(ids[i]), rows[i, 0].item(), rows[i, -1].item()])
            findings["gathered"] += len(ids)
            # The same rows read without the seqlock: torn rows here show that the writer does tear rows, i.e. that
            # zero torn consistent reads is the seqlock's doing.
            relaxed_ids = rng.integers(0, initial_rows, size=256)
            torn_before = findings["relaxed_torn"]
            findings["relaxed_torn"] += len(uniform(store.gather(relaxed_ids, consistent=False)))
            if findings["relaxed_torn"] and not torn_before:
                open(torn_file, "w").close()
            word = f"w{int(rng.integers(0, initial_rows))}"
            vector = store[word]
            findings["word_reads"] += 1
            if not np.all(vector == vector[0]):
                findings["torn"].append([word, vector[0].item(), vector[-1].item()])
            generations.add(int(store.generation))
            if rounds % 50 == 0:
                store.refresh()
                rows_seen.add(check_appended(store, initial_rows, findings))
        store.refresh()
        generations.add(int(store.generation))
        rows_seen.add(check_appended(store, initial_rows, findings))
        findings["final_rows"] = store.rows
        findings["final_len"] = len(store)
    findings["generations"] = sorted(generations)
    findings["rows_seen"] = sorted(rows_seen)
    print(json.dumps(findings), flush=True)


if __name__ == "__main__":
    main()
