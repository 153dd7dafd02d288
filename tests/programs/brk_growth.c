/* brk_growth.c: the program break grows and shrinks, keeping contents.
 *
 * Uses the raw brk syscall (musl's sbrk/brk refuse to move the break), which
 * returns the new break on success and the old one on failure. Runs before
 * any stdio so the C library's own allocator does not share the break with
 * us, and puts the break back where it found it at the end.
 * Output "brk_growth: ok\n", exit 0.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

#define PG 4096ul

static uintptr_t sys_brk(uintptr_t addr)
{
    return (uintptr_t)syscall(SYS_brk, addr);
}

static unsigned char pattern(uintptr_t i)
{
    return (unsigned char)(i * 13 + (i >> 12));
}

int main(void)
{
    uintptr_t start = sys_brk(0);
    CHECK(start != 0);
    CHECK_EQ(sys_brk(0), start); /* query is stable */

    /* Grow by an unaligned 1 MiB + 123 bytes. */
    uintptr_t n1 = (1ul << 20) + 123;
    CHECK_EQ(sys_brk(start + n1), start + n1);
    CHECK_EQ(sys_brk(0), start + n1);
    unsigned char *base = (unsigned char *)start;
    for (uintptr_t i = 0; i < n1; i++)
        CHECK_EQ(base[i], 0); /* fresh break memory is zero */
    for (uintptr_t i = 0; i < n1; i++)
        base[i] = pattern(i);

    /* Grow again: old contents stay, new memory is zero. */
    uintptr_t n2 = 4ul << 20;
    CHECK_EQ(sys_brk(start + n2), start + n2);
    for (uintptr_t i = 0; i < n1; i++)
        CHECK_EQ(base[i], pattern(i));
    uintptr_t zero_from = (start + n1 + PG - 1) & ~(PG - 1);
    for (uintptr_t a = zero_from; a < start + n2; a += 509)
        CHECK_EQ(*(unsigned char *)a, 0);
    memset(base + n1, 0xee, n2 - n1);

    /* Shrink: the part below the new break keeps its contents. */
    uintptr_t n3 = 3 * PG + 5;
    CHECK_EQ(sys_brk(start + n3), start + n3);
    CHECK_EQ(sys_brk(0), start + n3);
    for (uintptr_t i = 0; i < n3; i++)
        CHECK_EQ(base[i], pattern(i));

    /* Grow back: pages that were released come back zero-filled. */
    CHECK_EQ(sys_brk(start + n2), start + n2);
    for (uintptr_t i = 0; i < n3; i++)
        CHECK_EQ(base[i], pattern(i));
    zero_from = (start + n3 + PG - 1) & ~(PG - 1);
    for (uintptr_t a = zero_from; a < start + n2; a += 4093)
        CHECK_EQ(*(unsigned char *)a, 0);

    /* A break below the start of the heap is refused: old break returned. */
    CHECK_EQ(sys_brk(start - (64ul << 20)), start + n2);
    /* An absurd break is refused too. */
    CHECK_EQ(sys_brk((uintptr_t)1 << 47), start + n2);
    CHECK_EQ(sys_brk(0), start + n2);

    /* Put it back. */
    CHECK_EQ(sys_brk(start), start);
    CHECK_EQ(sys_brk(0), start);

    /* malloc still works after all this. */
    char *m = malloc(100000);
    CHECK(m != NULL);
    memset(m, 1, 100000);
    free(m);
    printf("brk_growth: ok\n");
    return 0;
}
