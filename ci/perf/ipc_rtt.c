/*
 * The C baseline of the perf suite's latency figures (perf.latency_<mech>):
 * the minimal program for each mechanism. One-byte round trips between two
 * processes, one message in flight, each message the mechanism's smallest
 * call (a 1-byte write and read; an 8-byte eventfd count; for shared memory
 * one word per direction that carries both the message and its number, the
 * two directions' words in one cache line, so that a message and its reply
 * cross in the same line, as the suite's mailboxes and rings do; the ring's
 * slot i of both directions share a line too).
 * Both ends are created first, then fork, the two processes pinned to the
 * first two allowed CPUs (or both to the first, `same-cpu`).
 *
 * Timed as the suite times: after untimed warm-up (which also sizes the
 * batches: about 10 us each, at most 256 round trips), up to ITERS batches,
 * each timed as a whole with one CLOCK_MONOTONIC read at each end and its
 * first round trip also on its own (the sample the p99 comes from), fewer
 * (at least 1024) once the timed part has run BUDGET_MS. A figure far from
 * this program's is the harness's, not the mechanism's.
 *
 *   cc -O2 -pthread -o ipc_rtt ipc_rtt.c [-lrt] && ./ipc_rtt MECH [ITERS] [WARMUP] [BUDGET_MS] [same-cpu]
 *
 * MECH: pipe fifo unix_stream unix_dgram unix_seqpacket tcp udp posix_mq
 * sysv_mq eventfd shm_spin shm_futex shm_condvar shm_ring. Prints one line,
 * `result mech=... n=... batch=... median_ns=... p99_ns=... ...` (the fields
 * of the suite's own result line), or `unsupported <why>` (exit 0) where
 * this OS lacks the mechanism. The whole run is bounded by alarm(10); every
 * object it creates is removed, also when that alarm ends it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__) || defined(__FreeBSD__)
#include <mqueue.h>
#include <sys/eventfd.h>
#define HAVE_MQ_EVENTFD 1
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#define HAVE_FUTEX 1
#elif defined(__FreeBSD__)
#include <sys/umtx.h>
#define HAVE_FUTEX 1
#endif

enum kind { FD, MQ, SYSV, EVFD, SPIN, FUTEX, CONDVAR, RING };

#define BATCH_TARGET_NS 10000u
#define MAX_BATCH 256u
#define MIN_SAMPLES 1024
#define RING_N 16

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what) {
    printf("err %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Objects to remove, also from the alarm handler. */
static char fifo_dir[64], fifo_a[96], fifo_b[96];
static int sysv_a = -1, sysv_b = -1;

static void cleanup(void) {
    if (fifo_a[0]) unlink(fifo_a);
    if (fifo_b[0]) unlink(fifo_b);
    if (fifo_dir[0]) rmdir(fifo_dir);
    if (sysv_a >= 0) msgctl(sysv_a, IPC_RMID, NULL);
    if (sysv_b >= 0) msgctl(sysv_b, IPC_RMID, NULL);
    fifo_a[0] = fifo_b[0] = fifo_dir[0] = 0;
    sysv_a = sysv_b = -1;
}

static void on_alarm(int sig) {
    (void)sig;
    cleanup();
    _exit(3);
}

/* The first two CPUs this process may run on (-1 if fewer than two). */
static void two_cpus(int *a, int *b) {
    *a = *b = -1;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (*a < 0) *a = c;
            else { *b = c; return; }
        }
#endif
}

static void pin(int cpu) {
#ifdef __linux__
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
#else
    (void)cpu;
#endif
}

/* A ring slot's head for one direction: half a cache line. */
struct ring_half {
    _Alignas(32) volatile uint64_t seq;
    unsigned char byte;
};

/* Shared memory both directions write: the spin words and the ring slots'
 * heads, each line holding one of each direction. */
struct shm_lines {
    _Alignas(128) volatile uint64_t word[2];  /* spin: number << 8 | byte */
    struct { _Alignas(128) struct ring_half half[2]; } slot[RING_N];
};

/* Shared memory, one direction: what its writer publishes, in lines only it
 * writes (the ring's consumer count in a line of its own). */
struct shm_dir {
    _Alignas(128) volatile uint32_t fword;    /* futex: number << 8 | byte */
    _Alignas(128) pthread_mutex_t m;          /* condvar */
    pthread_cond_t c;
    uint64_t cseq;
    unsigned char cbyte;
    _Alignas(128) volatile uint64_t tail;     /* ring: messages taken */
};

