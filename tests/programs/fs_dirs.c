/* fs_dirs: directories. mkdir/mkdirat, rmdir (ENOTEMPTY, EINVAL on "."),
 * getdents64 and getdents (raw, with small buffers) and readdir, rewinding, removal
 * while listing, chdir/fchdir/getcwd (ERANGE, a removed cwd), O_DIRECTORY,
 * statfs/fstatfs.
 *
 * Usage: fs_dirs DIR [--xdev DIR2] [--expect-rofs ROOT]  (see fs_check.h)
 */
#include "fs_check.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#define TMPFS_MAGIC_ 0x01021994
#define PROC_SUPER_MAGIC_ 0x9fa0

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static long getdents64_(int fd, void *buf, size_t n) {
    return syscall(SYS_getdents64, fd, buf, n);
}

static nlink_t nlink_of(const char *p) {
    struct stat st;
    CHECK_OK(lstat(p, &st));
    return st.st_nlink;
}

/* ---- mkdir / mkdirat / rmdir ---- */
static void t_mkdir(void) {
    umask(022);
    struct stat st;
    CHECK_OK(stat(sdir, &st));
    nlink_t base = st.st_nlink;
    CHECK_OK(mkdir(P("d"), 0777));
    CHECK_OK(stat(P("d"), &st));
    CHECK_EQ(st.st_mode, S_IFDIR | 0755);
    CHECK_EQ(st.st_nlink, 2);
    CHECK_EQ(st.st_size, 40); /* tmpfs: an empty directory */
    CHECK_EQ(nlink_of(sdir), base + 1);
    CHECK_ERR(mkdir(P("d"), 0755), EEXIST);
    CHECK_ERR(mkdir(P("nope/d"), 0755), ENOENT);
    put_file(P("f"), "x");
    CHECK_ERR(mkdir(P("f"), 0755), EEXIST);
    CHECK_ERR(mkdir(P("f/d"), 0755), ENOTDIR);
    CHECK_OK(mkdir(P("slash/"), 0755)); /* a trailing slash is fine */
    CHECK_OK(mkdir(P("d/sub"), 0700));
    CHECK_EQ(nlink_of(P("d")), 3);
    CHECK_OK(symlink("d", P("dl")));
    CHECK_ERR(mkdir(P("dl"), 0755), EEXIST); /* a symlink is not followed */

    int dfd = open(P("d"), O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(mkdirat(dfd, "at", 0750));
    CHECK_OK(stat(P("d/at"), &st));
    CHECK_EQ(st.st_mode, S_IFDIR | 0750);
    CHECK_ERR(mkdirat(999, "x", 0755), EBADF);
    int fd = open(P("f"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(mkdirat(fd, "x", 0755), ENOTDIR);
    CHECK_OK(close(fd));
    CHECK_OK(mkdirat(AT_FDCWD, P("cwdat"), 0755));

    /* rmdir */
    put_file(P("d/file"), "y");
    CHECK_ERR(rmdir(P("d")), ENOTEMPTY);
    CHECK_ERR(rmdir(P("f")), ENOTDIR);
    CHECK_ERR(rmdir(P("nope")), ENOENT);
    CHECK_ERR(rmdir(P("d/.")), EINVAL);
    CHECK_ERR(rmdir(P("d/sub/..")), ENOTEMPTY);
    CHECK_ERR(rmdir(P("dl")), ENOTDIR);
    CHECK_OK(rmdir(P("d/sub")));
    CHECK_EQ(nlink_of(P("d")), 3); /* d/at is left */
    CHECK_OK(unlinkat(dfd, "file", 0));
    CHECK_OK(unlinkat(dfd, "at", AT_REMOVEDIR));
    CHECK_EQ(nlink_of(P("d")), 2);
    CHECK_OK(close(dfd));
    CHECK_OK(rmdir(P("d/")));
    CHECK_ERR(stat(P("d"), &st), ENOENT);
    CHECK_EQ(nlink_of(sdir), base + 2); /* slash and cwdat */
}

static int has_name(char names[][16], int n, const char *want) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0)
            return 1;
    return 0;
}

/* ---- getdents64 / readdir ---- */
static void t_readdir(void) {
    CHECK_OK(mkdir(P("list"), 0755));
    char name[64];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "list/f%03d", i);
        put_file(P(name), "z");
    }
    CHECK_OK(mkdir(P("list/sub"), 0755));
    CHECK_OK(symlink("f000", P("list/link")));
    struct stat st;
    CHECK_OK(stat(P("list/f042"), &st));
    ino_t ino42 = st.st_ino;

    /* Raw getdents64 with a buffer that holds only a few entries. */
    static char names[200][16];
    int n = 0, seen42 = 0;
    int fd = open(P("list"), O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    char buf[160];
    for (;;) {
        long got = getdents64_(fd, buf, sizeof buf);
        CHECK(got >= 0);
        if (got == 0)
            break;
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            CHECK(d->d_reclen > 0 && d->d_reclen % 8 == 0);
            CHECK(n < 200);
            CHECK(strlen(d->d_name) < 16);
            CHECK(!has_name(names, n, d->d_name)); /* no entry twice */
            strcpy(names[n++], d->d_name);
            if (strcmp(d->d_name, "f042") == 0) {
                CHECK_EQ(d->d_ino, ino42);
                CHECK_EQ(d->d_type, DT_REG);
                seen42 = 1;
            }
            if (strcmp(d->d_name, "sub") == 0)
                CHECK_EQ(d->d_type, DT_DIR);
            if (strcmp(d->d_name, "link") == 0)
                CHECK_EQ(d->d_type, DT_LNK);
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                CHECK_EQ(d->d_type, DT_DIR);
            off += d->d_reclen;
        }
    }
    CHECK_EQ(n, 104); /* . .. f000-f099 sub link */
    CHECK(seen42);
    CHECK(has_name(names, n, ".") && has_name(names, n, ".."));
    CHECK(has_name(names, n, "f000") && has_name(names, n, "f099"));
    CHECK_EQ(getdents64_(fd, buf, sizeof buf), 0); /* stays at the end */
    /* A buffer too small for one entry; a file; a bad fd. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_ERR(getdents64_(fd, buf, 10), EINVAL);
    int ffd = open(P("list/f000"), O_RDONLY);
    CHECK(ffd >= 0);
    CHECK_ERR(getdents64_(ffd, buf, sizeof buf), ENOTDIR);
    CHECK_OK(close(ffd));
    CHECK_ERR(getdents64_(-1, buf, sizeof buf), EBADF);
    /* Rewinding lists everything again. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    int again = 0;
    for (;;) {
        long got = getdents64_(fd, buf, sizeof buf);
        CHECK(got >= 0);
        if (got == 0)
            break;
        for (long off = 0; off < got; off += ((struct linux_dirent64 *)(buf + off))->d_reclen)
            again++;
    }
    CHECK_EQ(again, 104);
    /* The old getdents lists the same entries, type in each record's last byte. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    int old_n = 0, old42 = 0;
    for (;;) {
        long got = syscall(SYS_getdents, fd, buf, sizeof buf);
        CHECK(got >= 0);
        if (got == 0)
            break;
        for (long off = 0; off < got;) {
            unsigned long d_ino = *(unsigned long *)(buf + off);
            unsigned short reclen = *(unsigned short *)(buf + off + 16);
            const char *d_name = buf + off + 18;
            unsigned char d_type = (unsigned char)buf[off + reclen - 1];
            CHECK(reclen > 0 && reclen % 8 == 0);
            CHECK(has_name(names, n, d_name));
            if (strcmp(d_name, "f042") == 0) {
                CHECK_EQ(d_ino, ino42);
                CHECK_EQ(d_type, DT_REG);
                old42 = 1;
            }
            if (strcmp(d_name, "sub") == 0)
                CHECK_EQ(d_type, DT_DIR);
            if (strcmp(d_name, "link") == 0)
                CHECK_EQ(d_type, DT_LNK);
            old_n++;
            off += reclen;
        }
    }
    CHECK_EQ(old_n, 104);
    CHECK(old42);
    CHECK_OK(close(fd));

    /* readdir(3), removing entries while listing: each one is seen at most once. */
    DIR *dp = opendir(P("list"));
    CHECK(dp != NULL);
    struct dirent *e;
    int count = 0;
    static char seen[200][16];
    while ((e = readdir(dp)) != NULL) {
        CHECK(count < 200);
        CHECK(!has_name(seen, count, e->d_name));
        strcpy(seen[count++], e->d_name);
        if (e->d_name[0] == 'f') {
            char victim[300];
            snprintf(victim, sizeof victim, "list/%s", e->d_name);
            CHECK_OK(unlink(P(victim)));
        }
    }
    CHECK(count >= 4 && count <= 104);
    CHECK_OK(closedir(dp));
    /* Now only . .. sub link are left. */
    dp = opendir(P("list"));
    CHECK(dp != NULL);
    count = 0;
    while ((e = readdir(dp)) != NULL)
        count++;
    CHECK_EQ(count, 4);
    CHECK_OK(closedir(dp));

    /* An empty directory lists just . and .. */
    dp = opendir(P("list/sub"));
    CHECK(dp != NULL);
    count = 0;
    while ((e = readdir(dp)) != NULL) {
        CHECK(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
        count++;
    }
    CHECK_EQ(count, 2);
    CHECK_OK(closedir(dp));
    put_file(P("plain"), "p");
    CHECK(opendir(P("plain")) == NULL);
    CHECK_EQ(errno, ENOTDIR);
    CHECK(opendir(P("list/link")) == NULL); /* its target f000 is gone */
    CHECK_EQ(errno, ENOENT);
    CHECK(opendir(P("nope")) == NULL);
    CHECK_EQ(errno, ENOENT);
}

