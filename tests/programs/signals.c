/* signals.c: signal delivery and handlers.
 *
 * siginfo            SA_SIGINFO handler sees si_signo, si_code (SI_USER for
 *                    kill, SI_TKILL for tgkill), si_pid and si_uid
 * resethand          SA_RESETHAND: disposition is SIG_DFL inside and after
 *                    the first delivery
 * nodefer            without SA_NODEFER the signal is blocked in its handler
 *                    (a re-raise waits); with it the handler nests
 * sa_mask            sa_mask signals are blocked during the handler, the old
 *                    mask is back afterwards
 * thread_mask        masks are per thread and inherited by new threads; a
 *                    process-directed signal goes to the one thread that
 *                    does not block it
 * pthread_kill       a thread-directed signal runs on the target thread
 * sigpending         blocked signals stay pending (standard signals do not
 *                    queue); thread-directed pending is per thread
 * segv_longjmp       SIGSEGV handler (si_addr, SEGV_MAPERR/SEGV_ACCERR)
 *                    siglongjmps out; the saved mask is restored, so it
 *                    works repeatedly
 * ucontext_rip       a handler skips the faulting instruction through
 *                    uc_mcontext (REG_RIP) and sets its result register
 *                    (REG_RAX); same for ud2/SIGILL
 * altstack_overflow  stack overflow in a thread with a small stack is
 *                    caught by a handler running on that thread's
 *                    sigaltstack
 * sigfpe             integer division by zero: SIGFPE, FPE_INTDIV, si_addr
 *                    is the faulting instruction
 * raise_loop         raise() 1000 times runs the handler 1000 times
 *
 * One "<section>: ok" line per section, then "signals: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

static pid_t tid(void) { return (pid_t)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void set_action(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
                       const sigset_t *mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    CHECK_OK(sigaction(sig, &sa, NULL));
}

static int blocked_now(int sig)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

/* ---- siginfo ---------------------------------------------------------- */

static volatile sig_atomic_t info_count;
static volatile int info_signo, info_code, info_pid, info_uid;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    info_count++;
    info_signo = si->si_signo;
    info_code = si->si_code;
    info_pid = si->si_pid;
    info_uid = (int)si->si_uid;
    CHECK_EQ(sig, si->si_signo);
}

static void test_siginfo(void)
{
    set_action(SIGUSR1, info_handler, 0, NULL);

    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_EQ(info_count, 1);
    CHECK_EQ(info_signo, SIGUSR1);
    CHECK_EQ(info_code, SI_USER);
    CHECK_EQ(info_pid, getpid());
    CHECK_EQ(info_uid, getuid());

    CHECK_OK(syscall(SYS_tgkill, getpid(), tid(), SIGUSR1));
    CHECK_EQ(info_count, 2);
    CHECK_EQ(info_signo, SIGUSR1);
    CHECK_EQ(info_code, SI_TKILL);
    CHECK_EQ(info_pid, getpid());

    /* kill with signal 0 only checks; a bad signal number is EINVAL. */
    CHECK_OK(kill(getpid(), 0));
    CHECK_EQ(info_count, 2);
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    signal(SIGUSR1, SIG_DFL);
    printf("siginfo: ok\n");
}

/* ---- SA_RESETHAND ----------------------------------------------------- */

static volatile sig_atomic_t reset_count, reset_inside_dfl;

static void reset_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    struct sigaction cur;
    reset_count++;
    sigaction(sig, NULL, &cur);
    reset_inside_dfl = cur.sa_handler == SIG_DFL;
}

