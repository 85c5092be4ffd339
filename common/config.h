/* config: every configuration key in one table (name, type, default, bounds, help).
 *
 * The table drives the defaults, the config file (INI, read with inih), MPO_<KEY> environment
 * variables, --set key=value, `mpo config` and the errors for an unknown or out-of-range key.
 * Precedence, lowest first: defaults, file, environment, --set. */
#ifndef MPO_CONFIG_H
#define MPO_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_STR_MAX 256
/* units per hidden layer at most: the bound of the `hidden` key, and what the learner and an actor
 * accept in a weights layout (a larger one is a message to refuse, not a network to allocate) */
#define CONFIG_HIDDEN_MAX 8192

/* X(name, type, default, min, max, choices, help); FLOAT keys are double, INT keys long long,
 * STR and CHOICE keys char[CONFIG_STR_MAX]. Defaults are strings parsed like user input. */
#define CONFIG_KEYS(X)                                                                              \
    X(env, STR, "Pendulum-v1", 0, 0, NULL,                                                         \
      "environment to train on (`mpo envs` lists them); external: one an outside actor brings")    \
    X(obs_dim, INT, "0", 0, 512, NULL, "env external: observation size (a named env: 0 or its own)") \
    X(act_dim, INT, "0", 0, 64, NULL, "env external: action size (a named env: 0 or its own)")      \
    X(act_low, STR, "-1", 0, 0, NULL, "env external: action lower bounds, one for all or act_dim, comma-separated") \
    X(act_high, STR, "1", 0, 0, NULL, "env external: action upper bounds, one for all or act_dim, comma-separated") \
    X(seed, INT, "42", 0, 4.6e18, NULL, "seed of every random stream of the run")                  \
    X(total_timesteps, INT, "20000", 1, 1e12, NULL, "environment steps to train for")              \
    X(policy, CHOICE, "squashed", 0, 0, "squashed|gaussian",                                      \
      "squashed: tanh of a Gaussian, in range by construction; gaussian: Acme's unsquashed "       \
      "Gaussian, actions clipped at the environment and kept in range by the action penalty")     \
    X(hidden, INT, "256", 1, CONFIG_HIDDEN_MAX, NULL, "units per hidden layer (actor and critics)")            \
    X(layers, INT, "2", 1, 6, NULL, "hidden layers per network")                                   \
    X(min_std, FLOAT, "1e-3", 1e-8, 10, NULL, "floor of the policy's standard deviation")          \
    X(init_stddev, FLOAT, "0", 0, 10, NULL,                                                        \
      "policy's standard deviation at the start (before the squash), above min_std; 0: "         \
      "softplus(0) + min_std, about 0.69")                                                        \
    X(critic_layer_norm, INT, "0", 0, 1, NULL,                                                     \
      "1: LayerNorm in every hidden layer of the critics, ReLU(LayerNorm(Wx + b)) (Acme's torsos)") \
    X(learning_rate, FLOAT, "3e-4", 1e-8, 1, NULL, "Adam step size of the actor and the critics")  \
    X(grad_clip, FLOAT, "40", 0, 1e9, NULL, "gradient-norm clip per network group; 0: off")        \
    X(buffer_size, INT, "1000000", 1, 1e9, NULL, "replay capacity in transitions")                 \
    X(batch_size, INT, "256", 1, 65536, NULL, "transitions per update")                            \
    X(learning_starts, INT, "1000", 0, 1e12, NULL,                                                 \
      "random-action steps before learning; the replay's minimum size")                            \
    X(gamma, FLOAT, "0.99", 0, 1, NULL, "discount")                                                \
    X(tau, FLOAT, "0.005", 0, 1, NULL, "Polyak rate of the target networks")                       \
    X(target_update_period, INT, "0", 0, 1e9, NULL,                                                \
      "copy the networks to the targets every this many updates instead of Polyak; 0: Polyak")     \
    X(n_step, INT, "1", 1, 64, NULL,                                                               \
      "steps per transition: rewards summed with discount over n steps, bootstrap with gamma^n")   \
    X(n_action_samples, INT, "20", 1, 4096, NULL, "E-step action samples per state (N)")          \
    X(critic_action_samples, INT, "1", 1, 256, NULL, "target-policy samples per next state (M)")   \
    X(epsilon, FLOAT, "0.1", 1e-8, 100, NULL, "E-step KL bound (temperature dual)")                \
    X(epsilon_mean, FLOAT, "1e-2", 1e-10, 100, NULL, "M-step KL bound on the mean, per dimension") \
    X(epsilon_stddev, FLOAT, "1e-6", 1e-12, 100, NULL,                                             \
      "M-step KL bound on the standard deviation, per dimension")                                  \
    X(epsilon_penalty, FLOAT, "0.001", 1e-10, 100, NULL,                                           \
      "gaussian policy: KL bound of the action-penalty objective; squashed: not used (in range "   \
      "by construction)")                                                                          \
    X(dual_lr, FLOAT, "1e-2", 1e-8, 10, NULL, "Adam step size of the dual variables")              \
    X(init_log_temperature, FLOAT, "10", -18, 1e4, NULL,                                           \
      "initial free parameter of the temperature (eta = softplus(x))")                             \
    X(init_log_alpha_mean, FLOAT, "10", -18, 1e4, NULL, "initial free parameter of alpha_mean")    \
    X(init_log_alpha_stddev, FLOAT, "1000", -18, 1e4, NULL,                                        \
      "initial free parameter of alpha_stddev")                                                    \
    X(eval_episodes, INT, "10", 0, 100000, NULL, "deterministic evaluation episodes")              \
    X(eval_every, INT, "0", 0, 1e12, NULL,                                                         \
      "env steps between evaluations; 0: only at the end (mpo train: an evaluator every this many updates)") \
    X(evaluator, INT, "0", 0, 1, NULL,                                                             \
      "actor: 1 evaluates instead of training (mpo actor --evaluate): deterministic episodes, to the replay") \
    X(evaluator_every, INT, "10000", 1, 1e12, NULL, "evaluator: learner updates between evaluations") \
    X(log_interval, FLOAT, "5", 0.05, 86400, NULL, "seconds between progress lines")               \
    X(log_level, CHOICE, "info", 0, 0, "error|warn|info|debug", "least severe level logged")       \
    X(threads, INT, "0", 0, 256, NULL,                                                             \
      "threads of the learner's update (each BLAS call runs on one); 0: the CPUs this process may use") \
    X(run_dir, STR, "", 0, 0, NULL, "directory for progress.csv and eval.csv; empty: none")          \
    /* distributed roles (docs/protocol.md) */                                                    \
    X(replay_bind, STR, "tcp://*:5555", 0, 0, NULL, "endpoint the replay server binds")           \
    X(replay_endpoint, STR, "tcp://127.0.0.1:5555", 0, 0, NULL,                                   \
      "replay server endpoint actors, learner and mpo stat connect to (--replay)")                \
    X(weights_bind, STR, "tcp://*:5556", 0, 0, NULL, "endpoint the learner publishes weights on") \
    X(weights_endpoint, STR, "tcp://127.0.0.1:5556", 0, 0, NULL,                                  \
      "learner's weights endpoint actors subscribe to (--learner)")                              \
    X(samples_per_insert, FLOAT, "-1", -1, 1e6, NULL,                                             \
      "transitions sampled per transition inserted, samples_per_insert / batch_size updates per "  \
      "env step (the rate limiter's target; --sync does as many); -1: batch_size, one update per " \
      "env step; 0: the rate limiter off (--sync: one update per env step)")                     \
    X(rate_limit_tolerance, INT, "256", 1, 1e9, NULL,                                             \
      "rate limiter: transitions the inserts may run ahead of or behind the target ratio")       \
    X(rate_limit_timeout, FLOAT, "60", 0.1, 86400, NULL,                                          \
      "seconds a held insert or sample waits before it is served anyway (counted in stats)")     \
    X(max_abs_value, FLOAT, "1e6", 0, 3e38, NULL,                                                  \
      "replay: largest |value| of an observation, action or reward it stores; a batch beyond is "    \
      "refused (out_of_range); 0: no bound")                                                         \
    X(max_peer_queue_bytes, INT, "268435456", 1048576, 1e12, NULL,                                 \
      "replay: most reply bytes queued for one peer that does not read; a sample request whose "    \
      "batch would take more than 1/64 of it is refused (too_large)")                               \
    X(max_message_bytes, INT, "67108864", 1024, 2147483647, NULL,                                 \
      "largest message any endpoint accepts; larger ones are refused and counted")                \
    X(stats_interval, FLOAT, "10", 0.1, 86400, NULL, "seconds between the replay server's log lines") \
    X(replay_dir, STR, "", 0, 0, NULL,                                                            \
      "replay server: directory of its snapshot (replay.snap), restored at start and written every " \
      "replay_snapshot_interval seconds, every replay_snapshot_inserts transitions and on SIGTERM; " \
      "empty: none, a restarted replay starts empty")                                               \
    X(replay_snapshot_interval, FLOAT, "300", 0, 1e6, NULL,                                        \
      "seconds between the replay's snapshots, taken when anything was stored since the last; 0: " \
      "none on a timer")                                                                            \
    X(replay_snapshot_inserts, INT, "0", 0, 1e12, NULL,                                            \
      "also a replay snapshot once this many transitions were stored since the last began; 0: "    \
      "none by count")                                                                              \
    X(replay_start_empty, INT, "0", 0, 1, NULL,                                                    \
      "1: a snapshot in replay_dir that is refused (damaged, another env or sizes) is kept as "     \
      "replay.snap.refused and the replay starts empty; 0: the replay exits with one line saying why") \
    X(num_envs, INT, "1", 1, 4096, NULL, "environments per actor, stepped with one batched forward") \
    X(actor_batch, INT, "64", 1, 65536, NULL, "transitions per message from an actor")             \
    X(actor_credit, INT, "2", 1, 64, NULL, "batches an actor may have unacknowledged")             \
    X(ack_timeout, FLOAT, "30", 0.1, 3600, NULL,                                                   \
      "seconds an actor waits for an ack before it says hello again and resends")                 \
    X(actor_id, STR, "", 0, 0, NULL, "actor's unique id; empty: made from host, pid and time")      \
    X(actors, INT, "2", 0, 1024, NULL, "actors `mpo train` starts")                                  \
    X(sample_prefetch, INT, "4", 1, 64, NULL, "sample requests the learner keeps in flight")       \
    X(weight_sync_period, INT, "100", 1, 1e9, NULL, "updates between weight publications")          \
    X(weight_publish_interval, FLOAT, "2", 0.05, 3600, NULL,                                       \
      "seconds between publications of the current weights even when idle (late joiners)")        \
    X(checkpoint_dir, STR, "checkpoints", 0, 0, NULL, "learner checkpoints; empty: none")         \
    X(checkpoint_every, INT, "10000", 1, 1e12, NULL, "updates between checkpoints (and one on exit)") \
    X(checkpoint_keep, INT, "3", 1, 100, NULL,                                                     \
      "checkpoints kept: learner.ckpt and the older learner.ckpt.1 …; --resume takes the newest good one") \
    X(resume, STR, "", 0, 0, NULL, "checkpoint directory to resume the learner from")            \
    X(metrics_port, INT, "0", 0, 65535, NULL,                                                      \
      "port of the Prometheus /metrics endpoint (replay server, learner); 0: off")                 \
    /* ZeroMQ CURVE (docs/security.md) */                                                         \
    X(curve_key_file, STR, "", 0, 0, NULL,                                                        \
      "this process's CURVE key pair, a NAME.key written by `mpo keygen`: every ZeroMQ socket of " \
      "the role is then encrypted and authenticated; empty: plain ZeroMQ")                         \
    X(curve_authorized_keys, STR, "", 0, 0, NULL,                                                 \
      "replay server, learner: file of the client public keys let in, one per line (NAME.pub "     \
      "files concatenated); the server's own key always is; empty: only its own")                  \
    X(curve_replay_key, STR, "", 0, 0, NULL,                                                      \
      "actor, learner, mpo stat: the replay server's public key, 40 Z85 characters or a NAME.pub " \
      "file; a server with another key is not talked to")                                         \
    X(curve_weights_key, STR, "", 0, 0, NULL,                                                     \
      "actor: the learner's public key (its weights PUB), 40 Z85 characters or a NAME.pub file")

