/* timers.c: alarms, interval timers, timerfd, absolute sleeps, CPU times.
 *
 * alarm              alarm() returns the seconds left of the previous alarm,
 *                    alarm(0) cancels; SIGALRM arrives after >= 1 s
 * itimer_real        setitimer(ITIMER_REAL) periodic 20 ms: five SIGALRMs,
 *                    getitimer shows the interval and a value <= it, the
 *                    old value comes back from setitimer, zero disarms
 * timerfd            timerfd_create/settime/gettime/read: EAGAIN before
 *                    expiry, expiration counts, TFD_TIMER_ABSTIME, disarm,
 *                    EINVAL for a short read buffer, flags
 * clock_nanosleep    TIMER_ABSTIME on MONOTONIC and REALTIME wakes at or
 *                    after the target; a past target returns at once; bad
 *                    arguments return EINVAL (as the return value)
 * times              times() moves with wall time in clock ticks, user+sys
 *                    ticks grow while spinning, _SC_CLK_TCK is 100
 * getrusage          RUSAGE_SELF and RUSAGE_THREAD CPU time grow while
 *                    spinning, maxrss is set, RUSAGE_CHILDREN is zero,
 *                    a bad `who` is EINVAL
 *
 * One "<section>: ok" line per section, then "timers: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000LL
#define SEC 1000000000LL

static int64_t now_ns(clockid_t c)
{
    struct timespec t;
    CHECK_OK(clock_gettime(c, &t));
    return (int64_t)t.tv_sec * SEC + t.tv_nsec;
}

static int64_t tv_ns(struct timeval tv) { return (int64_t)tv.tv_sec * SEC + tv.tv_usec * 1000LL; }
static int64_t ts_ns(struct timespec ts) { return (int64_t)ts.tv_sec * SEC + ts.tv_nsec; }

static struct timespec ns_ts(int64_t ns)
{
    struct timespec t = {(time_t)(ns / SEC), (long)(ns % SEC)};
    return t;
}

static void sleep_ms(long ms)
{
    struct timespec ts = ns_ts(ms * MS);
    nanosleep(&ts, NULL); /* may end early with EINTR: callers loop */
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void wait_alarms(int n, int64_t limit_ns)
{
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (alarms < n) {
        CHECK(now_ns(CLOCK_MONOTONIC) - t0 < limit_ns);
        sleep_ms(1);
    }
}

/* Burns `ms` of this thread's CPU time (bounded by 20 s of wall time, so a
 * CPU clock that never moves fails instead of hanging). */
static void spin_ms(long ms)
{
    int64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * MS;
    int64_t wall_end = now_ns(CLOCK_MONOTONIC) + 20 * SEC;
    volatile uint64_t x = 1;
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end) {
        CHECK(now_ns(CLOCK_MONOTONIC) < wall_end);
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005ULL + 1;
    }
}

static void test_alarm(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK_OK(sigaction(SIGALRM, &sa, NULL));

    CHECK_EQ(alarm(5), 0);
    CHECK_EQ(alarm(3), 5);  /* 4.99... rounds to 5 */
    CHECK_EQ(alarm(0), 3);
    CHECK_EQ(alarm(0), 0);
    CHECK_EQ(alarms, 0);

    alarms = 0;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_EQ(alarm(1), 0);
    wait_alarms(1, 10 * SEC);
    int64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(dt >= 1 * SEC);
    CHECK(dt < 10 * SEC);
    CHECK_EQ(alarm(0), 0); /* fired: nothing left */
    CHECK_EQ(alarms, 1);
    printf("alarm: ok\n");
}

