/* The machine's own limits, for the peer table: memcpy bandwidth and random row gather rate.
 * usage: hwlimits ROW_BYTES   prints JSON {"memcpy_gb_s": ..., "gather_rows_s": ...} (medians of 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    size_t row = argc > 1 ? (size_t) atol(argv[1]) : 1200;
    size_t bytes = (size_t) 1 << 30; /* 1 GiB: far past the caches */
    char *src = malloc(bytes), *dst = malloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    double copy[5], gather[5];
    for (int r = 0; r < 5; r++) {
        double t = now();
        memcpy(dst, src, bytes);
        copy[r] = bytes / (now() - t) / 1e9;
    }
    size_t rows = bytes / row, n = 4096, reps = 200;
    char *out = malloc(n * row);
    unsigned long long seed = 88172645463325252ULL;
    size_t *ids = malloc(n * sizeof(size_t));
    for (int r = 0; r < 5; r++) {
        double t = 0;
        for (size_t k = 0; k < reps; k++) {
            for (size_t i = 0; i < n; i++) {
                seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
                ids[i] = seed % rows;
            }
            double t0 = now();
            for (size_t i = 0; i < n; i++) memcpy(out + i * row, src + ids[i] * row, row);
            t += now() - t0;
        }
        gather[r] = n * reps / t;
    }
    qsort(copy, 5, sizeof(double), cmp);
    qsort(gather, 5, sizeof(double), cmp);
    printf("{\"memcpy_gb_s\": %.2f, \"gather_rows_s\": %.0f, \"checksum\": %d}\n", copy[2], gather[2], out[row] + dst[7]);
    return 0;
}
