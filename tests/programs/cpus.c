/* cpus.c: how many CPUs the program sees, three ways.
 *
 * Prints
 *   sysconf=N      sysconf(_SC_NPROCESSORS_ONLN)
 *   get_nprocs=N   get_nprocs()
 *   affinity=N     CPU_COUNT of sched_getaffinity(0)
 * and exits 0. The harness runs it with `--cpus 2` and expects 2 in all
 * three: glibc reads /sys/devices/system/cpu/online (then /proc/stat, then
 * the affinity mask), musl asks sched_getaffinity.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK_OK(sched_getaffinity(0, sizeof set, &set));
    printf("sysconf=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("get_nprocs=%d\n", get_nprocs());
    printf("affinity=%d\n", CPU_COUNT(&set));
    return 0;
}
