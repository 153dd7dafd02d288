/* futex_edge.c: futex(2) corner cases, through the raw system call.
 *
 * wait_eagain   FUTEX_WAIT with a value that does not match is EAGAIN
 * wait_timeout  a relative timeout ends in ETIMEDOUT after at least that
 *               long; a bad timespec is EINVAL
 * wake_counts   FUTEX_WAKE wakes at most `val` waiters and returns how many
 *               (val 0 wakes one, as on Linux)
 * requeue       FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: woken + requeued counts,
 *               EAGAIN when the value changed, the requeued waiters wait on
 *               the second word
 * bitset        FUTEX_WAIT_BITSET with absolute CLOCK_MONOTONIC and
 *               (FUTEX_CLOCK_REALTIME) CLOCK_REALTIME timeouts; bitset 0 is
 *               EINVAL; FUTEX_WAKE_BITSET wakes only matching waiters
 * wake_op       FUTEX_WAKE_OP: the five operations with and without
 *               FUTEX_OP_OPARG_SHIFT, the six comparisons, and which waiters
 *               get woken
 * errors        misaligned address EINVAL, NULL EFAULT, unknown op ENOSYS,
 *               shared (non-private) futexes work too
 *
 * Waiters are threads. To know they are really asleep in the kernel, the
 * test counts them with FUTEX_CMP_REQUEUE of zero waiters onto a scratch word
 * and back (it returns how many it moved), instead of sleeping and hoping.
 *
 * One "<section>: ok" line per section, then "futex_edge: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* <linux/futex.h> values (musl-gcc has no kernel headers). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffU

#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP_CMP_LT 2
#define FUTEX_OP_CMP_LE 3
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP_CMP_GE 5
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))

#define P FUTEX_PRIVATE_FLAG
#define MS 1000000LL
#define SEC 1000000000LL

static long futex(volatile uint32_t *uaddr, int op, uint32_t val, const void *timeout_or_val2,
                  volatile uint32_t *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static int64_t now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * SEC + t.tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
    struct timespec t = {(time_t)(ns / SEC), (long)(ns % SEC)};
    return t;
}

static void sleep_ms(long ms)
{
    struct timespec ts = ns_ts(ms * MS);
    nanosleep(&ts, NULL);
}

/* ---- waiter threads ----------------------------------------------------- */

static volatile uint32_t scratch;

/* Number of threads asleep on `w` (private futex): move them all to the
 * scratch word and back. */
static long sleepers(volatile uint32_t *w)
{
    long n = futex(w, FUTEX_CMP_REQUEUE | P, 0, (void *)(uintptr_t)INT_MAX, &scratch, *w);
    CHECK(n >= 0);
    long back = futex(&scratch, FUTEX_CMP_REQUEUE | P, 0, (void *)(uintptr_t)INT_MAX, w, scratch);
    CHECK_EQ(back, n);
    return n;
}

/* Waits (up to 20 s) until exactly `n` threads sleep on `w`. */
static void await_sleepers(volatile uint32_t *w, long n)
{
    for (int i = 0; i < 20000; i++) {
        long s = sleepers(w);
        CHECK(s <= n);
        if (s == n)
            return;
        sleep_ms(1);
    }
    fprintf(stderr, "futex_edge: waiters never fell asleep\n");
    exit(1);
}

struct waiter {
    pthread_t th;
    volatile uint32_t *word;
    int op;
    uint32_t bitset;
    long result;
    int err;
    volatile int done;
};

static volatile int woken;

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    uint32_t expect = *w->word;
    w->result = futex(w->word, w->op, expect, NULL, NULL, w->bitset);
    w->err = errno;
    __atomic_add_fetch(&woken, 1, __ATOMIC_SEQ_CST);
    w->done = 1;
    return NULL;
}

static void start_waiters(struct waiter *ws, int n, volatile uint32_t *word, int op, uint32_t bitset)
{
    for (int i = 0; i < n; i++) {
        ws[i] = (struct waiter){.word = word, .op = op, .bitset = bitset};
        CHECK_EQ(pthread_create(&ws[i].th, NULL, waiter_main, &ws[i]), 0);
    }
}

static void await_woken(int n)
{
    for (int i = 0; i < 20000 && __atomic_load_n(&woken, __ATOMIC_SEQ_CST) < n; i++)
        sleep_ms(1);
    CHECK_EQ(__atomic_load_n(&woken, __ATOMIC_SEQ_CST), n);
}

