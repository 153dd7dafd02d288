/* epoll.c: the epoll interface.
 *
 * create       epoll_create1 flags (EPOLL_CLOEXEC, EINVAL), epoll_create size
 * ctl_errors   EEXIST, ENOENT, EBADF, EINVAL (self, non-epoll fd, bad op,
 *              EPOLLEXCLUSIVE with MOD), epoll_wait maxevents <= 0; closing
 *              the last reference to a file removes it from the set
 * level        level-triggered: reported on every wait while data is there;
 *              the cookie (data.u64) comes back
 * edge         EPOLLET: reported once per new arrival
 * oneshot      EPOLLONESHOT: reported once, then silent until EPOLL_CTL_MOD
 * exclusive    EPOLLEXCLUSIVE is accepted on ADD and reports as usual
 * pwait        epoll_pwait lets a pending signal in through its mask (EINTR,
 *              handler ran, old mask back)
 * pwait2       epoll_pwait2 (raw system call 441) with a timespec timeout:
 *              zero polls, 50 ms waits at least 50 ms, NULL blocks until ready
 * sources      eventfd, both ends of a pipe (EPOLLHUP, EPOLLERR), timerfd,
 *              signalfd, a nested epoll fd
 * wakeup       a thread blocked in epoll_wait is woken by a write from
 *              another thread; the timeout is honoured
 *
 * One "<section>: ok" line per section, then "epoll: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "timing.h"

#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE (1U << 28)
#endif
#define NR_epoll_pwait2 441

static int add(int ep, int fd, uint32_t events, uint64_t cookie)
{
    struct epoll_event ev = {.events = events, .data.u64 = cookie};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, uint32_t events, uint64_t cookie)
{
    struct epoll_event ev = {.events = events, .data.u64 = cookie};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* epoll_wait with timeout 0 that expects exactly one event. */
static uint32_t one_event(int ep, uint64_t cookie)
{
    struct epoll_event ev[4];
    memset(ev, 0, sizeof ev);
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 1);
    CHECK_EQ(ev[0].data.u64, cookie);
    return ev[0].events;
}

static void no_event(int ep)
{
    struct epoll_event ev[4];
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 0);
}

static void test_create(void)
{
    int ep = epoll_create1(0);
    CHECK(ep >= 0);
    CHECK_EQ(fcntl(ep, F_GETFD) & FD_CLOEXEC, 0);
    close(ep);
    ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    CHECK(fcntl(ep, F_GETFD) & FD_CLOEXEC);
    close(ep);
    CHECK_ERR(epoll_create1(0x1234), EINVAL);
    /* The raw system call: musl's epoll_create() ignores the size. */
    CHECK_ERR(syscall(SYS_epoll_create, 0), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_create, -1), EINVAL);
    ep = epoll_create(1);
    CHECK(ep >= 0);
    no_event(ep);
    close(ep);
    printf("create: ok\n");
}

static void test_ctl_errors(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 1));
    CHECK_ERR(add(ep, p[0], EPOLLIN, 1), EEXIST);
    CHECK_ERR(mod(ep, p[1], EPOLLOUT, 2), ENOENT);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
    CHECK_ERR(add(ep, ep, EPOLLIN, 3), EINVAL);        /* itself */
    CHECK_ERR(add(ep, 9999, EPOLLIN, 3), EBADF);       /* no such fd */
    CHECK_ERR(add(p[0], p[1], EPOLLOUT, 3), EINVAL);   /* not an epoll fd */
    CHECK_ERR(epoll_ctl(ep, 42, p[1], &ev), EINVAL);   /* bad op */
    CHECK_OK(add(ep, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 4));
    CHECK_ERR(mod(ep, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 4), EINVAL);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);

    struct epoll_event out[2];
    CHECK_ERR(epoll_wait(ep, out, 0, 0), EINVAL);
    CHECK_ERR(syscall(SYS_epoll_wait, ep, out, -1, 0), EINVAL);
    CHECK_ERR(epoll_wait(p[0], out, 2, 0), EINVAL);    /* not an epoll fd */
    CHECK_ERR(epoll_wait(9999, out, 2, 0), EBADF);

    /* Closing the only reference drops the registration. */
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(one_event(ep, 1), EPOLLIN);
    close(p[0]);
    no_event(ep);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF);
    /* ... but a dup keeps the file (and the registration) alive. */
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 5));
    int d = dup(p[0]);
    CHECK(d >= 0);
    close(p[0]);
    CHECK_EQ(write(p[1], "x", 1), 1);
    CHECK_EQ(one_event(ep, 5), EPOLLIN);
    close(d);
    no_event(ep);
    close(p[1]);
    close(ep);
    printf("ctl_errors: ok\n");
}