static void test_itimer_real(void)
{
    struct itimerval it, old, cur;
    memset(&it, 0, sizeof it);
    alarms = 0;

    /* Nothing armed. */
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK_EQ(tv_ns(cur.it_value), 0);
    CHECK_EQ(tv_ns(cur.it_interval), 0);

    it.it_value.tv_usec = 20000;
    it.it_interval.tv_usec = 20000;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_OK(setitimer(ITIMER_REAL, &it, &old));
    CHECK_EQ(tv_ns(old.it_value), 0);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK_EQ(tv_ns(cur.it_interval), 20 * MS);
    CHECK(tv_ns(cur.it_value) > 0);
    CHECK(tv_ns(cur.it_value) <= 20 * MS);

    wait_alarms(5, 10 * SEC);
    int64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(dt >= 100 * MS);

    /* Re-arm with a long one-shot: the old value is the periodic timer. */
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = 100;
    CHECK_OK(setitimer(ITIMER_REAL, &it, &old));
    CHECK_EQ(tv_ns(old.it_interval), 20 * MS);
    CHECK(tv_ns(old.it_value) <= 20 * MS);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK_EQ(tv_ns(cur.it_interval), 0);
    CHECK(tv_ns(cur.it_value) > 99 * SEC);
    CHECK(tv_ns(cur.it_value) <= 100 * SEC);
    /* alarm() shares the timer. */
    CHECK_EQ(alarm(0), 100);
    CHECK_OK(getitimer(ITIMER_REAL, &cur));
    CHECK_EQ(tv_ns(cur.it_value), 0);

    /* Disarm with zero; no more signals. */
    it.it_value.tv_sec = 0;
    it.it_value.tv_usec = 10000;
    it.it_interval.tv_usec = 10000;
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    memset(&it, 0, sizeof it);
    CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
    int before = alarms;
    for (int i = 0; i < 40; i++)
        sleep_ms(1);
    CHECK(alarms <= before + 1); /* one may have been in flight */
    before = alarms;
    for (int i = 0; i < 40; i++)
        sleep_ms(1);
    CHECK_EQ(alarms, before);

    /* Bad arguments. */
    it.it_value.tv_usec = 1000000;
    CHECK_ERR(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
    CHECK_ERR(getitimer(17, &cur), EINVAL);
    printf("itimer_real: ok\n");
}

static uint64_t read_u64(int fd)
{
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    CHECK_EQ(n, 8);
    return v;
}

static void test_timerfd(void)
{
    uint64_t v;
    struct itimerspec its, cur, old;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK_ERR(read(fd, &v, sizeof v), EAGAIN); /* not armed */
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(ts_ns(cur.it_value), 0);

    /* 30 ms first, then every 10 ms. */
    memset(&its, 0, sizeof its);
    its.it_value = ns_ts(30 * MS);
    its.it_interval = ns_ts(10 * MS);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_OK(timerfd_settime(fd, 0, &its, &old));
    CHECK_EQ(ts_ns(old.it_value), 0);
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(ts_ns(cur.it_interval), 10 * MS);
    CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 30 * MS);
    if (now_ns(CLOCK_MONOTONIC) - t0 < 25 * MS)
        CHECK_ERR(read(fd, &v, sizeof v), EAGAIN);
    char small[4];
    CHECK_ERR(read(fd, small, sizeof small), EINVAL);

    /* A blocking read on a blocking timerfd waits for the first expiry. */
    int fl = fcntl(fd, F_GETFL);
    CHECK_OK(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
    v = read_u64(fd);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 30 * MS);
    CHECK(v >= 1);

    /* Expirations accumulate while nobody reads. */
    int64_t t1 = now_ns(CLOCK_MONOTONIC);
    while (now_ns(CLOCK_MONOTONIC) - t1 < 60 * MS)
        sleep_ms(5);
    v = read_u64(fd);
    CHECK(v >= 5);
    CHECK_OK(fcntl(fd, F_SETFL, fl));

    /* Disarm. */
    memset(&its, 0, sizeof its);
    CHECK_OK(timerfd_settime(fd, 0, &its, &old));
    CHECK_EQ(ts_ns(old.it_interval), 10 * MS);
    CHECK_OK(timerfd_gettime(fd, &cur));
    CHECK_EQ(ts_ns(cur.it_value), 0);
    CHECK_EQ(ts_ns(cur.it_interval), 0);
    CHECK_ERR(read(fd, &v, sizeof v), EAGAIN);

    /* Absolute time in the past on REALTIME: expires at once, once. */
    int rfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    CHECK(rfd >= 0);
    its.it_value = ns_ts(now_ns(CLOCK_REALTIME) - SEC);
    CHECK_OK(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &its, NULL));
    CHECK_EQ(read_u64(rfd), 1);
    CHECK_ERR(read(rfd, &v, sizeof v), EAGAIN);
    /* Absolute time 40 ms ahead on MONOTONIC. */
    int64_t target = now_ns(CLOCK_MONOTONIC) + 40 * MS;
    its.it_value = ns_ts(target);
    CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
    CHECK_OK(timerfd_gettime(fd, &cur)); /* gettime is always relative */
    CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 40 * MS);
    CHECK_OK(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
    CHECK_EQ(read_u64(fd), 1);
    CHECK(now_ns(CLOCK_MONOTONIC) >= target);

    /* Bad arguments. */
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x12345), EINVAL);
    CHECK_ERR(timerfd_create(12345, 0), EINVAL);
    its.it_value.tv_nsec = SEC;
    CHECK_ERR(timerfd_settime(fd, 0, &its, NULL), EINVAL);
    CHECK_ERR(timerfd_settime(1, 0, &its, NULL), EINVAL); /* not a timerfd */
    close(fd);
    close(rfd);
    printf("timerfd: ok\n");
}