static void join_waiters(struct waiter *ws, int n)
{
    for (int i = 0; i < n; i++) {
        CHECK_EQ(pthread_join(ws[i].th, NULL), 0);
        CHECK_EQ(ws[i].result, 0);
    }
    woken = 0;
}

/* ---- sections ---------------------------------------------------------- */

static void test_wait_eagain(void)
{
    volatile uint32_t w = 5;
    CHECK_ERR(futex(&w, FUTEX_WAIT | P, 4, NULL, NULL, 0), EAGAIN);
    CHECK_ERR(futex(&w, FUTEX_WAIT, 6, NULL, NULL, 0), EAGAIN);
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P, 0, NULL, NULL, FUTEX_BITSET_MATCH_ANY), EAGAIN);
    /* Nobody waits: WAKE returns 0. */
    CHECK_EQ(futex(&w, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 0);
    printf("wait_eagain: ok\n");
}

static void test_wait_timeout(void)
{
    volatile uint32_t w = 0;
    struct timespec ts = {0, 50 * MS};
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_ERR(futex(&w, FUTEX_WAIT | P, 0, &ts, NULL, 0), ETIMEDOUT);
    int64_t dt = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(dt >= 50 * MS);
    CHECK(dt < 10 * SEC);
    /* A zero timeout times out at once. */
    ts = (struct timespec){0, 0};
    CHECK_ERR(futex(&w, FUTEX_WAIT | P, 0, &ts, NULL, 0), ETIMEDOUT);
    /* Invalid timespecs. */
    ts = (struct timespec){0, SEC};
    CHECK_ERR(futex(&w, FUTEX_WAIT | P, 0, &ts, NULL, 0), EINVAL);
    ts = (struct timespec){-1, 0};
    CHECK_ERR(futex(&w, FUTEX_WAIT | P, 0, &ts, NULL, 0), EINVAL);
    printf("wait_timeout: ok\n");
}

static void test_wake_counts(void)
{
    static volatile uint32_t w;
    struct waiter ws[4];
    w = 0;
    start_waiters(ws, 4, &w, FUTEX_WAIT | P, 0);
    await_sleepers(&w, 4);
    CHECK_EQ(futex(&w, FUTEX_WAKE | P, 1, NULL, NULL, 0), 1);
    await_woken(1);
    CHECK_EQ(sleepers(&w), 3);
    CHECK_EQ(futex(&w, FUTEX_WAKE | P, 2, NULL, NULL, 0), 2);
    await_woken(3);
    CHECK_EQ(sleepers(&w), 1);
    /* Linux quirk: val 0 wakes one, like 1 (the count is checked after
     * each wake-up). */
    CHECK_EQ(futex(&w, FUTEX_WAKE | P, 0, NULL, NULL, 0), 1);
    await_woken(4);
    CHECK_EQ(futex(&w, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 0);
    join_waiters(ws, 4);
    printf("wake_counts: ok\n");
}

static void test_requeue(void)
{
    static volatile uint32_t a, b;
    struct waiter ws[5];
    a = 1;
    b = 2;
    start_waiters(ws, 5, &a, FUTEX_WAIT | P, 0);
    await_sleepers(&a, 5);

    /* CMP_REQUEUE with a stale value: nothing happens. */
    CHECK_ERR(futex(&a, FUTEX_CMP_REQUEUE | P, 1, (void *)2, &b, 7), EAGAIN);
    CHECK_EQ(sleepers(&a), 5);

    /* Wake 1, requeue 2 to b: returns woken + requeued. */
    CHECK_EQ(futex(&a, FUTEX_CMP_REQUEUE | P, 1, (void *)2, &b, 1), 3);
    await_woken(1);
    CHECK_EQ(sleepers(&a), 2);
    CHECK_EQ(sleepers(&b), 2);

    /* Plain REQUEUE (no compare): wake 0, move 1. */
    CHECK_EQ(futex(&a, FUTEX_REQUEUE | P, 0, (void *)1, &b, 0), 1);
    CHECK_EQ(sleepers(&a), 1);
    CHECK_EQ(sleepers(&b), 3);

    /* Waking a does not touch b's waiters, and vice versa. */
    CHECK_EQ(futex(&a, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 1);
    await_woken(2);
    CHECK_EQ(sleepers(&b), 3);
    CHECK_EQ(futex(&b, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 3);
    await_woken(5);
    join_waiters(ws, 5);
    printf("requeue: ok\n");
}

static void test_bitset(void)
{
    volatile uint32_t w = 0;
    /* Absolute CLOCK_MONOTONIC deadline. */
    int64_t target = now_ns(CLOCK_MONOTONIC) + 50 * MS;
    struct timespec ts = ns_ts(target);
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    CHECK(now_ns(CLOCK_MONOTONIC) >= target);
    /* Absolute CLOCK_REALTIME deadline. */
    target = now_ns(CLOCK_REALTIME) + 50 * MS;
    ts = ns_ts(target);
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P | FUTEX_CLOCK_REALTIME, 0, &ts, NULL,
                    FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT);
    CHECK(now_ns(CLOCK_REALTIME) >= target);
    /* A deadline in the past times out at once: 1 ns after the clock's
     * zero is in the past on any machine, even one whose monotonic clock
     * started less than a second ago. (A REALTIME time would be far in the
     * future on the monotonic clock, so this also checks the clock flag is
     * honoured.) */
    ts = (struct timespec){0, 1};
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
    ts = ns_ts(now_ns(CLOCK_REALTIME) - SEC);
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P | FUTEX_CLOCK_REALTIME, 0, &ts, NULL,
                    FUTEX_BITSET_MATCH_ANY),
              ETIMEDOUT);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 < SEC);
    /* bitset 0 is invalid for both. */
    CHECK_ERR(futex(&w, FUTEX_WAIT_BITSET | P, 0, NULL, NULL, 0), EINVAL);
    CHECK_ERR(futex(&w, FUTEX_WAKE_BITSET | P, 1, NULL, NULL, 0), EINVAL);
    /* FUTEX_CLOCK_REALTIME goes only with the waiting operations. */
    CHECK_ERR(futex(&w, FUTEX_WAKE | P | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0), ENOSYS);

    /* Wake by bitset: waiter 0 listens on bit 0, waiter 1 on bit 1. */
    static volatile uint32_t bw;
    struct waiter ws[2];
    bw = 0;
    start_waiters(ws, 1, &bw, FUTEX_WAIT_BITSET | P, 0x1);
    start_waiters(ws + 1, 1, &bw, FUTEX_WAIT_BITSET | P, 0x2);
    await_sleepers(&bw, 2);
    CHECK_EQ(futex(&bw, FUTEX_WAKE_BITSET | P, INT_MAX, NULL, NULL, 0x4), 0);
    CHECK_EQ(futex(&bw, FUTEX_WAKE_BITSET | P, INT_MAX, NULL, NULL, 0x2), 1);
    await_woken(1);
    CHECK(ws[1].done);
    CHECK(!ws[0].done);
    /* Plain FUTEX_WAKE matches every bitset. */
    CHECK_EQ(futex(&bw, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 1);
    await_woken(2);
    join_waiters(ws, 2);
    printf("bitset: ok\n");
}

