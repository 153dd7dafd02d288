/* fs_check.h: sections and arguments shared by the file-system test programs
 * (fs_basic.c, fs_links.c, fs_dirs.c, fs_special.c).
 *
 * Each program runs a list of independent sections. A section prints
 * `name: ok` when all its checks pass; the first failed check (the macros of
 * check.h) prints its `file:line: check failed: ...` line on stderr, ends
 * only that section with `name: FAILED` on stdout, and the program goes on
 * with the next one, so one run shows every broken area. The exit status is
 * 1 if any section failed.
 *
 * With FS_CHECK_ALL=1 in the environment a failed check does not end its
 * section: every failing check is reported (later ones may be consequences
 * of earlier ones). For surveying an implementation; the harness does not
 * set it.
 *
 * Arguments (the same for every program):
 *   DIR                 a writable, empty-or-scratch directory on a RAM file
 *                       system (the VM: /tmp; natively: a directory on tmpfs)
 *   --xdev DIR2         a writable directory on ANOTHER file system (EXDEV)
 *   --expect-rofs ROOT  ROOT is a read-only mount: check EROFS there (only the
 *                       VM harness passes it; natively the root is writable)
 *
 * Each section works in its own directory DIR/<section>, created fresh.
 *
 * The harness rebuilds a program when its .c file or check.h is newer than
 * the binary; touch the .c files after editing this header.
 */
#ifndef OXV_FS_CHECK_H
#define OXV_FS_CHECK_H

#define _GNU_SOURCE
#include "check.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static jmp_buf fs_jmp;
static int fs_in_section;
static int fs_any_failed;
static int fs_keep_going;
static int fs_section_failed;

/* Scratch base, other-fs dir and read-only root from the command line. */
static const char *opt_dir;
static const char *opt_xdev;
static const char *opt_rofs;

/* check.h's macros call exit(1) on failure: inside a section that ends the
 * section instead. */
static void fs_fail(int code) {
    if (fs_in_section && fs_keep_going) {
        fs_section_failed = 1;
        return;
    }
    if (fs_in_section)
        longjmp(fs_jmp, 1);
    exit(code);
}
#define exit(code) fs_fail(code)

/* Section working directory: DIR/<name>. */
static char sdir[1024];

/* Path inside the section directory, in one of 16 rotating static buffers:
 * fine inside an expression, copy it to keep it longer. */
static const char *P(const char *name) {
    static char bufs[16][6144];
    static int slot;
    char *b = bufs[slot++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", sdir, name);
    return b;
}

/* Writes `text` to a new file `path` (mode 0644) and closes it. */
static void put_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    size_t n = strlen(text);
    CHECK_EQ(write(fd, text, n), n);
    CHECK_OK(close(fd));
}

/* Reads up to cap-1 bytes of `path` into buf (NUL-terminated); returns length. */
static long get_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    long total = 0;
    for (;;) {
        long n = read(fd, buf + total, cap - 1 - total);
        CHECK(n >= 0);
        if (n == 0)
            break;
        total += n;
        if ((size_t)total == cap - 1)
            break;
    }
    buf[total] = 0;
    CHECK_OK(close(fd));
    return total;
}

static void run_section(const char *name, void (*fn)(void), int enabled) {
    if (!enabled)
        return;
    snprintf(sdir, sizeof sdir, "%s/%s", opt_dir, name);
    fs_in_section = 1;
    fs_section_failed = 0;
    if (setjmp(fs_jmp) == 0) {
        if (mkdir(sdir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create %s: %s\n", name, sdir, strerror(errno));
            longjmp(fs_jmp, 1);
        }
        fn();
        if (fs_section_failed)
            longjmp(fs_jmp, 1);
        printf("%s: ok\n", name);
    } else {
        printf("%s: FAILED\n", name);
        fs_any_failed = 1;
    }
    fs_in_section = 0;
    fflush(stdout);
    fflush(stderr);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--xdev") == 0 && i + 1 < argc)
            opt_xdev = argv[++i];
        else if (strcmp(argv[i], "--expect-rofs") == 0 && i + 1 < argc)
            opt_rofs = argv[++i];
        else if (argv[i][0] != '-' && !opt_dir)
            opt_dir = argv[i];
        else {
            fprintf(stderr, "usage: %s DIR [--xdev DIR2] [--expect-rofs ROOT]\n", argv[0]);
            fs_fail(2);
        }
    }
    if (!opt_dir) {
        fprintf(stderr, "usage: %s DIR [--xdev DIR2] [--expect-rofs ROOT]\n", argv[0]);
        fs_fail(2);
    }
    const char *all = getenv("FS_CHECK_ALL");
    fs_keep_going = all && strcmp(all, "1") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif
