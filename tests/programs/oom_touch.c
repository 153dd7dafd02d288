/* oom_touch.c: maps argv[1] MiB of anonymous memory and writes to every
 * page. In a VM with less RAM than that the kernel must end the program
 * as Linux's OOM killer does (SIGKILL, exit 137) at a fault inside the
 * mapping, not hang, panic or report a plain SIGSEGV.
 * Prints "mapped N MiB at 0xADDR\n" (flushed) first; "touched all" if it
 * survives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    size_t len = mib << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("oom_touch: mmap");
        return 1;
    }
    printf("mapped %zu MiB at %p\n", mib, (void *)p);
    fflush(stdout);
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1;
    printf("touched all\n");
    return 0;
}