/* One FUTEX_WAKE_OP with nobody waiting: returns 0, *w2 becomes `after`. */
static void op_case(uint32_t before, int op, int oparg, uint32_t after)
{
    volatile uint32_t w1 = 0, w2 = before;
    CHECK_EQ(futex(&w1, FUTEX_WAKE_OP | P, 1, (void *)1, &w2, FUTEX_OP(op, oparg, FUTEX_OP_CMP_EQ, 0)), 0);
    if (w2 != after) {
        fprintf(stderr, "FUTEX_WAKE_OP op %d oparg %d on %#x: got %#x, expected %#x\n", op, oparg,
                before, w2, after);
        exit(1);
    }
}

static void test_wake_op(void)
{
    op_case(0x50, FUTEX_OP_SET, 7, 7);
    op_case(0x50, FUTEX_OP_ADD, 7, 0x57);
    op_case(0x50, FUTEX_OP_OR, 0x7, 0x57);
    op_case(0x57, FUTEX_OP_ANDN, 0x7, 0x50);
    op_case(0x55, FUTEX_OP_XOR, 0xf, 0x5a);
    op_case(0x50, FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, 16);
    op_case(0x50, FUTEX_OP_ADD | FUTEX_OP_OPARG_SHIFT, 3, 0x58);
    op_case(0x50, FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 0, 0x51);
    op_case(0x5f, FUTEX_OP_ANDN | FUTEX_OP_OPARG_SHIFT, 1, 0x5d);
    op_case(0x50, FUTEX_OP_XOR | FUTEX_OP_OPARG_SHIFT, 4, 0x40);
    /* oparg is a signed 12-bit field: 0xfff is -1. */
    op_case(5, FUTEX_OP_ADD, 0xfff, 4);

    /* Waiters: one on w1, one on w2. Both woken when the old value of w2
     * compares true, only w1's otherwise. */
    static volatile uint32_t w1, w2;
    struct waiter ws[2];
    struct {
        int cmp, cmparg, w2_wakes;
    } cases[] = {
        {FUTEX_OP_CMP_EQ, 10, 1}, {FUTEX_OP_CMP_EQ, 11, 0}, {FUTEX_OP_CMP_NE, 11, 1},
        {FUTEX_OP_CMP_NE, 10, 0}, {FUTEX_OP_CMP_LT, 11, 1}, {FUTEX_OP_CMP_LT, 10, 0},
        {FUTEX_OP_CMP_LE, 10, 1}, {FUTEX_OP_CMP_LE, 9, 0},  {FUTEX_OP_CMP_GT, 9, 1},
        {FUTEX_OP_CMP_GT, 10, 0}, {FUTEX_OP_CMP_GE, 10, 1}, {FUTEX_OP_CMP_GE, 11, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        w1 = 0;
        w2 = 0;
        start_waiters(ws, 1, &w1, FUTEX_WAIT | P, 0);
        start_waiters(ws + 1, 1, &w2, FUTEX_WAIT | P, 0);
        await_sleepers(&w1, 1);
        await_sleepers(&w2, 1);
        /* The waiters checked w2 == 0 before sleeping; now set the "old"
         * value the comparison will see. */
        w2 = 10;
        long r = futex(&w1, FUTEX_WAKE_OP | P, 1, (void *)1, &w2,
                       FUTEX_OP(FUTEX_OP_ADD, 1, cases[i].cmp, cases[i].cmparg));
        CHECK_EQ(r, 1 + cases[i].w2_wakes);
        CHECK_EQ(w2, 11);
        await_woken((int)r);
        CHECK(ws[0].done);
        CHECK_EQ(ws[1].done, cases[i].w2_wakes);
        if (!cases[i].w2_wakes)
            CHECK_EQ(futex(&w2, FUTEX_WAKE | P, 1, NULL, NULL, 0), 1);
        await_woken(2);
        join_waiters(ws, 2);
    }
    /* nr_wake2 limits the second wake; nr_wake 0 wakes nobody on w1. */
    w1 = 0;
    w2 = 0;
    struct waiter many[3];
    start_waiters(many, 3, &w2, FUTEX_WAIT | P, 0);
    await_sleepers(&w2, 3);
    CHECK_EQ(futex(&w1, FUTEX_WAKE_OP | P, 0, (void *)2, &w2,
                   FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0)),
             2);
    await_woken(2);
    CHECK_EQ(futex(&w2, FUTEX_WAKE | P, INT_MAX, NULL, NULL, 0), 1);
    await_woken(3);
    join_waiters(many, 3);
    printf("wake_op: ok\n");
}