/* One end: where it sends, where it receives. */
struct end {
    int tx, rx;
#ifdef HAVE_MQ_EVENTFD
    mqd_t mtx, mrx;
#endif
    long sysv_tx, sysv_rx;
    struct shm_dir *out, *in;
    struct shm_lines *lines;
    int o, i;                                 /* this end's half of a line, and the other's */
    uint64_t sent, got, seen_tail;
};

static enum kind kind;
static const unsigned char STOP = 0xff;

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#ifdef HAVE_FUTEX
static void fwait(volatile uint32_t *w, uint32_t v) {
#ifdef __linux__
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
#else
    _umtx_op((void *)w, UMTX_OP_WAIT_UINT, v, NULL, NULL);
#endif
}

static void fwake(volatile uint32_t *w) {
#ifdef __linux__
    syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
#else
    _umtx_op((void *)w, UMTX_OP_WAKE, 1, NULL, NULL);
#endif
}
#endif

static void send_msg(struct end *e, unsigned char byte) {
    struct shm_dir *d = e->out;
    switch (kind) {
    case FD:
        if (write(e->tx, &byte, 1) != 1) die("write");
        break;
#ifdef HAVE_MQ_EVENTFD
    case MQ:
        if (mq_send(e->mtx, (const char *)&byte, 1, 0) != 0) die("mq_send");
        break;
    case EVFD: {
        uint64_t v = byte == STOP ? 2 : 1;
        if (write(e->tx, &v, 8) != 8) die("write eventfd");
        break;
    }
#else
    case MQ:
    case EVFD:
        break;
#endif
    case SYSV: {
        struct { long mtype; char b; } m = { 1, (char)byte };
        if (msgsnd((int)e->sysv_tx, &m, 1, 0) != 0) die("msgsnd");
        break;
    }
    case SPIN:
        e->sent++;
        __atomic_store_n(&e->lines->word[e->o], e->sent << 8 | byte, __ATOMIC_RELEASE);
        break;
    case FUTEX:
#ifdef HAVE_FUTEX
        e->sent++;
        __atomic_store_n(&d->fword, (uint32_t)(e->sent << 8 | byte), __ATOMIC_RELEASE);
        fwake(&d->fword);
#endif
        break;
    case CONDVAR:
        pthread_mutex_lock(&d->m);
        d->cseq++;
        d->cbyte = byte;
        pthread_cond_signal(&d->c);
        pthread_mutex_unlock(&d->m);
        break;
    case RING: {
        uint64_t h = e->sent;
        if (h - e->seen_tail >= RING_N) {
            while (h - __atomic_load_n(&d->tail, __ATOMIC_ACQUIRE) >= RING_N) relax();
            e->seen_tail = __atomic_load_n(&d->tail, __ATOMIC_ACQUIRE);
        }
        struct ring_half *s = &e->lines->slot[h % RING_N].half[e->o];
        s->byte = byte;
        e->sent = h + 1;
        __atomic_store_n(&s->seq, h + 1, __ATOMIC_RELEASE);
        break;
    }
    }
}

static unsigned char recv_msg(struct end *e) {
    struct shm_dir *d = e->in;
    unsigned char byte = 0;
    switch (kind) {
    case FD: {
        ssize_t n = read(e->rx, &byte, 1);
        if (n != 1) die(n == 0 ? "read: end of stream" : "read");
        return byte;
    }
#ifdef HAVE_MQ_EVENTFD
    case MQ: {
        char buf[64];
        if (mq_receive(e->mrx, buf, sizeof buf, NULL) != 1) die("mq_receive");
        return (unsigned char)buf[0];
    }
    case EVFD: {
        uint64_t v;
        if (read(e->rx, &v, 8) != 8) die("read eventfd");
        return v == 2 ? STOP : 1;
    }
#else
    case MQ:
    case EVFD:
        return STOP;
#endif
    case SYSV: {
        struct { long mtype; char b[64]; } m;
        if (msgrcv((int)e->sysv_rx, &m, sizeof m.b, 0, 0) != 1) die("msgrcv");
        return (unsigned char)m.b[0];
    }
    case SPIN: {
        uint64_t want = e->got + 1, v;
        while (((v = __atomic_load_n(&e->lines->word[e->i], __ATOMIC_ACQUIRE)) >> 8) != want) relax();
        e->got = want;
        return (unsigned char)v;
    }
    case FUTEX: {
#ifdef HAVE_FUTEX
        uint32_t want = (uint32_t)(e->got + 1) & 0xffffff, v;
        while (((v = __atomic_load_n(&d->fword, __ATOMIC_ACQUIRE)) >> 8) != want) fwait(&d->fword, v);
        e->got++;
        return (unsigned char)v;
#else
        return STOP;
#endif
    }
    case CONDVAR:
        pthread_mutex_lock(&d->m);
        while (d->cseq == e->got) pthread_cond_wait(&d->c, &d->m);
        e->got = d->cseq;
        byte = d->cbyte;
        pthread_mutex_unlock(&d->m);
        return byte;
    case RING: {
        uint64_t t = e->got;
        struct ring_half *s = &e->lines->slot[t % RING_N].half[e->i];
        while (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != t + 1) relax();
        byte = s->byte;
        e->got = t + 1;
        __atomic_store_n(&d->tail, t + 1, __ATOMIC_RELEASE);
        return byte;
    }
    }
    return STOP;
}

