#include "cli/policy_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "env/env.h"
#include "env/env_config.h"
#include "env/evaluate.h"
#include "learner/checkpoint.h"
#include "learner/mpo.h"
#include "nn/policy_file.h"

static void s_export_usage(FILE *out) {
    fprintf(out, "usage: mpo export CHECKPOINT -o FILE [--env NAME] [--min-std X]\n"
                 "Write the actor of a learner checkpoint as a policy file: its layout, the action bounds and\n"
                 "its parameters (docs/policy-file.md); `mpo play FILE` runs it, and so does the Python package.\n"
                 "  CHECKPOINT    a checkpoint directory (its learner.ckpt and learner.state) or a learner.ckpt\n"
                 "  -o FILE       where to write (replaced atomically)\n"
                 "  --env NAME    the environment, when learner.state is not beside the checkpoint (an\n"
                 "                `external` one needs learner.state: it records the action bounds)\n"
                 "  --min-std X   the policy's min_std, when learner.state does not record it (default 0.001)\n");
}

static void s_play_usage(FILE *out) {
    fprintf(out, "usage: mpo play FILE [--env NAME] [--episodes N] [--seed S]\n"
                 "Run a policy file's mean action (deterministic) for N episodes (default 10) of its environment\n"
                 "(or NAME, with the same sizes), episode e reset with seed S + e (default 0); print each return\n"
                 "and their mean and standard deviation.\n");
}

int export_main(int argc, char **argv) {
    const char *ckpt = NULL, *out = NULL, *env = NULL;
    double min_std = 0.001;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_export_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--env") && i + 1 < argc)
            env = argv[++i];
        else if (!strcmp(argv[i], "--min-std") && i + 1 < argc)
            min_std = atof(argv[++i]);
        else if (argv[i][0] != '-' && !ckpt)
            ckpt = argv[i];
        else {
            fprintf(stderr, "mpo export: unexpected argument '%s'\n", argv[i]);
            s_export_usage(stderr);
            return 2;
        }
    }
    if (!ckpt || !out) {
        s_export_usage(stderr);
        return 2;
    }
    /* a directory holds learner.ckpt and learner.state; a file's directory may hold the state */
    char dir[CONFIG_STR_MAX], path[CONFIG_STR_MAX + 32], err[1024];
    struct stat st;
    if (stat(ckpt, &st) != 0) {
        fprintf(stderr, "mpo export: cannot open '%s': %s\n", ckpt, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof dir, "%s", ckpt);
        snprintf(path, sizeof path, "%s/" CHECKPOINT_FILE, ckpt);
    } else {
        snprintf(path, sizeof path, "%s", ckpt);
        snprintf(dir, sizeof dir, "%s", ckpt);
        char *slash = strrchr(dir, '/');
        snprintf(slash ? slash : dir, sizeof dir - (size_t)(slash ? slash - dir : 0), "%s", slash ? "" : ".");
    }
    checkpoint_run_t run = {.min_std = min_std};
    checkpoint_run_load(dir, &run, err, sizeof err); /* optional */
    min_std = run.min_std;
    if (!env)
        env = run.env[0] ? run.env : NULL;
    if (!env) {
        fprintf(stderr, "mpo export: no learner.state beside '%s' names the environment: give --env NAME\n", ckpt);
        return 1;
    }
    checkpoint_info_t info;
    if (checkpoint_peek(path, &info, err, sizeof err) != 0) {
        fprintf(stderr, "mpo export: %s\n", err);
        return 1;
    }
    /* a registered environment has its own facts; an external one its learner's, from learner.state */
    env_spec_t spec;
    const env_ops_t *ops = env_find(env);
    if (ops)
        spec = *ops->spec;
    else if (!strcmp(env, ENV_EXTERNAL) && run.n_bounds == info.act_dim && !strcmp(run.env, ENV_EXTERNAL)) {
        spec = (env_spec_t){.name = ENV_EXTERNAL, .obs_dim = info.obs_dim, .act_dim = info.act_dim};
        memcpy(spec.act_low, run.act_low, (size_t)info.act_dim * sizeof(float));
        memcpy(spec.act_high, run.act_high, (size_t)info.act_dim * sizeof(float));
    } else if (!strcmp(env, ENV_EXTERNAL)) {
        fprintf(stderr, "mpo export: no learner.state beside '%s' records the action bounds of its external "
                        "environment (%d of them)\n", ckpt, info.act_dim);
        return 1;
    } else {
        fprintf(stderr, "mpo export: unknown environment '%s' (`mpo envs` lists them)\n", env);
        return 1;
    }
    if (info.obs_dim != spec.obs_dim || info.act_dim != spec.act_dim) {
        fprintf(stderr, "mpo export: the checkpoint is for obs %d act %d, %s has obs %d act %d\n", info.obs_dim,
                info.act_dim, env, spec.obs_dim, spec.act_dim);
        return 1;
    }
    config_t cfg;
    config_defaults(&cfg);
    char kv[64];
    snprintf(kv, sizeof kv, "hidden=%d", info.hidden);
    config_set_pair(&cfg, kv, err, sizeof err);
    snprintf(kv, sizeof kv, "layers=%d", info.layers);
    config_set_pair(&cfg, kv, err, sizeof err);
    snprintf(kv, sizeof kv, "policy=%s", policy_type_name(info.policy));
    config_set_pair(&cfg, kv, err, sizeof err);
    /* the critics' LayerNorm shows only in the parameter count: the actor is the same either way */
    mlp_t with_ln;
    if (mlp_init_ln(&with_ln, info.obs_dim + info.act_dim, info.hidden, info.layers, 1, 1) == 0) {
        mlp_t actor, plain;
        mlp_init(&actor, info.obs_dim, info.hidden, info.layers, 2 * info.act_dim);
        mlp_init(&plain, info.obs_dim + info.act_dim, info.hidden, info.layers, 1);
        if (info.n_params == actor.n_params + 2 * with_ln.n_params && with_ln.n_params != plain.n_params)
            cfg.critic_layer_norm = 1;
    }
    cfg.threads = 1;
    mpo_params_t params;
    mpo_t *mpo = mpo_params_from_config(&cfg, &spec, &params, err, sizeof err) == 0
                     ? mpo_new(&params, err, sizeof err)
                     : NULL;
    if (!mpo || checkpoint_load(mpo, path, err, sizeof err) != 0) {
        fprintf(stderr, "mpo export: %s\n", err);
        mpo_destroy(&mpo);
        return 1;
    }
    policy_file_t p = {.obs_dim = info.obs_dim, .act_dim = info.act_dim, .hidden = info.hidden,
                       .layers = info.layers, .policy = info.policy, .min_std = (float)min_std,
                       .net = *mpo_actor_layout(mpo), .params = (float *)mpo_actor_params(mpo)};
    snprintf(p.env, sizeof p.env, "%s", env);
    memcpy(p.act_low, spec.act_low, (size_t)info.act_dim * sizeof(float));
    memcpy(p.act_high, spec.act_high, (size_t)info.act_dim * sizeof(float));
    int rc = policy_file_write(out, &p, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "mpo export: %s\n", err);
    else
        printf("%s: %s policy for %s (obs %d, act %d, hidden %d x %d), %zu parameters, after %" PRId64 " updates\n",
               out, policy_type_name(p.policy), env, p.obs_dim, p.act_dim, p.hidden, p.layers, p.net.n_params,
               mpo_updates(mpo));
    mpo_destroy(&mpo);
    return rc ? 1 : 0;
}