static void test_level(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    char buf[8];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 0x1122334455667788ULL));
    no_event(ep);
    CHECK_EQ(write(p[1], "abcd", 4), 4);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(one_event(ep, 0x1122334455667788ULL), EPOLLIN);
    CHECK_EQ(read(p[0], buf, 2), 2);
    CHECK_EQ(one_event(ep, 0x1122334455667788ULL), EPOLLIN); /* still data */
    CHECK_EQ(read(p[0], buf, 2), 2);
    no_event(ep);
    /* MOD changes the interest set and the cookie. */
    CHECK_OK(mod(ep, p[0], EPOLLIN | EPOLLOUT, 7));
    CHECK_EQ(write(p[1], "z", 1), 1);
    CHECK_EQ(one_event(ep, 7), EPOLLIN);
    /* Two ready fds come back in one call. */
    CHECK_OK(add(ep, p[1], EPOLLOUT, 8));
    struct epoll_event ev[4];
    CHECK_EQ(epoll_wait(ep, ev, 4, 0), 2);
    CHECK_EQ(ev[0].data.u64 + ev[1].data.u64, 15);
    /* maxevents 1 returns one at a time. */
    CHECK_EQ(epoll_wait(ep, ev, 1, 0), 1);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("level: ok\n");
}

static void test_edge(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    char buf[8];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN | EPOLLET, 9));
    no_event(ep);
    CHECK_EQ(write(p[1], "abcd", 4), 4);
    CHECK_EQ(one_event(ep, 9), EPOLLIN);
    no_event(ep); /* data is still there, but no new edge */
    CHECK_EQ(read(p[0], buf, 1), 1);
    no_event(ep);
    CHECK_EQ(write(p[1], "e", 1), 1); /* a new arrival is a new edge */
    CHECK_EQ(one_event(ep, 9), EPOLLIN);
    no_event(ep);
    CHECK_EQ(read(p[0], buf, sizeof buf), 4);
    no_event(ep);
    /* Switching to level-triggered with MOD reports the current state. */
    CHECK_EQ(write(p[1], "f", 1), 1);
    CHECK_EQ(one_event(ep, 9), EPOLLIN);
    no_event(ep);
    CHECK_OK(mod(ep, p[0], EPOLLIN, 9));
    CHECK_EQ(one_event(ep, 9), EPOLLIN);
    CHECK_EQ(one_event(ep, 9), EPOLLIN);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("edge: ok\n");
}

static void test_oneshot(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    char buf[8];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN | EPOLLONESHOT, 10));
    CHECK_EQ(write(p[1], "a", 1), 1);
    CHECK_EQ(one_event(ep, 10), EPOLLIN);
    no_event(ep);
    CHECK_EQ(write(p[1], "b", 1), 1);
    no_event(ep); /* disarmed */
    CHECK_OK(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 11));
    CHECK_EQ(one_event(ep, 11), EPOLLIN);
    no_event(ep);
    /* Still registered while disarmed. */
    CHECK_ERR(add(ep, p[0], EPOLLIN, 12), EEXIST);
    CHECK_EQ(read(p[0], buf, sizeof buf), 2);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("oneshot: ok\n");
}

static void test_exclusive(void)
{
    int ep = epoll_create1(0);
    int efd = eventfd(0, EFD_NONBLOCK);
    CHECK(ep >= 0);
    CHECK(efd >= 0);
    CHECK_OK(add(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 13));
    no_event(ep);
    uint64_t v = 1;
    CHECK_EQ(write(efd, &v, 8), 8);
    CHECK_EQ(one_event(ep, 13), EPOLLIN);
    close(efd);
    close(ep);
    printf("exclusive: ok\n");
}

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static void test_pwait(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    struct epoll_event ev[2];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 14));
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
    int64_t t0 = now_ns();
    CHECK_ERR(epoll_pwait(ep, ev, 2, 5000, &during), EINTR);
    CHECK(now_ns() - t0 < 4000 * MS);
    CHECK_EQ(usr1_count, 1);
    CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &after));
    CHECK(sigismember(&after, SIGUSR1));
    /* A NULL mask is plain epoll_wait. */
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(epoll_pwait(ep, ev, 2, 20, NULL), 0);
    CHECK_EQ(usr1_count, 1);
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(usr1_count, 2);
    signal(SIGUSR1, SIG_DFL);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("pwait: ok\n");
}

static void test_pwait2(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    struct epoll_event ev[2];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 15));
    struct timespec ts = {0, 0};
    CHECK_EQ(syscall(NR_epoll_pwait2, ep, ev, 2, &ts, NULL, 8), 0);
    ts.tv_nsec = 50 * MS;
    int64_t t0 = now_ns();
    CHECK_EQ(syscall(NR_epoll_pwait2, ep, ev, 2, &ts, NULL, 8), 0);
    CHECK(now_ns() - t0 >= 50 * MS);
    CHECK_EQ(write(p[1], "a", 1), 1);
    CHECK_EQ(syscall(NR_epoll_pwait2, ep, ev, 2, NULL, NULL, 8), 1);
    CHECK_EQ(ev[0].data.u64, 15);
    ts.tv_nsec = 1000000000;
    CHECK_ERR(syscall(NR_epoll_pwait2, ep, ev, 2, &ts, NULL, 8), EINVAL);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("pwait2: ok\n");
}

