/* clock: seconds on the monotonic clock, for rates, timeouts and progress lines; and the CPU
 * seconds this process has used, for rates that hold on a machine shared with other work. */
#ifndef MPO_CLOCK_H
#define MPO_CLOCK_H

#include <time.h>

static inline double clock_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double clock_process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
