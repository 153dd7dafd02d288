/* fs_links: names. link/linkat, symlink/symlinkat/readlink/readlinkat
 * (ELOOP after 40 hops, ENAMETOOLONG, O_NOFOLLOW, O_PATH on a link,
 * dangling links), rename/renameat/renameat2 (RENAME_NOREPLACE,
 * RENAME_EXCHANGE, EXDEV with --xdev), unlink/unlinkat (EISDIR,
 * AT_REMOVEDIR, open-after-unlink).
 *
 * Usage: fs_links DIR [--xdev DIR2] [--expect-rofs ROOT]  (see fs_check.h)
 */
#include "fs_check.h"

#include <sys/syscall.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Raw renameat2: musl 1.2.3 has no wrapper. */
static long renameat2_(int od, const char *op, int nd, const char *np, unsigned flags) {
    return syscall(SYS_renameat2, od, op, nd, np, flags);
}

static ino_t ino_of(const char *p) {
    struct stat st;
    CHECK_OK(lstat(p, &st));
    return st.st_ino;
}

static nlink_t nlink_of(const char *p) {
    struct stat st;
    CHECK_OK(lstat(p, &st));
    return st.st_nlink;
}

static int file_is(const char *p, const char *text) {
    char b[256];
    get_file(p, b, sizeof b);
    return strcmp(b, text) == 0;
}