int play_main(int argc, char **argv) {
    const char *file = NULL, *env = NULL;
    long episodes = 10;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_play_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--env") && i + 1 < argc)
            env = argv[++i];
        else if (!strcmp(argv[i], "--episodes") && i + 1 < argc) {
            episodes = strtol(argv[++i], &end, 10);
            if (episodes < 1 || episodes > 100000 || *end) {
                fprintf(stderr, "mpo play: --episodes wants 1..100000, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], &end, 10);
            if (*end || argv[i][0] == '-') {
                fprintf(stderr, "mpo play: --seed wants a number, not '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "mpo play: unexpected argument '%s'\n", argv[i]);
            s_play_usage(stderr);
            return 2;
        }
    }
    if (!file) {
        s_play_usage(stderr);
        return 2;
    }
    policy_file_t p;
    char err[1024];
    if (policy_file_read(file, &p, err, sizeof err) != 0) {
        fprintf(stderr, "mpo play: %s\n", err);
        return 1;
    }
    if (!env)
        env = p.env;
    const env_ops_t *ops = env_find(env);
    int rc = 0;
    if (!ops || ops->spec->obs_dim != p.obs_dim || ops->spec->act_dim != p.act_dim) {
        fprintf(stderr, "mpo play: %s\n",
                ops ? "the policy's sizes differ from the environment's" : "unknown environment (`mpo envs`)");
        rc = 1;
    }
    double sum = 0, sq = 0;
    for (long e = 0; rc == 0 && e < episodes; e++) {
        double ret = 0;
        if (evaluate_policy(&ret, NULL, env, &p.net, p.params, p.policy, 1, seed + (uint64_t)e, err, sizeof err) != 0) {
            fprintf(stderr, "mpo play: %s\n", err);
            rc = 1;
            break;
        }
        printf("episode %ld (seed %llu): return %.2f\n", e, seed + (unsigned long long)e, ret);
        sum += ret, sq += ret * ret;
    }
    if (rc == 0) {
        double mean = sum / (double)episodes, var = sq / (double)episodes - mean * mean;
        printf("%s on %s: mean return %.2f ± %.2f over %ld episodes\n", file, env, mean, var > 0 ? sqrt(var) : 0.0,
               episodes);
    }
    policy_file_free(&p);
    return rc;
}
