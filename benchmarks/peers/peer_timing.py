"""Timing helpers shared by python_peer.py and gensim_peer.py (same loops on both sides). Imports only the standard
library's time, so it adds nothing to either side's measured import."""
import time


def read_words(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def median_rate(one, work, per_pass, rounds):
    """One untimed pass (warm caches, lazy initialisation), then the median rate of the timed passes."""
    for item in work:
        one(item)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for item in work:
            one(item)
        rates.append(per_pass / (time.perf_counter() - t0))
    rates.sort()
    return rates[len(rates) // 2]


def fresh_passes_rate(one, words, rounds):
    """words split into rounds + 1 passes of different words: one untimed, then the median rate of the others. No
    word list is timed twice, so a cache of the words a process has looked up helps only as much as it would on a
    stream that does not repeat itself."""
    per = len(words) // (rounds + 1)
    passes = [words[i * per:(i + 1) * per] for i in range(rounds + 1)]
    for w in passes[0]:
        one(w)
    rates = []
    for p in passes[1:]:
        t0 = time.perf_counter()
        for w in p:
            one(w)
        rates.append(per / (time.perf_counter() - t0))
    rates.sort()
    return rates[len(rates) // 2]
