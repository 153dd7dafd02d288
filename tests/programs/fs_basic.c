/* fs_basic: files and descriptors.
 *
 * open/openat/creat (O_CREAT|O_EXCL, O_DIRECTORY, O_TRUNC, O_APPEND,
 * O_PATH, O_CLOEXEC), read/write/pread64/pwrite64/readv/writev/preadv/
 * pwritev, lseek (SET/CUR/END, SEEK_DATA/SEEK_HOLE on a sparse file),
 * stat/fstat/lstat/newfstatat/statx, truncate/ftruncate, fallocate,
 * fsync/fdatasync/syncfs, umask, chmod family, chown family,
 * access/faccessat/faccessat2, utimensat, dup/dup2/dup3/fcntl, sendfile,
 * copy_file_range, and EROFS on a read-only root (--expect-rofs).
 *
 * Usage: fs_basic DIR [--xdev DIR2] [--expect-rofs ROOT]  (see fs_check.h)
 */
#include "fs_check.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif
#ifndef ST_RDONLY
#define ST_RDONLY 1
#endif
#define O_LARGEFILE_KERNEL 0100000 /* the kernel always sets it on x86-64 */

/* struct statx (include/uapi/linux/stat.h), defined here because musl 1.2.3
 * has no statx wrapper or type. */
struct xstatx_ts {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
};
struct xstatx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, pad1;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct xstatx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
#define XSTATX_BASIC_STATS 0x7ffu
#define XSTATX__RESERVED 0x80000000u

static long xstatx(int dirfd, const char *path, int flags, unsigned mask, struct xstatx *st) {
    return syscall(SYS_statx, dirfd, path, flags, mask, st);
}

static long faccessat2_(int dirfd, const char *path, int mode, int flags) {
    return syscall(SYS_faccessat2, dirfd, path, mode, flags);
}

static void fill(char *b, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        b[i] = (char)((i * 31 + seed) & 0xff);
}

static mode_t mode_of(const char *p) {
    struct stat st;
    CHECK_OK(lstat(p, &st));
    return st.st_mode;
}

static off_t size_of(const char *p) {
    struct stat st;
    CHECK_OK(stat(p, &st));
    return st.st_size;
}

