/* ud2.c: an illegal instruction (ud2) must kill with SIGILL (exit 132).
 * Prints "before fault\n" (flushed) first; reaching the end is a failure.
 */
#include <stdio.h>

int main(void)
{
    printf("before fault\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    fprintf(stderr, "ud2.c: ud2 did not raise SIGILL\n");
    return 1;
}
