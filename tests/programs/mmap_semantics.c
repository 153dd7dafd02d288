/* mmap_semantics.c: anonymous mmap/munmap/mprotect/mremap/madvise as Linux does them.
 *
 * Each section prints "<section>: ok" (line-buffered, so a crash shows how far
 * it got); the last line is "mmap_semantics: ok". Exit 0.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096ul
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static void check_bytes(const unsigned char *p, size_t n, unsigned char want, int line)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != want) {
            fprintf(stderr, "%s:%d: byte %zu at %p: expected 0x%02x, got 0x%02x\n",
                    __FILE__, line, i, (void *)(p + i), want, p[i]);
            exit(1);
        }
    }
}

static unsigned char *map(size_t len)
{
    void *p = mmap(NULL, len, RW, ANON, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK_EQ((uintptr_t)p % PG, 0);
    return p;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK_EQ(sysconf(_SC_PAGESIZE), PG);

    /* Fresh anonymous memory is zero-filled, writable and readable. */
    {
        unsigned char *p = map(16 * PG);
        check_bytes(p, 16 * PG, 0, __LINE__);
        memset(p, 0x5a, 16 * PG);
        check_bytes(p, 16 * PG, 0x5a, __LINE__);
        CHECK_OK(munmap(p, 16 * PG));
        printf("zero_fill: ok\n");
    }

    /* MAP_FIXED over an existing mapping replaces just that range with zeros. */
    {
        unsigned char *p = map(4 * PG);
        memset(p, 0xaa, 4 * PG);
        void *q = mmap(p + PG, 2 * PG, RW, ANON | MAP_FIXED, -1, 0);
        CHECK(q == p + PG);
        check_bytes(p, PG, 0xaa, __LINE__);
        check_bytes(p + PG, 2 * PG, 0, __LINE__);
        check_bytes(p + 3 * PG, PG, 0xaa, __LINE__);
        printf("map_fixed: ok\n");

        /* MAP_FIXED_NOREPLACE over a mapped page fails with EEXIST ... */
        errno = 0;
        void *r = mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(r == MAP_FAILED);
        CHECK_EQ(errno, EEXIST);
        /* ... also when it only partly overlaps ... */
        errno = 0;
        r = mmap(p + 3 * PG, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(r == MAP_FAILED);
        CHECK_EQ(errno, EEXIST);
        check_bytes(p + 3 * PG, PG, 0xaa, __LINE__);
        CHECK_OK(munmap(p, 4 * PG));
        /* ... and succeeds at exactly that address once the range is free. */
        r = mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(r == p + PG);
        check_bytes(r, PG, 0, __LINE__);
        CHECK_OK(munmap(r, PG));
        printf("map_fixed_noreplace: ok\n");
    }

    /* munmap of the middle page leaves a hole; the outer pages still work. */
    {
        unsigned char *p = map(3 * PG);
        memset(p, 0x11, 3 * PG);
        CHECK_OK(munmap(p + PG, PG));
        check_bytes(p, PG, 0x11, __LINE__);
        check_bytes(p + 2 * PG, PG, 0x11, __LINE__);
        memset(p, 0x22, PG);
        memset(p + 2 * PG, 0x33, PG);
        check_bytes(p, PG, 0x22, __LINE__);
        check_bytes(p + 2 * PG, PG, 0x33, __LINE__);
        /* The hole is really free: NOREPLACE can map exactly there. */
        void *h = mmap(p + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(h == p + PG);
        check_bytes(h, PG, 0, __LINE__);
        CHECK_OK(munmap(p, 3 * PG));
        printf("partial_munmap: ok\n");
    }

    /* MADV_DONTNEED on private anonymous memory zero-fills on next touch. */
    {
        unsigned char *p = map(4 * PG);
        memset(p, 0x77, 4 * PG);
        CHECK_OK(madvise(p + PG, 2 * PG, MADV_DONTNEED));
        check_bytes(p, PG, 0x77, __LINE__);
        check_bytes(p + PG, 2 * PG, 0, __LINE__);
        check_bytes(p + 3 * PG, PG, 0x77, __LINE__);
        CHECK_OK(madvise(p, 4 * PG, MADV_WILLNEED));
        CHECK_OK(madvise(p, 4 * PG, MADV_NORMAL));
        CHECK_OK(munmap(p, 4 * PG));
        printf("madv_dontneed: ok\n");
    }

    /* mremap: grow (may move), shrink in place, move to a fixed address. */
    {
        unsigned char *p = map(2 * PG);
        for (size_t i = 0; i < 2 * PG; i++)
            p[i] = (unsigned char)(i * 7);
        unsigned char *g = mremap(p, 2 * PG, 64 * PG, MREMAP_MAYMOVE);
        CHECK(g != MAP_FAILED);
        for (size_t i = 0; i < 2 * PG; i++)
            CHECK_EQ(g[i], (unsigned char)(i * 7));
        check_bytes(g + 2 * PG, 62 * PG, 0, __LINE__);
        memset(g + 2 * PG, 0x44, 62 * PG);

        unsigned char *s = mremap(g, 64 * PG, PG, 0);
        CHECK(s == g);
        for (size_t i = 0; i < PG; i++)
            CHECK_EQ(s[i], (unsigned char)(i * 7));
        /* The tail given back by the shrink is unmapped: NOREPLACE fits there. */
        void *t = mmap(g + PG, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(t == g + PG);
        CHECK_OK(munmap(t, PG));

        /* Move to a fixed destination reserved beforehand. */
        unsigned char *dst = map(8 * PG);
        unsigned char *m = mremap(s, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 4 * PG);
        CHECK(m == dst + 4 * PG);
        for (size_t i = 0; i < PG; i++)
            CHECK_EQ(m[i], (unsigned char)(i * 7));
        /* The old place is gone. */
        void *o = mmap(s, PG, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
        CHECK(o == s);
        CHECK_OK(munmap(o, PG));
        CHECK_OK(munmap(dst, 8 * PG));

        /* Without MREMAP_MAYMOVE a grow that does not fit fails with ENOMEM. */
        unsigned char *a = map(3 * PG);
        CHECK_OK(munmap(a + PG, PG)); /* page, hole, page */
        /* Growing the first page over the hole and the mapped third page fails. */
        errno = 0;
        CHECK(mremap(a, PG, 3 * PG, 0) == MAP_FAILED);
        CHECK_EQ(errno, ENOMEM);
        CHECK_OK(munmap(a, 3 * PG));
        printf("mremap: ok\n");
    }

    /* mprotect to read-only (reads still work) and back to read-write. */
    {
        unsigned char *p = map(2 * PG);
        memset(p, 0x66, 2 * PG);
        CHECK_OK(mprotect(p, 2 * PG, PROT_READ));
        check_bytes(p, 2 * PG, 0x66, __LINE__);
        CHECK_OK(mprotect(p, 2 * PG, RW));
        memset(p, 0x67, 2 * PG);
        check_bytes(p, 2 * PG, 0x67, __LINE__);
        /* Split protections: first page read-only, second writable. */
        CHECK_OK(mprotect(p, PG, PROT_READ));
        memset(p + PG, 0x68, PG);
        check_bytes(p, PG, 0x67, __LINE__);
        check_bytes(p + PG, PG, 0x68, __LINE__);
        CHECK_OK(mprotect(p, PG, PROT_NONE));
        CHECK_OK(mprotect(p, PG, RW));
        check_bytes(p, PG, 0x67, __LINE__);
        CHECK_OK(munmap(p, 2 * PG));
        printf("mprotect: ok\n");
    }

    /* Unmapping an already unmapped range is not an error. */
    {
        unsigned char *p = map(4 * PG);
        CHECK_OK(munmap(p, 4 * PG));
        CHECK_OK(munmap(p, 4 * PG));
        CHECK_OK(munmap(p + PG, PG));
        printf("munmap_unmapped: ok\n");
    }

    /* EINVAL for unaligned addresses and zero lengths. */
    {
        unsigned char *p = map(2 * PG);
        CHECK_ERR(munmap(p + 1, PG), EINVAL);
        /* Raw syscall: musl's mprotect wrapper rounds the address down. */
        CHECK_ERR(syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL);
        CHECK_ERR(madvise(p + 1, PG, MADV_DONTNEED), EINVAL);
        CHECK_ERR(munmap(p, 0), EINVAL);
        errno = 0;
        CHECK(mmap(p + 1, PG, RW, ANON | MAP_FIXED, -1, 0) == MAP_FAILED);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK(mmap(NULL, 0, RW, ANON, -1, 0) == MAP_FAILED);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK(mremap(p + 1, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
        CHECK_EQ(errno, EINVAL);
        /* A failed call changed nothing. */
        p[0] = 1;
        p[2 * PG - 1] = 2;
        CHECK_OK(munmap(p, 2 * PG));
        printf("einval: ok\n");
    }

    /* A length that is not a page multiple is rounded up. */
    {
        unsigned char *p = mmap(NULL, PG + 1, RW, ANON, -1, 0);
        CHECK(p != MAP_FAILED);
        check_bytes(p, 2 * PG, 0, __LINE__);
        p[2 * PG - 1] = 9;
        CHECK_OK(munmap(p, PG + 1));
        printf("round_up: ok\n");
    }

    /* 1 GiB MAP_NORESERVE: lazily backed, touching a few pages is cheap. */
    {
        size_t len = 1ul << 30;
        unsigned char *p = mmap(NULL, len, RW, ANON | MAP_NORESERVE, -1, 0);
        CHECK(p != MAP_FAILED);
        size_t offs[] = {0, PG, len / 3 & ~(PG - 1), len / 2, len - PG};
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            CHECK_EQ(p[offs[i]], 0);
            CHECK_EQ(p[offs[i] + PG - 1], 0);
            p[offs[i]] = (unsigned char)(i + 1);
            p[offs[i] + PG - 1] = (unsigned char)(i + 101);
        }
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            CHECK_EQ(p[offs[i]], i + 1);
            CHECK_EQ(p[offs[i] + PG - 1], i + 101);
        }
        CHECK_OK(munmap(p, len));
        printf("noreserve_1g: ok\n");
    }

    printf("mmap_semantics: ok\n");
    return 0;
}