/* ---- hard links ---- */
static void t_link(void) {
    put_file(P("a"), "A");
    CHECK_OK(link(P("a"), P("b")));
    CHECK_EQ(ino_of(P("a")), ino_of(P("b")));
    CHECK_EQ(nlink_of(P("a")), 2);
    put_file(P("b"), "B"); /* same file through the other name */
    CHECK(file_is(P("a"), "B"));
    CHECK_ERR(link(P("a"), P("b")), EEXIST);
    CHECK_ERR(link(P("nope"), P("c")), ENOENT);
    CHECK_ERR(link(P("a"), P("nope/c")), ENOENT);
    CHECK_ERR(link(P("a"), P("a/c")), ENOTDIR);
    CHECK_OK(mkdir(P("d"), 0755));
    CHECK_ERR(link(P("d"), P("d2")), EPERM);

    /* linkat: a symlink is linked itself unless AT_SYMLINK_FOLLOW. */
    CHECK_OK(symlink("a", P("s")));
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(linkat(dfd, "s", dfd, "s2", 0));
    CHECK_EQ(ino_of(P("s2")), ino_of(P("s")));
    CHECK_OK(linkat(dfd, "s", dfd, "s3", AT_SYMLINK_FOLLOW));
    CHECK_EQ(ino_of(P("s3")), ino_of(P("a")));
    CHECK_EQ(nlink_of(P("a")), 3);
    CHECK_ERR(linkat(dfd, "a", dfd, "x", 0x1), EINVAL);
    CHECK_ERR(linkat(999, "a", dfd, "x", 0), EBADF);
    int fd = open(P("a"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_OK(linkat(fd, "", dfd, "e", AT_EMPTY_PATH)); /* needs CAP_DAC_READ_SEARCH: root */
    CHECK_EQ(ino_of(P("e")), ino_of(P("a")));
    CHECK_OK(close(fd));

    /* Unlinking one name leaves the others. */
    CHECK_OK(unlink(P("a")));
    CHECK_EQ(nlink_of(P("b")), 3);
    CHECK(file_is(P("b"), "B"));
    CHECK_OK(close(dfd));
}

/* ---- symbolic links ---- */
static void t_symlink(void) {
    put_file(P("target"), "T");
    CHECK_OK(symlink("target", P("l")));
    char b[64];
    memset(b, 'x', sizeof b);
    CHECK_EQ(readlink(P("l"), b, sizeof b), 6);
    CHECK(memcmp(b, "targetx", 7) == 0); /* no NUL is added */
    CHECK_EQ(readlink(P("l"), b, 3), 3); /* truncated silently */
    CHECK(memcmp(b, "tar", 3) == 0);
    CHECK_ERR(readlink(P("target"), b, sizeof b), EINVAL);
    CHECK_ERR(readlink(P("nope"), b, sizeof b), ENOENT);
    CHECK_ERR(syscall(SYS_readlink, P("l"), b, 0), EINVAL); /* raw: musl returns 0 */
    CHECK(file_is(P("l"), "T"));
    CHECK_ERR(symlink("x", P("l")), EEXIST);
    CHECK_ERR(symlink("x", P("target")), EEXIST);
    CHECK_ERR(symlink("", P("empty")), ENOENT);
    CHECK_ERR(symlink("x", P("nope/l")), ENOENT);

    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(symlinkat("/abs/target", dfd, "abs"));
    CHECK_EQ(readlinkat(dfd, "abs", b, sizeof b), 11);
    CHECK(memcmp(b, "/abs/target", 11) == 0);
    CHECK_ERR(symlinkat("x", 999, "y"), EBADF);
    CHECK_ERR(readlinkat(999, "abs", b, sizeof b), EBADF);
    /* readlinkat on an O_PATH|O_NOFOLLOW descriptor of the link, empty path */
    int lfd = open(P("l"), O_PATH | O_NOFOLLOW);
    CHECK(lfd >= 0);
    struct stat st;
    CHECK_OK(fstat(lfd, &st));
    CHECK(S_ISLNK(st.st_mode));
    CHECK_EQ(readlinkat(lfd, "", b, sizeof b), 6);
    CHECK_OK(close(lfd));

    /* Dangling: stat fails, lstat works, O_CREAT creates the target. */
    CHECK_OK(symlink("made-by-open", P("dangling")));
    CHECK_ERR(stat(P("dangling"), &st), ENOENT);
    CHECK_OK(lstat(P("dangling"), &st));
    CHECK_ERR(open(P("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    int fd = open(P("dangling"), O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_OK(stat(P("made-by-open"), &st));

    /* O_NOFOLLOW: ELOOP on the last component only. */
    CHECK_ERR(open(P("l"), O_RDONLY | O_NOFOLLOW), ELOOP);
    CHECK_OK(mkdir(P("dir"), 0755));
    put_file(P("dir/f"), "F");
    CHECK_OK(symlink("dir", P("dl")));
    fd = open(P("dl/f"), O_RDONLY | O_NOFOLLOW);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_OK(stat(P("dl/"), &st)); /* a trailing slash follows */
    CHECK(S_ISDIR(st.st_mode));
    CHECK_ERR(open(P("l/"), O_RDONLY), ENOTDIR);

    /* Relative targets resolve from the link's directory. */
    CHECK_OK(symlink("../target", P("dir/up")));
    CHECK(file_is(P("dir/up"), "T"));
    CHECK_OK(close(dfd));
}

/* ---- ELOOP and ENAMETOOLONG ---- */
static void t_limits(void) {
    /* h0 -> file, h1 -> h0, ..., h40 -> h39: hK needs K + 1 hops. */
    put_file(P("file"), "end");
    char name[32], target[32];
    for (int i = 0; i <= 40; i++) {
        snprintf(name, sizeof name, "h%d", i);
        if (i == 0)
            strcpy(target, "file");
        else
            snprintf(target, sizeof target, "h%d", i - 1);
        CHECK_OK(symlink(target, P(name)));
    }
    struct stat st;
    CHECK_OK(stat(P("h39"), &st)); /* 40 hops: the limit */
    CHECK(file_is(P("h39"), "end"));
    CHECK_ERR(stat(P("h40"), &st), ELOOP); /* 41 */
    CHECK_ERR(open(P("h40"), O_RDONLY), ELOOP);
    CHECK_OK(lstat(P("h40"), &st));
    CHECK_OK(symlink("self", P("self")));
    CHECK_ERR(stat(P("self"), &st), ELOOP);
    CHECK_ERR(open(P("self"), O_RDONLY | O_CREAT, 0644), ELOOP);
    CHECK_OK(symlink("pong", P("ping")));
    CHECK_OK(symlink("ping", P("pong")));
    CHECK_ERR(access(P("ping"), F_OK), ELOOP);
    CHECK_ERR(stat(P("self/x"), &st), ELOOP);

    /* Names and paths. */
    static char n[5000];
    memset(n, 'a', 256);
    n[256] = 0;
    CHECK_ERR(stat(P(n), &st), ENAMETOOLONG);
    CHECK_ERR(mkdir(P(n), 0755), ENAMETOOLONG);
    CHECK_ERR(symlink("x", P(n)), ENAMETOOLONG);
    n[255] = 0;
    CHECK_OK(symlink("x", P(n))); /* 255 is fine */
    /* A path of 4096 bytes or more (PATH_MAX counts the NUL): DIR/././... */
    size_t len = strlen(sdir);
    memcpy(n, sdir, len);
    n[len] = '/';
    for (size_t i = len + 1; i < 4200; i++)
        n[i] = (i - len - 1) % 2 == 0 ? '.' : '/';
    n[4200] = 0;
    CHECK_ERR(stat(n, &st), ENAMETOOLONG);
    n[4096] = 0;
    CHECK_ERR(stat(n, &st), ENAMETOOLONG);
    n[4095] = 0; /* 4095 bytes + NUL: allowed */
    CHECK_OK(stat(n, &st));
    CHECK(S_ISDIR(st.st_mode));
    /* symlink targets: up to 4095 bytes */
    static char t[5000];
    memset(t, 'b', 4095);
    t[4095] = 0;
    CHECK_OK(symlink(t, P("long-target")));
    static char back[5000];
    CHECK_EQ(readlink(P("long-target"), back, sizeof back), 4095);
    CHECK(memcmp(back, t, 4095) == 0);
    t[4095] = 'b';
    t[4096] = 0;
    CHECK_ERR(symlink(t, P("too-long-target")), ENAMETOOLONG);
}

/* ---- rename / renameat / renameat2 ---- */
static void t_rename(void) {
    put_file(P("a"), "A");
    put_file(P("b"), "B");
    ino_t ia = ino_of(P("a"));
    CHECK_OK(rename(P("a"), P("c")));
    CHECK_ERR(access(P("a"), F_OK), ENOENT);
    CHECK_EQ(ino_of(P("c")), ia);
    CHECK_OK(rename(P("c"), P("b"))); /* replaces b */
    CHECK(file_is(P("b"), "A"));
    CHECK_EQ(ino_of(P("b")), ia);
    CHECK_OK(rename(P("b"), P("b"))); /* same name: nothing happens */
    CHECK(file_is(P("b"), "A"));
    CHECK_OK(link(P("b"), P("b2")));
    CHECK_OK(rename(P("b"), P("b2"))); /* same inode: nothing happens, both stay */
    CHECK_OK(access(P("b"), F_OK));
    CHECK_OK(access(P("b2"), F_OK));
    CHECK_ERR(rename(P("nope"), P("x")), ENOENT);
    CHECK_ERR(rename(P("b"), P("nope/x")), ENOENT);

    /* Directories. */
    CHECK_OK(mkdir(P("d1"), 0755));
    CHECK_OK(mkdir(P("d2"), 0755));
    CHECK_OK(mkdir(P("full"), 0755));
    put_file(P("full/f"), "f");
    CHECK_ERR(rename(P("b"), P("d1")), EISDIR);
    CHECK_ERR(rename(P("d1"), P("b")), ENOTDIR);
    CHECK_ERR(rename(P("d1"), P("full")), ENOTEMPTY);
    CHECK_ERR(rename(P("d1"), P("d1/sub")), EINVAL);
    CHECK_OK(mkdir(P("d1/sub"), 0755));
    CHECK_ERR(rename(P("d1"), P("d1/sub/x")), EINVAL);
    ino_t id1 = ino_of(P("d1"));
    CHECK_OK(rename(P("d1"), P("d2"))); /* over an empty directory */
    CHECK_EQ(ino_of(P("d2")), id1);
    CHECK_EQ(nlink_of(P("d2")), 3);
    CHECK_OK(rename(P("d2/sub"), P("moved"))); /* to another parent */
    CHECK_EQ(nlink_of(P("d2")), 2);
    CHECK_ERR(rename(P("d2"), P("moved/.")), EBUSY);
    CHECK_ERR(rename(P("b/"), P("x")), ENOTDIR);

    /* renameat with directory fds */
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int sub = open(P("moved"), O_RDONLY | O_DIRECTORY);
    CHECK(sub >= 0);
    CHECK_OK(renameat(dfd, "b2", sub, "inside"));
    CHECK(file_is(P("moved/inside"), "A"));
    CHECK_ERR(renameat(999, "b", dfd, "x"), EBADF);

    /* renameat2 flags */
    put_file(P("x"), "X");
    put_file(P("y"), "Y");
    CHECK_ERR(renameat2_(dfd, "x", dfd, "y", RENAME_NOREPLACE), EEXIST);
    CHECK_OK(renameat2_(dfd, "x", dfd, "z", RENAME_NOREPLACE));
    CHECK(file_is(P("z"), "X"));
    CHECK_OK(renameat2_(dfd, "z", dfd, "y", RENAME_EXCHANGE));
    CHECK(file_is(P("z"), "Y"));
    CHECK(file_is(P("y"), "X"));
    CHECK_OK(renameat2_(dfd, "z", dfd, "moved", RENAME_EXCHANGE)); /* file <-> dir */
    struct stat st;
    CHECK_OK(stat(P("z/inside"), &st));
    CHECK(file_is(P("moved"), "Y"));
    CHECK_ERR(renameat2_(dfd, "y", dfd, "nope", RENAME_EXCHANGE), ENOENT);
    CHECK_ERR(renameat2_(dfd, "y", dfd, "moved", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
    CHECK_ERR(renameat2_(dfd, "y", dfd, "w", 1u << 10), EINVAL);
    CHECK_OK(renameat2_(dfd, "y", dfd, "w", 0));
    CHECK_OK(close(sub));
    CHECK_OK(close(dfd));

    /* Across file systems. */
    if (opt_xdev) {
        char other[2048];
        snprintf(other, sizeof other, "%s/renamed", opt_xdev);
        CHECK_ERR(rename(P("w"), other), EXDEV);
        CHECK_ERR(link(P("w"), other), EXDEV);
        CHECK_ERR(rename(P("z"), other), EXDEV);
        put_file(other, "O");
        CHECK_ERR(rename(other, P("w")), EXDEV);
        CHECK_ERR(renameat2_(AT_FDCWD, other, AT_FDCWD, P("w"), RENAME_EXCHANGE), EXDEV);
        CHECK_OK(unlink(other));
    }
}

/* ---- unlink / unlinkat ---- */
static void t_unlink(void) {
    put_file(P("f"), "F");
    CHECK_OK(mkdir(P("d"), 0755));
    CHECK_ERR(unlink(P("d")), EISDIR);
    CHECK_ERR(unlink(P("nope")), ENOENT);
    CHECK_ERR(unlink(P("f/x")), ENOTDIR);
    CHECK_ERR(unlink(P("f/")), ENOTDIR);
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_ERR(unlinkat(dfd, "d", 0), EISDIR);
    CHECK_ERR(unlinkat(dfd, "f", AT_REMOVEDIR), ENOTDIR);
    CHECK_ERR(unlinkat(dfd, "f", 0x1), EINVAL);
    CHECK_ERR(unlinkat(999, "f", 0), EBADF);
    CHECK_OK(unlinkat(dfd, "d", AT_REMOVEDIR));
    CHECK_ERR(access(P("d"), F_OK), ENOENT);

    /* A symlink goes, its target stays. */
    CHECK_OK(symlink("f", P("l")));
    CHECK_OK(unlink(P("l")));
    CHECK_OK(access(P("f"), F_OK));

    /* An open file outlives its last name. */
    int fd = open(P("f"), O_RDWR);
    CHECK(fd >= 0);
    CHECK_OK(unlinkat(dfd, "f", 0));
    CHECK_ERR(access(P("f"), F_OK), ENOENT);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_nlink, 0);
    CHECK_EQ(pwrite(fd, "more", 4, 1), 4);
    char b[8];
    CHECK_EQ(pread(fd, b, 8, 0), 5);
    CHECK(memcmp(b, "Fmore", 5) == 0);
    put_file(P("f"), "new"); /* the name is free for a new file */
    CHECK_EQ(pread(fd, b, 8, 0), 5);
    CHECK_OK(close(fd));
    CHECK_OK(close(dfd));
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    run_section("link", t_link, 1);
    run_section("symlink", t_symlink, 1);
    run_section("limits", t_limits, 1);
    run_section("rename", t_rename, 1);
    run_section("unlink", t_unlink, 1);
    printf("fs_links: %s\n", fs_any_failed ? "FAILED" : "ok");
    return fs_any_failed;
}
