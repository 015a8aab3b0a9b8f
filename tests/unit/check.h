/* Minimal unit-test support: each tests/unit/test_*.c is its own program
 * that returns 0 when every CHECK held. Failures print file:line and the
 * formatted reason; the run goes on so one failure shows all. */
#ifndef TFSWA_TEST_CHECK_H
#define TFSWA_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

extern int check_failures;
extern int check_count;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        check_count++;                                                                                                 \
        if (!(cond)) {                                                                                                 \
            check_failures++;                                                                                          \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol, what)                                                                            \
    do {                                                                                                               \
        double _a = (double)(a), _b = (double)(b);                                                                     \
        CHECK(fabs(_a - _b) <= (atol) + (rtol)*fabs(_b) && !isnan(_a) && !isnan(_b), "%s: %.9g vs %.9g (diff %.3g)",   \
              what, _a, _b, fabs(_a - _b));                                                                            \
    } while (0)

/* Call at the end of main: prints a summary line and returns the exit status. */
int check_report(const char *name);

#endif
