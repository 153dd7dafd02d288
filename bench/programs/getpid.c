/* getpid.c: cost of one trivial system call, getpid(2) through syscall()
 * (no libc caching). Prints ns_per_op and ops. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

int main(void)
{
    long pid = syscall(SYS_getpid);
    BENCH_CHECK(pid > 0);
    BENCH_LOOP(1000, BENCH_CHECK(syscall(SYS_getpid) == pid));
    return 0;
}
