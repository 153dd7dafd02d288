/* abort.c: abort() must kill with SIGABRT (exit 134).
 * Prints "before abort\n" (flushed) first; reaching the end is a failure.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("before abort\n");
    fflush(stdout);
    abort();
}
