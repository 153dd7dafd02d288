/* stdin_echo.c: copies stdin to stdout with raw read/write until EOF.
 *
 * Reads use a cycle of odd chunk sizes (1 byte up to 64 KiB + 1) so short
 * reads, partial buffers and large transfers are all exercised; writes loop
 * over short writes. Output is byte-exact stdin; nothing else. Exit 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char buf[65537];

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "%s:%d: write returned %zd (errno %d: %s)\n",
                    __FILE__, __LINE__, w, errno, strerror(errno));
            _exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

int main(void)
{
    static const size_t sizes[] = {1, 7, 13, 4093, 3, 65537, 511, 4097, 1021, 2};
    size_t i = 0;
    for (;;) {
        size_t want = sizes[i++ % (sizeof sizes / sizeof sizes[0])];
        ssize_t r = read(0, buf, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "%s:%d: read returned %zd (errno %d: %s)\n",
                    __FILE__, __LINE__, r, errno, strerror(errno));
            return 1;
        }
        if ((size_t)r > want) {
            fprintf(stderr, "%s:%d: read returned %zd > requested %zu\n",
                    __FILE__, __LINE__, r, want);
            return 1;
        }
        if (r == 0)
            return 0;
        write_all(buf, (size_t)r);
    }
}
