/* mpo bench env: how fast an environment steps, raw and inside an actor.
 *
 * raw: one instance, zero actions (clipped into the action bounds), reset when an episode ends.
 * actor: K instances stepped together, as an actor does it: one batched policy forward over the K
 * observations per step (obs -> 256 -> 256 -> 2*act MLP, ReLU, a = tanh(mu + sigma * noise)),
 * the actions mapped into environment units, then each instance steps and resets when done.
 * Both phases run for --seconds of wall time each, on this thread; the policy's matrix products go
 * through OpenBLAS with whatever threads it was given (OPENBLAS_NUM_THREADS; reported). Each rate
 * is also given per CPU second of the process: on a machine shared with other work the wall-clock
 * rate follows the load, the CPU-time rate much less (with one BLAS thread it is the rate one idle
 * core would give, up to cache and frequency effects). */
#include <stddef.h> /* before bench.h, which uses size_t */

#include "cli/bench.h"

#include <cblas.h>
#include <math.h> /* before policy.h, which uses expf/log1pf */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "env/env.h"
#include "env/vec_env.h"
#include "nn/mlp.h"
#include "nn/policy.h"
#include "common/rng.h"

#define BENCH_ENV_HIDDEN 256
#define BENCH_ENV_DEPTH 2
#define BENCH_ENV_MIN_STD 1e-3f
#define BENCH_ENV_MAX_ENVS 4096
#define BENCH_ENV_MAX_SECONDS 3600.0
#define BENCH_ENV_WARMUP_S 0.05 /* untimed steps before each phase (caches, lazy pages) */

/* s as the body of a JSON string */
static void s_json_str(FILE *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo bench env [--env NAME] [--num-envs K] [--seconds S] [--json]\n"
            "  Environment steps per second on this machine, on one thread:\n"
            "  raw    one environment, zero actions;\n"
            "  actor  K environments stepped together with one batched policy forward per step\n"
            "         (obs->%d->%d->2*act MLP, a = tanh(mu + sigma*noise)).\n"
            "  --env NAME      environment (default HalfCheetah-v4; `mpo envs` lists them)\n"
            "  --num-envs K    environments in the actor phase, 1..%d (default 1)\n"
            "  --seconds S     wall time of each phase (default 2)\n"
            "  --json          one JSON object instead of the readable line\n",
            BENCH_ENV_HIDDEN, BENCH_ENV_HIDDEN, BENCH_ENV_MAX_ENVS);
}

/* a whole number in [lo, hi] or a reason */
static int s_parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

typedef struct {
    double raw_steps_per_s;
    double raw_steps_per_cpu_s;
    long raw_steps;
    double actor_steps_per_s;
    double actor_steps_per_cpu_s;
    long actor_steps;
    double forwards_per_s;
    double inference_frac; /* share of the actor phase spent in the policy forward and sampling */
    long episodes;         /* episodes finished in the actor phase */
} s_result_t;

/* one environment, zero actions, for `seconds` */
static int s_run_raw(const char *name, double seconds, s_result_t *res, char *err, size_t errlen) {
    env_t *env = env_new(name, err, errlen);
    if (!env)
        return -1;
    const env_spec_t *spec = env_spec(env);
    float obs[ENV_MAX_OBS], act[ENV_MAX_ACT];
    for (int i = 0; i < spec->act_dim; i++)
        act[i] = spec->act_low[i] > 0 ? spec->act_low[i] : spec->act_high[i] < 0 ? spec->act_high[i] : 0;
    env_reset(env, 1, obs);
    long steps = 0;
    double t_start = 0, cpu_start = 0, t = clock_now(), t_warm = t + BENCH_ENV_WARMUP_S;
    bool warm = false;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            bool term, trunc;
            env_step(env, act, obs, &term, &trunc);
            if (term || trunc)
                env_reset_next(env, obs);
        }
        t = clock_now();
        if (!warm) {
            if (t < t_warm)
                continue;
            warm = true;
            t_start = t;
            cpu_start = clock_process_cpu();
            continue;
        }
        steps += 64;
        if (t - t_start >= seconds)
            break;
    }
    res->raw_steps = steps;
    res->raw_steps_per_s = (double)steps / (t - t_start);
    res->raw_steps_per_cpu_s = (double)steps / (clock_process_cpu() - cpu_start);
    env_destroy(&env);
    return 0;
}

/* K environments and a batched policy forward per step, for `seconds`: the actor's own stepping
 * (env/vec_env.h), with the forward timed apart */
