/* pipes.c: pipes, eventfd and the readiness calls on them.
 *
 * pipe2            O_NONBLOCK / O_CLOEXEC flags, access modes, EBADF on the
 *                  wrong end, EAGAIN on empty/full, capacity F_GETPIPE_SZ,
 *                  a nonblocking write of PIPE_BUF into a full pipe is EAGAIN
 * pipe_buf_atomic  four writer threads write PIPE_BUF-sized records into one
 *                  pipe; the reader never sees two records interleaved
 * epipe            writing with no reader: EPIPE and SIGPIPE (handled,
 *                  ignored, blocked -> pending)
 * eof              read returns 0 once every write end is closed (also
 *                  waking a blocked reader); a dup keeps it open
 * transfer         100 MiB between two threads, checksum compared
 * eventfd          counter mode (sum, reset, overflow EAGAIN, EINVAL),
 *                  semaphore mode (one at a time), a blocked reader is woken
 * poll             poll/ppoll on pipes and eventfd: POLLIN/POLLOUT/POLLHUP/
 *                  POLLERR/POLLNVAL, timeouts, a wake-up from another thread,
 *                  ppoll's signal mask
 * select           select/pselect: readiness, timeout (and the timeval
 *                  updated to zero), pselect's signal mask
 *
 * One "<section>: ok" line per section, then "pipes: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "timing.h"

#ifndef F_GETPIPE_SZ
#define F_GETPIPE_SZ 1032
#endif

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        CHECK(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* ---- pipe2 flags ------------------------------------------------------- */

static void test_pipe2(void)
{
    int p[2];
    char c = 'x';
    CHECK_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
    for (int i = 0; i < 2; i++) {
        CHECK(fcntl(p[i], F_GETFL) & O_NONBLOCK);
        CHECK(fcntl(p[i], F_GETFD) & FD_CLOEXEC);
    }
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_ERR(read(p[0], &c, 1), EAGAIN);
    CHECK_ERR(write(p[0], &c, 1), EBADF);
    CHECK_ERR(read(p[1], &c, 1), EBADF);
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);

    /* Fill it: exactly the capacity goes in, then EAGAIN. */
    long cap = fcntl(p[1], F_GETPIPE_SZ);
    CHECK_EQ(cap, 65536);
    static char block[4096];
    memset(block, 'b', sizeof block);
    long total = 0;
    for (;;) {
        ssize_t n = write(p[1], block, sizeof block);
        if (n < 0) {
            CHECK_EQ(errno, EAGAIN);
            break;
        }
        total += n;
        CHECK(total <= cap);
    }
    CHECK_EQ(total, cap);
    /* Some room, but less than PIPE_BUF: an atomic write cannot go in. */
    char tmp[100];
    CHECK_EQ(read(p[0], tmp, sizeof tmp), 100);
    CHECK_ERR(write(p[1], block, PIPE_BUF), EAGAIN);
    close(p[0]);
    close(p[1]);

    /* Plain pipe(): blocking, not close-on-exec. */
    CHECK_OK(pipe(p));
    CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(fcntl(p[1], F_GETFD) & FD_CLOEXEC, 0);
    close(p[0]);
    close(p[1]);
    CHECK_ERR(pipe2(p, 0x4), EINVAL);
    printf("pipe2: ok\n");
}

/* ---- PIPE_BUF atomicity with several writers --------------------------- */

#define WRITERS 4
#define RECORDS 200

struct record {
    uint32_t writer, seq;
    unsigned char fill[PIPE_BUF - 8];
};

static int atomic_pipe[2];

static void *record_writer(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    static struct record recs[WRITERS];
    struct record *r = &recs[id];
    for (uint32_t s = 0; s < RECORDS; s++) {
        r->writer = id;
        r->seq = s;
        memset(r->fill, (int)(id * 31 + s), sizeof r->fill);
        /* One write per record: it must go in whole. */
        CHECK_EQ(write(atomic_pipe[1], r, sizeof *r), sizeof *r);
    }
    return NULL;
}

