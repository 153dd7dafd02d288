/* fs_special: /dev/null, /dev/zero, /dev/full (ENOSPC), /dev/urandom;
 * /proc/self/exe, /proc/self/fd, /proc/self/maps, /proc/self/status,
 * /proc/self/cmdline, /proc/meminfo, /proc/cpuinfo, /proc/uptime and
 * /proc/mounts (the mount holding DIR is tmpfs; with --expect-rofs ROOT the
 * ROOT mount is listed read-only).
 *
 * Usage: fs_special DIR [--xdev DIR2] [--expect-rofs ROOT]  (see fs_check.h)
 */
#include "fs_check.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/sysmacros.h>

static int g_argc;
static char **g_argv;

static void check_chr(const char *path, unsigned maj, unsigned min) {
    struct stat st;
    CHECK_OK(stat(path, &st));
    CHECK(S_ISCHR(st.st_mode));
    CHECK_EQ(major(st.st_rdev), maj);
    CHECK_EQ(minor(st.st_rdev), min);
}

/* Reads a whole (possibly size-0, generated) file into a static buffer. */
static char *slurp(const char *path, long *len) {
    static char buf[1 << 17];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    long total = 0;
    for (;;) {
        long n = read(fd, buf + total, sizeof buf - 1 - total);
        CHECK(n >= 0);
        if (n == 0)
            break;
        total += n;
        CHECK(total < (long)sizeof buf - 1);
    }
    CHECK_OK(close(fd));
    buf[total] = 0;
    if (len)
        *len = total;
    return buf;
}

