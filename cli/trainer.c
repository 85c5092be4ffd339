#include "cli/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "env/env.h"
#include "env/evaluate.h"
#include "env/nstep.h"
#include "env/vec_env.h"
#include "common/log.h"
#include "common/run_dir.h"
#include "learner/mpo.h"
#include "learner/run_csv.h"
#include "replay/replay_buffer.h"

typedef struct {
    run_csv_t *progress, *eval;
} s_files_t;

static int s_open_run_dir(s_files_t *f, const config_t *cfg) {
    memset(f, 0, sizeof *f);
    if (run_dir_prepare(cfg) != 0)
        return -1;
    int rc = run_csv_open(&f->progress, cfg, RUN_CSV_PROGRESS_SYNC_FILE);
    return rc ? rc : run_csv_open(&f->eval, cfg, RUN_CSV_EVAL_FILE);
}

static void s_close(s_files_t *f) {
    run_csv_destroy(&f->progress);
    run_csv_destroy(&f->eval);
}

static int s_evaluate(mpo_t *mpo, const config_t *cfg, policy_type_t type, long long step, double wall,
                      s_files_t *f, double *mean) {
    char err[256];
    double std;
    /* evaluation seeds are their own stream: far from the training env's seed */
    uint64_t seed = (uint64_t)cfg->seed + EVALUATE_SEED_OFFSET;
    if (evaluate_policy(mean, &std, cfg->env, mpo_actor_layout(mpo), mpo_actor_params(mpo), type,
                        (int)cfg->eval_episodes, seed, err, sizeof err) != 0) {
        log_error("evaluation: %s", err);
        return -1;
    }
    log_info("eval at %lld steps: mean return %.2f ± %.2f over %lld episodes", step, *mean, std, cfg->eval_episodes);
    double row[RUN_CSV_COLUMNS(RUN_CSV_EVAL)] = {(double)step, wall, *mean, std, (double)cfg->eval_episodes};
    run_csv_row(f->eval, row, sizeof row / sizeof row[0], NULL);
    return 0;
}