static void test_pipe_buf_atomic(void)
{
    pthread_t th[WRITERS];
    static struct record rec;
    uint32_t next[WRITERS] = {0};
    CHECK_OK(pipe(atomic_pipe));
    for (uintptr_t i = 0; i < WRITERS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, record_writer, (void *)i), 0);
    /* Read in odd-sized pieces to reassemble each record. */
    size_t sizes[] = {1, 4095, 100, 8192, 3000, 5000};
    for (int n = 0; n < WRITERS * RECORDS; n++) {
        size_t got = 0;
        int k = n;
        while (got < sizeof rec) {
            size_t want = sizes[k++ % 6];
            if (want > sizeof rec - got)
                want = sizeof rec - got;
            ssize_t r = read(atomic_pipe[0], (char *)&rec + got, want);
            CHECK(r > 0);
            got += (size_t)r;
        }
        CHECK(rec.writer < WRITERS);
        CHECK_EQ(rec.seq, next[rec.writer]);
        next[rec.writer]++;
        unsigned char want = (unsigned char)(rec.writer * 31 + rec.seq);
        for (size_t i = 0; i < sizeof rec.fill; i++)
            if (rec.fill[i] != want) {
                fprintf(stderr, "record %u/%u interleaved at byte %zu\n", rec.writer, rec.seq, i + 8);
                exit(1);
            }
    }
    for (int i = 0; i < WRITERS; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(next[i], RECORDS);
    }
    close(atomic_pipe[1]);
    char c;
    CHECK_EQ(read(atomic_pipe[0], &c, 1), 0);
    close(atomic_pipe[0]);
    printf("pipe_buf_atomic: ok\n");
}

/* ---- EPIPE and SIGPIPE ------------------------------------------------- */

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void test_epipe(void)
{
    int p[2];
    char c = 'x';
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    CHECK_OK(sigaction(SIGPIPE, &sa, NULL));

    CHECK_OK(pipe(p));
    close(p[0]);
    CHECK_ERR(write(p[1], &c, 1), EPIPE);
    CHECK_EQ(sigpipes, 1);
    CHECK_ERR(write(p[1], &c, 1), EPIPE);
    CHECK_EQ(sigpipes, 2);

    /* Ignored: just EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], &c, 1), EPIPE);
    CHECK_EQ(sigpipes, 2);

    /* Blocked: EPIPE, and SIGPIPE waits until unblocked. */
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    CHECK_OK(sigaction(SIGPIPE, &sa, NULL));
    CHECK_OK(sigprocmask(SIG_BLOCK, &s, &old));
    CHECK_ERR(write(p[1], &c, 1), EPIPE);
    CHECK_OK(sigpending(&pend));
    CHECK(sigismember(&pend, SIGPIPE));
    CHECK_EQ(sigpipes, 2);
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(sigpipes, 3);
    close(p[1]);

    /* A reader that leaves with data unread: the writer still gets EPIPE. */
    CHECK_OK(pipe(p));
    CHECK_EQ(write(p[1], "abc", 3), 3);
    close(p[0]);
    CHECK_ERR(write(p[1], &c, 1), EPIPE);
    CHECK_EQ(sigpipes, 4);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    printf("epipe: ok\n");
}

/* ---- EOF ----------------------------------------------------------------- */

static int eof_fd;

static void *close_later(void *arg)
{
    (void)arg;
    sleep_ms(30);
    close(eof_fd);
    return NULL;
}

