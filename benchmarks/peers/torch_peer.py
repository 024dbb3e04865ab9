"""Times numpy and PyTorch on the same tables and ids as embstore, for benchmarks/peers/run. Prints one JSON object.

usage: torch_peer.py gather numpy|numpy-mmap|torch MATRIX IDS BATCH ROUNDS
       torch_peer.py optimizer step|forward MATRIX IDS GRADS BATCH THREADS WARMUP WINDOW WINDOWS

MATRIX is a store's matrix.npy, loaded into memory (as a user holds a table in numpy or torch); IDS raw little-endian
int32, GRADS raw little-endian float32 (BATCH x dim): the very files PeerProbe reads. Loading is not timed.
`numpy-mmap` maps MATRIX instead (np.load(mmap_mode="r")): the peer of the Python package's gather.
"""
import json
import sys
import time

import numpy as np


def batches(path, batch):
    ids = np.fromfile(path, dtype="<i4")
    n = len(ids) // batch
    return ids[: n * batch].reshape(n, batch)


def gather(which, matrix, ids_path, batch, rounds):
    """One thread, as embstore's gather; one untimed pass (warm caches, lazy init), then the median of timed passes."""
    m = np.load(matrix, mmap_mode="r" if which == "numpy-mmap" else None)
    ids = batches(ids_path, batch).astype(np.int64)
    if which in ("numpy", "numpy-mmap"):
        def one(b):
            return m[b]  # fancy indexing: what a numpy user writes (it allocates the result, as torch does)
        work = list(ids)
    elif which == "torch":
        import torch
        torch.set_num_threads(1)
        emb = torch.nn.Embedding.from_pretrained(torch.from_numpy(m), freeze=True)
        work = [torch.from_numpy(b) for b in ids]

        def one(b):
            with torch.no_grad():
                return emb(b)
    else:
        raise SystemExit("unknown gather peer " + which)
    out = None
    for b in work:
        out = one(b)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for b in work:
            out = one(b)
        rates.append(len(work) * batch / (time.perf_counter() - t0))
    rates.sort()
    last = float(np.asarray(out, dtype=np.float64).sum())
    print(json.dumps({"rows_s": rates[len(rates) // 2], "last_batch_sum": last}))


def optimizer(mode, matrix, ids_path, grads_path, batch, threads, warmup, window, windows):
    """torch.optim.SparseAdam on nn.Embedding(sparse=True), steps taken in file order as PeerProbe does."""
    import torch
    torch.set_num_threads(threads)
    weight = torch.from_numpy(np.load(matrix))
    rows, dim = weight.shape
    emb = torch.nn.Embedding.from_pretrained(weight, freeze=False, sparse=True)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=1e-3)
    all_ids = batches(ids_path, batch)
    g = torch.from_numpy(np.fromfile(grads_path, dtype="<f4").reshape(batch, dim))
    steps = warmup + window * windows
    if len(all_ids) < steps:
        raise SystemExit(f"{ids_path} holds {len(all_ids)} batches, {steps} needed")

    def one(idx):
        if mode == "step":
            # The gradient tensor is built untimed; SparseAdam coalesces it inside step(), as embstore's step does.
            emb.weight.grad = torch.sparse_coo_tensor(idx.unsqueeze(0), g, (rows, dim))
            t0 = time.perf_counter()
            opt.step()
            return time.perf_counter() - t0
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        (emb(idx) * g).sum().backward()  # d loss / d row = g: the same gradients as the step-only runs
        opt.step()
        return time.perf_counter() - t0

    tensors = [torch.from_numpy(b.astype(np.int64)) for b in all_ids[:steps]]
    # One untimed sweep over every row in order, as PeerProbe does: the state's pages are all resident afterwards.
    full = g
    for base in range(0, rows, batch):
        n = min(batch, rows - base)
        idx = torch.arange(base, base + n, dtype=torch.int64)
        if mode == "step":
            emb.weight.grad = torch.sparse_coo_tensor(idx.unsqueeze(0), full[:n], (rows, dim))
            opt.step()
        else:
            opt.zero_grad(set_to_none=True)
            (emb(idx) * full[:n]).sum().backward()
            opt.step()
    for s in range(warmup):
        one(tensors[s])
    rates = []
    unique_total = 0
    for w in range(windows):
        unique = 0
        spent = 0.0
        for s in range(warmup + w * window, warmup + (w + 1) * window):
            unique += len(np.unique(all_ids[s]))
            spent += one(tensors[s])
        rates.append(unique / spent)
        unique_total += unique
    rates.sort()
    print(json.dumps({"unique_rows_s": rates[len(rates) // 2], "unique_per_step": unique_total / (window * windows),
                      "row0_sum": float(emb.weight[int(all_ids[0][0])].sum())}))


def main():
    cmd = sys.argv[1]
    if cmd == "gather":
        gather(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "optimizer":
        optimizer(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], *map(int, sys.argv[6:11]))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
