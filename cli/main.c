/* mpo: the one front door. `mpo COMMAND [options]`; every command answers --help. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "common/config.h"
#include "env/env.h"
#include "env/presets.h"
#include "common/log.h"
#include "cli/plot.h"
#include "actor/actor.h"
#include "cli/launch.h"
#include "learner/learner.h"
#include "cli/trainer.h"
#include "replay/server.h"
#include "cli/stat.h"
#include "cli/keygen.h"
#include "cli/policy_cmd.h"

#define MPO_VERSION "0.1.0"

static volatile int s_stop;

/* signal handlers only set a flag; the loops check it */
static void s_on_signal(int sig) {
    (void)sig;
    s_stop = 1;
}

static void s_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The options every command that takes a configuration shares: --config FILE, --set key=value,
 * and shortcuts for the common keys. Returns the index of the first unparsed argument, or -1
 * after printing the error. */
typedef struct {
    const char *flag;
    const char *key;
} s_shortcut_t;

static const s_shortcut_t s_shortcuts[] = {
    {"--env", "env"}, {"--seed", "seed"}, {"--total-timesteps", "total_timesteps"},
    {"--run-dir", "run_dir"}, {"--threads", "threads"}, {"--log-level", "log_level"},
    {"--replay", "replay_endpoint"}, {"--learner", "weights_endpoint"}, {"--bind", "replay_bind"},
    {"--weights-bind", "weights_bind"}, {"--num-envs", "num_envs"}, {"--actors", "actors"},
    {"--resume", "resume"}, {"--checkpoint-dir", "checkpoint_dir"}, {"--id", "actor_id"},
};

/* One pass: the defaults, the preset when there is one, then the file, the environment, the flags. */
static int s_parse_pass(config_t *cfg, int argc, char **argv, const char *cmd, int *sync_flag,
                        const env_preset_t *preset) {
    char err[512];
    config_defaults(cfg);
    if (env_preset_apply(preset, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mpo %s: the preset of %s: %s\n", cmd, preset->env, err);
        return -1;
    }
    /* file first, then environment, then flags in order: find --config before anything else */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpo %s: --config needs a file\n", cmd);
                return -1;
            }
            if (config_load_file(cfg, argv[i + 1], err, sizeof err) != 0) {
                fprintf(stderr, "mpo %s: %s\n", cmd, err);
                return -1;
            }
        }
    if (config_load_env(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mpo %s: %s\n", cmd, err);
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--config")) {
            i++;
            continue;
        }
        if (sync_flag && !strcmp(o, "--sync")) {
            *sync_flag = 1;
            continue;
        }
        if (!strcmp(cmd, "actor") && !strcmp(o, "--evaluate")) { /* = --set evaluator=1 */
            if (config_set(cfg, "evaluator", "1", err, sizeof err) != 0)
                return -1;
            continue;
        }
        if (!strcmp(o, "--set")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mpo %s: --set needs key=value\n", cmd);
                return -1;
            }
            if (config_set_pair(cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "mpo %s: %s\n", cmd, err);
                return -1;
            }
            continue;
        }
        const s_shortcut_t *sc = NULL;
        for (size_t j = 0; j < sizeof s_shortcuts / sizeof s_shortcuts[0]; j++)
            if (!strcmp(o, s_shortcuts[j].flag))
                sc = &s_shortcuts[j];
        if (!sc) {
            fprintf(stderr, "mpo %s: unknown option '%s' (see mpo %s --help)\n", cmd, o, cmd);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mpo %s: %s needs a value\n", cmd, o);
            return -1;
        }
        if (config_set(cfg, sc->key, argv[++i], err, sizeof err) != 0) {
            fprintf(stderr, "mpo %s: %s\n", cmd, err);
            return -1;
        }
    }
    log_set_level((log_level_t)log_level_parse(cfg->log_level));
    return 0;
}

/* The configuration a command runs with. An environment's preset (env/presets.h) is known only once
 * the environment is, which any layer may set: so a first pass finds the environment, and a second
 * puts its preset under everything the user set. */
static int s_parse_config(config_t *cfg, int argc, char **argv, const char *cmd, int *sync_flag) {
    if (s_parse_pass(cfg, argc, argv, cmd, sync_flag, NULL) != 0)
        return -1;
    const env_preset_t *preset = env_preset_find(cfg->env);
    return preset ? s_parse_pass(cfg, argc, argv, cmd, sync_flag, preset) : 0;
}

static int s_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