static void test_resethand(void)
{
    struct sigaction cur;
    set_action(SIGUSR2, reset_handler, SA_RESETHAND, NULL);
    CHECK_OK(sigaction(SIGUSR2, NULL, &cur));
    CHECK(cur.sa_sigaction == reset_handler);
    CHECK(cur.sa_flags & SA_RESETHAND);

    CHECK_OK(raise(SIGUSR2));
    CHECK_EQ(reset_count, 1);
    CHECK(reset_inside_dfl);
    CHECK_OK(sigaction(SIGUSR2, NULL, &cur));
    CHECK(cur.sa_handler == SIG_DFL);

    /* Ignored now would be fine too; restore a handler and check it sticks
     * without SA_RESETHAND. */
    set_action(SIGUSR2, reset_handler, 0, NULL);
    CHECK_OK(raise(SIGUSR2));
    CHECK_OK(raise(SIGUSR2));
    CHECK_EQ(reset_count, 3);
    CHECK_OK(sigaction(SIGUSR2, NULL, &cur));
    CHECK(cur.sa_sigaction == reset_handler);
    signal(SIGUSR2, SIG_DFL);
    printf("resethand: ok\n");
}

/* ---- SA_NODEFER ------------------------------------------------------- */

static volatile sig_atomic_t nd_depth, nd_max_depth, nd_count, nd_blocked_inside;

static void nodefer_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    nd_depth++;
    nd_count++;
    if (nd_depth > nd_max_depth)
        nd_max_depth = nd_depth;
    if (nd_count == 1) {
        nd_blocked_inside = blocked_now(sig);
        raise(sig); /* nests with SA_NODEFER, stays pending without */
    }
    nd_depth--;
}

static void test_nodefer(void)
{
    /* Default: the signal is blocked inside its own handler. */
    nd_depth = nd_max_depth = nd_count = 0;
    set_action(SIGUSR1, nodefer_handler, 0, NULL);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(nd_count, 2);
    CHECK_EQ(nd_max_depth, 1);
    CHECK_EQ(nd_blocked_inside, 1);
    CHECK_EQ(blocked_now(SIGUSR1), 0);

    /* SA_NODEFER: not blocked, the re-raise nests. */
    nd_depth = nd_max_depth = nd_count = 0;
    set_action(SIGUSR1, nodefer_handler, SA_NODEFER, NULL);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(nd_count, 2);
    CHECK_EQ(nd_max_depth, 2);
    CHECK_EQ(nd_blocked_inside, 0);
    CHECK_EQ(blocked_now(SIGUSR1), 0);
    signal(SIGUSR1, SIG_DFL);
    printf("nodefer: ok\n");
}

/* ---- sa_mask ---------------------------------------------------------- */

static volatile sig_atomic_t mask_usr2_blocked, mask_usr2_ran, mask_usr2_during;
static volatile sig_atomic_t in_usr1;

static void mask_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    in_usr1 = 1;
    mask_usr2_blocked = blocked_now(SIGUSR2);
    raise(SIGUSR2); /* blocked by sa_mask: runs after we return */
    in_usr1 = 0;
}

static void mask_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    mask_usr2_ran++;
    if (in_usr1)
        mask_usr2_during = 1;
}

static void test_sa_mask(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    set_action(SIGUSR1, mask_usr1, 0, &m);
    set_action(SIGUSR2, mask_usr2, 0, NULL);
    CHECK_OK(raise(SIGUSR1));
    CHECK_EQ(mask_usr2_blocked, 1);
    CHECK_EQ(mask_usr2_ran, 1);
    CHECK_EQ(mask_usr2_during, 0);
    CHECK_EQ(blocked_now(SIGUSR2), 0);
    CHECK_EQ(blocked_now(SIGUSR1), 0);

    /* SIGKILL and SIGSTOP cannot be caught or blocked. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    sigset_t all, cur;
    sigfillset(&all);
    CHECK_OK(pthread_sigmask(SIG_BLOCK, &all, NULL));
    CHECK_OK(pthread_sigmask(SIG_BLOCK, NULL, &cur));
    CHECK(!sigismember(&cur, SIGKILL));
    CHECK(!sigismember(&cur, SIGSTOP));
    sigemptyset(&all);
    CHECK_OK(pthread_sigmask(SIG_SETMASK, &all, NULL));
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    printf("sa_mask: ok\n");
}

/* ---- per-thread masks and thread-directed signals ---------------------- */

static volatile pid_t handled_on[8];
static volatile sig_atomic_t handled_n;

static void record_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int i = handled_n;
    if (i < 8)
        handled_on[i] = tid();
    handled_n = i + 1;
}

