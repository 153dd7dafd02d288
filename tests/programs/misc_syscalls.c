/* misc_syscalls.c: the small syscalls every libc and runtime touches.
 *
 * The harness runs it with stdin a pipe carrying exactly "ping\n" and stdout
 * and stderr pipes (or the VM console). One "<section>: ok" line per section,
 * then "misc_syscalls: ok"; exit 0.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

/* From <linux/futex.h>, which musl-gcc does not ship. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | 128)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | 128)

#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#endif

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1++;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    {
        struct utsname u;
        CHECK_OK(uname(&u));
        CHECK(strcmp(u.sysname, "Linux") == 0);
        CHECK(strcmp(u.machine, "x86_64") == 0);
        CHECK(u.release[0] >= '1' && u.release[0] <= '9'); /* e.g. "6.1.0" */
        printf("uname: ok\n");
    }

    {
        pid_t pid = getpid();
        CHECK(pid > 0);
        CHECK(getppid() >= 0);
        CHECK_EQ(syscall(SYS_gettid), pid); /* single-threaded: tid == pid */
        CHECK_EQ(getpid(), pid);
        CHECK_EQ(getuid(), geteuid());
        CHECK_EQ(getgid(), getegid());
        CHECK(getpgrp() >= 0);
        CHECK(getsid(0) >= 0);
        printf("ids: ok\n");
    }

    {
        char cwd[4096];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        CHECK_EQ(cwd[0], '/');
        CHECK(getcwd(cwd, 1) == NULL);
        CHECK_EQ(errno, ERANGE);
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        CHECK(n > 0);
        exe[n] = 0;
        CHECK_EQ(exe[0], '/');
        printf("cwd_exe: ok\n");
    }

    {
        struct sysinfo si;
        memset(&si, 0xff, sizeof si);
        CHECK_OK(sysinfo(&si));
        CHECK(si.totalram > 0);
        CHECK(si.mem_unit >= 1);
        CHECK(si.freeram <= si.totalram);
        CHECK(si.procs >= 1);
        CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
        printf("sysinfo: ok\n");
    }

    {
        struct rlimit rl, rl2, old;
        CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
        CHECK(rl.rlim_cur > 3);
        CHECK(rl.rlim_cur <= rl.rlim_max);
        old = rl;
        rl2.rlim_cur = rl.rlim_cur > 64 ? 64 : rl.rlim_cur - 1;
        rl2.rlim_max = rl.rlim_max;
        CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl2));
        CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
        CHECK_EQ(rl.rlim_cur, rl2.rlim_cur);
        CHECK_EQ(rl.rlim_max, rl2.rlim_max);
        /* prlimit64 on ourselves reads it back and sets the old value again. */
        struct rlimit got;
        CHECK_OK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &old, &got));
        CHECK_EQ(got.rlim_cur, rl2.rlim_cur);
        CHECK_OK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &got));
        CHECK_EQ(got.rlim_cur, old.rlim_cur);
        CHECK_EQ(got.rlim_max, old.rlim_max);
        /* Soft above hard is EINVAL. */
        if (old.rlim_max != RLIM_INFINITY) {
            rl2.rlim_cur = old.rlim_max + 1;
            rl2.rlim_max = old.rlim_max;
            CHECK_ERR(setrlimit(RLIMIT_NOFILE, &rl2), EINVAL);
        }
        CHECK_OK(getrlimit(RLIMIT_STACK, &rl));
        CHECK(rl.rlim_cur > 0);
        printf("rlimit: ok\n");
    }

    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CHECK_OK(sched_getaffinity(0, sizeof set, &set));
        CHECK(CPU_COUNT(&set) >= 1);
        CHECK_OK(sched_yield());
        printf("sched: ok\n");
    }

    {
        /* stdin is a pipe: not a terminal, not seekable. */
        errno = 0;
        CHECK_EQ(isatty(0), 0);
        CHECK_EQ(errno, ENOTTY);
        CHECK_ERR(lseek(0, 0, SEEK_CUR), ESPIPE);
        char c;
        CHECK_ERR(pread(0, &c, 1, 0), ESPIPE);
        /* stdout is a pipe or a character device: also not seekable. */
        CHECK_ERR(lseek(1, 0, SEEK_CUR), ESPIPE);
        struct stat st;
        CHECK_OK(fstat(1, &st));
        CHECK(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode));
        CHECK_OK(fstat(0, &st));
        CHECK(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode));
        CHECK_ERR(fstat(12345, &st), EBADF);
        CHECK_ERR(close(12345), EBADF);
        int acc0 = fcntl(0, F_GETFL) & O_ACCMODE;
        CHECK(acc0 == O_RDONLY || acc0 == O_RDWR);
        int acc = fcntl(1, F_GETFL) & O_ACCMODE;
        CHECK(acc == O_WRONLY || acc == O_RDWR);
        printf("stdio_fds: ok\n");
    }

    {
        /* The harness writes "ping\n" to stdin: poll sees it, read gets it. */
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        CHECK_EQ(poll(&pfd, 1, 5000), 1);
        CHECK(pfd.revents & POLLIN);
        char buf[16];
        size_t got = 0;
        while (got < 5) {
            ssize_t r = read(0, buf + got, sizeof buf - got);
            CHECK(r > 0);
            got += (size_t)r;
        }
        CHECK_EQ(got, 5);
        CHECK(memcmp(buf, "ping\n", 5) == 0);
        /* Then EOF, which poll reports as readable (POLLIN or POLLHUP). */
        pfd.revents = 0;
        CHECK_EQ(poll(&pfd, 1, 5000), 1);
        CHECK(pfd.revents & (POLLIN | POLLHUP));
        CHECK_EQ(read(0, buf, sizeof buf), 0);
        /* poll with no fds and a timeout just sleeps. */
        CHECK_EQ(poll(NULL, 0, 10), 0);
        printf("poll: ok\n");
    }

    {
        static uint32_t word = 5;
        CHECK_ERR(syscall(SYS_futex, &word, FUTEX_WAIT, 6, NULL, NULL, 0), EAGAIN);
        CHECK_ERR(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0), EAGAIN);
        struct timespec ts = {0, 20 * 1000 * 1000};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_ERR(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0), ETIMEDOUT);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long long dt = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
        CHECK(dt >= 20 * 1000 * 1000);
        CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
        printf("futex: ok\n");
    }

    {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGUSR2);
        CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
        memset(&old, 0, sizeof old);
        CHECK_OK(sigaction(SIGUSR1, NULL, &old));
        CHECK(old.sa_handler == on_usr1);
        CHECK(old.sa_flags & SA_RESTART);
        CHECK_EQ(sigismember(&old.sa_mask, SIGUSR2), 1);
        CHECK_EQ(sigismember(&old.sa_mask, SIGINT), 0);
        CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
        CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
        printf("sigaction: ok\n");

        sigset_t set, cur;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
        CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
        CHECK_EQ(sigismember(&cur, SIGUSR1), 1);
        CHECK_EQ(sigismember(&cur, SIGUSR2), 0);
        /* A blocked signal stays pending until it is unblocked. */
        CHECK_OK(raise(SIGUSR1));
        CHECK_EQ(got_usr1, 0);
        sigset_t pend;
        CHECK_OK(sigpending(&pend));
        CHECK_EQ(sigismember(&pend, SIGUSR1), 1);
        CHECK_OK(sigprocmask(SIG_UNBLOCK, &set, NULL));
        CHECK_EQ(got_usr1, 1);
        CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
        CHECK_EQ(sigismember(&cur, SIGUSR1), 0);
        CHECK_OK(sigpending(&pend));
        CHECK_EQ(sigismember(&pend, SIGUSR1), 0);
        printf("sigprocmask: ok\n");
    }

    {
        static char stack_mem[65536];
        stack_t ss, old;
        ss.ss_sp = stack_mem;
        ss.ss_size = sizeof stack_mem;
        ss.ss_flags = 0;
        CHECK_OK(sigaltstack(&ss, NULL));
        memset(&old, 0, sizeof old);
        CHECK_OK(sigaltstack(NULL, &old));
        CHECK(old.ss_sp == stack_mem);
        CHECK_EQ(old.ss_size, sizeof stack_mem);
        CHECK_EQ(old.ss_flags, 0);
        ss.ss_flags = SS_DISABLE;
        CHECK_OK(sigaltstack(&ss, NULL));
        CHECK_OK(sigaltstack(NULL, &old));
        CHECK_EQ(old.ss_flags, SS_DISABLE);
        ss.ss_flags = 0;
        ss.ss_size = 16; /* too small */
        CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM);
        printf("sigaltstack: ok\n");
    }

    {
        unsigned long fs = 0, self = 0;
        CHECK_OK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
        CHECK(fs != 0);
        /* Both glibc and musl keep a self-pointer at %fs:0. */
        __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
        CHECK_EQ(self, fs);
        printf("arch_prctl: ok\n");
    }

    printf("misc_syscalls: ok\n");
    return 0;
}