int trainer_run_sync(const config_t *cfg, volatile int *stop, double *final_return) {
    char err[256];
    /* one environment reset with the run's seed; the action noise is the actor's stream of it */
    vec_env_t *venv = vec_env_new(cfg->env, 1, (uint64_t)cfg->seed, (uint64_t)cfg->seed, err, sizeof err);
    if (!venv) {
        log_error("%s", err);
        return -1;
    }
    const env_spec_t *spec = vec_env_spec(venv);
    int S = spec->obs_dim, A = spec->act_dim, B = (int)cfg->batch_size;
    mpo_params_t params = {0};
    mpo_t *mpo = NULL;
    if (mpo_params_from_config(cfg, spec, &params, err, sizeof err) == 0)
        mpo = mpo_new(&params, err, sizeof err);
    policy_type_t type = params.policy;
    size_t cap = (size_t)cfg->buffer_size;
    if (cap > (size_t)cfg->total_timesteps)
        cap = (size_t)cfg->total_timesteps; /* never more than the run can fill */
    replay_buffer_t *rb = replay_buffer_new(cap, S, A);
    float *bufs = calloc((size_t)B * transition_floats(S, A), sizeof(float));
    nstep_t *nstep = mpo ? nstep_new((int)cfg->n_step, 1, S, A, cfg->gamma, err, sizeof err) : NULL;
    float *nbuf = nstep ? calloc((size_t)nstep_max_out(nstep) * transition_floats(S, A), sizeof(float)) : NULL;
    s_files_t files = {0};
    int rc = -1;
    if (!mpo || !nstep || !rb || !bufs || !nbuf) {
        log_error("%s", !mpo || !nstep ? err : "out of memory for the replay buffer");
        goto done;
    }
    if (s_open_run_dir(&files, cfg) != 0)
        goto done;
    transition_batch_t batch = transition_batch_view(bufs, B, S, A);

    rng_t sample_rng;
    rng_seed(&sample_rng, (uint64_t)cfg->seed ^ 0x73616d706cULL); /* "sampl" */
    /* the online actor, as mpo_act uses it */
    vec_env_policy_t policy = {.net = mpo_actor_layout(mpo), .params = mpo_actor_params(mpo), .type = type,
                               .min_std = (float)cfg->min_std, .deterministic = false};

    double updates_per_step = cfg->samples_per_insert > 0 ? cfg->samples_per_insert / (double)B : 1.0,
           update_credit = 0;
    log_info("training %s (obs %d, act %d) seed %lld for %lld steps; policy %s, batch %d, N %lld, hidden %lldx%lld, "
             "%g updates per env step",
             spec->name, S, A, cfg->seed, cfg->total_timesteps, cfg->policy, B, cfg->n_action_samples,
             cfg->layers, cfg->hidden, updates_per_step);
    double t0 = clock_now(), last_log = t0;
    int64_t updates_at_log = 0;
    mpo_metrics_t m;
    memset(&m, 0, sizeof m);
    long long step;
    for (step = 0; step < cfg->total_timesteps && !(stop && *stop); step++) {
        vec_env_step_t st;
        if (vec_env_step(venv, step < cfg->learning_starts ? NULL : &policy, &st) != 0) {
            log_error("out of memory for the policy forward");
            goto done;
        }
        /* the step's transitions of n_step steps (one per step once a window is full) */
        transition_batch_t nt = transition_batch_view(nbuf, nstep_max_out(nstep), S, A);
        nt.n = 0;
        if (nstep_push(nstep, &st, &nt, NULL, NULL) > 0)
            replay_buffer_insert(rb, &nt);
        if (step + 1 >= cfg->learning_starts && replay_buffer_size(rb) > 0) {
            /* samples_per_insert / batch_size updates per env step, a fraction carried over */
            for (update_credit += updates_per_step; update_credit >= 1.0; update_credit -= 1.0) {
                replay_buffer_sample(rb, &sample_rng, &batch);
                mpo_update(mpo, &batch, &m);
            }
        }
        double now = clock_now();
        if (now - last_log >= cfg->log_interval || step + 1 == cfg->total_timesteps) {
            int n_recent;
            double mean_ret = vec_env_recent_mean(venv, &n_recent);
            double ups = (mpo_updates(mpo) - updates_at_log) / (now - last_log);
            log_info("step %lld/%lld | %.1f upd/s | episodes %d, return %.1f (last %d) | eta %.3g | "
                     "kl_mu %.2e kl_sigma %.2e | q %.2f | critic %.3g",
                     step + 1, cfg->total_timesteps, ups, (int)vec_env_episodes(venv), mean_ret, n_recent, m.temperature,
                     m.kl_mean, m.kl_stddev, m.q_mean, m.critic_loss);
            double row[RUN_CSV_COLUMNS(RUN_CSV_PROGRESS_SYNC)] = {(double)(step + 1), now - t0,
                                                                  (double)mpo_updates(mpo), mean_ret};
            run_csv_row(files.progress, row, sizeof row / sizeof row[0], &m);
            last_log = now;
            updates_at_log = mpo_updates(mpo);
        }
        if (cfg->eval_every > 0 && (step + 1) % cfg->eval_every == 0 && step + 1 < cfg->total_timesteps) {
            double mean;
            if (s_evaluate(mpo, cfg, type, step + 1, clock_now() - t0, &files, &mean) != 0)
                goto done;
        }
    }
    double mean = 0;
    if (cfg->eval_episodes > 0 && s_evaluate(mpo, cfg, type, step, clock_now() - t0, &files, &mean) != 0)
        goto done;
    log_info("done: %lld steps, %lld updates in %.1f s", step, (long long)mpo_updates(mpo), clock_now() - t0);
    printf("Mean reward: %.2f\n", mean);
    fflush(stdout);
    if (final_return)
        *final_return = mean;
    rc = 0;
done:
    s_close(&files);
    free(bufs);
    free(nbuf);
    nstep_destroy(&nstep);
    replay_buffer_destroy(&rb);
    mpo_destroy(&mpo);
    vec_env_destroy(&venv);
    return rc;
}
