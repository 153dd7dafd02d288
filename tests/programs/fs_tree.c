/* fs_tree: what `cp -a SRC DST; ls -lR DST; mv DST DST2; rm -r DST2`
 * would do, in one process (oxv runs one process: busybox cannot chain
 * commands, its sh needs fork).
 *
 * Usage: fs_tree SRC DST
 *
 * 1. Copies the tree SRC to DST: directories, regular files (read/write),
 *    symlinks (readlink/symlink), hard links kept as hard links (link),
 *    permissions (fchmod/chmod), modification times (utimensat, also on
 *    symlinks and, after their contents, directories).
 * 2. Walks both trees and checks each copy against its original: type,
 *    permissions, size, bytes, symlink target, mtime (to the nanosecond),
 *    link count.
 * 3. Prints DST as sorted lines (the test compares them with the host tree):
 *      d PERM REL
 *      f PERM NLINK SIZE FNV1A64 REL
 *      l REL -> TARGET
 * 4. Renames DST to DST.moved, removes it recursively (unlink, rmdir,
 *    getdents64), checks both names are gone, prints `fs_tree: ok`.
 */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXE 4096

struct entry {
    char rel[1024];
};
static struct entry list[MAXE];
static int nlist;

/* hard links already copied: source (dev, ino) -> copy path */
static struct {
    dev_t dev;
    ino_t ino;
    char path[2048];
} links[MAXE];
static int nlinks;

/* out = a "/" b, checked against cap (no snprintf truncation warnings). */
static void join(char *out, size_t cap, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    CHECK(la + 1 + lb < cap);
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

/* Collects every path below `root` (relative, without "./"). */
static void walk(const char *root, const char *rel) {
    char path[2048];
    if (rel[0])
        join(path, sizeof path, root, rel);
    else
        snprintf(path, sizeof path, "%s", root);
    DIR *d = opendir(path);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        CHECK(nlist < MAXE);
        if (rel[0])
            join(list[nlist].rel, sizeof list[0].rel, rel, e->d_name);
        else
            snprintf(list[nlist].rel, sizeof list[0].rel, "%s", e->d_name);
        char sub[2048];
        join(sub, sizeof sub, path, e->d_name);
        struct stat st;
        CHECK_OK(lstat(sub, &st));
        /* d_type must agree with lstat */
        if (e->d_type != DT_UNKNOWN)
            CHECK_EQ(e->d_type, S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG);
        char keep[1024];
        strcpy(keep, list[nlist].rel);
        nlist++;
        if (S_ISDIR(st.st_mode))
            walk(root, keep);
    }
    CHECK_OK(closedir(d));
}

static void copy_file(const char *from, const char *to, const struct stat *st) {
    for (int i = 0; i < nlinks; i++) {
        if (links[i].dev == st->st_dev && links[i].ino == st->st_ino) {
            CHECK_OK(link(links[i].path, to));
            return;
        }
    }
    if (st->st_nlink > 1) {
        CHECK(nlinks < MAXE);
        links[nlinks].dev = st->st_dev;
        links[nlinks].ino = st->st_ino;
        snprintf(links[nlinks].path, sizeof links[0].path, "%s", to);
        nlinks++;
    }
    int in = open(from, O_RDONLY);
    CHECK(in >= 0);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(out >= 0);
    static char buf[1 << 16];
    for (;;) {
        long n = read(in, buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (long done = 0; done < n;) {
            long w = write(out, buf + done, n - done);
            CHECK(w > 0);
            done += w;
        }
    }
    CHECK_OK(fchmod(out, st->st_mode & 07777));
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    CHECK_OK(futimens(out, ts));
    CHECK_OK(close(out));
    CHECK_OK(close(in));
}

static void copy_tree(const char *from, const char *to) {
    struct stat st;
    CHECK_OK(lstat(from, &st));
    CHECK(S_ISDIR(st.st_mode));
    CHECK_OK(mkdir(to, 0700));
    DIR *d = opendir(from);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[2048], b[2048];
        join(a, sizeof a, from, e->d_name);
        join(b, sizeof b, to, e->d_name);
        struct stat s;
        CHECK_OK(lstat(a, &s));
        if (S_ISDIR(s.st_mode)) {
            copy_tree(a, b);
        } else if (S_ISLNK(s.st_mode)) {
            char t[4096];
            long n = readlink(a, t, sizeof t - 1);
            CHECK(n > 0);
            t[n] = 0;
            CHECK_EQ(n, s.st_size);
            CHECK_OK(symlink(t, b));
            struct timespec ts[2] = {s.st_atim, s.st_mtim};
            CHECK_OK(utimensat(AT_FDCWD, b, ts, AT_SYMLINK_NOFOLLOW));
        } else {
            CHECK(S_ISREG(s.st_mode));
            copy_file(a, b, &s);
        }
    }
    CHECK_OK(closedir(d));
    CHECK_OK(chmod(to, st.st_mode & 07777));
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    CHECK_OK(utimensat(AT_FDCWD, to, ts, 0));
}

