/*
 * The C baseline of the perf suite's latency figures (perf.latency_<mech>):
 * one-byte round trips between two processes through one mechanism, made the
 * way the suite's measuring peer makes them: both ends created first, then
 * fork, the two processes pinned to the first two allowed CPUs, untimed
 * warm-up, one CLOCK_MONOTONIC read per sample (chained), each echo checked,
 * at most ITERS samples, fewer (at least 1024) once the timed part has run
 * BUDGET_MS. A figure far from this program's is the harness's, not the
 * mechanism's.
 *
 *   cc -O2 -o ipc_rtt ipc_rtt.c [-lrt] && ./ipc_rtt MECH [ITERS] [WARMUP] [BUDGET_MS]
 *
 * MECH: pipe fifo unix_stream unix_dgram unix_seqpacket tcp udp posix_mq
 * sysv_mq eventfd shm_spin. Prints one line, `result mech=... n=...
 * median_ns=... p99_ns=... min_ns=... max_ns=... verified=...`, or
 * `unsupported <why>` (exit 0) where this OS lacks the mechanism. The whole
 * run is bounded by alarm(10); every object it creates is removed, also when
 * that alarm ends it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

enum kind { FD, MQ, SYSV, EVFD, SPIN };

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

/* One end: where it sends, where it receives. */
struct end {
    int tx, rx;
#ifdef HAVE_MQ_EVENTFD
    mqd_t mtx, mrx;
#endif
    long sysv_tx, sysv_rx;
    volatile uint64_t *spin_tx, *spin_rx;
};

static enum kind kind;
static const uint64_t STOP = 0xff;

static void send_msg(struct end *e, uint64_t v) {
    unsigned char byte = (unsigned char)v;
    switch (kind) {
    case FD:
        if (write(e->tx, &byte, 1) != 1) die("write");
        break;
#ifdef HAVE_MQ_EVENTFD
    case MQ:
        if (mq_send(e->mtx, (const char *)&byte, 1, 0) != 0) die("mq_send");
        break;
    case EVFD: {
        uint64_t one = v == STOP ? 2 : 1;
        if (write(e->tx, &one, 8) != 8) die("write eventfd");
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
        /* The message, then the writer's count (release). */
        __atomic_store_n(&e->spin_tx[8], v, __ATOMIC_RELAXED);
        __atomic_store_n(&e->spin_tx[0], e->spin_tx[0] + 1, __ATOMIC_RELEASE);
        break;
    }
}

static uint64_t recv_msg(struct end *e, uint64_t *seen) {
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
    case SPIN:
        while (__atomic_load_n(&e->spin_rx[0], __ATOMIC_ACQUIRE) == *seen) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        *seen += 1;
        return __atomic_load_n(&e->spin_rx[8], __ATOMIC_RELAXED);
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
    } else if (!strcmp(mech, "shm_spin")) {
        kind = SPIN;
        /* Two mailboxes 256 bytes apart: count at [0], message at [8]. */
        uint64_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) die("mmap");
        p->spin_tx = c->spin_rx = m;
        c->spin_tx = p->spin_rx = m + 32;
    } else {
        fprintf(stderr, "unknown mechanism %s\n", mech);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MECH [ITERS] [WARMUP] [BUDGET_MS]\n", argv[0]);
        return 2;
    }
    const char *mech = argv[1];
    long iters = argc > 2 ? atol(argv[2]) : 20000;
    long warm = argc > 3 ? atol(argv[3]) : 2000;
    uint64_t budget = (uint64_t)(argc > 4 ? atol(argv[4]) : 1000) * 1000000u;
    if (iters < 1 || warm < 0) return 2;
    signal(SIGALRM, on_alarm);
    alarm(10);
    struct end p, c;
    make_ends(mech, &p, &c);
    int cpu_a, cpu_b;
    two_cpus(&cpu_a, &cpu_b);
    uint64_t *samples = calloc((size_t)iters, sizeof *samples);
    if (!samples) die("calloc");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        pin(cpu_b);
        uint64_t seen = 0;
        for (;;) {
            uint64_t v = recv_msg(&c, &seen);
            send_msg(&c, v);
            if (v == STOP) _exit(0);
        }
    }
    pin(cpu_a);
    uint64_t seen = 0, verified = 0;
    long n = 0;
    for (long i = 0; i < warm; i++) {
        send_msg(&p, 1);
        recv_msg(&p, &seen);
    }
    uint64_t start = now_ns(), t0 = start;
    for (long i = 0; i < iters; i++) {
        uint64_t v = (uint64_t)(i % 100) + 1;
        send_msg(&p, v);
        uint64_t got = recv_msg(&p, &seen);
        uint64_t t1 = now_ns();
        samples[n++] = t1 - t0;
        t0 = t1;
        verified += kind == EVFD ? got == 1 : got == v;
        if ((i & 1023) == 1023 && t1 - start > budget) break;
    }
    send_msg(&p, STOP);
    recv_msg(&p, &seen);
    int status = 0;
    waitpid(pid, &status, 0);
    cleanup();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("err the echoing process ended with status %d\n", status);
        return 1;
    }
    qsort(samples, (size_t)n, sizeof *samples, cmp);
    long p99 = (long)((99 * n + 99) / 100);
    printf("result mech=%s n=%ld median_ns=%llu p99_ns=%llu min_ns=%llu max_ns=%llu verified=%llu pin=cpu%d+cpu%d\n",
           mech, n, (unsigned long long)samples[(n + 1) / 2 - 1],
           (unsigned long long)samples[p99 < 1 ? 0 : p99 - 1],
           (unsigned long long)samples[0], (unsigned long long)samples[n - 1],
           (unsigned long long)verified, cpu_a, cpu_b);
    return 0;
}
