/* enosys.c: unimplemented syscall numbers return -1 with errno ENOSYS, and the
 * program keeps running afterwards. Output "enosys: ok\n", exit 0.
 */
#define _GNU_SOURCE
#include <unistd.h>
#include "check.h"

int main(void)
{
    CHECK_ERR(syscall(1000), ENOSYS);
    CHECK_ERR(syscall(999, 1, 2, 3, 4, 5, 6), ENOSYS);
    CHECK_ERR(syscall(400), ENOSYS); /* in the unallocated 335..423 gap */
    CHECK_ERR(syscall(100000), ENOSYS);
    /* Still alive and the syscall path still works. */
    CHECK(getpid() > 0);
    printf("enosys: ok\n");
    return 0;
}