static void unsupported(const char *why) {
    printf("unsupported %s\n", why);
    exit(0);
}

static int tcp_or_udp_pair(int type, int fds[2]) {
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int a = socket(AF_INET, type, 0), b = socket(AF_INET, type, 0);
    if (a < 0 || b < 0) die("socket");
    if (bind(a, (struct sockaddr *)&sa, sizeof sa) != 0) die("bind");
    if (getsockname(a, (struct sockaddr *)&sa, &len) != 0) die("getsockname");
    if (type == SOCK_STREAM) {
        int one = 1;
        if (listen(a, 1) != 0) die("listen");
        if (connect(b, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
        int c = accept(a, NULL, NULL);
        if (c < 0) die("accept");
        close(a);
        a = c;
        setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
        struct sockaddr_in sb = sa;
        sb.sin_port = 0;
        len = sizeof sb;
        if (bind(b, (struct sockaddr *)&sb, sizeof sb) != 0) die("bind");
        if (getsockname(b, (struct sockaddr *)&sb, &len) != 0) die("getsockname");
        if (connect(a, (struct sockaddr *)&sb, sizeof sb) != 0) die("connect");
        if (connect(b, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
    }
    fds[0] = a;
    fds[1] = b;
    return 0;
}

/* Two directions of shared memory, the condvar's objects process-shared. */
static void shm_ends(struct end *p, struct end *c) {
    struct shm_dir *d = mmap(NULL, 2 * sizeof *d, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (d == MAP_FAILED) die("mmap");
    memset(d, 0, 2 * sizeof *d);
    for (int i = 0; i < 2 && kind == CONDVAR; i++) {
        pthread_mutexattr_t ma;
        pthread_condattr_t ca;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_condattr_init(&ca);
        pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
        if (pthread_mutex_init(&d[i].m, &ma) != 0 || pthread_cond_init(&d[i].c, &ca) != 0)
            unsupported("process-shared pthread objects refused");
    }
    p->out = c->in = &d[0];
    c->out = p->in = &d[1];
    struct shm_lines *l = mmap(NULL, sizeof *l, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (l == MAP_FAILED) die("mmap");
    memset((void *)l, 0, sizeof *l);
    p->lines = c->lines = l;
    p->o = c->i = 0;
    c->o = p->i = 1;
}

/* Builds both ends of `mech`: `p` for the measuring parent, `c` for the child. */
static void make_ends(const char *mech, struct end *p, struct end *c) {
    memset(p, 0, sizeof *p);
    memset(c, 0, sizeof *c);
    kind = FD;
    int fds[2];
    if (!strcmp(mech, "pipe")) {
        int ab[2], ba[2];
        if (pipe(ab) != 0 || pipe(ba) != 0) die("pipe");
        p->tx = ab[1]; c->rx = ab[0]; c->tx = ba[1]; p->rx = ba[0];
    } else if (!strcmp(mech, "fifo")) {
        snprintf(fifo_dir, sizeof fifo_dir, "/tmp/ipcconf-crtt-%d-XXXXXX", (int)getpid());
        if (!mkdtemp(fifo_dir)) { fifo_dir[0] = 0; die("mkdtemp"); }
        snprintf(fifo_a, sizeof fifo_a, "%s/a", fifo_dir);
        snprintf(fifo_b, sizeof fifo_b, "%s/b", fifo_dir);
        if (mkfifo(fifo_a, 0600) != 0 || mkfifo(fifo_b, 0600) != 0) die("mkfifo");
        /* O_RDWR never blocks in open; each side then uses one direction. */
        int a = open(fifo_a, O_RDWR), b = open(fifo_b, O_RDWR);
        if (a < 0 || b < 0) die("open fifo");
        p->tx = a; c->rx = a; c->tx = b; p->rx = b;
        cleanup();
    } else if (!strcmp(mech, "unix_stream") || !strcmp(mech, "unix_dgram") ||
               !strcmp(mech, "unix_seqpacket")) {
        int type = !strcmp(mech, "unix_stream") ? SOCK_STREAM
                 : !strcmp(mech, "unix_dgram") ? SOCK_DGRAM : SOCK_SEQPACKET;
        if (socketpair(AF_UNIX, type, 0, fds) != 0) {
            if (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT || errno == EOPNOTSUPP)
                unsupported("socketpair: this socket type is not supported");
            die("socketpair");
        }
        p->tx = p->rx = fds[0];
        c->tx = c->rx = fds[1];
    } else if (!strcmp(mech, "tcp") || !strcmp(mech, "udp")) {
        tcp_or_udp_pair(!strcmp(mech, "tcp") ? SOCK_STREAM : SOCK_DGRAM, fds);
        p->tx = p->rx = fds[0];
        c->tx = c->rx = fds[1];
    } else if (!strcmp(mech, "posix_mq")) {
#ifdef HAVE_MQ_EVENTFD
        kind = MQ;
        struct mq_attr attr = { 0 };
        attr.mq_maxmsg = 10;
        attr.mq_msgsize = 64;
        char na[64], nb[64];
        snprintf(na, sizeof na, "/ipcconf-crtt-%d-a", (int)getpid());
        snprintf(nb, sizeof nb, "/ipcconf-crtt-%d-b", (int)getpid());
        mqd_t a = mq_open(na, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (a == (mqd_t)-1) {
            if (errno == ENOSYS) unsupported("mq_open: ENOSYS");
            die("mq_open");
        }
        mq_unlink(na);
        mqd_t b = mq_open(nb, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (b == (mqd_t)-1) die("mq_open");
        mq_unlink(nb);
        p->mtx = a; c->mrx = a; c->mtx = b; p->mrx = b;
#else
        unsupported("no POSIX message queues on this OS");
#endif
    } else if (!strcmp(mech, "sysv_mq")) {
        kind = SYSV;
        sysv_a = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        sysv_b = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        if (sysv_a < 0 || sysv_b < 0) die("msgget");
        p->sysv_tx = c->sysv_rx = sysv_a;
        c->sysv_tx = p->sysv_rx = sysv_b;
    } else if (!strcmp(mech, "eventfd")) {
#ifdef HAVE_MQ_EVENTFD
        kind = EVFD;
        int a = eventfd(0, 0), b = eventfd(0, 0);
        if (a < 0 || b < 0) die("eventfd");
        p->tx = a; c->rx = a; c->tx = b; p->rx = b;
#else
        unsupported("no eventfd on this OS");
#endif
    } else if (!strcmp(mech, "shm_spin") || !strcmp(mech, "shm_ring") ||
               !strcmp(mech, "shm_condvar") || !strcmp(mech, "shm_futex")) {
        kind = !strcmp(mech, "shm_spin") ? SPIN : !strcmp(mech, "shm_ring") ? RING
             : !strcmp(mech, "shm_condvar") ? CONDVAR : FUTEX;
#ifndef HAVE_FUTEX
        if (kind == FUTEX) unsupported("no futex on this OS");
#endif
        shm_ends(p, c);
    } else {
        fprintf(stderr, "unknown mechanism %s\n", mech);
        exit(2);
    }
}

static unsigned char seq_byte(uint64_t i) { return (unsigned char)(i % 254 + 1); }

/* One round trip: 1 when the echo matched. */
static inline int round_trip(struct end *p, uint64_t i) {
    unsigned char b = seq_byte(i);
    send_msg(p, b);
    unsigned char got = recv_msg(p);
    return kind == EVFD ? got == 1 : got == b;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MECH [ITERS] [WARMUP] [BUDGET_MS] [same-cpu]\n", argv[0]);
        return 2;
    }
    const char *mech = argv[1];
    long iters = argc > 2 ? atol(argv[2]) : 5000;
    long warm = argc > 3 ? atol(argv[3]) : 500;
    uint64_t budget = (uint64_t)(argc > 4 ? atol(argv[4]) : 1000) * 1000000u;
    int same_cpu = argc > 5 && !strcmp(argv[5], "same-cpu");
    if (iters < 1 || warm < 0) return 2;
    signal(SIGALRM, on_alarm);
    alarm(10);
    struct end p, c;
    make_ends(mech, &p, &c);
    int cpu_a, cpu_b;
    two_cpus(&cpu_a, &cpu_b);
    if (same_cpu) cpu_b = cpu_a;
    uint64_t *batches = calloc((size_t)iters, sizeof *batches);
    uint64_t *samples = calloc((size_t)iters, sizeof *samples);
    volatile uint64_t *echoed = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!batches || !samples || echoed == MAP_FAILED) die("memory");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        pin(cpu_b);
        uint64_t count = 0;
        for (;;) {
            unsigned char v = recv_msg(&c);
            if (v == STOP) { *echoed = count; _exit(0); }
            send_msg(&c, v);
            count++;
        }
    }
    pin(cpu_a);
    uint64_t verified = 0, i = 0;
    uint64_t w0 = now_ns();
    while (i < (uint64_t)warm) {
        round_trip(&p, i);
        i++;
        if ((i & 255) == 0 && now_ns() - w0 > budget / 10) break;
    }
    uint64_t warmed = i, wns = now_ns() - w0;
    uint64_t b = warmed && wns ? BATCH_TARGET_NS / (wns / warmed ? wns / warmed : 1) : 1;
    if (b < 1) b = 1;
    if (b > MAX_BATCH) b = MAX_BATCH;
    long n = iters;
    uint64_t start = now_ns(), t0 = start;
    for (long k = 0; k < iters; k++) {
        verified += round_trip(&p, i);
        uint64_t t1 = now_ns();
        for (uint64_t j = 1; j < b; j++) verified += round_trip(&p, i + j);
        uint64_t t2 = b > 1 ? now_ns() : t1;
        i += b;
        samples[k] = t1 - t0;
        batches[k] = t2 - t0;
        t0 = t2;
        if ((k & 63) == 63) {
            if (t2 - start > budget && k + 1 >= MIN_SAMPLES) { n = k + 1; break; }
            t0 = now_ns();
        }
    }
    uint64_t elapsed = now_ns() - start;
    send_msg(&p, STOP);
    int status = 0;
    waitpid(pid, &status, 0);
    cleanup();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("err the echoing process ended with status %d\n", status);
        return 1;
    }
    uint64_t sum = 0;
    for (long k = 0; k < n; k++) sum += batches[k];
    qsort(batches, (size_t)n, sizeof *batches, cmp);
    qsort(samples, (size_t)n, sizeof *samples, cmp);
    double med = n % 2 ? (double)batches[n / 2] / b
                       : ((double)batches[n / 2 - 1] + (double)batches[n / 2]) / 2.0 / b;
    long p99 = (99 * n + 99) / 100;
    printf("result mech=%s method=batches n=%ld batch=%llu round_trips=%llu warmup=%llu "
           "median_ns=%.1f min_ns=%.1f mean_ns=%.1f p99_ns=%llu max_ns=%llu "
           "sample_median_ns=%llu sample_min_ns=%llu sum_ns=%llu elapsed_ns=%llu "
           "verified=%llu echoed=%llu msg_bytes=%d pin=cpu%d%ccpu%d\n",
           mech, n, (unsigned long long)b, (unsigned long long)(n * b),
           (unsigned long long)warmed, med, (double)batches[0] / b,
           (double)sum / (double)(n * b), (unsigned long long)samples[p99 < 1 ? 0 : p99 - 1],
           (unsigned long long)samples[n - 1], (unsigned long long)samples[(n + 1) / 2 - 1],
           (unsigned long long)samples[0], (unsigned long long)sum,
           (unsigned long long)elapsed, (unsigned long long)verified,
           (unsigned long long)*echoed, kind == EVFD ? 8 : 1,
           cpu_a, same_cpu ? '=' : '+', cpu_b);
    return 0;
}
