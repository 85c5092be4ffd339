/* The error table: every code has a distinct name and a text, the wire refusals come first and
 * keep the names servers count them by, and both signs of a code read the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/wire.h"

static void test_names_distinct_and_present(void **state) {
    (void)state;
    for (int i = 0; i < MPO_ERROR_COUNT; i++) {
        assert_non_null(mpo_error_name(i));
        assert_true(strlen(mpo_strerror(i)) > 3);
        assert_string_not_equal(mpo_error_name(i), "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(mpo_error_name(i), mpo_error_name(j));
    }
}

static void test_refusals_first(void **state) {
    (void)state;
    assert_int_equal(MPO_OK, 0);
    assert_int_equal(WIRE_MALFORMED, 1);
    assert_true(WIRE_BAD_VALUE < WIRE_REJECTION_COUNT);
    assert_int_equal(MPO_ENOMEM, WIRE_REJECTION_COUNT); /* the local errors follow without a gap */
    assert_string_equal(wire_rejection_name(WIRE_TOO_LARGE), "too_large");
    assert_string_equal(wire_rejection_name(WIRE_NO_HELLO), "no_hello");
    /* a local error is not a refusal reason */
    assert_string_equal(wire_rejection_name((wire_rejection_t)MPO_ENOMEM), "unknown");
    assert_int_equal(wire_rejection_proto(WIRE_BAD_VALUE), MPO__ERROR_CODE__ERROR_BAD_VALUE);
    assert_int_equal(wire_rejection_proto(WIRE_MALFORMED), MPO__ERROR_CODE__ERROR_MALFORMED);
}

static void test_signs_and_unknown(void **state) {
    (void)state;
    assert_string_equal(mpo_strerror(-MPO_EIO), mpo_strerror(MPO_EIO));
    assert_string_equal(mpo_error_name(-MPO_ETIMEOUT), "timeout");
    assert_string_equal(mpo_strerror(MPO_ERROR_COUNT + 5), "unknown error");
    assert_string_equal(mpo_error_name(-(MPO_ERROR_COUNT + 5)), "unknown");
}

static void test_assert_aborts(void **state) {
    (void)state;
    /* MPO_ASSERT on a true condition does nothing; a false one is tested in a child that must abort */
    MPO_ASSERT(1 + 1 == 2);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        MPO_ASSERT(1 + 1 == 3);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_distinct_and_present),
        cmocka_unit_test(test_refusals_first),
        cmocka_unit_test(test_signs_and_unknown),
        cmocka_unit_test(test_assert_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
