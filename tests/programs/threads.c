/* threads.c: pthreads on oxv: mutex, condvar, rwlock, barrier stress with
 * 8 threads, thread-local storage, detached threads, join values,
 * pthread_cancel of a sleeping thread, semaphores. Prints "threads: ok". */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define N 8
#define ITERS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long tls_value;

static void *incrementer(void *arg) {
    long id = (long)(intptr_t)arg;
    tls_value = id * 1000;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (i % 256 == 0)
            sched_yield();
    }
    CHECK_EQ(tls_value, id * 1000); /* no other thread touched our copy */
    return (void *)(intptr_t)(id + 100);
}

/* Bounded queue with two condition variables. */
#define QCAP 4
static int queue[QCAP];
static int qhead, qlen;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= 500; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qlock);
        queue[(qhead + qlen) % QCAP] = i;
        qlen++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qlock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long sum = 0;
    (void)arg;
    for (int i = 1; i <= 500; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == 0)
            pthread_cond_wait(&not_empty, &qlock);
        sum += queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qlock);
    }
    return (void *)(intptr_t)sum;
}

static pthread_barrier_t barrier;
static int phase_counts[5];
static pthread_mutex_t phase_lock = PTHREAD_MUTEX_INITIALIZER;

static void *barrier_worker(void *arg) {
    (void)arg;
    for (int round = 0; round < 5; round++) {
        pthread_mutex_lock(&phase_lock);
        phase_counts[round]++;
        pthread_mutex_unlock(&phase_lock);
        pthread_barrier_wait(&barrier);
        /* Everyone has arrived in this round. */
        CHECK_EQ(phase_counts[round], N);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long shared_a, shared_b;

static void *rw_worker(void *arg) {
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < 300; i++) {
        if (id % 2 == 0) {
            pthread_rwlock_wrlock(&rw);
            shared_a++;
            shared_b++;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            CHECK_EQ(shared_a, shared_b);
            pthread_rwlock_unlock(&rw);
        }
    }
    return NULL;
}

static sem_t detached_done;

static void *detached(void *arg) {
    (void)arg;
    sem_post(&detached_done);
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;)
        sleep(10); /* a cancellation point */
    return NULL;
}

int main(void) {
    pthread_t t[N];
    tls_value = -1;
    for (long i = 0; i < N; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, incrementer, (void *)(intptr_t)i), 0);
    for (long i = 0; i < N; i++) {
        void *ret;
        CHECK_EQ(pthread_join(t[i], &ret), 0);
        CHECK_EQ((intptr_t)ret, i + 100);
    }
    CHECK_EQ(counter, N * ITERS);
    CHECK_EQ(tls_value, -1);
    printf("mutex+tls: ok\n");

    pthread_t p, c;
    CHECK_EQ(pthread_create(&c, NULL, consumer, NULL), 0);
    CHECK_EQ(pthread_create(&p, NULL, producer, NULL), 0);
    void *sum;
    CHECK_EQ(pthread_join(p, NULL), 0);
    CHECK_EQ(pthread_join(c, &sum), 0);
    CHECK_EQ((intptr_t)sum, 500 * 501 / 2);
    printf("condvar: ok\n");

    CHECK_EQ(pthread_barrier_init(&barrier, NULL, N), 0);
    for (long i = 0; i < N; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, barrier_worker, NULL), 0);
    for (long i = 0; i < N; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    printf("barrier: ok\n");

    for (long i = 0; i < N; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, rw_worker, (void *)(intptr_t)i), 0);
    for (long i = 0; i < N; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    CHECK_EQ(shared_a, (N / 2) * 300);
    printf("rwlock: ok\n");

    CHECK_OK(sem_init(&detached_done, 0, 0));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 4; i++) {
        pthread_t d;
        CHECK_EQ(pthread_create(&d, &attr, detached, NULL), 0);
    }
    for (int i = 0; i < 4; i++)
        CHECK_OK(sem_wait(&detached_done));
    printf("detached: ok\n");

    pthread_t s;
    CHECK_EQ(pthread_create(&s, NULL, sleeper, NULL), 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK_EQ(pthread_cancel(s), 0);
    void *res;
    CHECK_EQ(pthread_join(s, &res), 0);
    CHECK(res == PTHREAD_CANCELED);
    printf("cancel: ok\n");

    printf("threads: ok\n");
    return 0;
}
