"""gensim's side of benchmarks/fasttext-bin/run: load_facebook_vectors on the .bin (timed), then one unknown word's
vector: the first, and the median of many distinct ones. Prints one line of key=value."""
import statistics
import sys
import time

from gensim.models.fasttext import load_facebook_vectors

start = time.perf_counter()
kv = load_facebook_vectors(sys.argv[1])
load = time.perf_counter() - start
t = time.perf_counter()
kv["naïvetyzz"]
first = time.perf_counter() - t
times = []
for i in range(2000):
    w = "unseenword%d" % i
    t = time.perf_counter()
    kv[w]
    times.append(time.perf_counter() - t)
times.sort()
print("load_s=%.3f first_us=%.1f median_us=%.2f p99_us=%.2f" % (load, first * 1e6, statistics.median(times) * 1e6,
                                                                times[len(times) * 99 // 100] * 1e6))
