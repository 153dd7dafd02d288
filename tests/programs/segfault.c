/* segfault.c: a store to address 0 must kill with SIGSEGV (exit 139).
 * Prints "before fault\n" (flushed) first; reaching the end is a failure.
 */
#include <stdio.h>

int main(void)
{
    volatile int *volatile p = NULL;
    printf("before fault\n");
    fflush(stdout);
    *p = 42;
    fprintf(stderr, "segfault.c: store to NULL did not fault\n");
    return 1;
}