static void test_eof(void)
{
    int p[2];
    char buf[16];
    CHECK_OK(pipe(p));
    CHECK_EQ(write(p[1], "abc", 3), 3);
    close(p[1]);
    CHECK_EQ(read(p[0], buf, sizeof buf), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
    close(p[0]);

    /* A duplicate write end keeps the pipe open. */
    CHECK_OK(pipe2(p, O_NONBLOCK));
    int dup_w = dup(p[1]);
    CHECK(dup_w >= 0);
    close(p[1]);
    CHECK_ERR(read(p[0], buf, sizeof buf), EAGAIN);
    CHECK_EQ(write(dup_w, "z", 1), 1);
    CHECK_EQ(read(p[0], buf, sizeof buf), 1);
    close(dup_w);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
    close(p[0]);

    /* A blocked reader wakes with 0 when the last writer closes. */
    pthread_t th;
    CHECK_OK(pipe(p));
    eof_fd = p[1];
    int64_t t0 = now_ns();
    CHECK_EQ(pthread_create(&th, NULL, close_later, NULL), 0);
    CHECK_EQ(read(p[0], buf, sizeof buf), 0);
    CHECK(now_ns() - t0 >= 25 * MS);
    CHECK_EQ(pthread_join(th, NULL), 0);
    close(p[0]);
    printf("eof: ok\n");
}

/* ---- 100 MiB between two threads --------------------------------------- */

#define CHUNK 65536
#define CHUNKS 1600 /* 100 MiB */

static int xfer[2];
static uint64_t pattern[CHUNK / 8];

static uint64_t chunk_hash(uint64_t h, const uint64_t *w)
{
    for (size_t i = 0; i < CHUNK / 8; i++)
        h = (h ^ w[i]) * 0x100000001b3ULL;
    return h;
}

static void *xfer_writer(void *arg)
{
    static uint64_t buf[CHUNK / 8];
    uint64_t h = 0xcbf29ce484222325ULL;
    (void)arg;
    memcpy(buf, pattern, sizeof buf);
    for (uint64_t c = 0; c < CHUNKS; c++) {
        buf[0] = c;
        buf[CHUNK / 8 - 1] = ~c;
        h = chunk_hash(h, buf);
        write_all(xfer[1], buf, sizeof buf);
    }
    close(xfer[1]);
    return (void *)(uintptr_t)h;
}

static void test_transfer(void)
{
    static uint64_t buf[CHUNK / 8];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < CHUNK / 8; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        pattern[i] = x * 0x2545f4914f6cdd1dULL;
    }
    CHECK_OK(pipe(xfer));
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, xfer_writer, NULL), 0);

    uint64_t h = 0xcbf29ce484222325ULL, total = 0, chunks = 0;
    size_t fill = 0, k = 0;
    static const size_t sizes[] = {65536, 1000, 32768, 4097, 65536, 12345};
    for (;;) {
        size_t want = sizes[k++ % 6];
        if (want > CHUNK - fill)
            want = CHUNK - fill;
        ssize_t n = read(xfer[0], (char *)buf + fill, want);
        CHECK(n >= 0);
        if (n == 0)
            break;
        fill += (size_t)n;
        total += (uint64_t)n;
        if (fill == CHUNK) {
            CHECK_EQ(buf[0], chunks);
            h = chunk_hash(h, buf);
            chunks++;
            fill = 0;
        }
    }
    void *wh;
    CHECK_EQ(pthread_join(th, &wh), 0);
    CHECK_EQ(fill, 0);
    CHECK_EQ(total, (uint64_t)CHUNK * CHUNKS);
    CHECK_EQ(chunks, CHUNKS);
    CHECK_EQ(h, (uint64_t)(uintptr_t)wh);
    close(xfer[0]);
    printf("transfer: ok\n");
}

/* ---- eventfd ----------------------------------------------------------- */

static int sem_fd;

static void *post_later(void *arg)
{
    (void)arg;
    sleep_ms(30);
    uint64_t one = 1;
    CHECK_EQ(write(sem_fd, &one, 8), 8);
    return NULL;
}

static void test_eventfd(void)
{
    uint64_t v;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    v = 3;
    CHECK_EQ(write(fd, &v, 8), 8);
    v = 4;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 7);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    /* Short buffers and the reserved value. */
    uint32_t small = 1;
    CHECK_ERR(write(fd, &small, 4), EINVAL);
    CHECK_ERR(read(fd, &small, 4), EINVAL);
    v = UINT64_MAX;
    CHECK_ERR(write(fd, &v, 8), EINVAL);
    /* The counter tops out at UINT64_MAX - 1: more is EAGAIN. */
    v = UINT64_MAX - 1;
    CHECK_EQ(write(fd, &v, 8), 8);
    v = 1;
    CHECK_ERR(write(fd, &v, 8), EAGAIN);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, UINT64_MAX - 1);
    /* Reading with a bigger buffer reads 8 bytes. */
    v = 5;
    CHECK_EQ(write(fd, &v, 8), 8);
    uint64_t big[2] = {0, 0};
    CHECK_EQ(read(fd, big, sizeof big), 8);
    CHECK_EQ(big[0], 5);
    close(fd);

    /* Initial value, counter mode. */
    fd = eventfd(9, EFD_NONBLOCK);
    CHECK(fd >= 0);
    CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 9);
    close(fd);

    /* Semaphore mode: each read takes 1. */
    fd = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(fd >= 0);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(read(fd, &v, 8), 8);
        CHECK_EQ(v, 1);
    }
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    v = 2;
    CHECK_EQ(write(fd, &v, 8), 8);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    close(fd);

    /* A blocking semaphore read is woken by another thread. */
    sem_fd = eventfd(0, EFD_SEMAPHORE);
    CHECK(sem_fd >= 0);
    pthread_t th;
    int64_t t0 = now_ns();
    CHECK_EQ(pthread_create(&th, NULL, post_later, NULL), 0);
    CHECK_EQ(read(sem_fd, &v, 8), 8);
    CHECK_EQ(v, 1);
    CHECK(now_ns() - t0 >= 25 * MS);
    CHECK_EQ(pthread_join(th, NULL), 0);
    close(sem_fd);

    CHECK_ERR(eventfd(0, 0x1234), EINVAL);
    printf("eventfd: ok\n");
}

