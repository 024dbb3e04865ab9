#!/usr/bin/python3
"""Golden data for SparseTrainer's lazy Adam: torch.optim.SparseAdam on nn.Embedding(sparse=True).

Run with Debian's python3-torch (apt-get install python3-torch):  /usr/bin/python3 make_golden.py > sparse_adam.txt
A 50 x 8 table with a padding row, 10 steps of 24 ids drawn with duplicates (and the padding id), loss = sum of
emb(ids) * c with a fresh random c per step, so the per-occurrence gradients are exactly c (saved as given to
backward), and torch's coalesced gradient (unique ids, duplicates summed in torch's order). After every step: the
weights and both moments.
Values are float32 bit patterns in hex, so the file is exact.
"""
import sys

import numpy as np
import torch

SEED = 1234
ROWS, DIM, PADDING, STEPS, IDS = 50, 8, 3, 10, 24
LR, BETAS, EPS = 0.01, (0.9, 0.999), 1e-8

torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)
emb = torch.nn.Embedding(ROWS, DIM, sparse=True, padding_idx=PADDING)
with torch.no_grad():
    emb.weight.copy_(torch.from_numpy(rng.standard_normal((ROWS, DIM)).astype(np.float32)))
    emb.weight[PADDING].zero_()
opt = torch.optim.SparseAdam(emb.parameters(), lr=LR, betas=BETAS, eps=EPS)


def hexes(t):
    a = np.ascontiguousarray(t.detach().numpy().astype(np.float32)).view(np.uint32).ravel()
    return " ".join("%08x" % x for x in a)


out = sys.stdout
out.write("# torch.optim.SparseAdam golden data, torch %s, seed %d (make_golden.py)\n" % (torch.__version__, SEED))
out.write("rows %d dim %d padding %d lr %r beta1 %r beta2 %r eps %r steps %d\n"
          % (ROWS, DIM, PADDING, LR, BETAS[0], BETAS[1], EPS, STEPS))
out.write("weight %s\n" % hexes(emb.weight))
for step in range(1, STEPS + 1):
    # a few hot ids so duplicates are common, plus uniform ones; the padding id now and then
    hot = rng.integers(0, 6, size=IDS // 2)
    cold = rng.integers(0, ROWS, size=IDS - IDS // 2)
    ids = np.concatenate([hot, cold])
    rng.shuffle(ids)
    c = torch.from_numpy(rng.standard_normal((IDS, DIM)).astype(np.float32))
    opt.zero_grad()
    (emb(torch.from_numpy(ids)) * c).sum().backward()
    # what SparseAdam works on: torch's own coalesce (its summation order of duplicates is torch's, not the ids')
    coalesced = emb.weight.grad.coalesce()
    opt.step()
    st = opt.state[emb.weight]
    out.write("step %d\n" % step)
    out.write("ids %s\n" % " ".join(str(int(i)) for i in ids))
    out.write("grads %s\n" % hexes(c))
    out.write("coalesced_ids %s\n" % " ".join(str(int(i)) for i in coalesced._indices()[0]))
    out.write("coalesced_grads %s\n" % hexes(coalesced._values()))
    out.write("weight %s\n" % hexes(emb.weight))
    out.write("exp_avg %s\n" % hexes(st["exp_avg"]))
    out.write("exp_avg_sq %s\n" % hexes(st["exp_avg_sq"]))