static int s_run_actor(const char *name, int K, double seconds, s_result_t *res, char *err,
                       size_t errlen) {
    int rc = -1;
    float *params = NULL;
    vec_env_t *venv = vec_env_new(name, K, 1, 1, err, errlen);
    if (!venv)
        return -1;
    const env_spec_t *spec = vec_env_spec(venv);
    mlp_t net;
    if (mlp_init(&net, spec->obs_dim, BENCH_ENV_HIDDEN, BENCH_ENV_DEPTH, 2 * spec->act_dim) != 0) {
        snprintf(err, errlen, "cannot shape the policy network for %s", name);
        goto done;
    }
    params = malloc(net.n_params * sizeof *params);
    if (!params) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rng_t rng;
    rng_seed(&rng, 1);
    mlp_init_params(&net, params, &rng);
    vec_env_policy_t policy = {.net = &net, .params = params, .type = POLICY_SQUASHED,
                               .min_std = BENCH_ENV_MIN_STD, .deterministic = false};

    long iters = 0;
    uint64_t episodes_at_start = 0;
    double t_infer = 0, t_start = 0, cpu_start = 0, t = clock_now(), t_warm = t + BENCH_ENV_WARMUP_S;
    bool warm = false;
    for (;;) {
        double t0 = clock_now();
        if (vec_env_act(venv, &policy) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        double t1 = clock_now();
        vec_env_step_t st;
        vec_env_advance(venv, &st);
        t = clock_now();
        if (!warm) {
            if (t >= t_warm) {
                warm = true;
                t_start = t;
                cpu_start = clock_process_cpu();
                episodes_at_start = vec_env_episodes(venv);
            }
            continue;
        }
        iters++;
        t_infer += t1 - t0;
        if (t - t_start >= seconds)
            break;
    }
    double elapsed = t - t_start;
    res->actor_steps = iters * K;
    res->actor_steps_per_s = (double)(iters * K) / elapsed;
    res->actor_steps_per_cpu_s = (double)(iters * K) / (clock_process_cpu() - cpu_start);
    res->forwards_per_s = (double)iters / elapsed;
    res->inference_frac = t_infer / elapsed;
    res->episodes = (long)(vec_env_episodes(venv) - episodes_at_start);
    rc = 0;
done:
    vec_env_destroy(&venv);
    free(params);
    return rc;
}

int bench_env_main(int argc, char **argv) {
    const char *name = "HalfCheetah-v4";
    long K = 1;
    double seconds = 2.0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--env") == 0 && v) {
            name = v;
            i++;
        } else if (strcmp(a, "--num-envs") == 0 && v) {
            if (s_parse_int(v, 1, BENCH_ENV_MAX_ENVS, &K) != 0) {
                fprintf(stderr, "mpo bench env: --num-envs wants a whole number in 1..%d, not '%s'\n",
                        BENCH_ENV_MAX_ENVS, v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--seconds") == 0 && v) {
            char *end;
            seconds = strtod(v, &end);
            if (end == v || *end || !(seconds > 0 && seconds <= BENCH_ENV_MAX_SECONDS)) {
                fprintf(stderr, "mpo bench env: --seconds wants a number in (0, %g], not '%s'\n",
                        BENCH_ENV_MAX_SECONDS, v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "mpo bench env: %s '%s' (see mpo bench env --help)\n",
                    v || a[0] != '-' ? "unknown argument" : "missing value after", a);
            return 2;
        }
    }

    char err[512] = "";
    s_result_t res = {0};
    if (s_run_raw(name, seconds, &res, err, sizeof err) != 0 ||
        s_run_actor(name, (int)K, seconds, &res, err, sizeof err) != 0) {
        fprintf(stderr, "mpo bench env: %s\n", err);
        return 1;
    }
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    int blas_threads = openblas_get_num_threads();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (json) {
        printf("{\"env\": \"");
        s_json_str(stdout, name);
        printf("\", \"num_envs\": %ld, \"seconds\": %g, \"raw_env_steps_per_s\": %.1f, "
               "\"raw_env_steps_per_cpu_s\": %.1f, \"raw_env_steps\": %ld, \"actor_env_steps_per_s\": %.1f, "
               "\"actor_env_steps_per_cpu_s\": %.1f, \"actor_env_steps\": %ld, "
               "\"policy_forwards_per_s\": %.1f, \"actor_inference_fraction\": %.4f, "
               "\"actor_episodes\": %ld, \"policy\": \"obs-%d-%d-2act\", \"blas_threads\": %d, "
               "\"cpus\": %ld, \"cpu\": \"",
               K, seconds, res.raw_steps_per_s, res.raw_steps_per_cpu_s, res.raw_steps, res.actor_steps_per_s,
               res.actor_steps_per_cpu_s, res.actor_steps, res.forwards_per_s, res.inference_frac, res.episodes,
               BENCH_ENV_HIDDEN, BENCH_ENV_HIDDEN, blas_threads, cpus);
        s_json_str(stdout, cpu);
        printf("\"}\n");
    } else {
        printf("%s: raw %.0f env steps/s (%.0f per CPU second; 1 env, zero actions); actor %.0f env steps/s "
               "(%.0f per CPU second) with %ld env%s and one batched policy forward per step (%.0f%% of the "
               "time in the policy); %ld episodes ended; CPU %s, %ld cpus, %d BLAS thread%s\n",
               name, res.raw_steps_per_s, res.raw_steps_per_cpu_s, res.actor_steps_per_s, res.actor_steps_per_cpu_s,
               K, K == 1 ? "" : "s", 100.0 * res.inference_frac, res.episodes, cpu, cpus, blas_threads,
               blas_threads == 1 ? "" : "s");
    }
    return 0;
}