/* ---- poll / ppoll ------------------------------------------------------ */

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static int wake_fd;

static void *write_later(void *arg)
{
    (void)arg;
    sleep_ms(30);
    CHECK_EQ(write(wake_fd, "w", 1), 1);
    return NULL;
}

static void test_poll(void)
{
    int p[2];
    struct pollfd f[4];
    CHECK_OK(pipe(p));

    /* Empty pipe: the read end is not ready, the write end is. */
    f[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
    f[1] = (struct pollfd){.fd = p[1], .events = POLLOUT};
    CHECK_EQ(poll(f, 2, 0), 1);
    CHECK_EQ(f[0].revents, 0);
    CHECK_EQ(f[1].revents, POLLOUT);

    /* Data: readable. */
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_EQ(poll(f, 2, 0), 2);
    CHECK_EQ(f[0].revents, POLLIN);

    /* Negative fds are ignored, closed ones are POLLNVAL. */
    int spare = dup(p[0]);
    close(spare);
    f[2] = (struct pollfd){.fd = -1, .events = POLLIN, .revents = 123};
    f[3] = (struct pollfd){.fd = spare, .events = POLLIN};
    CHECK_EQ(poll(f, 4, 0), 3);
    CHECK_EQ(f[2].revents, 0);
    CHECK_EQ(f[3].revents, POLLNVAL);

    /* Writer gone: data then POLLHUP. */
    close(p[1]);
    CHECK_EQ(poll(f, 1, 0), 1);
    CHECK_EQ(f[0].revents, POLLIN | POLLHUP);
    char buf[8];
    CHECK_EQ(read(p[0], buf, sizeof buf), 2);
    CHECK_EQ(poll(f, 1, 0), 1);
    CHECK_EQ(f[0].revents, POLLHUP);
    close(p[0]);

    /* Reader gone: the write end reports POLLERR. */
    CHECK_OK(pipe(p));
    close(p[0]);
    f[1] = (struct pollfd){.fd = p[1], .events = POLLOUT};
    CHECK_EQ(poll(&f[1], 1, 0), 1);
    CHECK(f[1].revents & POLLERR);
    close(p[1]);

    /* Timeout on an empty pipe. */
    CHECK_OK(pipe(p));
    f[0] = (struct pollfd){.fd = p[0], .events = POLLIN};
    int64_t t0 = now_ns();
    CHECK_EQ(poll(f, 1, 50), 0);
    CHECK(now_ns() - t0 >= 50 * MS);

    /* Blocked in poll until another thread writes. */
    pthread_t th;
    wake_fd = p[1];
    t0 = now_ns();
    CHECK_EQ(pthread_create(&th, NULL, write_later, NULL), 0);
    CHECK_EQ(poll(f, 1, 10000), 1);
    CHECK_EQ(f[0].revents, POLLIN);
    CHECK(now_ns() - t0 >= 25 * MS);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* eventfd: always writable, readable when non-zero. */
    int efd = eventfd(0, EFD_NONBLOCK);
    CHECK(efd >= 0);
    f[1] = (struct pollfd){.fd = efd, .events = POLLIN | POLLOUT};
    CHECK_EQ(poll(&f[1], 1, 0), 1);
    CHECK_EQ(f[1].revents, POLLOUT);
    uint64_t v = 1;
    CHECK_EQ(write(efd, &v, 8), 8);
    CHECK_EQ(poll(&f[1], 1, 0), 1);
    CHECK_EQ(f[1].revents, POLLIN | POLLOUT);

    /* ppoll: a timespec timeout, and a mask that lets a pending signal in. */
    struct timespec ts = {0, 30 * MS};
    t0 = now_ns();
    CHECK_EQ(ppoll(f, 1, &ts, NULL), 0);
    CHECK(now_ns() - t0 >= 30 * MS);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    sigset_t block, old, during, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &block, &old));
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(usr1_count, 0);
    sigemptyset(&during);
    ts = (struct timespec){5, 0};
    t0 = now_ns();
    CHECK_ERR(ppoll(f, 1, &ts, &during), EINTR);
    CHECK(now_ns() - t0 < 4000 * MS);
    CHECK_EQ(usr1_count, 1);
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &after));
    CHECK(sigismember(&after, SIGUSR1)); /* the old mask is back */
    /* With the signal still blocked, ppoll just reports readiness. */
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(ppoll(&f[1], 1, &ts, &after), 1);
    CHECK_EQ(usr1_count, 1);
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(usr1_count, 2);

    /* More fds than RLIMIT_NOFILE allows is EINVAL. */
    CHECK_ERR(syscall(SYS_poll, f, 0x7fffffffUL, 0), EINVAL);
    close(efd);
    close(p[0]);
    close(p[1]);
    signal(SIGUSR1, SIG_DFL);
    printf("poll: ok\n");
}

