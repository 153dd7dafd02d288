/* The benchmark's "hello": one write and exit, as small as a C program gets. */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
