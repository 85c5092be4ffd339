/* test_util: what every cmocka test of mpo shares. Include after cmocka.h's prerequisites. */
#ifndef MPO_TEST_UTIL_H
#define MPO_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* |a - b| <= tol, with both values in the failure message */
#define CLOSE(a, b, tol)                                                                      \
    do {                                                                                      \
        double a_ = (a), b_ = (b);                                                            \
        if (!(fabs(a_ - b_) <= (tol)))                                                        \
            fail_msg("%s = %.10g, expected %.10g (tol %g)", #a, a_, b_, (double)(tol));       \
    } while (0)

#endif