/* ---- select / pselect -------------------------------------------------- */

static void test_select(void)
{
    int p[2];
    fd_set r, w;
    CHECK_OK(pipe(p));
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;

    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 1);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK(FD_ISSET(p[1], &w));

    CHECK_EQ(write(p[1], "x", 1), 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    CHECK_EQ(select(nfds, &r, &w, NULL, NULL), 2);
    CHECK(FD_ISSET(p[0], &r));
    CHECK(FD_ISSET(p[1], &w));
    char c;
    CHECK_EQ(read(p[0], &c, 1), 1);

    /* Timeout: returns 0, clears the set, and Linux updates the timeval
     * (the raw system call: musl's select() passes a copy). */
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv = (struct timeval){0, 50000};
    int64_t t0 = now_ns();
    CHECK_EQ(syscall(SYS_select, nfds, &r, NULL, NULL, &tv), 0);
    CHECK(now_ns() - t0 >= 50 * MS);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK_EQ(tv.tv_sec, 0);
    CHECK_EQ(tv.tv_usec, 0);

    /* Woken by another thread. */
    pthread_t th;
    wake_fd = p[1];
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv = (struct timeval){10, 0};
    CHECK_EQ(pthread_create(&th, NULL, write_later, NULL), 0);
    CHECK_EQ(syscall(SYS_select, nfds, &r, NULL, NULL, &tv), 1);
    CHECK(FD_ISSET(p[0], &r));
    CHECK(tv.tv_sec < 10); /* time spent was taken off */
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(read(p[0], &c, 1), 1);

    /* A closed fd in a set is EBADF. */
    int spare = dup(p[0]);
    close(spare);
    FD_ZERO(&r);
    FD_SET(spare, &r);
    tv = (struct timeval){0, 0};
    CHECK_ERR(select(spare + 1, &r, NULL, NULL, &tv), EBADF);
    tv = (struct timeval){0, -1};
    FD_ZERO(&r);
    CHECK_ERR(select(nfds, &r, NULL, NULL, &tv), EINVAL);

    /* pselect: timespec timeout, and its signal mask. */
    struct timespec ts = {0, 30 * MS};
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    t0 = now_ns();
    CHECK_EQ(pselect(nfds, &r, NULL, NULL, &ts, NULL), 0);
    CHECK(now_ns() - t0 >= 30 * MS);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
    usr1_count = 0;
    sigset_t block, old, during, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK_OK(sigprocmask(SIG_BLOCK, &block, &old));
    CHECK_OK(raise(SIGUSR1));
    sigemptyset(&during);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    ts = (struct timespec){5, 0};
    t0 = now_ns();
    CHECK_ERR(pselect(nfds, &r, NULL, NULL, &ts, &during), EINTR);
    CHECK(now_ns() - t0 < 4000 * MS);
    CHECK_EQ(usr1_count, 1);
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &after));
    CHECK(sigismember(&after, SIGUSR1));
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));
    signal(SIGUSR1, SIG_DFL);
    close(p[0]);
    close(p[1]);
    printf("select: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_pipe2();
    test_pipe_buf_atomic();
    test_epipe();
    test_eof();
    test_transfer();
    test_eventfd();
    test_poll();
    test_select();
    printf("pipes: ok\n");
    return 0;
}
