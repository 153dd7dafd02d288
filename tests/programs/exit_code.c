/* exit_code.c: exits with atoi(argv[1]); no output. The harness checks 0, 1, 42, 255. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: exit_code N\n");
        return 2;
    }
    exit(atoi(argv[1]));
}
