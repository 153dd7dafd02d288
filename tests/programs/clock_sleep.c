/* clock_sleep.c: clocks and sleeps.
 *
 * MONOTONIC never goes back; nanosleep/clock_nanosleep of 50 ms take at least
 * 50 ms and (generously, TCG is slow) under 2 s; REALTIME is after
 * 2020-01-01; gettimeofday and time() agree with REALTIME within a second;
 * clock_getres works; the process CPU clock advances while spinning;
 * BOOTTIME is not behind MONOTONIC. Output is one "<section>: ok" line per
 * section and then "clock_sleep: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/time.h>
#include <time.h>
#include "check.h"

static int64_t ns(clockid_t c)
{
    struct timespec t;
    if (clock_gettime(c, &t) != 0) {
        fprintf(stderr, "%s:%d: clock_gettime(%d) failed (errno %d)\n",
                __FILE__, __LINE__, (int)c, errno);
        exit(1);
    }
    if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000) {
        fprintf(stderr, "%s:%d: clock %d: tv_nsec %ld out of range\n",
                __FILE__, __LINE__, (int)c, (long)t.tv_nsec);
        exit(1);
    }
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

#define MS 1000000ll

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* MONOTONIC is non-decreasing over many reads, and it moves. */
    {
        int64_t first = ns(CLOCK_MONOTONIC), prev = first;
        for (int i = 0; i < 20000; i++) {
            int64_t now = ns(CLOCK_MONOTONIC);
            if (now < prev) {
                fprintf(stderr, "%s:%d: CLOCK_MONOTONIC went back at read %d: %lld -> %lld\n",
                        __FILE__, __LINE__, i, (long long)prev, (long long)now);
                return 1;
            }
            prev = now;
        }
        CHECK(prev > first);
        printf("monotonic: ok\n");
    }

    /* nanosleep(50 ms). */
    {
        struct timespec req = {0, 50 * MS}, rem = {7, 7};
        int64_t t0 = ns(CLOCK_MONOTONIC);
        CHECK_OK(nanosleep(&req, &rem));
        int64_t dt = ns(CLOCK_MONOTONIC) - t0;
        CHECK(dt >= 50 * MS);
        CHECK(dt < 2000 * MS);
        printf("nanosleep: ok\n");
    }

    /* clock_nanosleep, relative and absolute. It returns the error number. */
    {
        struct timespec req = {0, 50 * MS};
        int64_t t0 = ns(CLOCK_MONOTONIC);
        CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0);
        int64_t dt = ns(CLOCK_MONOTONIC) - t0;
        CHECK(dt >= 50 * MS);
        CHECK(dt < 2000 * MS);

        struct timespec until;
        CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &until));
        t0 = (int64_t)until.tv_sec * 1000000000 + until.tv_nsec;
        until.tv_nsec += 50 * MS;
        if (until.tv_nsec >= 1000000000) {
            until.tv_nsec -= 1000000000;
            until.tv_sec++;
        }
        CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0);
        dt = ns(CLOCK_MONOTONIC) - t0;
        CHECK(dt >= 50 * MS);
        CHECK(dt < 2000 * MS);

        /* An absolute time in the past returns at once. */
        struct timespec past = {0, 1};
        t0 = ns(CLOCK_MONOTONIC);
        CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
        CHECK(ns(CLOCK_MONOTONIC) - t0 < 1000 * MS);

        /* A bad tv_nsec is EINVAL. */
        struct timespec bad = {0, 1000000000};
        CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
        CHECK_ERR(nanosleep(&bad, NULL), EINVAL);
        printf("clock_nanosleep: ok\n");
    }

    /* REALTIME is a plausible date; gettimeofday and time() agree with it. */
    {
        int64_t rt = ns(CLOCK_REALTIME);
        CHECK(rt / 1000000000 > 1577836800ll); /* 2020-01-01T00:00:00Z */
        struct timeval tv;
        CHECK_OK(gettimeofday(&tv, NULL));
        CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
        int64_t gtod = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
        CHECK(gtod - rt > -1000 * MS && gtod - rt < 1000 * MS);
        time_t t = time(NULL);
        CHECK((int64_t)t - rt / 1000000000 >= -1 && (int64_t)t - rt / 1000000000 <= 1);
        time_t t2 = 0;
        CHECK(time(&t2) != (time_t)-1);
        CHECK(t2 >= t);
        printf("realtime: ok\n");
    }

    /* clock_getres gives a sane resolution for the common clocks. */
    {
        clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                           CLOCK_PROCESS_CPUTIME_ID};
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            struct timespec res = {-1, -1};
            CHECK_OK(clock_getres(ids[i], &res));
            CHECK_EQ(res.tv_sec, 0);
            CHECK(res.tv_nsec > 0 && res.tv_nsec <= 10 * MS);
        }
        CHECK_OK(clock_getres(CLOCK_MONOTONIC, NULL));
        CHECK_ERR(clock_getres((clockid_t)12345, NULL), EINVAL);
        printf("clock_getres: ok\n");
    }

    /* The process CPU clock advances while we spin. */
    {
        int64_t c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
        int64_t t0 = ns(CLOCK_MONOTONIC);
        volatile uint64_t x = 1;
        int64_t c1 = c0;
        while (ns(CLOCK_MONOTONIC) - t0 < 1500 * MS) {
            for (int i = 0; i < 100000; i++)
                x = x * 6364136223846793005ull + 1;
            c1 = ns(CLOCK_PROCESS_CPUTIME_ID);
            if (c1 - c0 >= 5 * MS)
                break;
        }
        CHECK(c1 - c0 >= 5 * MS);
        int64_t th = ns(CLOCK_THREAD_CPUTIME_ID);
        CHECK(th > 0);
        printf("cputime: ok\n");
    }

    /* BOOTTIME is MONOTONIC plus time spent suspended: never behind it. */
    {
        int64_t mono = ns(CLOCK_MONOTONIC);
        int64_t boot = ns(CLOCK_BOOTTIME);
        CHECK(boot >= mono);
        int64_t coarse = ns(CLOCK_MONOTONIC_COARSE);
        CHECK(coarse > 0);
        printf("boottime: ok\n");
    }

    printf("clock_sleep: ok\n");
    return 0;
}