/* ---- open / openat / creat ---- */
static void t_open(void) {
    umask(022);
    char f[2048];
    snprintf(f, sizeof f, "%s", P("f"));
    CHECK_ERR(open(f, O_RDONLY), ENOENT);
    int fd = open(f, O_WRONLY | O_CREAT, 0666);
    CHECK(fd >= 0);
    CHECK_EQ(mode_of(f), S_IFREG | 0644);
    CHECK_EQ(write(fd, "hello", 5), 5);
    CHECK_OK(close(fd));
    CHECK_ERR(open(f, O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    CHECK_ERR(open(f, O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR(open(P("f/x"), O_RDONLY), ENOTDIR);
    CHECK_ERR(open(P("f/"), O_RDONLY), ENOTDIR);
    CHECK_ERR(open("", O_RDONLY), ENOENT);
    CHECK_ERR(open(P("missing/x"), O_WRONLY | O_CREAT, 0644), ENOENT);
    CHECK_ERR(open(sdir, O_WRONLY), EISDIR);
    CHECK_ERR(open(sdir, O_RDWR), EISDIR);
    CHECK_ERR(open(sdir, O_RDONLY | O_CREAT, 0644), EISDIR);
    fd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));

    /* creat = open(O_WRONLY|O_CREAT|O_TRUNC) */
    fd = creat(P("c"), 0600);
    CHECK(fd >= 0);
    char b[16];
    CHECK_ERR(read(fd, b, 1), EBADF);
    CHECK_EQ(write(fd, "xyz", 3), 3);
    CHECK_EQ(fcntl(fd, F_GETFL), O_WRONLY | O_LARGEFILE_KERNEL);
    CHECK_OK(close(fd));
    CHECK_EQ(mode_of(P("c")), S_IFREG | 0600);
    fd = creat(P("c"), 0644); /* existing: truncates, mode unchanged */
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_EQ(size_of(P("c")), 0);
    CHECK_EQ(mode_of(P("c")), S_IFREG | 0600);

    /* O_TRUNC */
    CHECK_EQ(size_of(f), 5);
    fd = open(f, O_RDONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_EQ(size_of(f), 0);
    put_file(f, "hello");
    fd = open(f, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_EQ(size_of(f), 0);

    /* O_APPEND: every write goes to the end, even after lseek; pwrite too (Linux). */
    put_file(f, "ab");
    fd = open(f, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(write(fd, "cd", 2), 2);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 4);
    CHECK_EQ(pwrite(fd, "ef", 2, 0), 2);
    CHECK_EQ(fcntl(fd, F_GETFL), O_WRONLY | O_APPEND | O_LARGEFILE_KERNEL);
    CHECK_OK(close(fd));
    CHECK_EQ(get_file(f, b, sizeof b), 6);
    CHECK(strcmp(b, "abcdef") == 0);

    /* openat: relative to a directory fd, AT_FDCWD, absolute paths ignore dirfd. */
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    fd = openat(dfd, "at", O_RDWR | O_CREAT | O_EXCL, 0640);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_EQ(mode_of(P("at")), S_IFREG | 0640);
    fd = openat(999, P("at"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_ERR(openat(999, "at", O_RDONLY), EBADF);
    fd = open(f, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(openat(fd, "at", O_RDONLY), ENOTDIR);
    CHECK_OK(close(fd));
    CHECK_ERR(openat(dfd, "nope", O_RDONLY), ENOENT);
    CHECK_OK(close(dfd));

    /* O_CLOEXEC */
    fd = open(f, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDONLY | O_LARGEFILE_KERNEL);
    CHECK_OK(close(fd));

    /* O_PATH: a handle for fstat and *at, no I/O. */
    fd = open(f, O_PATH);
    CHECK(fd >= 0);
    CHECK_ERR(read(fd, b, 1), EBADF);
    CHECK_ERR(write(fd, b, 1), EBADF);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 6);
    /* raw: musl's fchmod falls back to chmod("/proc/self/fd/N") on EBADF */
    CHECK_ERR(syscall(SYS_fchmod, fd, 0600), EBADF);
    CHECK_EQ(fcntl(fd, F_GETFL), O_PATH); /* no O_LARGEFILE on O_PATH descriptors */
    CHECK_OK(close(fd));
    dfd = open(sdir, O_PATH | O_DIRECTORY);
    CHECK(dfd >= 0);
    fd = openat(dfd, "f", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ(read(fd, b, 6), 6);
    CHECK_OK(close(fd));
    CHECK_OK(close(dfd));

    /* A name component longer than NAME_MAX. */
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    CHECK_ERR(open(P(longname), O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
    longname[255] = 0;
    fd = open(P(longname), O_RDONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    const char *volatile null_path = NULL;
    CHECK_ERR(open(null_path, O_RDONLY), EFAULT);
    CHECK_ERR(open((const char *)1, O_RDONLY), EFAULT);
}

/* ---- read / write and the vector / positioned forms ---- */
static void t_rw(void) {
    static char data[10000], back[10000];
    fill(data, sizeof data, 7);
    int fd = open(P("rw"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, sizeof data), sizeof data);
    CHECK_EQ(write(fd, data, 0), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    size_t got = 0;
    while (got < sizeof back) {
        long n = read(fd, back + got, 777);
        CHECK(n > 0);
        got += n;
    }
    CHECK(memcmp(data, back, sizeof data) == 0);
    CHECK_EQ(read(fd, back, 10), 0); /* EOF */

    /* pread/pwrite leave the file position alone. */
    CHECK_EQ(pread(fd, back, 100, 5000), 100);
    CHECK(memcmp(back, data + 5000, 100) == 0);
    CHECK_EQ(pread(fd, back, 100, 9950), 50);
    CHECK_EQ(pread(fd, back, 100, 20000), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10000);
    CHECK_EQ(pwrite(fd, "Z", 1, 20000), 1);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10000);
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 20001);
    CHECK_EQ(pread(fd, back, 10, 15000), 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(back[i], 0);
    CHECK_ERR(pread(fd, back, 1, -1), EINVAL);
    CHECK_ERR(pwrite(fd, back, 1, -1), EINVAL);
    void *volatile bad_ptr = (void *)1; /* volatile: keep gcc's checks quiet */
    CHECK_ERR(read(fd, bad_ptr, 10), EFAULT); /* at 10000: there is data to copy */

    /* writev / readv */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    struct iovec w[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    CHECK_EQ(writev(fd, w, 3), 8);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8);
    char r1[2], r2[4], r3[10];
    struct iovec r[3] = {{r1, 2}, {r2, 4}, {r3, 10}};
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(readv(fd, r, 3), 16);
    CHECK(memcmp(r1, "ab", 2) == 0 && memcmp(r2, "cdef", 4) == 0 && memcmp(r3, "gh", 2) == 0);
    CHECK(memcmp(r3 + 2, data + 8, 8) == 0);
    CHECK_EQ(readv(fd, r, 0), 0);
    volatile int neg = -1, too_many = 1025;
    CHECK_ERR(readv(fd, r, neg), EINVAL);
    CHECK_ERR(writev(fd, w, too_many), EINVAL);

    /* pwritev / preadv */
    struct iovec pw[2] = {{"12", 2}, {"345", 3}};
    CHECK_EQ(pwritev(fd, pw, 2, 100), 5);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 16);
    char q1[3], q2[2];
    struct iovec pr[2] = {{q1, 3}, {q2, 2}};
    CHECK_EQ(preadv(fd, pr, 2, 100), 5);
    CHECK(memcmp(q1, "123", 3) == 0 && memcmp(q2, "45", 2) == 0);
    CHECK_EQ(preadv(fd, pr, 2, 19999), 2);
    CHECK_EQ(q1[1], 'Z');
    CHECK_ERR(preadv(fd, pr, 2, -5), EINVAL);
    CHECK_OK(close(fd));

    /* Wrong access mode, closed fds, directories, pipes. */
    fd = open(P("rw"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(write(fd, "x", 1), EBADF);
    CHECK_ERR(pwrite(fd, "x", 1, 0), EBADF);
    CHECK_ERR(writev(fd, w, 1), EBADF);
    CHECK_OK(close(fd));
    fd = open(P("rw"), O_WRONLY);
    CHECK(fd >= 0);
    CHECK_ERR(read(fd, back, 1), EBADF);
    CHECK_ERR(pread(fd, back, 1, 0), EBADF);
    CHECK_OK(close(fd));
    CHECK_ERR(read(fd, back, 1), EBADF);
    CHECK_ERR(write(-1, "x", 1), EBADF);
    int dfd = open(sdir, O_RDONLY);
    CHECK(dfd >= 0);
    CHECK_ERR(read(dfd, back, 1), EISDIR);
    CHECK_ERR(pread(dfd, back, 1, 0), EISDIR);
    CHECK_OK(close(dfd));
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(pread(p[0], back, 1, 0), ESPIPE);
    CHECK_ERR(pwrite(p[1], "x", 1, 0), ESPIPE);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
}

/* ---- lseek, SEEK_DATA / SEEK_HOLE ---- */
static void t_lseek(void) {
    int fd = open(P("s"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "0123456789", 10), 10);
    CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
    CHECK_EQ(lseek(fd, 2, SEEK_CUR), 5);
    CHECK_EQ(lseek(fd, -1, SEEK_CUR), 4);
    CHECK_EQ(lseek(fd, -2, SEEK_END), 8);
    CHECK_EQ(lseek(fd, 100, SEEK_END), 110);
    CHECK_EQ(lseek(fd, 1000, SEEK_SET), 1000);
    char c;
    CHECK_EQ(read(fd, &c, 1), 0);
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, -11, SEEK_END), EINVAL);
    CHECK_ERR(lseek(fd, 0, 99), EINVAL);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 1000); /* unchanged by the failures */
    CHECK_ERR(lseek(-1, 0, SEEK_SET), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
    CHECK_OK(close(fd));

    /* Sparse: data [0,4K), hole, data [1M,1M+4K), hole up to 2M. */
    const off_t M = 1 << 20;
    static char page[4096];
    fill(page, sizeof page, 3);
    fd = open(P("sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, page, 4096, 0), 4096);
    CHECK_EQ(pwrite(fd, page, 4096, M), 4096);
    CHECK_OK(ftruncate(fd, 2 * M));
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 2 * M);
    CHECK_EQ(st.st_blocks, 16); /* two 4 KiB pages in 512-byte units */
    CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 4096);
    CHECK_EQ(lseek(fd, 100, SEEK_HOLE), 4096);
    CHECK_EQ(lseek(fd, 4096, SEEK_DATA), M);
    CHECK_EQ(lseek(fd, 5000, SEEK_DATA), M);
    CHECK_EQ(lseek(fd, 5000, SEEK_HOLE), 5000);
    CHECK_EQ(lseek(fd, M, SEEK_HOLE), M + 4096);
    CHECK_EQ(lseek(fd, M + 10, SEEK_DATA), M + 10);
    CHECK_ERR(lseek(fd, M + 4096, SEEK_DATA), ENXIO);
    CHECK_EQ(lseek(fd, M + 4096, SEEK_HOLE), M + 4096);
    CHECK_ERR(lseek(fd, 2 * M, SEEK_DATA), ENXIO);
    CHECK_ERR(lseek(fd, 2 * M, SEEK_HOLE), ENXIO);
    CHECK_ERR(lseek(fd, 3 * M, SEEK_HOLE), ENXIO);
    CHECK_ERR(lseek(fd, -1, SEEK_DATA), ENXIO);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), M + 4096); /* the last successful seek */
    static char buf[8192];
    CHECK_EQ(pread(fd, buf, 8192, 0), 8192);
    CHECK(memcmp(buf, page, 4096) == 0);
    for (int i = 4096; i < 8192; i++)
        CHECK_EQ(buf[i], 0);
    CHECK_EQ(pread(fd, buf, 8192, 2 * M - 100), 100);
    CHECK_OK(close(fd));
}

/* ---- stat family ---- */
static void t_stat(void) {
    umask(022);
    static char data[10000];
    fill(data, sizeof data, 1);
    int fd = open(P("st"), O_RDWR | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, sizeof data), sizeof data);
    CHECK_OK(symlink("st", P("lnk")));

    struct stat a, b, l;
    CHECK_OK(stat(P("st"), &a));
    CHECK_OK(fstat(fd, &b));
    CHECK_EQ(a.st_mode, S_IFREG | 0640);
    CHECK_EQ(a.st_size, 10000);
    CHECK_EQ(a.st_nlink, 1);
    CHECK_EQ(a.st_uid, geteuid());
    CHECK_EQ(a.st_gid, getegid());
    CHECK_EQ(a.st_blocks, 24); /* three pages */
    CHECK(a.st_blksize > 0);
    CHECK_EQ(a.st_ino, b.st_ino);
    CHECK_EQ(a.st_dev, b.st_dev);
    CHECK_EQ(a.st_size, b.st_size);
    CHECK_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    CHECK_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);

    CHECK_OK(lstat(P("lnk"), &l));
    CHECK(S_ISLNK(l.st_mode));
    CHECK_EQ(l.st_mode & 07777, 0777);
    CHECK_EQ(l.st_size, 2);
    CHECK(l.st_ino != a.st_ino);
    CHECK_OK(stat(P("lnk"), &l));
    CHECK_EQ(l.st_ino, a.st_ino);
    CHECK_OK(lstat(P("st"), &l));
    CHECK_EQ(l.st_ino, a.st_ino);

    struct stat d;
    CHECK_OK(stat(sdir, &d));
    CHECK(S_ISDIR(d.st_mode));
    CHECK_EQ(d.st_dev, a.st_dev);

    /* newfstatat: dirfd, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, bad flags. */
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(fstatat(dfd, "st", &b, 0));
    CHECK_EQ(b.st_ino, a.st_ino);
    CHECK_OK(fstatat(dfd, "lnk", &b, AT_SYMLINK_NOFOLLOW));
    CHECK(S_ISLNK(b.st_mode));
    CHECK_OK(fstatat(dfd, "lnk", &b, 0));
    CHECK_EQ(b.st_ino, a.st_ino);
    CHECK_OK(fstatat(fd, "", &b, AT_EMPTY_PATH));
    CHECK_EQ(b.st_ino, a.st_ino);
    CHECK_OK(fstatat(AT_FDCWD, P("st"), &b, 0));
    CHECK_EQ(b.st_ino, a.st_ino);
    CHECK_ERR(fstatat(fd, "", &b, 0), ENOENT);
    CHECK_ERR(fstatat(dfd, "st", &b, 0x4), EINVAL);
    CHECK_ERR(fstatat(fd, "st", &b, 0), ENOTDIR);
    CHECK_ERR(fstatat(999, "st", &b, 0), EBADF);
    CHECK_ERR(stat(P("nope"), &b), ENOENT);
    CHECK_ERR(stat(P("st/x"), &b), ENOTDIR);
    CHECK_ERR(stat(P("st/"), &b), ENOTDIR);
    CHECK_ERR(lstat(P("nope"), &b), ENOENT);
    CHECK_ERR(fstat(-1, &b), EBADF);
    CHECK_ERR(syscall(SYS_fstat, fd, (struct stat *)8), EFAULT); /* raw: musl copies */
    CHECK_ERR(stat("", &b), ENOENT);

    /* statx */
    struct xstatx x;
    memset(&x, 0xff, sizeof x);
    CHECK_OK(xstatx(dfd, "st", 0, XSTATX_BASIC_STATS, &x));
    CHECK_EQ(x.stx_mask & XSTATX_BASIC_STATS, XSTATX_BASIC_STATS);
    CHECK_EQ(x.stx_mode, S_IFREG | 0640);
    CHECK_EQ(x.stx_size, 10000);
    CHECK_EQ(x.stx_ino, a.st_ino);
    CHECK_EQ(x.stx_nlink, 1);
    CHECK_EQ(x.stx_blocks, 24);
    CHECK_EQ(x.stx_mtime.tv_sec, a.st_mtim.tv_sec);
    CHECK_EQ(x.stx_mtime.tv_nsec, a.st_mtim.tv_nsec);
    CHECK_EQ(makedev(x.stx_dev_major, x.stx_dev_minor), a.st_dev);
    CHECK_OK(xstatx(dfd, "lnk", AT_SYMLINK_NOFOLLOW, XSTATX_BASIC_STATS, &x));
    CHECK(S_ISLNK(x.stx_mode));
    CHECK_OK(xstatx(fd, "", AT_EMPTY_PATH, XSTATX_BASIC_STATS, &x));
    CHECK_EQ(x.stx_ino, a.st_ino);
    CHECK_OK(xstatx(AT_FDCWD, P("lnk"), 0, XSTATX_BASIC_STATS, &x));
    CHECK_EQ(x.stx_ino, a.st_ino);
    CHECK_ERR(xstatx(dfd, "nope", 0, XSTATX_BASIC_STATS, &x), ENOENT);
    CHECK_ERR(xstatx(dfd, "st", 0, XSTATX__RESERVED, &x), EINVAL);
    CHECK_ERR(xstatx(dfd, "st", 0x4, XSTATX_BASIC_STATS, &x), EINVAL);
    CHECK_ERR(xstatx(fd, "", 0, XSTATX_BASIC_STATS, &x), ENOENT);
    CHECK_OK(close(dfd));
    CHECK_OK(close(fd));
}

/* ---- truncate / ftruncate ---- */
static void t_truncate(void) {
    put_file(P("t"), "0123456789");
    CHECK_OK(truncate(P("t"), 4));
    char b[64];
    CHECK_EQ(get_file(P("t"), b, sizeof b), 4);
    CHECK(strcmp(b, "0123") == 0);
    CHECK_OK(truncate(P("t"), 8));
    CHECK_EQ(get_file(P("t"), b, sizeof b), 8);
    CHECK(memcmp(b, "0123\0\0\0\0", 8) == 0);
    CHECK_ERR(truncate(P("t"), -1), EINVAL);
    CHECK_ERR(truncate(P("nope"), 0), ENOENT);
    CHECK_ERR(truncate(sdir, 0), EISDIR);

    int fd = open(P("t"), O_RDWR);
    CHECK(fd >= 0);
    CHECK_EQ(lseek(fd, 0, SEEK_END), 8);
    CHECK_OK(ftruncate(fd, 2));
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8); /* position is not moved */
    CHECK_EQ(write(fd, "X", 1), 1);      /* writing past EOF leaves a zero gap */
    CHECK_OK(close(fd));
    CHECK_EQ(get_file(P("t"), b, sizeof b), 9);
    CHECK(memcmp(b, "01\0\0\0\0\0\0X", 9) == 0);
    fd = open(P("t"), O_WRONLY);
    CHECK(fd >= 0);
    CHECK_OK(ftruncate(fd, 0));
    CHECK_OK(close(fd));
    CHECK_EQ(size_of(P("t")), 0);

    fd = open(P("t"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(ftruncate(fd, 0), EINVAL);
    CHECK_OK(close(fd));
    fd = open(P("t"), O_RDWR);
    CHECK(fd >= 0);
    CHECK_ERR(ftruncate(fd, -1), EINVAL);
    CHECK_OK(close(fd));
    CHECK_ERR(ftruncate(-1, 0), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(ftruncate(p[1], 0), EINVAL);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
}

/* ---- fallocate ---- */
static void t_fallocate(void) {
    int fd = open(P("fa"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_OK(fallocate(fd, 0, 0, 10000));
    struct stat st;
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 10000);
    CHECK_EQ(st.st_blocks, 24);
    CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 10000, 20000));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 10000);
    CHECK_EQ(st.st_blocks, 64); /* [0, 30000) rounded up to 8 pages */
    static char buf[10000];
    CHECK_EQ(pread(fd, buf, sizeof buf, 0), 10000);
    for (int i = 0; i < 10000; i++)
        CHECK_EQ(buf[i], 0);

    /* Punch a whole page out of written data: it reads back as zeros. */
    memset(buf, 'a', sizeof buf);
    CHECK_EQ(pwrite(fd, buf, sizeof buf, 0), 10000);
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_size, 10000);
    CHECK_EQ(pread(fd, buf, sizeof buf, 0), 10000);
    CHECK_EQ(buf[4095], 'a');
    CHECK_EQ(buf[4096], 0);
    CHECK_EQ(buf[8191], 0);
    CHECK_EQ(buf[8192], 'a');
    CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 4096);
    /* Partial pages are zeroed in place. */
    CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 5));
    CHECK_EQ(pread(fd, buf, 20, 0), 20);
    CHECK(memcmp(buf, "aaaaaaaaaa\0\0\0\0\0aaaaa", 20) == 0);

    CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
    CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL);
    CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL);
    CHECK_ERR(fallocate(-1, 0, 0, 10), EBADF);
    CHECK_OK(close(fd));
    fd = open(P("fa"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(fallocate(fd, 0, 0, 10), EBADF);
    CHECK_OK(close(fd));
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(fallocate(p[1], 0, 0, 10), ESPIPE);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
}

/* ---- fsync / fdatasync / syncfs / sync ---- */
static void t_sync(void) {
    int fd = open(P("y"), O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "data", 4), 4);
    CHECK_OK(fsync(fd));
    CHECK_OK(fdatasync(fd));
    CHECK_OK(syncfs(fd));
    sync();
    CHECK_OK(close(fd));
    fd = open(P("y"), O_RDONLY); /* fsync works on read-only descriptors */
    CHECK(fd >= 0);
    CHECK_OK(fsync(fd));
    CHECK_OK(close(fd));
    fd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK_OK(fsync(fd));
    CHECK_OK(close(fd));
    CHECK_ERR(fsync(-1), EBADF);
    CHECK_ERR(fdatasync(999), EBADF);
    CHECK_ERR(syncfs(-1), EBADF);
    int p[2];
    CHECK_OK(pipe(p));
    CHECK_ERR(fsync(p[0]), EINVAL);
    CHECK_ERR(fdatasync(p[1]), EINVAL);
    CHECK_OK(close(p[0]));
    CHECK_OK(close(p[1]));
}

