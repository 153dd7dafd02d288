/* getrandom.c: getrandom(2) fills buffers with fresh random bytes.
 * Output "getrandom: ok\n", exit 0.
 */
#define _GNU_SOURCE
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(void)
{
    unsigned char a[256], b[256], c[256];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(c, 0, sizeof c);
    CHECK_EQ(getrandom(a, sizeof a, 0), 256);
    CHECK_EQ(getrandom(b, sizeof b, 0), 256);
    CHECK(!all_zero(a, sizeof a));
    CHECK(!all_zero(b, sizeof b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK_EQ(getrandom(c, sizeof c, GRND_NONBLOCK), 256);
    CHECK(!all_zero(c, sizeof c));
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* Not every byte value can be the same 256 times over. */
    int distinct = 0;
    unsigned char seen[256] = {0};
    for (size_t i = 0; i < sizeof a; i++)
        if (!seen[a[i]]++)
            distinct++;
    CHECK(distinct > 64);
    /* The raw syscall agrees; a zero-length request returns 0. */
    CHECK_EQ(syscall(SYS_getrandom, c, 16, 0), 16);
    CHECK_EQ(syscall(SYS_getrandom, c, 0, 0), 0);
    /* A bad flag is EINVAL. */
    CHECK_ERR(syscall(SYS_getrandom, c, 16, 0x1000), EINVAL);
    printf("getrandom: ok\n");
    return 0;
}
