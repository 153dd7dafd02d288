/* vdso_clock.c: the vDSO (man 7 vdso) and the clocks read through it.
 *
 * auxv:      AT_SYSINFO_EHDR points at an ELF shared object.
 * symbols:   it exports __vdso_clock_gettime, __vdso_gettimeofday,
 *            __vdso_time, __vdso_getcpu (and the plain names) at version
 *            LINUX_2.6, found the way musl looks them up (program headers,
 *            DT_HASH, DT_VERSYM/DT_VERDEF); calling them directly works.
 * monotonic: MONOTONIC never goes back over many reads, and moves.
 * threads:   one thread pinned to each of up to 4 CPUs; sched_getcpu()
 *            reports the pinned CPU, and a MONOTONIC value read after
 *            seeing another CPU's value is never smaller.
 * realtime:  REALTIME is after 2020, time() agrees with it (within the
 *            second time() may lag on Linux), gettimeofday lies between
 *            two REALTIME reads.
 * getcpu:    sched_getcpu() and the vDSO's getcpu are valid and agree with
 *            the system call.
 * getres:    clock_getres of MONOTONIC/REALTIME is a small positive value.
 * fallback:  CPU-time clocks still work, an invalid clock id is EINVAL
 *            (through the vDSO function as well: -EINVAL).
 *
 * Output: one "<section>: ok" line each, then "vdso_clock: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int64_t ns_of(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t now(clockid_t c)
{
    struct timespec t;
    CHECK_EQ(clock_gettime(c, &t), 0);
    CHECK(t.tv_nsec >= 0 && t.tv_nsec < 1000000000);
    return ns_of(&t);
}

/* ---- symbol lookup, as musl's src/internal/vdso.c does it ---- */

static const ElfW(Ehdr) *vdso_ehdr;

static int checkver(const ElfW(Verdef) *def, int vsym, const char *vername,
                    const char *strings)
{
    vsym &= 0x7fff;
    for (;;) {
        if (!(def->vd_flags & VER_FLG_BASE) && (def->vd_ndx & 0x7fff) == vsym)
            break;
        if (def->vd_next == 0)
            return 0;
        def = (const ElfW(Verdef) *)((const char *)def + def->vd_next);
    }
    const ElfW(Verdaux) *aux =
        (const ElfW(Verdaux) *)((const char *)def + def->vd_aux);
    return !strcmp(vername, strings + aux->vda_name);
}

static void *vdso_sym(const char *vername, const char *name)
{
    const ElfW(Ehdr) *eh = vdso_ehdr;
    const ElfW(Phdr) *ph = (const void *)((const char *)eh + eh->e_phoff);
    size_t base = (size_t)-1;
    const ElfW(Dyn) *dyn = 0;
    for (int i = 0; i < eh->e_phnum; i++, ph = (const void *)((const char *)ph + eh->e_phentsize)) {
        if (ph->p_type == PT_LOAD)
            base = (size_t)eh + ph->p_offset - ph->p_vaddr;
        else if (ph->p_type == PT_DYNAMIC)
            dyn = (const void *)((const char *)eh + ph->p_offset);
    }
    CHECK(dyn != 0 && base != (size_t)-1);
    const char *strings = 0;
    const ElfW(Sym) *syms = 0;
    const Elf32_Word *hashtab = 0;
    const ElfW(Half) *versym = 0;
    const ElfW(Verdef) *verdef = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        void *p = (void *)(base + dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_STRTAB: strings = p; break;
        case DT_SYMTAB: syms = p; break;
        case DT_HASH: hashtab = p; break;
        case DT_VERSYM: versym = p; break;
        case DT_VERDEF: verdef = p; break;
        }
    }
    CHECK(strings && syms && hashtab);
    CHECK(versym && verdef); /* Linux's vDSO is versioned */
    for (size_t i = 0; i < hashtab[1]; i++) {
        if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC)
            continue;
        if (!syms[i].st_shndx || strcmp(name, strings + syms[i].st_name))
            continue;
        if (!checkver(verdef, versym[i], vername, strings))
            continue;
        return (void *)(base + syms[i].st_value);
    }
    return 0;
}