#define CONFIG_FIELD_FLOAT(name) double name;
#define CONFIG_FIELD_INT(name) long long name;
#define CONFIG_FIELD_STR(name) char name[CONFIG_STR_MAX];
#define CONFIG_FIELD_CHOICE(name) char name[CONFIG_STR_MAX];
#define CONFIG_FIELD(name, type, def, lo, hi, choices, help) CONFIG_FIELD_##type(name)

typedef struct {
    CONFIG_KEYS(CONFIG_FIELD)
} config_t;

typedef enum { CONFIG_FLOAT, CONFIG_INT, CONFIG_STR, CONFIG_CHOICE } config_type_t;

typedef struct {
    const char *name;
    config_type_t type;
    const char *def;
    double min, max;
    const char *choices; /* "a|b|c" for CHOICE */
    const char *help;
    size_t offset;
} config_key_t;

/* the table, and its length */
const config_key_t *config_keys(size_t *count);
const config_key_t *config_find(const char *name);

void config_defaults(config_t *self);
/* Set one key from text. 0, or -MPO_EINVAL (common/error.h) with a one-line reason naming the key (unknown key: the nearest
 * known one; out of range: the range). */
int config_set(config_t *self, const char *key, const char *value, char *err, size_t errlen);
/* "key=value" */
int config_set_pair(config_t *self, const char *pair, char *err, size_t errlen);
/* The loaders below return 0, -MPO_EIO (file unreadable) or -MPO_EINVAL, with a one-line reason. */
/* INI file: `key = value` lines, `#`/`;` comments, an optional [mpo] section. */
int config_load_file(config_t *self, const char *path, char *err, size_t errlen);
/* MPO_<KEY> (upper case) for every key that is set in the environment. */
int config_load_env(config_t *self, char *err, size_t errlen);
/* the value of a key as text */
void config_get(const config_t *self, const config_key_t *key, char *out, size_t outlen);
/* every key as `key = value` lines (a valid config file) */
void config_write(const config_t *self, FILE *out);
/* the table as help text */
void config_print_help(FILE *out);
/* the table as a Markdown table (the README's configuration section is this output) */
void config_print_markdown(FILE *out);

#endif