struct worker {
    pthread_t th;
    volatile pid_t tid;
    volatile int block_usr1;    /* block SIGUSR1 in this thread */
    volatile int saw_usr2_blocked; /* inherited mask had SIGUSR2 */
    volatile int ready;
    volatile int got;           /* handled_n value it waits for */
};

static volatile int workers_stop;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sigset_t s;
    w->tid = tid();
    w->saw_usr2_blocked = blocked_now(SIGUSR2);
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK_OK(pthread_sigmask(w->block_usr1 ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL));
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    CHECK_OK(pthread_sigmask(SIG_UNBLOCK, &s, NULL));
    w->ready = 1;
    while (!workers_stop)
        sleep_ms(1);
    return NULL;
}

static void wait_handled(int n)
{
    for (int i = 0; i < 10000 && handled_n < n; i++)
        sleep_ms(1);
    CHECK_EQ(handled_n, n);
}

static void test_thread_masks(void)
{
    struct worker w[3];
    sigset_t s, old;
    memset(w, 0, sizeof w);
    handled_n = 0;
    workers_stop = 0;
    set_action(SIGUSR1, record_handler, 0, NULL);
    set_action(SIGUSR2, record_handler, 0, NULL);

    /* The main thread blocks SIGUSR1 and SIGUSR2 while creating: new
     * threads inherit that mask. */
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    CHECK_OK(pthread_sigmask(SIG_BLOCK, &s, &old));
    w[0].block_usr1 = 1;
    w[1].block_usr1 = 0; /* the only thread that takes SIGUSR1 */
    w[2].block_usr1 = 1;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 3; i++) {
        while (!w[i].ready)
            sleep_ms(1);
        CHECK_EQ(w[i].saw_usr2_blocked, 1);
    }
    /* The workers' changes did not touch the main thread's mask. */
    CHECK_EQ(blocked_now(SIGUSR1), 1);
    CHECK_EQ(blocked_now(SIGUSR2), 1);

    /* Process-directed SIGUSR1: only w[1] can take it. */
    for (int round = 1; round <= 3; round++) {
        CHECK_OK(kill(getpid(), SIGUSR1));
        wait_handled(round);
        CHECK_EQ(handled_on[round - 1], w[1].tid);
    }
    printf("thread_mask: ok\n");

    /* pthread_kill runs the handler on exactly the target thread. */
    handled_n = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(pthread_kill(w[i].th, SIGUSR2), 0);
        wait_handled(i + 1);
        CHECK_EQ(handled_on[i], w[i].tid);
    }
    /* pthread_kill with signal 0 checks the thread exists. */
    CHECK_EQ(pthread_kill(w[0].th, 0), 0);
    printf("pthread_kill: ok\n");

    /* sigpending: a signal sent to w[0] (which blocks SIGUSR1) is pending
     * for w[0] only, not for the main thread. */
    handled_n = 0;
    CHECK_EQ(pthread_kill(w[0].th, SIGUSR1), 0);
    sleep_ms(20);
    CHECK_EQ(handled_n, 0);
    sigset_t pend;
    CHECK_OK(sigpending(&pend));
    CHECK(!sigismember(&pend, SIGUSR1));

    workers_stop = 1;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(pthread_join(w[i].th, NULL), 0);
    CHECK_EQ(handled_n, 0); /* died pending with w[0] */
    CHECK_OK(pthread_sigmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(handled_n, 0);

    /* Process-directed pending, standard signals do not queue. */
    CHECK_OK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_OK(sigpending(&pend));
    CHECK(sigismember(&pend, SIGUSR1));
    CHECK(!sigismember(&pend, SIGUSR2));
    CHECK_EQ(handled_n, 0);
    CHECK_OK(pthread_sigmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(handled_n, 1);
    CHECK_OK(sigpending(&pend));
    CHECK(!sigismember(&pend, SIGUSR1));

    /* Setting SIG_IGN discards a pending signal (POSIX sigaction). */
    CHECK_OK(pthread_sigmask(SIG_BLOCK, &s, NULL));
    CHECK_OK(raise(SIGUSR2));
    CHECK_OK(sigpending(&pend));
    CHECK(sigismember(&pend, SIGUSR2));
    signal(SIGUSR2, SIG_IGN);
    CHECK_OK(sigpending(&pend));
    CHECK(!sigismember(&pend, SIGUSR2));
    CHECK_OK(pthread_sigmask(SIG_SETMASK, &old, NULL));
    CHECK_EQ(handled_n, 1);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    printf("sigpending: ok\n");
}

/* ---- SIGSEGV + siglongjmp --------------------------------------------- */

static sigjmp_buf jump;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo;

static void jump_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_signo = sig;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(jump, 1);
}