/* ---- umask, chmod, chown, access, utimensat ---- */
static void t_perm(void) {
    umask(022);
    CHECK_EQ(umask(027), 022);
    int fd = open(P("m"), O_WRONLY | O_CREAT, 0666);
    CHECK(fd >= 0);
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0640);
    CHECK_OK(mkdir(P("md"), 0777));
    CHECK_EQ(mode_of(P("md")), S_IFDIR | 0750);
    CHECK_EQ(umask(022), 027);

    /* chmod, fchmod, fchmodat (mode is not filtered by umask). */
    CHECK_OK(chmod(P("m"), 0777));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0777);
    CHECK_OK(chmod(P("m"), 04755));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 04755);
    CHECK_OK(fchmod(fd, 0600));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0600);
    int dfd = open(sdir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK_OK(fchmodat(dfd, "m", 0604, 0));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0604);
    CHECK_OK(syscall(SYS_fchmodat, AT_FDCWD, P("m"), 0644));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0644);
    CHECK_OK(chmod(P("md"), 01777));
    CHECK_EQ(mode_of(P("md")), S_IFDIR | 01777);
    CHECK_ERR(chmod(P("nope"), 0644), ENOENT);
    CHECK_ERR(fchmod(-1, 0644), EBADF);
    CHECK_ERR(fchmodat(999, "m", 0644, 0), EBADF);
    CHECK_OK(symlink("m", P("ml")));
    CHECK_OK(chmod(P("ml"), 0600)); /* follows the link */
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0600);
    CHECK_EQ(mode_of(P("ml")), S_IFLNK | 0777);

    /* chown family (the test runs as root). */
    struct stat st;
    CHECK_OK(chown(P("m"), 1000, 2000));
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 2000);
    CHECK_OK(chown(P("m"), -1, 3000));
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 3000);
    CHECK_OK(fchown(fd, 4000, -1));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_uid, 4000);
    CHECK_EQ(st.st_gid, 3000);
    CHECK_OK(lchown(P("ml"), 5, 6)); /* the link itself */
    CHECK_OK(lstat(P("ml"), &st));
    CHECK_EQ(st.st_uid, 5);
    CHECK_EQ(st.st_gid, 6);
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_uid, 4000);
    CHECK_OK(fchownat(dfd, "ml", 7, 8, 0)); /* follows */
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_uid, 7);
    CHECK_EQ(st.st_gid, 8);
    CHECK_OK(fchownat(dfd, "ml", 9, 10, AT_SYMLINK_NOFOLLOW));
    CHECK_OK(lstat(P("ml"), &st));
    CHECK_EQ(st.st_uid, 9);
    CHECK_OK(fchownat(fd, "", 11, 12, AT_EMPTY_PATH));
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_uid, 11);
    CHECK_ERR(fchownat(dfd, "m", 0, 0, 0x4), EINVAL);
    CHECK_ERR(chown(P("nope"), 0, 0), ENOENT);
    CHECK_ERR(fchown(-1, 0, 0), EBADF);
    /* A chown clears set-user-ID (and set-group-ID with group exec). */
    CHECK_OK(chmod(P("m"), 06755));
    CHECK_OK(chown(P("m"), 0, 0));
    CHECK_EQ(mode_of(P("m")), S_IFREG | 0755);
    CHECK_OK(close(fd));

    /* access / faccessat / faccessat2 (root: r/w always, x needs some x bit). */
    CHECK_OK(chmod(P("m"), 0));
    CHECK_OK(access(P("m"), F_OK));
    CHECK_OK(access(P("m"), R_OK | W_OK));
    CHECK_ERR(access(P("m"), X_OK), EACCES);
    CHECK_OK(chmod(P("m"), 0010));
    CHECK_OK(access(P("m"), X_OK));
    CHECK_OK(access(P("md"), R_OK | W_OK | X_OK));
    CHECK_ERR(access(P("nope"), F_OK), ENOENT);
    CHECK_ERR(access(P("m/x"), F_OK), ENOTDIR);
    CHECK_ERR(access(P("m"), 8), EINVAL);
    CHECK_OK(faccessat(dfd, "m", R_OK, 0));
    CHECK_OK(faccessat(dfd, "m", R_OK, AT_EACCESS));
    CHECK_OK(symlink("nope", P("dangling")));
    CHECK_ERR(faccessat(dfd, "dangling", F_OK, 0), ENOENT);
    CHECK_OK(faccessat2_(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
    CHECK_OK(faccessat2_(dfd, "m", X_OK, AT_EACCESS));
    CHECK_ERR(faccessat2_(dfd, "m", F_OK, 0x1), EINVAL);
    CHECK_ERR(faccessat2_(999, "m", F_OK, 0), EBADF);
    CHECK_OK(syscall(SYS_faccessat, dfd, "m", R_OK));

    /* utimensat */
    struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
    CHECK_OK(utimensat(dfd, "m", ts, 0));
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_atim.tv_sec, 1000000000);
    CHECK_EQ(st.st_atim.tv_nsec, 123456789);
    CHECK_EQ(st.st_mtim.tv_sec, 1200000000);
    CHECK_EQ(st.st_mtim.tv_nsec, 987654321);
    struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    CHECK_OK(utimensat(AT_FDCWD, P("m"), omit_now, 0));
    CHECK_OK(stat(P("m"), &st));
    CHECK_EQ(st.st_atim.tv_sec, 1000000000);
    time_t now = time(NULL);
    CHECK(st.st_mtim.tv_sec >= now - 10 && st.st_mtim.tv_sec <= now + 10);
    CHECK_OK(utimensat(dfd, "ml", ts, AT_SYMLINK_NOFOLLOW)); /* the link itself */
    CHECK_OK(lstat(P("ml"), &st));
    CHECK_EQ(st.st_mtim.tv_sec, 1200000000);
    CHECK_OK(stat(P("m"), &st));
    CHECK(st.st_mtim.tv_sec >= now - 10);
    fd = open(P("m"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_OK(futimens(fd, ts));
    CHECK_OK(fstat(fd, &st));
    CHECK_EQ(st.st_mtim.tv_nsec, 987654321);
    CHECK_OK(close(fd));
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    CHECK_ERR(utimensat(dfd, "m", bad, 0), EINVAL);
    CHECK_ERR(utimensat(dfd, "nope", ts, 0), ENOENT);
    CHECK_ERR(utimensat(dfd, "m", ts, 0x1), EINVAL);
    CHECK_OK(close(dfd));
}

/* ---- dup, dup2, dup3, fcntl ---- */
static void t_fds(void) {
    int fd = open(P("d"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "abcdef", 6), 6);
    int d = dup(fd);
    CHECK(d > fd);
    CHECK_EQ(lseek(d, 0, SEEK_CUR), 6); /* shared file position */
    CHECK_EQ(lseek(fd, 1, SEEK_SET), 1);
    CHECK_EQ(lseek(d, 0, SEEK_CUR), 1);
    CHECK_EQ(fcntl(d, F_GETFD), 0);
    CHECK_ERR(dup(-1), EBADF);
    CHECK_ERR(dup(999), EBADF);

    CHECK_EQ(dup2(fd, 50), 50);
    CHECK_EQ(lseek(50, 0, SEEK_CUR), 1);
    CHECK_EQ(dup2(fd, fd), fd);
    CHECK_EQ(dup2(d, 50), 50); /* closes the old 50 first */
    CHECK_ERR(dup2(999, 51), EBADF);
    CHECK_ERR(fcntl(51, F_GETFD), EBADF);
    CHECK_ERR(dup2(fd, -1), EBADF);
    CHECK_ERR(dup2(fd, 1 << 20), EBADF);

    CHECK_EQ(dup3(fd, 60, O_CLOEXEC), 60);
    CHECK_EQ(fcntl(60, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(dup3(fd, 61, 0), 61);
    CHECK_EQ(fcntl(61, F_GETFD), 0);
    CHECK_ERR(dup3(fd, fd, 0), EINVAL);
    CHECK_ERR(syscall(SYS_dup3, fd, 62, O_APPEND), EINVAL); /* raw: musl drops flags */

    int f1 = fcntl(fd, F_DUPFD, 100);
    CHECK_EQ(f1, 100);
    CHECK_EQ(fcntl(fd, F_DUPFD, 100), 101);
    CHECK_EQ(fcntl(f1, F_GETFD), 0);
    int f2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    CHECK_EQ(f2, 102);
    CHECK_EQ(fcntl(f2, F_GETFD), FD_CLOEXEC);
    CHECK_ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
    CHECK_ERR(fcntl(fd, F_DUPFD, 1 << 30), EINVAL);
    CHECK_OK(fcntl(f2, F_SETFD, 0));
    CHECK_EQ(fcntl(f2, F_GETFD), 0);
    CHECK_OK(fcntl(f2, F_SETFD, FD_CLOEXEC));
    CHECK_EQ(fcntl(f2, F_GETFD), FD_CLOEXEC);
    CHECK_EQ(fcntl(fd, F_GETFD), 0); /* the flag is per descriptor */

    /* Status flags are per open file description, shared by duplicates. */
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDWR | O_LARGEFILE_KERNEL);
    CHECK_OK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
    CHECK_EQ(fcntl(d, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK | O_LARGEFILE_KERNEL);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(write(d, "gh", 2), 2); /* appends */
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8);
    CHECK_OK(fcntl(fd, F_SETFL, O_RDONLY)); /* access mode cannot change */
    CHECK_EQ(fcntl(fd, F_GETFL), O_RDWR | O_LARGEFILE_KERNEL);
    CHECK_ERR(fcntl(fd, 9999), EINVAL);
    CHECK_ERR(fcntl(-1, F_GETFL), EBADF);

    int fds[] = {d, 50, 60, 61, f1, 101, f2};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        CHECK_OK(close(fds[i]));
    CHECK_ERR(close(50), EBADF);
    char b[16];
    CHECK_EQ(pread(fd, b, 8, 0), 8);
    CHECK(memcmp(b, "abcdefgh", 8) == 0);
    CHECK_OK(close(fd));
}

/* ---- sendfile, copy_file_range ---- */
static void t_copy(void) {
    static char data[100000], back[100000];
    fill(data, sizeof data, 9);
    int in = open(P("src"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(in >= 0);
    CHECK_EQ(write(in, data, sizeof data), sizeof data);
    int out = open(P("dst"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(out >= 0);

    /* sendfile with an offset: the input position stays. */
    off_t off = 1000;
    CHECK_EQ(lseek(in, 5, SEEK_SET), 5);
    CHECK_EQ(sendfile(out, in, &off, 50000), 50000);
    CHECK_EQ(off, 51000);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 5);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 50000);
    /* without: from (and advancing) the input position; short at EOF */
    CHECK_EQ(lseek(in, 90000, SEEK_SET), 90000);
    CHECK_EQ(sendfile(out, in, NULL, 20000), 10000);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 100000);
    CHECK_EQ(sendfile(out, in, NULL, 20000), 0);
    CHECK_EQ(pread(out, back, 60000, 0), 60000);
    CHECK(memcmp(back, data + 1000, 50000) == 0);
    CHECK(memcmp(back + 50000, data + 90000, 10000) == 0);
    /* into a pipe */
    int p[2];
    CHECK_OK(pipe(p));
    off = 7;
    CHECK_EQ(sendfile(p[1], in, &off, 100), 100);
    CHECK_EQ(read(p[0], back, 200), 100);
    CHECK(memcmp(back, data + 7, 100) == 0);
    int ro = open(P("src"), O_RDONLY);
    CHECK(ro >= 0);
    int wo = open(P("src"), O_WRONLY);
    CHECK(wo >= 0);
    CHECK_ERR(sendfile(ro, in, NULL, 10), EBADF);
    CHECK_ERR(sendfile(out, wo, NULL, 10), EBADF);
    CHECK_ERR(sendfile(-1, in, NULL, 10), EBADF);
    off = -1;
    CHECK_ERR(sendfile(out, in, &off, 10), EINVAL);
    int dfd = open(sdir, O_RDONLY);
    CHECK(dfd >= 0);
    CHECK_ERR(sendfile(out, dfd, NULL, 10), EINVAL);

    /* copy_file_range */
    CHECK_OK(ftruncate(out, 0));
    loff_t oi = 10, oo = 0;
    CHECK_EQ(copy_file_range(in, &oi, out, &oo, 30000, 0), 30000);
    CHECK_EQ(oi, 30010);
    CHECK_EQ(oo, 30000);
    CHECK_EQ(pread(out, back, 40000, 0), 30000);
    CHECK(memcmp(back, data + 10, 30000) == 0);
    /* NULL offsets use and advance the file positions. */
    CHECK_EQ(lseek(in, 99990, SEEK_SET), 99990);
    CHECK_EQ(lseek(out, 5, SEEK_SET), 5);
    CHECK_EQ(copy_file_range(in, NULL, out, NULL, 100, 0), 10);
    CHECK_EQ(lseek(in, 0, SEEK_CUR), 100000);
    CHECK_EQ(lseek(out, 0, SEEK_CUR), 15);
    CHECK_EQ(copy_file_range(in, NULL, out, NULL, 100, 0), 0);
    CHECK_EQ(pread(out, back, 10, 5), 10);
    CHECK(memcmp(back, data + 99990, 10) == 0);
    /* same file, non-overlapping ranges: fine; overlapping: EINVAL */
    oi = 0;
    oo = 200000;
    CHECK_EQ(copy_file_range(in, &oi, in, &oo, 100, 0), 100);
    oi = 0;
    oo = 50;
    CHECK_ERR(copy_file_range(in, &oi, in, &oo, 100, 0), EINVAL);
    oi = 0;
    CHECK_ERR(copy_file_range(in, &oi, out, NULL, 10, 1), EINVAL);
    CHECK_ERR(copy_file_range(wo, NULL, out, NULL, 10, 0), EBADF);
    CHECK_ERR(copy_file_range(in, NULL, ro, NULL, 10, 0), EBADF);
    CHECK_ERR(copy_file_range(dfd, NULL, out, NULL, 10, 0), EISDIR);
    CHECK_ERR(copy_file_range(in, NULL, p[1], NULL, 10, 0), EINVAL);
    CHECK_ERR(copy_file_range(-1, NULL, out, NULL, 10, 0), EBADF);
    int fds[] = {p[0], p[1], ro, wo, dfd, in, out};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        CHECK_OK(close(fds[i]));
}

/* ---- a read-only root (--expect-rofs ROOT) ---- */
static void t_rofs(void) {
    const char *root = opt_rofs;
    char p[1200], q[2200];
    /* Any regular file and any directory already in ROOT. */
    char file[1200] = "", dir[1200] = "";
    DIR *dp = opendir(root);
    CHECK(dp != NULL);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", strcmp(root, "/") ? root : "", e->d_name);
        struct stat st;
        CHECK_OK(lstat(p, &st));
        if (S_ISREG(st.st_mode) && !file[0])
            strcpy(file, p);
        if (S_ISDIR(st.st_mode) && !dir[0])
            strcpy(dir, p);
    }
    closedir(dp);
    CHECK(file[0] != 0);
    CHECK(dir[0] != 0);
    snprintf(p, sizeof p, "%s/oxv-new-name", strcmp(root, "/") ? root : "");

    struct statfs sf;
    CHECK_OK(statfs(root, &sf));
    CHECK((sf.f_flags & ST_RDONLY) != 0);

    /* Reading works. */
    int fd = open(file, O_RDONLY);
    CHECK(fd >= 0);
    char b[4];
    CHECK(read(fd, b, 4) >= 0);
    CHECK_ERR(fchmod(fd, 0600), EROFS);
    CHECK_ERR(fchown(fd, 1, 1), EROFS);
    CHECK_ERR(ftruncate(fd, 0), EINVAL); /* not open for writing comes first */
    CHECK_OK(fsync(fd));
    CHECK_OK(close(fd));
    CHECK_OK(access(file, R_OK));
    CHECK_ERR(access(file, W_OK), EROFS);

    /* Creating anything new. */
    CHECK_ERR(open(p, O_WRONLY | O_CREAT, 0644), EROFS);
    CHECK_ERR(creat(p, 0644), EROFS);
    CHECK_ERR(mkdir(p, 0755), EROFS);
    CHECK_ERR(symlink("x", p), EROFS);
    CHECK_ERR(link(file, p), EROFS);
    CHECK_ERR(mknod(p, S_IFIFO | 0644, 0), EROFS);
    CHECK_ERR(mkdir(dir, 0755), EEXIST);        /* existing name first */
    CHECK_ERR(open(file, O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);

    /* Changing what exists. */
    CHECK_ERR(open(file, O_WRONLY), EROFS);
    CHECK_ERR(open(file, O_RDWR), EROFS);
    CHECK_ERR(open(file, O_RDONLY | O_TRUNC), EROFS);
    CHECK_ERR(open(file, O_WRONLY | O_CREAT, 0644), EROFS);
    CHECK_ERR(truncate(file, 0), EROFS);
    CHECK_ERR(chmod(file, 0600), EROFS);
    CHECK_ERR(chown(file, 1, 1), EROFS);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    CHECK_ERR(utimensat(AT_FDCWD, file, ts, 0), EROFS);
    CHECK_ERR(unlink(file), EROFS);
    CHECK_ERR(unlink(p), EROFS); /* checked before the name is looked up */
    CHECK_ERR(rmdir(p), EROFS);
    snprintf(q, sizeof q, "%s.renamed", file);
    CHECK_ERR(rename(file, q), EROFS);
    /* Across mounts: EXDEV comes first. */
    snprintf(q, sizeof q, "%s/from-rofs", sdir);
    CHECK_ERR(rename(file, q), EXDEV);
    CHECK_ERR(link(file, q), EXDEV);
    /* Directories open read-only fine; for writing, EISDIR. */
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK_OK(close(fd));
    CHECK_ERR(open(dir, O_WRONLY), EISDIR);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    run_section("open", t_open, 1);
    run_section("rw", t_rw, 1);
    run_section("lseek", t_lseek, 1);
    run_section("stat", t_stat, 1);
    run_section("truncate", t_truncate, 1);
    run_section("fallocate", t_fallocate, 1);
    run_section("sync", t_sync, 1);
    run_section("perm", t_perm, 1);
    run_section("fds", t_fds, 1);
    run_section("copy", t_copy, 1);
    run_section("rofs", t_rofs, opt_rofs != NULL);
    printf("fs_basic: %s\n", fs_any_failed ? "FAILED" : "ok");
    return fs_any_failed;
}
