/* thread_create.c: pthread_create + pthread_join of a thread that returns
 * at once, one after the other. Prints ns_per_op (per create+join) and ops. */
#include <pthread.h>

#include "bench.h"

static void *nothing(void *arg) { return arg; }

int main(void)
{
    BENCH_LOOP(16, {
        pthread_t th;
        void *ret = NULL;
        BENCH_CHECK(pthread_create(&th, NULL, nothing, (void *)i_) == 0);
        BENCH_CHECK(pthread_join(th, &ret) == 0);
        BENCH_CHECK(ret == (void *)i_);
    });
    return 0;
}