static void test_clock_nanosleep(void)
{
    clockid_t clocks[2] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (int i = 0; i < 2; i++) {
        int64_t target = now_ns(clocks[i]) + 50 * MS;
        struct timespec t = ns_ts(target);
        int r;
        do
            r = clock_nanosleep(clocks[i], TIMER_ABSTIME, &t, NULL);
        while (r == EINTR);
        CHECK_EQ(r, 0);
        CHECK(now_ns(clocks[i]) >= target);
        CHECK(now_ns(clocks[i]) < target + 5 * SEC);

        /* A target in the past returns at once (1 ns after the clock's
         * zero: a VM's monotonic clock may be younger than a second). */
        t = (struct timespec){0, 1};
        int64_t t0 = now_ns(CLOCK_MONOTONIC);
        CHECK_EQ(clock_nanosleep(clocks[i], TIMER_ABSTIME, &t, NULL), 0);
        CHECK(now_ns(CLOCK_MONOTONIC) - t0 < SEC);
    }
    struct timespec bad = {0, SEC};
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &bad, NULL), EINVAL);
    bad.tv_nsec = -1;
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
    struct timespec ok = {0, 1000};
    CHECK_EQ(clock_nanosleep(12345, 0, &ok, NULL), EINVAL);
    printf("clock_nanosleep: ok\n");
}

static void test_times(void)
{
    struct tms a, b;
    CHECK_EQ(sysconf(_SC_CLK_TCK), 100);
    clock_t w0 = times(&a);
    CHECK(w0 != (clock_t)-1);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    spin_ms(150);
    sleep_ms(50);
    clock_t w1 = times(&b);
    int64_t elapsed_ticks = (now_ns(CLOCK_MONOTONIC) - t0) / (10 * MS);
    CHECK(w1 >= w0);
    /* Wall-clock ticks track CLOCK_MONOTONIC (one tick of rounding each side). */
    CHECK((int64_t)(w1 - w0) >= elapsed_ticks - 2);
    CHECK((int64_t)(w1 - w0) <= elapsed_ticks + 2);
    /* The spin shows as CPU time (give or take tick rounding). */
    clock_t cpu = (b.tms_utime + b.tms_stime) - (a.tms_utime + a.tms_stime);
    CHECK(cpu >= 12);
    CHECK(b.tms_utime >= a.tms_utime);
    CHECK(b.tms_stime >= a.tms_stime);
    CHECK_EQ(b.tms_cutime, 0);
    CHECK_EQ(b.tms_cstime, 0);
    CHECK(times(NULL) != (clock_t)-1);
    printf("times: ok\n");
}

static void test_getrusage(void)
{
    struct rusage a, b, th, ch;
    CHECK_OK(getrusage(RUSAGE_SELF, &a));
    spin_ms(150);
    CHECK_OK(getrusage(RUSAGE_SELF, &b));
    CHECK_OK(getrusage(RUSAGE_THREAD, &th));
    int64_t cpu_a = tv_ns(a.ru_utime) + tv_ns(a.ru_stime);
    int64_t cpu_b = tv_ns(b.ru_utime) + tv_ns(b.ru_stime);
    CHECK(cpu_b - cpu_a >= 130 * MS);
    CHECK(cpu_b - cpu_a < 60 * SEC);
    CHECK(tv_ns(th.ru_utime) + tv_ns(th.ru_stime) >= 130 * MS);
    CHECK(b.ru_utime.tv_usec >= 0 && b.ru_utime.tv_usec < 1000000);
    CHECK(b.ru_maxrss > 0);
    /* The process clock agrees with getrusage within a tick or two. */
    int64_t pc = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(pc >= cpu_b - 20 * MS);
    CHECK_OK(getrusage(RUSAGE_CHILDREN, &ch));
    CHECK_EQ(tv_ns(ch.ru_utime) + tv_ns(ch.ru_stime), 0);
    CHECK_ERR(getrusage(42, &ch), EINVAL);
    printf("getrusage: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_alarm();
    test_itimer_real();
    test_timerfd();
    test_clock_nanosleep();
    test_times();
    test_getrusage();
    printf("timers: ok\n");
    return 0;
}
