/* check.h: tiny self-check macros shared by the in-VM test programs.
 *
 * Every test program exits 0 and prints a fixed text on success. A failed
 * check prints `file:line: what (expected X, got Y)` to stderr and exits 1
 * at once, so the first broken behaviour is the one reported.
 *
 * CHECK(cond)              cond must be true
 * CHECK_EQ(got, expected)  integers (any width) must be equal
 * CHECK_OK(call)           call must return >= 0; on failure errno is shown
 * CHECK_ERR(call, err)     call must return -1 with errno == err
 */
#ifndef OXV_CHECK_H
#define OXV_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n",      \
                    __FILE__, __LINE__, #cond, errno, strerror(errno));      \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_EQ(got, expected)                                              \
    do {                                                                     \
        long long got_ = (long long)(got);                                   \
        long long exp_ = (long long)(expected);                              \
        if (got_ != exp_) {                                                  \
            fprintf(stderr,                                                  \
                    "%s:%d: check failed: %s == %s (expected %lld / 0x%llx, " \
                    "got %lld / 0x%llx)\n",                                  \
                    __FILE__, __LINE__, #got, #expected, exp_,               \
                    (unsigned long long)exp_, got_, (unsigned long long)got_); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_OK(call)                                                       \
    do {                                                                     \
        errno = 0;                                                           \
        long long r_ = (long long)(call);                                    \
        if (r_ < 0) {                                                        \
            int e_ = errno;                                                  \
            fprintf(stderr,                                                  \
                    "%s:%d: check failed: %s (expected success, got %lld, "  \
                    "errno %d: %s)\n",                                       \
                    __FILE__, __LINE__, #call, r_, e_, strerror(e_));        \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_ERR(call, err)                                                 \
    do {                                                                     \
        errno = 0;                                                           \
        long long r_ = (long long)(call);                                    \
        int e_ = errno;                                                      \
        if (r_ != -1 || e_ != (err)) {                                       \
            fprintf(stderr,                                                  \
                    "%s:%d: check failed: %s (expected -1 with errno %d %s, " \
                    "got %lld with errno %d %s)\n",                          \
                    __FILE__, __LINE__, #call, (err), #err, r_, e_,          \
                    strerror(e_));                                           \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#endif
