/* weights_check: an actor takes weights for its environment, sizes and a valid network, and
 * refuses any other with a reason: another env, other sizes, an unknown policy type, a bad shape,
 * a parameter count that does not fit, min_std <= 0, a non-finite parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actor/weights_check.h"
#include "env/env.h"

static const env_spec_t s_spec = {.name = "Test-v0", .obs_dim = 3, .act_dim = 1};

typedef struct {
    Mpo__PolicyLayout layout;
    Mpo__PolicyWeights w;
    float *params;
} s_weights_t;

/* good weights: hidden 8, layers 2, squashed */
static void s_good(s_weights_t *x) {
    mlp_t net;
    assert_int_equal(mlp_init(&net, 3, 8, 2, 2), 0);
    x->params = calloc(net.n_params, sizeof(float));
    assert_non_null(x->params);
    mpo__policy_layout__init(&x->layout);
    x->layout.obs_dim = 3, x->layout.act_dim = 1, x->layout.hidden = 8, x->layout.layers = 2;
    x->layout.policy = "squashed", x->layout.min_std = 0.001f, x->layout.env = "Test-v0";
    mpo__policy_weights__init(&x->w);
    x->w.version = 5, x->w.layout = &x->layout, x->w.n_params = net.n_params, x->w.params = x->params;
}

static void s_refused(s_weights_t *x, const char *expect) {
    mlp_t net;
    policy_type_t type;
    char reason[256] = "";
    assert_int_equal(weights_check(&x->w, &s_spec, &net, &type, reason, sizeof reason), -1);
    if (!strstr(reason, expect))
        fail_msg("reason '%s' does not say '%s'", reason, expect);
    free(x->params);
    s_good(x);
}

static void test_weights_check(void **state) {
    (void)state;
    s_weights_t x;
    s_good(&x);
    mlp_t net;
    policy_type_t type = POLICY_GAUSSIAN;
    char reason[256] = "";
    assert_int_equal(weights_check(&x.w, &s_spec, &net, &type, reason, sizeof reason), 0);
    assert_int_equal(net.n_params, x.w.n_params);
    assert_int_equal(type, POLICY_SQUASHED);
    assert_int_equal(weights_check(NULL, &s_spec, &net, &type, reason, sizeof reason), -1);
    x.layout.env = "Other-v0";
    s_refused(&x, "Other-v0");
    x.layout.obs_dim = 4;
    s_refused(&x, "obs 4");
    x.layout.policy = "beta";
    s_refused(&x, "beta");
    x.layout.hidden = 0;
    s_refused(&x, "bad network shape");
    x.w.n_params -= 1;
    s_refused(&x, "parameters");
    x.layout.min_std = 0;
    s_refused(&x, "min_std");
    x.params[x.w.n_params - 1] = INFINITY;
    s_refused(&x, "not finite");
    x.params[0] = NAN;
    s_refused(&x, "parameter 0");
    free(x.params);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_weights_check)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
