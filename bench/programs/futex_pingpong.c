/* futex_pingpong.c: futex round trip between two threads pinned to CPUs 0
 * and 1. The main thread sets the word to 1 and wakes the partner, the
 * partner sets it back to 0 and wakes the main thread; both sleep in
 * FUTEX_WAIT while it is not their turn. One op = one round trip (two
 * wake-ups, two sleeps). Prints ns_per_op, ops and pinned=1|0 (0 when
 * sched_setaffinity to CPU 0/1 failed, e.g. on a one-CPU machine). */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static volatile uint32_t word;
static volatile int stop;
static int pinned = 1;

static void futex_wait(uint32_t val)
{
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(void)
{
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        pinned = 0;
}

static void *partner(void *arg)
{
    (void)arg;
    pin(1);
    for (;;) {
        while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) != 1) {
            if (stop)
                return NULL;
            futex_wait(0);
        }
        __atomic_store_n(&word, 0, __ATOMIC_RELEASE);
        futex_wake();
    }
}

int main(void)
{
    pthread_t th;
    pin(0);
    BENCH_CHECK(pthread_create(&th, NULL, partner, NULL) == 0);
    BENCH_LOOP(64, {
        __atomic_store_n(&word, 1, __ATOMIC_RELEASE);
        futex_wake();
        while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) != 0)
            futex_wait(1);
    });
    stop = 1;
    __atomic_store_n(&word, 2, __ATOMIC_RELEASE);
    futex_wake();
    BENCH_CHECK(pthread_join(th, NULL) == 0);
    printf("pinned=%d\n", pinned);
    return 0;
}
