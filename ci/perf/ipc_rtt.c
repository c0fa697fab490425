/*
 * Minimal C baseline for the perf suite's pipe figure (perf.latency_pipe):
 * one-byte round trips between two processes over two pipes, the same
 * exchange the suite's measuring peer makes, with the same pinning (the first
 * two allowed CPUs), warm-up, sample count and clock (CLOCK_MONOTONIC, one
 * read per sample, chained). Prints the median and p99 in nanoseconds.
 *
 *   cc -O2 -o pipe_rtt pipe_rtt.c && ./pipe_rtt [iterations] [warmup]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void pin(int cpu) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
#else
    (void)cpu;
#endif
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    long warm = argc > 2 ? atol(argv[2]) : 2000;
    int cpus[2] = {-1, -1}, found = 0;
#ifdef __linux__
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
            if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
#endif
    if (iters < 1) return 2;
    int ping[2], pong[2];
    if (pipe(ping) || pipe(pong)) { perror("pipe"); return 1; }
    uint64_t *s = malloc(sizeof *s * (size_t)iters);
    if (!s) return 1;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        if (found == 2) pin(cpus[1]);
        char b;
        for (long i = 0; i < iters + warm; i++) {
            if (read(ping[0], &b, 1) != 1) _exit(1);
            if (write(pong[1], &b, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    if (found == 2) pin(cpus[0]);
    char b = 1, r;
    for (long i = 0; i < warm; i++)
        if (write(ping[1], &b, 1) != 1 || read(pong[0], &r, 1) != 1) return 1;
    uint64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        b = (char)(i % 255 + 1);
        if (write(ping[1], &b, 1) != 1 || read(pong[0], &r, 1) != 1 || r != b) return 1;
        uint64_t t1 = now_ns();
        s[i] = t1 - t0;
        t0 = t1;
    }
    int status;
    waitpid(pid, &status, 0);
    qsort(s, (size_t)iters, sizeof *s, cmp);
    /* nearest rank, as the suite computes it */
    long med = (iters + 1) / 2 - 1, p99 = (99 * iters + 99) / 100 - 1;
    if (found == 2)
        printf("c-baseline pipe n=%ld median_ns=%llu p99_ns=%llu pin=cpu%d+cpu%d\n", iters,
               (unsigned long long)s[med], (unsigned long long)s[p99], cpus[0], cpus[1]);
    else
        printf("c-baseline pipe n=%ld median_ns=%llu p99_ns=%llu pin=none\n", iters,
               (unsigned long long)s[med], (unsigned long long)s[p99]);
    return 0;
}