typedef int (*cgt_fn)(clockid_t, struct timespec *);
typedef int (*gtod_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef int (*getcpu_fn)(unsigned *, unsigned *, void *);

/* ---- threads on several CPUs ---- */

#define MAX_THREADS 4
#define THREAD_ITERS 20000

static _Atomic int64_t latest;
static _Atomic int started;
static int nthreads;

struct worker {
    pthread_t th;
    int cpu;
    int64_t reads;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    CHECK_EQ(pthread_setaffinity_np(pthread_self(), sizeof set, &set), 0);
    CHECK_EQ(sched_getcpu(), w->cpu);
    atomic_fetch_add(&started, 1);
    while (atomic_load(&started) < nthreads)
        sched_yield();
    for (int i = 0; i < THREAD_ITERS; i++) {
        int64_t seen = atomic_load(&latest);
        int64_t t = now(CLOCK_MONOTONIC);
        if (t < seen) {
            fprintf(stderr, "cpu %d: MONOTONIC %lld after another CPU saw %lld\n",
                    w->cpu, (long long)t, (long long)seen);
            exit(1);
        }
        while (seen < t && !atomic_compare_exchange_weak(&latest, &seen, t))
            ;
        w->reads++;
    }
    CHECK_EQ(sched_getcpu(), w->cpu);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* auxv */
    vdso_ehdr = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
    CHECK(vdso_ehdr != 0);
    CHECK(!memcmp(vdso_ehdr->e_ident, ELFMAG, SELFMAG));
    CHECK_EQ(vdso_ehdr->e_ident[EI_CLASS], ELFCLASS64);
    CHECK_EQ(vdso_ehdr->e_type, ET_DYN);
    CHECK_EQ(vdso_ehdr->e_machine, EM_X86_64);
    printf("auxv: ok\n");

    /* symbols */
    cgt_fn cgt = (cgt_fn)vdso_sym("LINUX_2.6", "__vdso_clock_gettime");
    gtod_fn gtod = (gtod_fn)vdso_sym("LINUX_2.6", "__vdso_gettimeofday");
    time_fn tm = (time_fn)vdso_sym("LINUX_2.6", "__vdso_time");
    getcpu_fn gc = (getcpu_fn)vdso_sym("LINUX_2.6", "__vdso_getcpu");
    CHECK(cgt && gtod && tm && gc);
    CHECK((void *)cgt == vdso_sym("LINUX_2.6", "clock_gettime"));
    CHECK((void *)gtod == vdso_sym("LINUX_2.6", "gettimeofday"));
    CHECK((void *)tm == vdso_sym("LINUX_2.6", "time"));
    CHECK((void *)gc == vdso_sym("LINUX_2.6", "getcpu"));
    CHECK(vdso_sym("LINUX_2.5", "__vdso_clock_gettime") == 0);
    CHECK(vdso_sym("LINUX_2.6", "__vdso_no_such_function") == 0);
    {
        struct timespec a, b, c;
        CHECK_EQ(clock_gettime(CLOCK_MONOTONIC, &a), 0);
        CHECK_EQ(cgt(CLOCK_MONOTONIC, &b), 0);
        CHECK_EQ(clock_gettime(CLOCK_MONOTONIC, &c), 0);
        CHECK(ns_of(&a) <= ns_of(&b) && ns_of(&b) <= ns_of(&c));
        struct timeval tv;
        CHECK_EQ(gtod(&tv, 0), 0);
        CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
        time_t t1 = 0, t2 = tm(&t1);
        CHECK_EQ(t1, t2);
        CHECK(t2 >= tv.tv_sec - 1 && t2 <= tv.tv_sec + 1);
        unsigned cpu = 99999, node = 99999;
        CHECK_EQ(gc(&cpu, &node, 0), 0);
        CHECK(cpu < 4096 && node < 1024);
    }
    printf("symbols: ok\n");

    /* monotonic */
    {
        int64_t first = now(CLOCK_MONOTONIC), prev = first;
        for (int i = 0; i < 100000; i++) {
            int64_t t = now(CLOCK_MONOTONIC);
            CHECK(t >= prev);
            prev = t;
        }
        CHECK(prev > first);
        /* The other clocks the vDSO answers move along with it. */
        int64_t m = now(CLOCK_MONOTONIC);
        CHECK(now(CLOCK_BOOTTIME) >= m);
        CHECK(now(CLOCK_MONOTONIC_RAW) > 0);
        CHECK(now(CLOCK_MONOTONIC_COARSE) > 0);
        CHECK(now(CLOCK_REALTIME_COARSE) > now(CLOCK_MONOTONIC));
    }
    printf("monotonic: ok\n");

    /* threads */
    {
        cpu_set_t all;
        CHECK_EQ(sched_getaffinity(0, sizeof all, &all), 0);
        int cpus[MAX_THREADS];
        for (int c = 0; c < CPU_SETSIZE && nthreads < MAX_THREADS; c++)
            if (CPU_ISSET(c, &all))
                cpus[nthreads++] = c;
        CHECK(nthreads >= 1);
        struct worker w[MAX_THREADS];
        for (int i = 0; i < nthreads; i++) {
            w[i] = (struct worker){.cpu = cpus[i]};
            CHECK_EQ(pthread_create(&w[i].th, 0, worker_main, &w[i]), 0);
        }
        for (int i = 0; i < nthreads; i++) {
            CHECK_EQ(pthread_join(w[i].th, 0), 0);
            CHECK_EQ(w[i].reads, THREAD_ITERS);
        }
        CHECK(now(CLOCK_MONOTONIC) >= atomic_load(&latest));
    }
    printf("threads: ok\n");

    /* realtime */
    {
        int64_t r = now(CLOCK_REALTIME);
        CHECK(r > 1577836800ll * 1000000000); /* 2020-01-01 */
        time_t t0 = time(0);
        struct timespec ts;
        CHECK_EQ(clock_gettime(CLOCK_REALTIME, &ts), 0);
        time_t t1 = time(0);
        /* Linux's time() reads a coarse clock that may lag by a tick. */
        CHECK(t0 <= ts.tv_sec + 1 && ts.tv_sec <= t1 + 1);
        CHECK(t0 <= t1);
        for (int i = 0; i < 1000; i++) {
            int64_t a = now(CLOCK_REALTIME);
            struct timeval tv;
            struct timezone tz;
            CHECK_EQ(gettimeofday(&tv, &tz), 0);
            int64_t b = now(CLOCK_REALTIME);
            CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
            int64_t us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
            CHECK(a / 1000 <= us && us <= b / 1000);
        }
        struct timezone tz;
        CHECK_EQ(gtod(0, 0), 0);
        CHECK_EQ(gtod(0, &tz), 0);
        /* TAI is REALTIME plus a constant number of seconds (>= 0). */
        int64_t tai = now(CLOCK_TAI);
        CHECK(tai >= r);
    }
    printf("realtime: ok\n");

    /* getcpu */
    {
        long ncpu = sysconf(_SC_NPROCESSORS_CONF);
        CHECK(ncpu >= 1);
        for (int i = 0; i < 100; i++) {
            int c = sched_getcpu();
            CHECK(c >= 0 && c < ncpu);
        }
        unsigned cpu = 99999, node = 99999;
        CHECK_EQ(gc(&cpu, &node, 0), 0);
        CHECK(cpu < (unsigned)ncpu);
        /* Pinned, the vDSO and the system call must agree. */
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        CHECK_EQ(sched_setaffinity(0, sizeof one, &one), 0);
        unsigned scpu = 99999, snode = 99999, vcpu = 88888, vnode = 88888;
        CHECK_EQ(syscall(SYS_getcpu, &scpu, &snode, 0), 0);
        CHECK_EQ(gc(&vcpu, &vnode, 0), 0);
        CHECK_EQ(vcpu, scpu);
        CHECK_EQ(vnode, snode);
        CHECK_EQ(sched_getcpu(), (int)scpu);
        CHECK_EQ(gc(0, 0, 0), 0);
    }
    printf("getcpu: ok\n");

    /* getres */
    {
        struct timespec res;
        clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME,
                           CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_COARSE};
        for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            CHECK_EQ(clock_getres(ids[i], &res), 0);
            CHECK_EQ(res.tv_sec, 0);
            CHECK(res.tv_nsec > 0 && res.tv_nsec <= 100000000);
        }
        CHECK_EQ(clock_getres(CLOCK_MONOTONIC, 0), 0);
        CHECK_ERR(clock_getres(1000, &res), EINVAL);
    }
    printf("getres: ok\n");

    /* fallback */
    {
        int64_t c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        volatile uint64_t spin = 0;
        for (int i = 0; i < 2000000; i++)
            spin += i;
        CHECK(now(CLOCK_PROCESS_CPUTIME_ID) > c0);
        CHECK(now(CLOCK_THREAD_CPUTIME_ID) > 0);
        struct timespec ts;
        CHECK_ERR(clock_gettime(1000, &ts), EINVAL);
        CHECK_EQ(cgt(1000, &ts), -EINVAL);
        CHECK_EQ(cgt(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    }
    printf("fallback: ok\n");

    printf("vdso_clock: ok\n");
    return 0;
}
