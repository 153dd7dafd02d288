/* malloc_churn.c: malloc/free/realloc churn driven by a fixed-seed PRNG.
 *
 * 128 slots; each step frees, allocates or reallocs a random slot. Sizes are
 * 1..1 MiB, mostly small (large sizes exercise mmap-backed chunks). Every
 * block is filled with a pattern derived from its own seed and verified
 * before it is freed or after realloc (the common prefix must survive).
 * Also checks calloc zero-fills and alignment of 16. Output "malloc_churn: ok\n".
 */
#include <stdint.h>
#include <stdlib.h>
#include "check.h"

#define SLOTS 128
#define STEPS 4000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t random_size(void)
{
    uint64_t r = next();
    /* Mostly small; 1 in 64 up to 1 MiB (mmap-sized in both libcs). Kept
     * modest so the run stays quick under QEMU TCG. */
    switch (r % 64) {
    case 0:
        return 1 + (next() % (1 << 20));
    case 1: case 2: case 3: case 4:
        return 1 + (next() % 65536);
    default:
        return 1 + (next() % 512);
    }
}

struct slot {
    unsigned char *p;
    size_t size;
    uint8_t seed;
};

static void fill(struct slot *s)
{
    for (size_t i = 0; i < s->size; i++)
        s->p[i] = (uint8_t)(s->seed + i * 31 + (i >> 8));
}

static void verify(const struct slot *s, size_t upto, int line)
{
    for (size_t i = 0; i < upto; i++) {
        uint8_t want = (uint8_t)(s->seed + i * 31 + (i >> 8));
        if (s->p[i] != want) {
            fprintf(stderr, "%s:%d: block %p size %zu byte %zu: expected 0x%02x, got 0x%02x\n",
                    __FILE__, line, (void *)s->p, s->size, i, want, s->p[i]);
            exit(1);
        }
    }
}

int main(void)
{
    static struct slot slots[SLOTS];
    for (int step = 0; step < STEPS; step++) {
        struct slot *s = &slots[next() % SLOTS];
        uint64_t op = next() % 3;
        if (s->p && op == 0) {
            verify(s, s->size, __LINE__);
            free(s->p);
            s->p = NULL;
        } else if (s->p && op == 1) {
            size_t nsize = random_size();
            unsigned char *np = realloc(s->p, nsize);
            CHECK(np != NULL);
            s->p = np;
            verify(s, s->size < nsize ? s->size : nsize, __LINE__);
            s->size = nsize;
            fill(s);
        } else {
            if (s->p) {
                verify(s, s->size, __LINE__);
                free(s->p);
            }
            s->size = random_size();
            s->seed = (uint8_t)next();
            s->p = malloc(s->size);
            CHECK(s->p != NULL);
            CHECK_EQ((uintptr_t)s->p % 16, 0);
            fill(s);
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            verify(&slots[i], slots[i].size, __LINE__);
            free(slots[i].p);
        }
    }

    /* calloc must hand back zeroed memory even when it reuses freed blocks. */
    for (int round = 0; round < 8; round++) {
        size_t n = round < 4 ? 4000 : 300000;
        unsigned char *dirty = malloc(n);
        CHECK(dirty != NULL);
        memset(dirty, 0xa5, n);
        free(dirty);
        unsigned char *z = calloc(1, n);
        CHECK(z != NULL);
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(z[i], 0);
        free(z);
    }

    printf("malloc_churn: ok\n");
    return 0;
}
