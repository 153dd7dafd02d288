/* divzero.c: integer division by zero must kill with SIGFPE (exit 136).
 * Prints "before fault\n" (flushed) first; reaching the end is a failure.
 */
#include <stdio.h>

int main(void)
{
    volatile int a = 1, b = 0;
    printf("before fault\n");
    fflush(stdout);
    volatile int c = a / b;
    fprintf(stderr, "divzero.c: 1 / 0 gave %d instead of SIGFPE\n", c);
    return 1;
}