static void test_errors(void)
{
    static uint32_t words[4];
    volatile uint32_t *odd = (volatile uint32_t *)((char *)words + 2);
    CHECK_ERR(futex(odd, FUTEX_WAIT | P, 0, NULL, NULL, 0), EINVAL);
    CHECK_ERR(futex(odd, FUTEX_WAKE | P, 1, NULL, NULL, 0), EINVAL);
    CHECK_ERR(futex(NULL, FUTEX_WAIT | P, 0, NULL, NULL, 0), EFAULT);
    CHECK_ERR(futex(&words[0], 99 | P, 0, NULL, NULL, 0), ENOSYS);

    /* Shared (non-private) futexes between threads of one process. */
    static volatile uint32_t sw;
    struct waiter ws[2];
    sw = 0;
    start_waiters(ws, 2, &sw, FUTEX_WAIT, 0);
    /* Count shared sleepers with a shared requeue onto a shared scratch. */
    for (int i = 0; i < 20000; i++) {
        static volatile uint32_t s2;
        long n = futex(&sw, FUTEX_CMP_REQUEUE, 0, (void *)(uintptr_t)INT_MAX, &s2, sw);
        CHECK(n >= 0);
        CHECK_EQ(futex(&s2, FUTEX_CMP_REQUEUE, 0, (void *)(uintptr_t)INT_MAX, &sw, s2), n);
        if (n == 2)
            break;
        sleep_ms(1);
    }
    CHECK_EQ(futex(&sw, FUTEX_WAKE, INT_MAX, NULL, NULL, 0), 2);
    await_woken(2);
    join_waiters(ws, 2);
    printf("errors: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_wait_eagain();
    test_wait_timeout();
    test_wake_counts();
    test_requeue();
    test_bitset();
    test_wake_op();
    test_errors();
    printf("futex_edge: ok\n");
    return 0;
}