static void test_segv_longjmp(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK_OK(mprotect(p, pg, PROT_READ));        /* first page read-only */
    CHECK_OK(munmap(p + pg, pg));                /* second page unmapped */
    set_action(SIGSEGV, jump_handler, 0, NULL);

    for (int round = 0; round < 3; round++) {
        volatile char *target = round == 1 ? p + pg + 123 : p + 77 + round;
        int expect_code = round == 1 ? SEGV_MAPERR : SEGV_ACCERR;
        fault_addr = NULL;
        if (sigsetjmp(jump, 1) == 0) {
            *target = 1;
            CHECK(!"store did not fault");
        }
        CHECK_EQ(fault_signo, SIGSEGV);
        CHECK(fault_addr == (void *)target);
        CHECK_EQ(fault_code, expect_code);
        CHECK_EQ(blocked_now(SIGSEGV), 0); /* restored by siglongjmp */
    }
    /* A read of NULL. */
    if (sigsetjmp(jump, 1) == 0) {
        volatile int *null = NULL;
        (void)*null;
        CHECK(!"load did not fault");
    }
    CHECK(fault_addr == NULL);
    CHECK_EQ(fault_code, SEGV_MAPERR);
    CHECK_EQ(p[0], 0);
    munmap(p, pg);
    signal(SIGSEGV, SIG_DFL);
    printf("segv_longjmp: ok\n");
}

/* ---- ucontext: skip the faulting instruction -------------------------- */

static volatile int fix_count;

static void fix_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    (void)si;
    fix_count++;
    if (sig == SIGSEGV) {
        /* movq (%rcx), %rax = 48 8b 01 */
        CHECK(ip[0] == 0x48 && ip[1] == 0x8b && ip[2] == 0x01);
        CHECK_EQ(uc->uc_mcontext.gregs[REG_RCX], 0x10);
        uc->uc_mcontext.gregs[REG_RAX] = 4242;
        uc->uc_mcontext.gregs[REG_RIP] += 3;
    } else {
        CHECK_EQ(sig, SIGILL);
        CHECK(ip[0] == 0x0f && ip[1] == 0x0b); /* ud2 */
        CHECK(si->si_addr == (void *)ip);
        CHECK_EQ(si->si_code, ILL_ILLOPN);
        uc->uc_mcontext.gregs[REG_RIP] += 2;
        uc->uc_mcontext.gregs[REG_RBX] = 77;
    }
}

static void test_ucontext_rip(void)
{
    set_action(SIGSEGV, fix_handler, 0, NULL);
    set_action(SIGILL, fix_handler, 0, NULL);
    for (int i = 0; i < 5; i++) {
        long out;
        __asm__ volatile("movq (%%rcx), %%rax" : "=a"(out) : "c"(0x10L) : "memory");
        CHECK_EQ(out, 4242);
    }
    long b = 0;
    __asm__ volatile("ud2" : "+b"(b) : : "memory");
    CHECK_EQ(b, 77);
    CHECK_EQ(fix_count, 6);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    printf("ucontext_rip: ok\n");
}

/* ---- stack overflow on a sigaltstack ---------------------------------- */

#define ALT_SIZE (64 * 1024)
static char *alt_base;
static volatile int on_alt, overflow_caught;
static sigjmp_buf overflow_jump;

