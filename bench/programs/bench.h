/* bench.h: the timing loop shared by the system benchmarks.
 *
 * BENCH_LOOP(batch, body) runs `body` in batches of `batch` until at least
 * BENCH_SECONDS (0.3 s) of CLOCK_MONOTONIC have passed, then prints
 * "ns_per_op=<float>" and "ops=<count>" on stdout. Each program adds its own
 * lines (e.g. "vdso=1"). Timing works the same natively and in the VM.
 */
#ifndef OXV_BENCH_H
#define OXV_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_SECONDS 0.3

static inline uint64_t bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

#define BENCH_LOOP(batch, body)                                                    \
    do {                                                                           \
        uint64_t ops_ = 0, t0_ = bench_now_ns(), t1_;                              \
        do {                                                                       \
            for (long i_ = 0; i_ < (batch); i_++) {                                \
                body;                                                              \
            }                                                                      \
            ops_ += (batch);                                                       \
            t1_ = bench_now_ns();                                                  \
        } while (t1_ - t0_ < (uint64_t)(BENCH_SECONDS * 1e9));                     \
        printf("ns_per_op=%.1f\nops=%llu\n", (double)(t1_ - t0_) / (double)ops_,   \
               (unsigned long long)ops_);                                          \
    } while (0)

#define BENCH_CHECK(cond)                                                          \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond);      \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

#endif
