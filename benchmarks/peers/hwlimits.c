/* The machine's own limits, for the peer table: memcpy bandwidth, random row gather rate and, given a directory,
 * the disk's sequential write rate with fsync (what convert and export pay for their output).
 * The read rate (read_gb_s) is a sum over the 1 GiB buffer on two threads, each over its half: what a scan that only
 * reads, such as most_similar's over the matrix, can reach (memcpy also writes every byte it reads).
 * usage: hwlimits ROW_BYTES [DIR]   prints JSON {"memcpy_gb_s": ..., "read_gb_s": ..., "gather_rows_s": ..., "disk_write_mb_s": ...,
 * "disk_write_buffered_mb_s": ...} (memcpy and gather medians of 5). The disk figures are medians of 3 writes of
 * 512 MB to a new file in DIR in 8 MB writes, fsync'ed and deleted: disk_write_mb_s with O_DIRECT (the disk itself;
 * the buffered figure when the file system refuses O_DIRECT), disk_write_buffered_mb_s through the page cache, as a
 * plain program writes (on a VM the kernel's copy into fresh cache pages can cost more than the disk). Without DIR
 * both are 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Seconds to write `bytes` to a new file at path, 8 MB of buf (4096-aligned) again and again, and fsync it (the file
 * is then deleted); negative on an error, which is printed; 0 when direct I/O was asked for and is refused. Timed
 * from the open to the end of the fsync, as an export is. */
static double write_fsync(const char *path, const char *buf, size_t bytes, int direct) {
    size_t chunk = (size_t) 8 << 20;
    double t = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0), 0644);
    if (fd < 0 && direct && errno == EINVAL) {
        return 0; /* no direct I/O on this file system */
    }
    if (fd < 0) {
        perror(path);
        return -1;
    }
    for (size_t done = 0; done < bytes;) {
        ssize_t n = write(fd, buf, bytes - done < chunk ? bytes - done : chunk);
        if (n <= 0) {
            perror(path);
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t) n;
    }
    if (fsync(fd) != 0) {
        perror(path);
        close(fd);
        unlink(path);
        return -1;
    }
    t = now() - t;
    close(fd);
    unlink(path);
    return t;
}

struct half { const uint64_t *from; size_t words; uint64_t sum; };

/* Sums a range of 8-byte words, four independent chains so the loads, not the adds, set the pace. */
static void *sum_words(void *arg) {
    struct half *h = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= h->words; i += 4) {
        a += h->from[i]; b += h->from[i + 1]; c += h->from[i + 2]; d += h->from[i + 3];
    }
    h->sum = a + b + c + d;
    return NULL;
}

/* GB/s of reading `bytes` at p on two threads. */
static double read_rate(const char *p, size_t bytes) {
    struct half h[2];
    pthread_t t[2];
    size_t words = bytes / 8 / 2;
    double t0 = now();
    for (int i = 0; i < 2; i++) {
        h[i].from = (const uint64_t *) p + i * words;
        h[i].words = words;
        pthread_create(&t[i], NULL, sum_words, &h[i]);
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    double gb_s = bytes / (now() - t0) / 1e9;
    return h[0].sum + h[1].sum == 42 ? gb_s * 1.0000001 : gb_s; /* keeps the sums live */
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
    double reads[5];
    for (int r = 0; r < 5; r++) reads[r] = read_rate(src, bytes);
    qsort(reads, 5, sizeof(double), cmp);
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
    double disk[2] = {0, 0}; /* direct, buffered */
    if (argc > 2) {
        /* 512 MB of text-like bytes (not zeros, which a thin-provisioned virtual disk may not store at all). */
        size_t disk_bytes = (size_t) 512 << 20;
        char path[4096], *text;
        snprintf(path, sizeof path, "%s/.hwlimits-write-%ld.tmp", argv[2], (long) getpid());
        if (posix_memalign((void **) &text, 4096, (size_t) 8 << 20) != 0) return 1;
        for (size_t i = 0; i < ((size_t) 8 << 20); i++) text[i] = "0123456789 .-\n"[i % 14];
        for (int direct = 1; direct >= 0; direct--) {
            double rate[3];
            for (int r = 0; r < 3; r++) {
                double t = write_fsync(path, text, disk_bytes, direct);
                if (t < 0) return 1;
                rate[r] = t > 0 ? disk_bytes / t / 1e6 : 0;
            }
            qsort(rate, 3, sizeof(double), cmp);
            disk[!direct] = rate[1];
        }
        if (disk[0] == 0) disk[0] = disk[1];
    }
    printf("{\"memcpy_gb_s\": %.2f, \"read_gb_s\": %.2f, \"gather_rows_s\": %.0f, \"disk_write_mb_s\": %.0f, "
           "\"disk_write_buffered_mb_s\": %.0f, \"checksum\": %d}\n", copy[2], reads[2], gather[2], disk[0], disk[1],
           out[row] + dst[7]);
    return 0;
}
