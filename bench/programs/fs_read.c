/* fs_read: `cat FILE > /dev/null`, timed from inside, plus what the page
 * cache costs in memory (bench/src/fs.rs).
 *
 * Usage: fs_read FILE [--pressure]
 *
 * Prints key=value lines:
 *   memfree_before_kb      MemFree (/proc/meminfo) before reading
 *   read_bytes, read_ns    the read loop: read() 64 KiB, write() to /dev/null
 *   memfree_after_read_kb  MemFree after the whole file went through
 *   cached_kb              the Cached: line of /proc/meminfo
 * With --pressure (VM only: it drives free memory down to ~1-2 MiB):
 *   pressure_kb            anonymous memory touched (1 MiB at a time) until
 *                          MemFree < 2 MiB or mmap fails
 *   memfree_under_pressure_kb
 *   memfree_after_release_kb  MemFree once that memory is unmapped again:
 *                          above memfree_after_read_kb if the kernel gave
 *                          file cache back under the pressure
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A /proc/meminfo field in kB, or -1. */
static long meminfo(const char *key) {
    char buf[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    size_t k = strlen(key);
    for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == ':')
            return strtol(p + k + 1, NULL, 10);
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fs_read FILE [--pressure]\n");
        return 2;
    }
    int pressure = argc > 2 && strcmp(argv[2], "--pressure") == 0;
    static char buf[1 << 16];
    printf("memfree_before_kb=%ld\n", meminfo("MemFree"));
    int in = open(argv[1], O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    if (in < 0 || out < 0) {
        perror("open");
        return 1;
    }
    uint64_t total = 0, t0 = now_ns();
    for (;;) {
        long n = read(in, buf, sizeof buf);
        if (n < 0) {
            perror("read");
            return 1;
        }
        if (n == 0)
            break;
        if (write(out, buf, n) != n) {
            perror("write");
            return 1;
        }
        total += n;
    }
    uint64_t t1 = now_ns();
    close(in);
    close(out);
    printf("read_bytes=%llu\nread_ns=%llu\n", (unsigned long long)total,
           (unsigned long long)(t1 - t0));
    long after = meminfo("MemFree");
    printf("memfree_after_read_kb=%ld\ncached_kb=%ld\n", after, meminfo("Cached"));
    fflush(stdout);
    if (!pressure)
        return 0;

    enum { CHUNK = 1 << 20, MAX_CHUNKS = 1 << 14 };
    static void *chunks[MAX_CHUNKS];
    int n = 0;
    long low = after;
    while (n < MAX_CHUNKS) {
        long f = meminfo("MemFree");
        if (f >= 0 && f < 2048)
            break;
        void *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        memset(p, 1, CHUNK);
        chunks[n++] = p;
        low = meminfo("MemFree");
    }
    printf("pressure_kb=%d\nmemfree_under_pressure_kb=%ld\n", n * (CHUNK / 1024), low);
    for (int i = 0; i < n; i++)
        munmap(chunks[i], CHUNK);
    printf("memfree_after_release_kb=%ld\n", meminfo("MemFree"));
    return 0;
}