static uint64_t fnv_file(const char *p) {
    uint64_t h = 0xcbf29ce484222325ull;
    int fd = open(p, O_RDONLY);
    CHECK(fd >= 0);
    static unsigned char buf[1 << 16];
    for (;;) {
        long n = read(fd, buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (long i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ull;
        }
    }
    CHECK_OK(close(fd));
    return h;
}

static int same_bytes(const char *a, const char *b) {
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    CHECK(fa >= 0 && fb >= 0);
    static char x[1 << 16], y[1 << 16];
    int same = 1;
    for (;;) {
        long n = read(fa, x, sizeof x);
        long m = read(fb, y, sizeof y); /* regular files: full reads until EOF */
        CHECK(n >= 0 && m >= 0);
        if (n != m || memcmp(x, y, n) != 0) {
            same = 0;
            break;
        }
        if (n == 0)
            break;
    }
    close(fa);
    close(fb);
    return same;
}

/* Removes a tree with raw getdents64 on each directory. */
static void remove_tree(const char *path) {
    struct stat st;
    CHECK_OK(lstat(path, &st));
    if (!S_ISDIR(st.st_mode)) {
        CHECK_OK(unlink(path));
        return;
    }
    DIR *d = opendir(path);
    CHECK(d != NULL);
    struct dirent *e;
    char names[256][256];
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        CHECK(n < 256);
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    CHECK_OK(closedir(d));
    for (int i = 0; i < n; i++) {
        char sub[2048];
        join(sub, sizeof sub, path, names[i]);
        remove_tree(sub);
    }
    CHECK_ERR(unlink(path), EISDIR);
    CHECK_OK(rmdir(path));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fs_tree SRC DST\n");
        return 2;
    }
    const char *src = argv[1], *dst = argv[2];
    umask(022);
    copy_tree(src, dst);

    walk(src, "");
    int nsrc = nlist;
    qsort(list, nlist, sizeof list[0], cmp_entry);
    static struct entry srclist[MAXE];
    memcpy(srclist, list, sizeof list[0] * nsrc);
    nlist = 0;
    walk(dst, "");
    qsort(list, nlist, sizeof list[0], cmp_entry);
    CHECK_EQ(nlist, nsrc);

    for (int i = 0; i < nlist; i++) {
        CHECK(strcmp(list[i].rel, srclist[i].rel) == 0);
        char a[2048], b[2048];
        join(a, sizeof a, src, list[i].rel);
        join(b, sizeof b, dst, list[i].rel);
        struct stat sa, sb;
        CHECK_OK(lstat(a, &sa));
        CHECK_OK(lstat(b, &sb));
        CHECK_EQ(sb.st_mode, sa.st_mode);
        CHECK_EQ(sb.st_mtim.tv_sec, sa.st_mtim.tv_sec);
        CHECK_EQ(sb.st_mtim.tv_nsec, sa.st_mtim.tv_nsec);
        if (S_ISDIR(sa.st_mode)) {
            CHECK_EQ(sb.st_nlink, sa.st_nlink);
            printf("d %04o %s\n", sb.st_mode & 07777, list[i].rel);
        } else if (S_ISLNK(sa.st_mode)) {
            char ta[4096], tb[4096];
            long n = readlink(a, ta, sizeof ta - 1), m = readlink(b, tb, sizeof tb - 1);
            CHECK(n > 0 && n == m);
            ta[n] = tb[m] = 0;
            CHECK(strcmp(ta, tb) == 0);
            CHECK_EQ(sb.st_size, sa.st_size);
            printf("l %s -> %s\n", list[i].rel, tb);
        } else {
            CHECK_EQ(sb.st_size, sa.st_size);
            CHECK_EQ(sb.st_nlink, sa.st_nlink);
            CHECK(same_bytes(a, b));
            printf("f %04o %lu %lld %016llx %s\n", sb.st_mode & 07777, (unsigned long)sb.st_nlink,
                   (long long)sb.st_size, (unsigned long long)fnv_file(b), list[i].rel);
        }
    }

    char moved[2048];
    snprintf(moved, sizeof moved, "%s.moved", dst);
    CHECK_OK(rename(dst, moved));
    struct stat st;
    CHECK_ERR(lstat(dst, &st), ENOENT);
    CHECK_OK(lstat(moved, &st));
    remove_tree(moved);
    CHECK_ERR(lstat(moved, &st), ENOENT);
    printf("fs_tree: ok\n");
    return 0;
}