static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
    char here;
    stack_t cur;
    (void)si;
    (void)uc;
    CHECK_EQ(sig, SIGSEGV);
    on_alt = &here >= alt_base && &here < alt_base + ALT_SIZE;
    sigaltstack(NULL, &cur);
    if (!(cur.ss_flags & SS_ONSTACK))
        on_alt = 0;
    overflow_caught++;
    siglongjmp(overflow_jump, 1);
}

static int recurse(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = (char)depth;
    if (depth > 1000000)
        return 0;
    return recurse(depth + 1) + frame[depth & 1023];
}

static void *overflow_thread(void *arg)
{
    stack_t ss = {.ss_sp = alt_base, .ss_size = ALT_SIZE, .ss_flags = 0}, cur;
    (void)arg;
    CHECK_OK(sigaltstack(&ss, NULL));
    CHECK_OK(sigaltstack(NULL, &cur));
    CHECK(cur.ss_sp == alt_base);
    CHECK_EQ(cur.ss_size, ALT_SIZE);
    CHECK_EQ(cur.ss_flags, 0);
    if (sigsetjmp(overflow_jump, 1) == 0) {
        recurse(0);
        CHECK(!"no overflow");
    }
    CHECK_OK(sigaltstack(NULL, &cur));
    CHECK_EQ(cur.ss_flags & SS_ONSTACK, 0); /* left the alternate stack */
    return (void *)1;
}

static void test_altstack_overflow(void)
{
    pthread_attr_t a;
    pthread_t th;
    void *ret = NULL;
    alt_base = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(alt_base != MAP_FAILED);
    set_action(SIGSEGV, overflow_handler, SA_ONSTACK, NULL);
    CHECK_EQ(pthread_attr_init(&a), 0);
    CHECK_EQ(pthread_attr_setstacksize(&a, 128 * 1024), 0);
    CHECK_EQ(pthread_attr_setguardsize(&a, 16 * 1024), 0);
    CHECK_EQ(pthread_create(&th, &a, overflow_thread, NULL), 0);
    CHECK_EQ(pthread_join(th, &ret), 0);
    CHECK(ret == (void *)1);
    CHECK_EQ(overflow_caught, 1);
    CHECK_EQ(on_alt, 1);
    signal(SIGSEGV, SIG_DFL);
    munmap(alt_base, ALT_SIZE);
    printf("altstack_overflow: ok\n");
}

/* ---- SIGFPE ----------------------------------------------------------- */

static volatile void *fpe_rip;

static void fpe_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    fault_signo = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    fpe_rip = (void *)uc->uc_mcontext.gregs[REG_RIP];
    siglongjmp(jump, 1);
}

static void test_sigfpe(void)
{
    volatile int num = 7, den = 0, result = 0;
    set_action(SIGFPE, fpe_handler, 0, NULL);
    for (int round = 0; round < 2; round++) {
        fault_signo = 0;
        if (sigsetjmp(jump, 1) == 0) {
            result = num / den;
            CHECK(!"division did not trap");
        }
        CHECK_EQ(fault_signo, SIGFPE);
        CHECK_EQ(fault_code, FPE_INTDIV);
        CHECK(fault_addr == fpe_rip);
        CHECK(fault_addr != NULL);
        CHECK_EQ(blocked_now(SIGFPE), 0);
    }
    CHECK_EQ(result, 0);
    signal(SIGFPE, SIG_DFL);
    printf("sigfpe: ok\n");
}

/* ---- raise in a loop -------------------------------------------------- */

static volatile sig_atomic_t loop_count;

static void loop_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    loop_count++;
}

static void test_raise_loop(void)
{
    set_action(SIGUSR1, loop_handler, 0, NULL);
    for (int i = 0; i < 1000; i++) {
        CHECK_OK(raise(SIGUSR1));
        CHECK_EQ(loop_count, i + 1);
    }
    signal(SIGUSR1, SIG_DFL);
    printf("raise_loop: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_siginfo();
    test_resethand();
    test_nodefer();
    test_sa_mask();
    test_thread_masks();
    test_segv_longjmp();
    test_ucontext_rip();
    test_altstack_overflow();
    test_sigfpe();
    test_raise_loop();
    printf("signals: ok\n");
    return 0;
}