static void test_sources(void)
{
    int ep = epoll_create1(0);
    CHECK(ep >= 0);

    /* eventfd: writable always, readable when non-zero. */
    int efd = eventfd(0, EFD_NONBLOCK);
    CHECK_OK(add(ep, efd, EPOLLIN | EPOLLOUT, 20));
    CHECK_EQ(one_event(ep, 20), EPOLLOUT);
    uint64_t v = 3;
    CHECK_EQ(write(efd, &v, 8), 8);
    CHECK_EQ(one_event(ep, 20), EPOLLIN | EPOLLOUT);
    CHECK_EQ(read(efd, &v, 8), 8);
    CHECK_EQ(one_event(ep, 20), EPOLLOUT);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL));

    /* Pipe ends: POLLHUP for the reader, POLLERR for the writer. */
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 21));
    close(p[1]);
    CHECK_EQ(one_event(ep, 21), EPOLLHUP);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    close(p[0]);
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[1], EPOLLOUT, 22));
    CHECK_EQ(one_event(ep, 22), EPOLLOUT);
    close(p[0]);
    CHECK_EQ(one_event(ep, 22), EPOLLOUT | EPOLLERR);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    close(p[1]);

    /* timerfd: readable once it expires; epoll_wait blocks until then. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(tfd >= 0);
    CHECK_OK(add(ep, tfd, EPOLLIN, 23));
    no_event(ep);
    struct itimerspec its = {.it_value = {0, 30 * MS}};
    int64_t t0 = now_ns();
    CHECK_OK(timerfd_settime(tfd, 0, &its, NULL));
    struct epoll_event ev[4];
    CHECK_EQ(epoll_wait(ep, ev, 4, 5000), 1);
    CHECK(now_ns() - t0 >= 30 * MS);
    CHECK_EQ(ev[0].data.u64, 23);
    CHECK_EQ(ev[0].events, EPOLLIN);
    CHECK_EQ(read(tfd, &v, 8), 8);
    CHECK_EQ(v, 1);
    no_event(ep);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, tfd, NULL));
    close(tfd);

    /* signalfd: readable when a signal in its mask is pending. */
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    CHECK_OK(sigprocmask(SIG_BLOCK, &s, &old));
    int sfd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK(sfd >= 0);
    CHECK_OK(add(ep, sfd, EPOLLIN, 24));
    no_event(ep);
    CHECK_OK(raise(SIGUSR2));
    CHECK_EQ(one_event(ep, 24), EPOLLIN);
    struct signalfd_siginfo si;
    CHECK_EQ(read(sfd, &si, sizeof si), sizeof si);
    CHECK_EQ(si.ssi_signo, SIGUSR2);
    CHECK_EQ(si.ssi_pid, getpid());
    no_event(ep);
    CHECK_ERR(read(sfd, &si, sizeof si), EAGAIN);
    CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, sfd, NULL));
    close(sfd);
    CHECK_OK(sigprocmask(SIG_SETMASK, &old, NULL));

    /* A nested epoll fd is readable when the inner one has events. */
    int inner = epoll_create1(0);
    efd = eventfd(0, EFD_NONBLOCK);
    CHECK_OK(add(inner, efd, EPOLLIN, 25));
    CHECK_OK(add(ep, inner, EPOLLIN, 26));
    no_event(ep);
    v = 1;
    CHECK_EQ(write(efd, &v, 8), 8);
    CHECK_EQ(one_event(ep, 26), EPOLLIN);
    CHECK_EQ(one_event(inner, 25), EPOLLIN);
    CHECK_ERR(add(inner, ep, EPOLLIN, 27), ELOOP); /* would make a cycle */
    close(efd);
    close(inner);
    close(ep);
    printf("sources: ok\n");
}

static int wake_fd;

static void *write_later(void *arg)
{
    (void)arg;
    sleep_ms(30);
    CHECK_EQ(write(wake_fd, "w", 1), 1);
    return NULL;
}

static void test_wakeup(void)
{
    int ep = epoll_create1(0), p[2];
    CHECK(ep >= 0);
    struct epoll_event ev[2];
    CHECK_OK(pipe(p));
    CHECK_OK(add(ep, p[0], EPOLLIN, 30));
    int64_t t0 = now_ns();
    CHECK_EQ(epoll_wait(ep, ev, 2, 50), 0);
    CHECK(now_ns() - t0 >= 50 * MS);

    pthread_t th;
    wake_fd = p[1];
    t0 = now_ns();
    CHECK_EQ(pthread_create(&th, NULL, write_later, NULL), 0);
    CHECK_EQ(epoll_wait(ep, ev, 2, -1), 1);
    CHECK(now_ns() - t0 >= 25 * MS);
    CHECK_EQ(ev[0].data.u64, 30);
    CHECK_EQ(pthread_join(th, NULL), 0);
    close(p[0]);
    close(p[1]);
    close(ep);
    printf("wakeup: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_create();
    test_ctl_errors();
    test_level();
    test_edge();
    test_oneshot();
    test_exclusive();
    test_pwait();
    test_pwait2();
    test_sources();
    test_wakeup();
    printf("epoll: ok\n");
    return 0;
}
