/* monotonic_smp.c: CLOCK_MONOTONIC is monotonic across CPUs (the OSv #382
 * check).
 *
 * One thread per online CPU (at least two), each pinned to its CPU, reads
 * CLOCK_MONOTONIC 100,000 times. Per thread, no read is smaller than the
 * one before. Across threads, a shared maximum is published after each
 * read; a thread first loads the maximum, then reads the clock, and the
 * read must not be smaller than what it loaded: anything another CPU saw
 * before our read began must not be in our future. Prints
 * "monotonic_smp: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define READS 100000
#define MAX_THREADS 64

static uint64_t shared_max;
static volatile int go;
static int ncpu;

struct result {
    uint64_t first, last, back_self, back_shared;
    uint64_t worst_self, worst_shared;
    int pinned;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0) {
        fprintf(stderr, "clock_gettime failed (errno %d)\n", errno);
        exit(1);
    }
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void *reader(void *arg)
{
    long id = (long)(intptr_t)arg;
    struct result *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(id % ncpu, &set);
    r->pinned = sched_setaffinity(0, sizeof set, &set) == 0;
    __atomic_add_fetch(&go, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&go, __ATOMIC_SEQ_CST) >= 0)
        sched_yield(); /* start together */

    uint64_t prev = now_ns();
    r->first = prev;
    for (int i = 0; i < READS; i++) {
        uint64_t seen = __atomic_load_n(&shared_max, __ATOMIC_SEQ_CST);
        uint64_t t = now_ns();
        if (t < prev) {
            r->back_self++;
            if (prev - t > r->worst_self)
                r->worst_self = prev - t;
        }
        if (t < seen) {
            r->back_shared++;
            if (seen - t > r->worst_shared)
                r->worst_shared = seen - t;
        }
        uint64_t cur = __atomic_load_n(&shared_max, __ATOMIC_SEQ_CST);
        while (cur < t &&
               !__atomic_compare_exchange_n(&shared_max, &cur, t, 0, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
            ;
        prev = t;
    }
    r->last = prev;
    return r;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(n >= 1);
    ncpu = (int)n;
    int nthreads = ncpu < 2 ? 2 : ncpu > MAX_THREADS ? MAX_THREADS : ncpu;
    pthread_t th[MAX_THREADS];
    for (long i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, reader, (void *)(intptr_t)i), 0);
    while (__atomic_load_n(&go, __ATOMIC_SEQ_CST) < nthreads)
        sched_yield();
    __atomic_store_n(&go, -1, __ATOMIC_SEQ_CST);

    int bad = 0;
    for (int i = 0; i < nthreads; i++) {
        struct result *r;
        CHECK_EQ(pthread_join(th[i], (void **)&r), 0);
        CHECK(r->pinned);
        if (r->back_self || r->back_shared) {
            fprintf(stderr,
                    "thread %d: went back %llu times on its own (worst %llu ns), "
                    "%llu times behind another CPU (worst %llu ns)\n",
                    i, (unsigned long long)r->back_self, (unsigned long long)r->worst_self,
                    (unsigned long long)r->back_shared, (unsigned long long)r->worst_shared);
            bad = 1;
        }
        CHECK(r->last > r->first); /* the clock moved */
        free(r);
    }
    if (bad)
        return 1;
    printf("monotonic_smp: ok\n");
    return 0;
}