static void s_config_options_help(void) {
    printf("options:\n"
           "  --config FILE          read keys from an INI file (key = value)\n"
           "  --set KEY=VALUE        set any key (repeatable); `mpo config --help` lists the keys\n"
           "  --env NAME             = --set env=NAME (`mpo envs` lists them)\n"
           "  --seed N               = --set seed=N\n"
           "  --total-timesteps N    = --set total_timesteps=N\n"
           "  --run-dir DIR          = --set run_dir=DIR (progress.csv, eval.csv, config.ini)\n"
           "  --threads N            = --set threads=N\n"
           "  --log-level LEVEL      = --set log_level=LEVEL\n"
           "  --replay ENDPOINT      = --set replay_endpoint=ENDPOINT (actor, learner)\n"
           "  --learner ENDPOINT     = --set weights_endpoint=ENDPOINT (actor)\n"
           "  --bind ENDPOINT        = --set replay_bind=ENDPOINT (replay)\n"
           "  --weights-bind ENDPOINT = --set weights_bind=ENDPOINT (learner)\n"
           "  --num-envs K           = --set num_envs=K (actor)\n"
           "  --actors N             = --set actors=N (train)\n"
           "  --resume DIR           = --set resume=DIR (learner)\n"
           "  --checkpoint-dir DIR   = --set checkpoint_dir=DIR (learner)\n"
           "  --id ID                = --set actor_id=ID (actor)\n"
           "Keys also come from MPO_<KEY> environment variables; precedence: defaults < file <\n"
           "environment < flags.\n");
}

static int s_cmd_train(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        printf("usage: mpo train [--sync] [options]\n"
               "Train a policy with MPO on one machine and print the final deterministic evaluation\n"
               "as `Mean reward: X`. Defaults: Pendulum-v1, seed 42, 20000 steps.\n"
               "By default the whole system runs here: a replay server, a learner and `actors` actors\n"
               "as child processes over loopback.\n"
               "  --sync                 the single-process reference loop (bit-for-bit reproducible)\n");
        s_config_options_help();
        return 0;
    }
    config_t cfg;
    int sync = 0;
    if (s_parse_config(&cfg, argc, argv, "train", &sync) != 0)
        return 2;
    s_install_signals();
    log_set_role("train");
    if (sync)
        return trainer_run_sync(&cfg, &s_stop, NULL) == 0 ? 0 : 1;
    return launch_train(&cfg, &s_stop, "/proc/self/exe", NULL) == 0 ? 0 : 1;
}

/* mpo replay / learner / actor: one role each, configured like train */
typedef int (*s_role_fn)(const config_t *cfg, volatile int *stop);

static int s_cmd_role(int argc, char **argv, const char *name, const char *what, s_role_fn run) {
    if (s_wants_help(argc, argv)) {
        printf("usage: mpo %s [options]\n%s\n", name, what);
        s_config_options_help();
        return 0;
    }
    config_t cfg;
    if (s_parse_config(&cfg, argc, argv, name, NULL) != 0)
        return 2;
    s_install_signals();
    log_set_role(name);
    return run(&cfg, &s_stop) == 0 ? 0 : 1;
}

static int s_cmd_replay(int argc, char **argv) {
    return s_cmd_role(argc, argv, "replay",
                      "Run the replay server: binds replay_bind, holds buffer_size transitions of env,\n"
                      "serves samples under the samples-per-insert rate limiter, answers mpo stat.",
                      replay_server_run);
}

static int s_cmd_learner(int argc, char **argv) {
    return s_cmd_role(argc, argv, "learner",
                      "Run the learner: samples from --replay, updates, publishes weights on weights_bind,\n"
                      "checkpoints to checkpoint_dir; --resume DIR continues a checkpoint.",
                      learner_run);
}

static int s_cmd_actor(int argc, char **argv) {
    return s_cmd_role(argc, argv, "actor",
                      "Run an actor: num_envs environments of env, transitions to --replay, weights from\n"
                      "--learner. --evaluate (= --set evaluator=1): evaluate instead, eval_episodes\n"
                      "deterministic episodes every evaluator_every learner updates, reported to the replay.",
                      actor_run);
}

static int s_cmd_stat(int argc, char **argv) { return stat_main(argc, argv); }

static int s_cmd_plot(int argc, char **argv) { return plot_main(argc, argv); }

static int s_cmd_keygen(int argc, char **argv) { return keygen_main(argc, argv); }
static int s_cmd_export(int argc, char **argv) { return export_main(argc, argv); }
static int s_cmd_play(int argc, char **argv) { return play_main(argc, argv); }

