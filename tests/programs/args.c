/* args.c: prints the command line and the environment exactly as received.
 *
 * Output, one item per line:
 *   argc=N
 *   argv[0] basename=NAME      (only the basename: the path depends on the runner)
 *   argv[i]=<bytes>            for i >= 1
 *   env=<bytes>                for each environ entry, in order
 *   end
 * The harness passes arguments with spaces, empty strings and UTF-8, and
 * --env values, and compares the whole output. Exit 0.
 */
#include <stdio.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
    printf("argv[0] basename=%s\n", base ? base + 1 : (argv[0] ? argv[0] : "(null)"));
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    if (argv[argc] != NULL) {
        fprintf(stderr, "args.c: argv[argc] is not NULL\n");
        return 1;
    }
    for (char **e = environ; *e; e++)
        printf("env=%s\n", *e);
    printf("end\n");
    return 0;
}
