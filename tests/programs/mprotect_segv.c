/* mprotect_segv.c: writing to a page made PROT_READ must kill with SIGSEGV.
 *
 * Prints "before fault\n" (flushed), then writes to the read-only page.
 * Expected: killed by SIGSEGV (exit 139), stdout "before fault\n" only.
 * Reaching the end is a failure (exit 1).
 */
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

int main(void)
{
    volatile unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != (void *)MAP_FAILED);
    p[100] = 1;
    CHECK_OK(mprotect((void *)p, 4096, PROT_READ));
    CHECK_EQ(p[100], 1);
    printf("before fault\n");
    fflush(stdout);
    p[100] = 2;
    fprintf(stderr, "%s:%d: write to a PROT_READ page did not fault\n", __FILE__, __LINE__);
    return 1;
}