/* ---- chdir / fchdir / getcwd ---- */
static void t_cwd(void) {
    char old[4096], cwd[4096], want[4096];
    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK_OK(mkdir(P("a"), 0755));
    CHECK_OK(mkdir(P("a/b"), 0755));
    put_file(P("a/b/file"), "in b");

    /* getcwd reports the resolved absolute path. */
    CHECK_OK(chdir(sdir));
    CHECK(getcwd(want, sizeof want) != NULL);
    CHECK(want[0] == '/');
    CHECK_OK(chdir("a/b"));
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ(strlen(cwd), strlen(want) + 4);
    CHECK(strncmp(cwd, want, strlen(want)) == 0 && strcmp(cwd + strlen(want), "/a/b") == 0);
    char b[16];
    CHECK_EQ(get_file("file", b, sizeof b), 4); /* relative paths start here */
    CHECK_OK(chdir(".."));
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(strcmp(cwd + strlen(want), "/a") == 0);
    CHECK_OK(symlink("a/b", P("lb")));
    CHECK_OK(chdir(P("lb"))); /* getcwd shows the real path */
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(strcmp(cwd + strlen(want), "/a/b") == 0);
    CHECK_OK(chdir(P("lb/.."))); /* ".." of where the link led, not of the link */
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(strcmp(cwd + strlen(want), "/a") == 0);
    CHECK_OK(chdir(P("lb")));

    /* Raw getcwd: the length including the NUL; ERANGE when too small. */
    long len = syscall(SYS_getcwd, cwd, sizeof cwd);
    CHECK_EQ(len, strlen(want) + 5);
    CHECK_ERR(syscall(SYS_getcwd, cwd, 3), ERANGE);
    CHECK_ERR(syscall(SYS_getcwd, cwd, 0), ERANGE);
    CHECK(getcwd(cwd, 3) == NULL);
    CHECK_EQ(errno, ERANGE);

    CHECK_ERR(chdir(P("a/b/file")), ENOTDIR);
    CHECK_ERR(chdir(P("nope")), ENOENT);
    CHECK_ERR(chdir(""), ENOENT);

    /* fchdir */
    int dfd = open(P("a"), O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(fchdir(dfd));
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(strcmp(cwd + strlen(want), "/a") == 0);
    CHECK_OK(close(dfd));
    int pfd = open(P("a/b"), O_PATH | O_DIRECTORY);
    CHECK(pfd >= 0);
    CHECK_OK(fchdir(pfd)); /* O_PATH is enough */
    CHECK_OK(close(pfd));
    int ffd = open(P("a/b/file"), O_RDONLY);
    CHECK(ffd >= 0);
    CHECK_ERR(fchdir(ffd), ENOTDIR);
    CHECK_OK(close(ffd));
    CHECK_ERR(fchdir(-1), EBADF);

    /* A removed working directory: getcwd fails, nothing can be created there. */
    CHECK_OK(mkdir(P("gone"), 0755));
    CHECK_OK(chdir(P("gone")));
    CHECK_OK(rmdir(P("gone")));
    CHECK_ERR(syscall(SYS_getcwd, cwd, sizeof cwd), ENOENT);
    CHECK_ERR(open("new", O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(mkdir("newdir", 0755), ENOENT);
    int dot = open(".", O_RDONLY);
    CHECK(dot >= 0);
    struct stat st;
    CHECK_OK(fstat(dot, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_OK(close(dot));

    CHECK_OK(chdir(old));
}

/* ---- O_DIRECTORY, statfs / fstatfs ---- */
static void t_statfs(void) {
    put_file(P("f"), "x");
    CHECK_ERR(open(P("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
    int fd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);

    struct statfs a, b;
    CHECK_OK(statfs(sdir, &a));
    CHECK_OK(fstatfs(fd, &b));
    CHECK_EQ(a.f_type, TMPFS_MAGIC_);
    CHECK_EQ(b.f_type, a.f_type);
    CHECK_EQ(a.f_bsize, 4096);
    CHECK_EQ(b.f_bsize, a.f_bsize);
    CHECK_EQ(a.f_namelen, 255);
    CHECK_EQ(b.f_blocks, a.f_blocks);
    CHECK_EQ(a.f_fsid.__val[0], b.f_fsid.__val[0]);
    CHECK(a.f_bfree <= a.f_blocks && a.f_bavail <= a.f_blocks);
    CHECK_EQ(a.f_flags & 1, 0); /* ST_RDONLY clear */
    CHECK_OK(statfs(P("f"), &b));
    CHECK_EQ(b.f_type, TMPFS_MAGIC_);
    CHECK_OK(statfs("/proc", &b));
    CHECK_EQ(b.f_type, PROC_SUPER_MAGIC_);
    CHECK_ERR(statfs(P("nope"), &b), ENOENT);
    CHECK_ERR(statfs(P("f/x"), &b), ENOTDIR);
    CHECK_ERR(fstatfs(-1, &b), EBADF);
    CHECK_OK(close(fd));

    /* Writing data lowers f_bfree (when the mount is limited; tmpfs without
     * size= reports a fixed share of RAM, so only check it does not grow). */
    static char big[1 << 20];
    memset(big, 'q', sizeof big);
    fd = open(P("big"), O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, big, sizeof big), sizeof big);
    CHECK_OK(fstatfs(fd, &b));
    CHECK(b.f_bfree <= a.f_bfree);
    CHECK_OK(close(fd));
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    run_section("mkdir", t_mkdir, 1);
    run_section("readdir", t_readdir, 1);
    run_section("cwd", t_cwd, 1);
    run_section("statfs", t_statfs, 1);
    printf("fs_dirs: %s\n", fs_any_failed ? "FAILED" : "ok");
    return fs_any_failed;
}