/* The value of `key` ("MemFree:") in a "key value ..." text, or -1. */
static long field(const char *text, const char *key) {
    const char *p = text;
    size_t k = strlen(key);
    while (p && *p) {
        if (strncmp(p, key, k) == 0)
            return strtol(p + k, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

/* ---- /dev ---- */
static void t_dev(void) {
    char b[4096];
    check_chr("/dev/null", 1, 3);
    check_chr("/dev/zero", 1, 5);
    check_chr("/dev/full", 1, 7);
    check_chr("/dev/urandom", 1, 9);

    int fd = open("/dev/null", O_RDWR);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "discard", 7), 7);
    CHECK_EQ(read(fd, b, sizeof b), 0);
    CHECK_EQ(lseek(fd, 123, SEEK_SET), 0);
    CHECK_EQ(pwrite(fd, "x", 1, 1000), 1);
    CHECK_OK(close(fd));

    fd = open("/dev/zero", O_RDWR);
    CHECK(fd >= 0);
    memset(b, 0xff, sizeof b);
    CHECK_EQ(read(fd, b, sizeof b), sizeof b);
    for (unsigned i = 0; i < sizeof b; i++)
        CHECK_EQ(b[i], 0);
    CHECK_EQ(write(fd, b, 100), 100);
    CHECK_OK(close(fd));

    fd = open("/dev/full", O_RDWR);
    CHECK(fd >= 0);
    CHECK_ERR(write(fd, "x", 1), ENOSPC);
    memset(b, 0xff, 64);
    CHECK_EQ(read(fd, b, 64), 64);
    for (int i = 0; i < 64; i++)
        CHECK_EQ(b[i], 0);
    CHECK_OK(close(fd));

    fd = open("/dev/urandom", O_RDONLY);
    CHECK(fd >= 0);
    static unsigned char r1[4096], r2[4096];
    CHECK_EQ(read(fd, r1, sizeof r1), sizeof r1);
    CHECK_EQ(read(fd, r2, sizeof r2), sizeof r2);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
    int zeros = 0, ones = 0;
    for (unsigned i = 0; i < sizeof r1; i++) {
        zeros += r1[i] == 0;
        ones += __builtin_popcount(r1[i]);
    }
    CHECK(zeros < 64);                       /* expected 16 */
    CHECK(ones > 15000 && ones < 17800);     /* expected 16384 of 32768 bits */
    CHECK_OK(close(fd));
    CHECK_ERR(open("/dev/nope", O_RDONLY), ENOENT);
}

/* ---- /proc/self/exe ---- */
static void t_exe(void) {
    char target[4096];
    long n = readlink("/proc/self/exe", target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    CHECK(target[0] == '/');
    struct stat a, b;
    CHECK_OK(stat("/proc/self/exe", &a));
    CHECK_OK(stat(target, &b));
    CHECK_EQ(a.st_ino, b.st_ino);
    CHECK_EQ(a.st_dev, b.st_dev);
    CHECK_EQ(a.st_size, b.st_size);
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    char magic[4];
    CHECK_EQ(read(fd, magic, 4), 4);
    CHECK(memcmp(magic, "\x7f" "ELF", 4) == 0);
    CHECK_OK(close(fd));
    struct stat l;
    CHECK_OK(lstat("/proc/self/exe", &l));
    CHECK(S_ISLNK(l.st_mode));
    /* /proc/self is a link to the pid's directory */
    n = readlink("/proc/self", target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    CHECK_EQ(atoi(target), getpid());
}

/* ---- /proc/self/fd ---- */
static void t_fd(void) {
    put_file(P("f"), "via proc");
    char real[4096];
    CHECK(realpath(P("f"), real) != NULL);
    int fd = open(P("f"), O_RDONLY);
    CHECK(fd >= 0);
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    long n = readlink(link, target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    CHECK(strcmp(target, real) == 0);
    struct stat a, b;
    CHECK_OK(fstat(fd, &a));
    CHECK_OK(stat(link, &b));
    CHECK_EQ(a.st_ino, b.st_ino);
    /* Opening the link opens the same file anew. */
    char buf[32];
    CHECK_EQ(get_file(link, buf, sizeof buf), 8);
    CHECK(strcmp(buf, "via proc") == 0);

    /* The directory lists 0, 1, 2 and fd; a closed fd disappears. */
    int seen_fd = 0, seen_012 = 0;
    DIR *dp = opendir("/proc/self/fd");
    CHECK(dp != NULL);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int v = atoi(e->d_name);
        if (v == fd)
            seen_fd = 1;
        if (v <= 2)
            seen_012++;
    }
    CHECK_OK(closedir(dp));
    CHECK(seen_fd);
    CHECK_EQ(seen_012, 3);
    /* Opened through a symlink: the link shows the file's real path. */
    CHECK_OK(symlink("f", P("via-link")));
    int fd2 = open(P("via-link"), O_RDONLY);
    CHECK(fd2 >= 0);
    char link2[64];
    snprintf(link2, sizeof link2, "/proc/self/fd/%d", fd2);
    n = readlink(link2, target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    CHECK(strcmp(target, real) == 0);
    CHECK_OK(close(fd2));
    CHECK_OK(close(fd));
    struct stat st;
    CHECK_ERR(lstat(link, &st), ENOENT);
    n = readlink("/dev/stdin", target, sizeof target - 1);
    CHECK(n > 0);
    target[n] = 0;
    CHECK(strcmp(target, "/proc/self/fd/0") == 0);
}

/* ---- /proc/self/maps ---- */
static int in_maps(const char *maps, uintptr_t addr, const char *perms, const char *name) {
    const char *line = maps;
    while (line && *line) {
        unsigned long lo, hi;
        char pr[8], path[512] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511[^\n]", &lo, &hi, pr, path) >= 3) {
            if (addr >= lo && addr < hi) {
                if (perms && strncmp(pr, perms, strlen(perms)) != 0)
                    return 0;
                if (name && !strstr(path, name))
                    return 0;
                return 1;
            }
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return 0;
}

static void t_maps(void) {
    char *maps = slurp("/proc/self/maps", NULL);
    /* Every line parses, lines are sorted and do not overlap. */
    unsigned long prev_hi = 0;
    int lines = 0;
    for (char *line = maps; line && *line;) {
        unsigned long lo, hi;
        char pr[8];
        CHECK_EQ(sscanf(line, "%lx-%lx %7s", &lo, &hi, pr), 3);
        CHECK(lo < hi && lo >= prev_hi);
        CHECK(lo % 4096 == 0 && hi % 4096 == 0);
        CHECK_EQ(strlen(pr), 4);
        prev_hi = hi;
        lines++;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    CHECK(lines >= 3);
    int local = 0;
    CHECK(in_maps(maps, (uintptr_t)&local, "rw", "[stack]"));
    CHECK(in_maps(maps, (uintptr_t)&t_maps, "r-x", NULL));
    CHECK(in_maps(maps, (uintptr_t)&g_argc, "rw", NULL));
}

/* ---- /proc/self/status, cmdline ---- */
static void t_status(void) {
    char *s = slurp("/proc/self/status", NULL);
    CHECK(strncmp(s, "Name:\t", 6) == 0);
    CHECK_EQ(field(s, "Pid:"), getpid());
    CHECK_EQ(field(s, "Tgid:"), getpid());
    long rss = field(s, "VmRSS:");
    CHECK(rss > 0);
    CHECK(strstr(s, "VmRSS:") && strstr(strstr(s, "VmRSS:"), " kB\n"));
    CHECK(field(s, "VmSize:") >= rss);
    CHECK_EQ(field(s, "Threads:"), 1);
    CHECK_EQ(field(s, "Uid:"), getuid());

    long len;
    char *c = slurp("/proc/self/cmdline", &len);
    long want = 0;
    for (int i = 0; i < g_argc; i++) {
        size_t k = strlen(g_argv[i]) + 1;
        CHECK(want + (long)k <= len);
        CHECK(memcmp(c + want, g_argv[i], k) == 0);
        want += k;
    }
    CHECK_EQ(len, want);
}

/* ---- /proc/meminfo, cpuinfo, uptime ---- */
static void t_sysinfo(void) {
    char *m = slurp("/proc/meminfo", NULL);
    long total = field(m, "MemTotal:"), freekb = field(m, "MemFree:");
    long avail = field(m, "MemAvailable:");
    CHECK(total > 0);
    CHECK(freekb > 0 && freekb <= total);
    CHECK(avail > 0 && avail <= total);
    /* The image's block cache is reclaimable: available = free + cached. */
    long cached = field(m, "Cached:");
    CHECK(cached >= 0);
    CHECK_EQ(avail, freekb + cached);
    CHECK(strstr(m, "MemTotal:") && strstr(strstr(m, "MemTotal:"), " kB\n"));

    char *c = slurp("/proc/cpuinfo", NULL);
    int procs = 0;
    for (char *p = c; (p = strstr(p, "processor\t:")) != NULL; p++)
        procs++;
    CHECK(procs >= 1);
    CHECK_EQ(procs, sysconf(_SC_NPROCESSORS_ONLN));
    CHECK(strstr(c, "\nflags\t\t:") != NULL);

    double up1, idle1, up2, idle2;
    char *u = slurp("/proc/uptime", NULL);
    CHECK_EQ(sscanf(u, "%lf %lf", &up1, &idle1), 2);
    CHECK(up1 > 0 && idle1 >= 0);
    u = slurp("/proc/uptime", NULL);
    CHECK_EQ(sscanf(u, "%lf %lf", &up2, &idle2), 2);
    CHECK(up2 >= up1);
}

/* ---- /proc/mounts ---- */
static void t_mounts(void) {
    char *m = slurp("/proc/mounts", NULL);
    char real[4096];
    CHECK(realpath(opt_dir, real) != NULL);
    /* The longest mount point that is a prefix of DIR holds it. */
    size_t best = 0;
    char best_type[64] = "", root_opts[256] = "";
    int have_proc = 0;
    for (char *line = m; line && *line;) {
        char dev[256], mp[1024], type[64], opts[256];
        CHECK(sscanf(line, "%255s %1023s %63s %255s", dev, mp, type, opts) == 4);
        size_t k = strlen(mp);
        int prefix = strcmp(mp, "/") == 0 ||
                     (strncmp(real, mp, k) == 0 && (real[k] == '/' || real[k] == 0));
        if (prefix && k >= best) {
            best = k;
            strcpy(best_type, type);
        }
        if (strcmp(mp, "/proc") == 0 && strcmp(type, "proc") == 0)
            have_proc = 1;
        if (opt_rofs && strcmp(mp, opt_rofs) == 0)
            strcpy(root_opts, opts);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    CHECK(have_proc);
    CHECK(strcmp(best_type, "tmpfs") == 0);
    if (opt_rofs)
        CHECK(strncmp(root_opts, "ro", 2) == 0 && (root_opts[2] == ',' || root_opts[2] == 0));
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    parse_args(argc, argv);
    run_section("dev", t_dev, 1);
    run_section("exe", t_exe, 1);
    run_section("fd", t_fd, 1);
    run_section("maps", t_maps, 1);
    run_section("status", t_status, 1);
    run_section("sysinfo", t_sysinfo, 1);
    run_section("mounts", t_mounts, 1);
    printf("fs_special: %s\n", fs_any_failed ? "FAILED" : "ok");
    return fs_any_failed;
}