static int s_cmd_config(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        printf("usage: mpo config [options] | mpo config --markdown\n"
               "Print the effective configuration as a config file (--markdown: the key table). An\n"
               "environment with a preset (`mpo config --env E` shows it in comments first) has its own\n"
               "values for some keys, under the config file, MPO_* variables and flags. The keys:\n");
        config_print_help(stdout);
        printf("\n");
        s_config_options_help();
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--markdown")) {
        config_print_markdown(stdout);
        return 0;
    }
    config_t cfg;
    if (s_parse_config(&cfg, argc, argv, "config", NULL) != 0)
        return 2;
    const env_preset_t *preset = env_preset_find(cfg.env);
    if (preset) { /* comments to a config file (inih skips lines that start with #) */
        printf("# %s's preset, under the file, MPO_* and flags (%s):\n", preset->env, preset->why);
        for (int i = 0; i < ENV_PRESET_MAX && preset->pairs[i]; i++)
            printf("#   %s\n", preset->pairs[i]);
    }
    config_write(&cfg, stdout);
    return 0;
}

static int s_cmd_envs(int argc, char **argv) {
    if (s_wants_help(argc, argv)) {
        printf("usage: mpo envs\nList the environments with their sizes, action bounds and episode length.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "mpo envs: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("%-16s %4s %4s  %-22s %8s  %s\n", "name", "obs", "act", "action bounds", "episode", "description");
    for (const env_ops_t *const *e = env_registry(); *e; e++) {
        const env_spec_t *s = (*e)->spec;
        char bounds[64];
        int same = 1;
        for (int k = 1; k < s->act_dim; k++)
            same &= s->act_low[k] == s->act_low[0] && s->act_high[k] == s->act_high[0];
        snprintf(bounds, sizeof bounds, "[%g, %g]%s", s->act_low[0], s->act_high[0], same ? "" : " (dim 0)");
        printf("%-16s %4d %4d  %-22s %8d  %s\n", s->name, s->obs_dim, s->act_dim, bounds, s->max_episode_steps,
               s->summary);
    }
    return 0;
}

static int s_cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: mpo bench update|learner|env|replay|snapshot|learning [options]\n"
               "  update   MPO update speed beside the sgemm rate (mpo bench update --help)\n"
               "  learner  mpo learner's updates/s against bench update's (mpo bench learner --help)\n"
               "  env      raw environment and actor step rates (mpo bench env --help)\n"
               "  replay   replay server insert and sample rates over tcp loopback\n"
               "  snapshot a replay snapshot's write and restore at a full ring (mpo bench snapshot --help)\n"
               "  learning the same training on several seeds: a table over the seeds and one plot\n"
               "           (mpo bench learning --help)\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "update"))
        return bench_update_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "learner"))
        return bench_learner_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "env"))
        return bench_env_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replay"))
        return bench_replay_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "snapshot"))
        return bench_snapshot_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "learning"))
        return bench_learning_main(argc - 1, argv + 1);
    fprintf(stderr, "mpo bench: unknown benchmark '%s' (update, learner, env, replay, snapshot, learning)\n",
            argv[1]);
    return 2;
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} s_command_t;

static const s_command_t s_commands[] = {
    {"train", s_cmd_train, "train a policy on one machine (default: Pendulum-v1)"},
    {"replay", s_cmd_replay, "run the replay server"},
    {"learner", s_cmd_learner, "run the learner"},
    {"actor", s_cmd_actor, "run an actor"},
    {"stat", s_cmd_stat, "show a replay server's stats (table, --json, --watch)"},
    {"plot", s_cmd_plot, "draw runs' learning curves as a PNG (gnuplot)"},
    {"export", s_cmd_export, "write a checkpoint's policy as a small policy file (docs/policy-file.md)"},
    {"play", s_cmd_play, "run a policy file's deterministic episodes and print their returns"},
    {"keygen", s_cmd_keygen, "write a CURVE key pair, NAME.key and NAME.pub (docs/security.md)"},
    {"envs", s_cmd_envs, "list the environments"},
    {"config", s_cmd_config, "print the configuration; --help lists every key"},
    {"bench", s_cmd_bench, "benchmarks: update, environment and replay speed; learning over seeds"},
};

static void s_usage(FILE *out) {
    fprintf(out, "mpo %s: distributed MPO (Maximum a Posteriori Policy Optimisation)\n"
                 "usage: mpo COMMAND [options]   (mpo COMMAND --help for its options)\n\ncommands:\n",
            MPO_VERSION);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", s_commands[i].name, s_commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        s_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        s_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("mpo %s\n", MPO_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (!strcmp(argv[1], s_commands[i].name))
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mpo: unknown command '%s' (mpo --help lists them)\n", argv[1]);
    return 2;
}
