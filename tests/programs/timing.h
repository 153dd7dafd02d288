/* timing.h: monotonic time and sleeping for the in-VM test programs that
 * measure waits (epoll, pipes). */
#ifndef OXV_TIMING_H
#define OXV_TIMING_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define MS 1000000LL

/* CLOCK_MONOTONIC in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Sleeps the whole `ms`, resuming after signal handlers. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#endif
