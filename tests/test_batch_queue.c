/* batch_queue: the slots' life (free, acquired, ready in push order, popped, released), a full
 * queue, pop's timeout and wake, a slot used in the wrong state aborting, and a producer and a
 * consumer thread handing 20000 batches through 3 slots in order with their contents intact. */
#include "tests/test_util.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "learner/batch_queue.h"

static void test_new(void **state) {
    (void)state;
    char err[128];
    assert_null(batch_queue_new(0, err, sizeof err));
    assert_non_null(strstr(err, "slots"));
    assert_null(batch_queue_new(BATCH_QUEUE_MAX_SLOTS + 1, err, sizeof err));
    batch_queue_t *q = batch_queue_new(3, err, sizeof err);
    assert_non_null(q);
    assert_int_equal(batch_queue_slots(q), 3);
    assert_int_equal(batch_queue_free(q), 3);
    assert_int_equal(batch_queue_ready(q), 0);
    batch_queue_destroy(&q);
    assert_null(q);
    batch_queue_destroy(&q); /* NULL is fine */
}

static void test_life(void **state) {
    (void)state;
    char err[128];
    batch_queue_t *q = batch_queue_new(3, err, sizeof err);
    assert_int_equal(batch_queue_acquire(q), 0);
    assert_int_equal(batch_queue_acquire(q), 1);
    assert_int_equal(batch_queue_acquire(q), 2);
    assert_int_equal(batch_queue_acquire(q), -1); /* full: the producer leaves its socket alone */
    assert_int_equal(batch_queue_free(q), 0);
    assert_int_equal(batch_queue_pop(q, 0), -1);
    /* ready in push order, not slot order */
    batch_queue_push(q, 2);
    batch_queue_push(q, 0);
    assert_int_equal(batch_queue_ready(q), 2);
    assert_int_equal(batch_queue_pop(q, 0), 2);
    assert_int_equal(batch_queue_acquire(q), -1); /* popped is not free */
    assert_int_equal(batch_queue_release(q, 2), 1); /* slot 0 is still ready */
    assert_int_equal(batch_queue_free(q), 1);
    assert_int_equal(batch_queue_acquire(q), 2);
    batch_queue_push(q, 1);
    batch_queue_push(q, 2);
    assert_int_equal(batch_queue_pop(q, 0), 0);
    assert_int_equal(batch_queue_pop(q, 0), 1);
    assert_int_equal(batch_queue_pop(q, 0), 2);
    assert_int_equal(batch_queue_pop(q, 0), -1);
    batch_queue_release(q, 1);
    batch_queue_release(q, 0);
    batch_queue_release(q, 2);
    assert_int_equal(batch_queue_free(q), 3);
    assert_int_equal(batch_queue_acquire(q), 0); /* the lowest free one */
    batch_queue_destroy(&q);
}

static void *s_waker(void *arg) {
    usleep(50000);
    batch_queue_wake(arg);
    return NULL;
}

static void test_timeout_and_wake(void **state) {
    (void)state;
    char err[128];
    batch_queue_t *q = batch_queue_new(2, err, sizeof err);
    double t0 = clock_now();
    assert_int_equal(batch_queue_pop(q, 0.05), -1);
    double took = clock_now() - t0;
    assert_true(took >= 0.045 && took < 1.0);
    pthread_t th;
    pthread_create(&th, NULL, s_waker, q);
    t0 = clock_now();
    assert_int_equal(batch_queue_pop(q, 10.0), -1);
    took = clock_now() - t0;
    pthread_join(th, NULL);
    assert_true(took < 5.0);
    /* a ready slot is taken at once, wait or not */
    batch_queue_push(q, batch_queue_acquire(q));
    t0 = clock_now();
    assert_int_equal(batch_queue_pop(q, 10.0), 0);
    assert_true(clock_now() - t0 < 1.0);
    batch_queue_destroy(&q);
}

/* our bug, not a fault from outside: abort, naming the file */
static void test_wrong_state_aborts(void **state) {
    (void)state;
    for (int which = 0; which < 3; which++) {
        pid_t pid = fork();
        if (pid == 0) {
            char err[128];
            freopen("/dev/null", "w", stderr);
            batch_queue_t *q = batch_queue_new(2, err, sizeof err);
            if (which == 0)
                batch_queue_push(q, 0); /* never acquired */
            else if (which == 1)
                batch_queue_release(q, 1); /* never popped */
            else
                batch_queue_push(q, 7); /* no such slot */
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    }
}

#define N_BATCHES 20000
#define FLOATS 64

typedef struct {
    batch_queue_t *q;
    float block[3][FLOATS];
} s_shared_t;

static void *s_producer(void *arg) {
    s_shared_t *s = arg;
    for (int i = 0; i < N_BATCHES; i++) {
        int slot;
        while ((slot = batch_queue_acquire(s->q)) < 0)
            sched_yield();
        for (int k = 0; k < FLOATS; k++)
            s->block[slot][k] = (float)i + (float)k * 1e-3f;
        batch_queue_push(s->q, slot);
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    char err[128];
    s_shared_t s;
    s.q = batch_queue_new(3, err, sizeof err);
    pthread_t th;
    pthread_create(&th, NULL, s_producer, &s);
    int got = 0, waits = 0;
    while (got < N_BATCHES) {
        int slot = batch_queue_pop(s.q, 1.0);
        if (slot < 0) {
            assert_true(++waits < 10);
            continue;
        }
        for (int k = 0; k < FLOATS; k++)
            if (s.block[slot][k] != (float)got + (float)k * 1e-3f)
                fail_msg("batch %d, float %d: %g", got, k, (double)s.block[slot][k]);
        batch_queue_release(s.q, slot);
        got++;
    }
    pthread_join(th, NULL);
    assert_int_equal(batch_queue_free(s.q), 3);
    batch_queue_destroy(&s.q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_life),
        cmocka_unit_test(test_timeout_and_wake),
        cmocka_unit_test(test_wrong_state_aborts),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
