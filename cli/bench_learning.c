/* mpo bench learning: the same training on several seeds, side by side, and what they add up to.
 *
 * Each seed is `mpo train --sync` run as a child process of this program (fork + execv of its own
 * path, as `mpo train` starts its roles), at most --jobs at a time, in its own run dir DIR/seed-S
 * with its stdout and stderr in DIR/seed-S.log. The parent only watches: every PROGRESS_S it prints
 * one line with each seed's env steps and last evaluation (read back from progress.csv and
 * eval.csv), and at the end one table over the seeds' evaluations (cli/learning_summary), also
 * written to DIR/summary.csv and DIR/summary.md, and one plot, DIR/learning.png.
 *
 * Children run in their own process group, so a Ctrl-C at the terminal reaches the parent alone:
 * it sends SIGTERM to the running seeds (the trainer stops, evaluates and exits), starts no more,
 * waits up to STOP_GRACE_S (a second Ctrl-C kills them at once) and still prints what there is. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench.h"
#include "cli/learning_summary.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/pool.h"
#include "common/run_dir.h"
#include "env/env.h"

#define PROGRESS_S 30.0
#define STOP_GRACE_S 60.0
#define MAX_SEEDS 64
#define MAX_SETS 128
#define S_PATH 4096

typedef enum { RUN_WAITING = 0, RUN_RUNNING, RUN_DONE } s_state_t;

typedef struct {
    int seed;
    s_state_t state;
    pid_t pid;
    int status;   /* wait status once done */
    bool stopped; /* we sent it SIGTERM */
    double t0, wall;
    char dir[S_PATH + 32], log[S_PATH + 32];
} s_run_t;

typedef struct {
    const char *env, *config_file, *out;
    long long steps, eval_every, eval_episodes;
    int jobs, threads_given;
    const char *sets[MAX_SETS];
    int nsets;
    int seeds[MAX_SEEDS];
    int nseeds;
    char exe[S_PATH], dir[S_PATH];
} s_bench_t;

static volatile sig_atomic_t s_signals;

static void s_on_signal(int sig) {
    (void)sig;
    s_signals++;
}

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo bench learning [--env E] [--seeds 1,2,3] [--steps N] [--eval-every K] [--jobs J]\n"
            "                          [--out DIR] [--set key=value ...] [--config FILE]\n"
            "Train the same configuration on several seeds (`mpo train --sync`, one child process per\n"
            "seed, at most J at a time, each with --threads 1 unless threads is set) and summarise the\n"
            "deterministic evaluations over the seeds: for every evaluation point the mean, sample std,\n"
            "min and max of the evaluation's mean return, and each seed's wall time.\n"
            "  --env E          the environment (default: the configuration's env, Pendulum-v1)\n"
            "  --seeds LIST     seeds, comma-separated, ranges allowed: 1,2,3 or 1-10 (default 1,2,3)\n"
            "  --steps N        env steps per seed (default: the configuration's total_timesteps)\n"
            "  --eval-every K   env steps between evaluations (default: steps/5, rounded); each is\n"
            "                   eval_episodes (default 10) deterministic episodes, and one ends the run\n"
            "  --jobs J         seeds at a time (default: the CPUs this process may use)\n"
            "  --out DIR        where the runs go (default build/bench/learning-ENV-<UTC date-time>):\n"
            "                   DIR/seed-S (the run dir), DIR/seed-S.log, DIR/summary.csv,\n"
            "                   DIR/summary.md, DIR/learning.png (gnuplot; for the MuJoCo\n"
            "                   environments with published SAC (and CrossQ) results as markers)\n"
            "  --set KEY=VALUE  any other key, for every seed (repeatable; `mpo config --help`)\n"
            "  --config FILE    a configuration file, for every seed\n"
            "One progress line every %.0f s; Ctrl-C stops the seeds cleanly and still summarises.\n"
            "Exit status 0 when every seed finished, 1 when one failed, 130 when interrupted.\n",
            PROGRESS_S);
}

/* "1,2,5-7" into b->seeds; 0, or -1 after printing why */
static int s_parse_seeds(s_bench_t *b, const char *list) {
    b->nseeds = 0;
    for (const char *p = list; *p;) {
        char *end;
        errno = 0;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end != p && *end == '-' && end[1]) {
            const char *q = end + 1;
            hi = strtol(q, &end, 10);
            if (end == q)
                end = (char *)p;
        }
        if (end == p || errno || lo < 0 || hi < lo || hi > 2147483647L || (*end && *end != ',')) {
            fprintf(stderr, "mpo bench learning: --seeds '%s': want numbers like 1,2,3 or 1-10\n", list);
            return -1;
        }
        for (long s = lo; s <= hi; s++) {
            for (int i = 0; i < b->nseeds; i++)
                if (b->seeds[i] == s) {
                    fprintf(stderr, "mpo bench learning: --seeds '%s' names seed %ld twice\n", list, s);
                    return -1;
                }
            if (b->nseeds == MAX_SEEDS) {
                fprintf(stderr, "mpo bench learning: at most %d seeds\n", MAX_SEEDS);
                return -1;
            }
            b->seeds[b->nseeds++] = (int)s;
        }
        p = *end ? end + 1 : end;
    }
    if (!b->nseeds) {
        fprintf(stderr, "mpo bench learning: --seeds names no seed\n");
        return -1;
    }
    return 0;
}

/* the keys this command sets itself, and the flag to use instead */
static const char *const s_owned[][2] = {{"seed", "--seeds"},
                                         {"run_dir", "--out"},
                                         {"total_timesteps", "--steps"},
                                         {"eval_every", "--eval-every"},
                                         {"env", "--env"}};

/* Parse the options and check the configuration every seed will get, as far as the parent can.
 * 0 to run, 1 after --help, 2 after printing a usage error. */
static int s_parse(s_bench_t *b, int argc, char **argv) {
    const char *seeds = "1,2,3", *steps = NULL, *every = NULL, *jobs = NULL;
    char err[512];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            s_usage(stdout);
            return 1;
        }
        static const char *const valued[] = {"--env", "--seeds", "--steps", "--eval-every", "--jobs",
                                             "--out", "--set", "--config"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known |= !strcmp(o, valued[k]);
        if (!known) {
            fprintf(stderr, "mpo bench learning: unknown option '%s' (see mpo bench learning --help)\n", o);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mpo bench learning: %s needs a value\n", o);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(o, "--env"))
            b->env = v;
        else if (!strcmp(o, "--seeds"))
            seeds = v;
        else if (!strcmp(o, "--steps"))
            steps = v;
        else if (!strcmp(o, "--eval-every"))
            every = v;
        else if (!strcmp(o, "--jobs"))
            jobs = v;
        else if (!strcmp(o, "--out"))
            b->out = v;
        else if (!strcmp(o, "--config"))
            b->config_file = v;
        else if (b->nsets == MAX_SETS) {
            fprintf(stderr, "mpo bench learning: at most %d --set\n", MAX_SETS);
            return 2;
        } else {
            for (size_t k = 0; k < sizeof s_owned / sizeof s_owned[0]; k++) {
                size_t len = strlen(s_owned[k][0]);
                if (!strncmp(v, s_owned[k][0], len) && v[len] == '=') {
                    fprintf(stderr, "mpo bench learning: set %s with %s, not --set\n", s_owned[k][0], s_owned[k][1]);
                    return 2;
                }
            }
            b->threads_given |= !strncmp(v, "threads=", 8);
            b->sets[b->nsets++] = v;
        }
    }
    if (s_parse_seeds(b, seeds) != 0)
        return 2;
    /* the configuration a seed gets: file, environment, --set, then ours */
    config_t cfg;
    config_defaults(&cfg);
    if ((b->config_file && config_load_file(&cfg, b->config_file, err, sizeof err) != 0) ||
        config_load_env(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mpo bench learning: %s\n", err);
        return 2;
    }
    b->threads_given |= cfg.threads != 0; /* from the file or MPO_THREADS */
    for (int i = 0; i < b->nsets; i++)
        if (config_set_pair(&cfg, b->sets[i], err, sizeof err) != 0) {
            fprintf(stderr, "mpo bench learning: %s\n", err);
            return 2;
        }
    if ((b->env && config_set(&cfg, "env", b->env, err, sizeof err) != 0) ||
        (steps && config_set(&cfg, "total_timesteps", steps, err, sizeof err) != 0)) {
        fprintf(stderr, "mpo bench learning: %s\n", err);
        return 2;
    }
    static char env_name[CONFIG_STR_MAX];
    snprintf(env_name, sizeof env_name, "%s", cfg.env);
    b->env = env_name;
    if (!env_find(b->env)) {
        fprintf(stderr, "mpo bench learning: unknown environment '%s' (`mpo envs` lists them)\n", b->env);
        return 2;
    }
    b->steps = cfg.total_timesteps;
    b->eval_every = llround((double)b->steps / 5.0);
    if (b->eval_every < 1)
        b->eval_every = 1;
    if (every && config_set(&cfg, "eval_every", every, err, sizeof err) != 0) {
        fprintf(stderr, "mpo bench learning: --eval-every: %s\n", err);
        return 2;
    }
    if (every)
        b->eval_every = cfg.eval_every;
    b->eval_episodes = cfg.eval_episodes;
    if (b->eval_episodes < 1) {
        fprintf(stderr, "mpo bench learning: eval_episodes is 0: no evaluations to compare\n");
        return 2;
    }
    b->jobs = pool_available_cpus();
    if (jobs) {
        char *end;
        long j = strtol(jobs, &end, 10);
        if (end == jobs || *end || j < 1 || j > MAX_SEEDS) {
            fprintf(stderr, "mpo bench learning: --jobs '%s': want 1 to %d\n", jobs, MAX_SEEDS);
            return 2;
        }
        b->jobs = (int)j;
    }
    if (b->jobs > b->nseeds)
        b->jobs = b->nseeds;
    return 0;
}

/* Start run r: `mpo train --sync ...` with its output in r->log. 0, or -1 after printing why. */
static int s_start(const s_bench_t *b, s_run_t *r) {
    char seed[32], steps[32], every[64];
    snprintf(seed, sizeof seed, "%d", r->seed);
    snprintf(steps, sizeof steps, "%lld", b->steps);
    snprintf(every, sizeof every, "eval_every=%lld", b->eval_every);
    const char *argv[2 * MAX_SETS + 24];
    int argc = 0;
    argv[argc++] = b->exe;
    argv[argc++] = "train";
    argv[argc++] = "--sync";
    if (b->config_file) {
        argv[argc++] = "--config";
        argv[argc++] = b->config_file;
    }
    for (int i = 0; i < b->nsets; i++) {
        argv[argc++] = "--set";
        argv[argc++] = b->sets[i];
    }
    const char *ours[] = {"--env", b->env, "--seed", seed, "--total-timesteps", steps, "--set", every,
                          "--run-dir", r->dir};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        argv[argc++] = ours[i];
    if (!b->threads_given) {
        argv[argc++] = "--threads";
        argv[argc++] = "1";
    }
    argv[argc] = NULL;
    int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "mpo bench learning: cannot write %s: %s\n", r->log, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* a Ctrl-C at the terminal reaches the parent alone */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the parent died before prctl took effect */
            _exit(1);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        execv(b->exe, (char *const *)argv);
        fprintf(stderr, "mpo bench learning: cannot start '%s': %s\n", b->exe, strerror(errno));
        _exit(127);
    }
    close(fd);
    if (pid < 0) {
        fprintf(stderr, "mpo bench learning: fork: %s\n", strerror(errno));
        return -1;
    }
    r->pid = pid;
    r->state = RUN_RUNNING;
    r->t0 = clock_now();
    return 0;
}

/* the last row of DIR/eval.csv (steps, mean return) and DIR/progress.csv's last env steps; NaN
 * where there is none yet */
static void s_peek(const s_run_t *r, double *eval_steps, double *eval_return, double *steps) {
    static const char *const eval_cols[] = LEARNING_EVAL_COLUMNS, *const progress_cols[] = {"env_steps"};
    char path[S_PATH + 64];
    csv_table_t t;
    *eval_steps = *eval_return = *steps = NAN;
    snprintf(path, sizeof path, "%s/eval.csv", r->dir);
    if (csv_table_read(path, eval_cols, 3, 1, &t) == 0 && t.rows) {
        *eval_steps = csv_table_at(&t, t.rows - 1, 0);
        *eval_return = csv_table_at(&t, t.rows - 1, 2);
    }
    csv_table_free(&t);
    snprintf(path, sizeof path, "%s/progress.csv", r->dir);
    if (csv_table_read(path, progress_cols, 1, 1, &t) == 0 && t.rows)
        *steps = csv_table_at(&t, t.rows - 1, 0);
    csv_table_free(&t);
    if (isfinite(*eval_steps) && !(*steps >= *eval_steps))
        *steps = *eval_steps;
}

static void s_progress(const s_bench_t *b, const s_run_t *runs, double t0) {
    printf("[%5.0f s]", clock_now() - t0);
    for (int i = 0; i < b->nseeds; i++) {
        const s_run_t *r = &runs[i];
        double es, er, steps;
        printf(" | seed %d: ", r->seed);
        if (r->state == RUN_WAITING) {
            printf("waiting");
            continue;
        }
        s_peek(r, &es, &er, &steps);
        if (!isfinite(steps)) {
            printf("%s", r->state == RUN_DONE ? "done" : "starting"); /* no progress row yet */
            continue;
        }
        printf("%s%.0f/%lld steps", r->state == RUN_DONE ? "done, " : "", steps, b->steps);
        if (isfinite(es))
            printf(", eval %.1f at %.0f", er, es);
    }
    printf("\n");
    fflush(stdout);
}

static void s_finished(const s_bench_t *b, s_run_t *r, int status) {
    r->state = RUN_DONE;
    r->status = status;
    r->pid = 0;
    r->wall = clock_now() - r->t0;
    double es, er, steps;
    s_peek(r, &es, &er, &steps);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        printf("seed %d %s after %.1f s: %.0f/%lld steps, last evaluation %.1f\n", r->seed,
               r->stopped ? "stopped" : "finished", r->wall, isfinite(steps) ? steps : 0, b->steps, er);
    else if (WIFEXITED(status))
        printf("seed %d FAILED (exit status %d) after %.1f s: see %s\n", r->seed, WEXITSTATUS(status), r->wall,
               r->log);
    else
        printf("seed %d %s by signal %d after %.1f s: see %s\n", r->seed, r->stopped ? "killed" : "FAILED, killed",
               WTERMSIG(status), r->wall, r->log);
    fflush(stdout);
}

/* run every seed, at most b->jobs at a time; 0, or -1 when one could not start */
static int s_run_all(const s_bench_t *b, s_run_t *runs) {
    double t0 = clock_now(), last = t0, stop_at = 0;
    int rc = 0, signals_seen = 0;
    for (;;) {
        int running = 0, waiting = 0;
        for (int i = 0; i < b->nseeds; i++) {
            running += runs[i].state == RUN_RUNNING;
            waiting += runs[i].state == RUN_WAITING;
        }
        if (!s_signals && rc == 0)
            for (int i = 0; i < b->nseeds && running < b->jobs; i++)
                if (runs[i].state == RUN_WAITING) {
                    if (s_start(b, &runs[i]) != 0) {
                        rc = -1;
                        break;
                    }
                    running++;
                    waiting--;
                }
        if (!running && (!waiting || s_signals || rc))
            return rc;
        if (s_signals != signals_seen) {
            /* the first: stop cleanly; another, or the grace period over: kill */
            int kill_now = signals_seen > 0;
            signals_seen = s_signals;
            if (!stop_at) {
                stop_at = clock_now();
                printf("stopping: SIGTERM to the running seeds (again to kill them)\n");
                fflush(stdout);
            }
            for (int i = 0; i < b->nseeds; i++)
                if (runs[i].state == RUN_RUNNING) {
                    kill(runs[i].pid, kill_now ? SIGKILL : SIGTERM);
                    runs[i].stopped = true;
                }
        }
        if (stop_at && clock_now() - stop_at > STOP_GRACE_S)
            for (int i = 0; i < b->nseeds; i++)
                if (runs[i].state == RUN_RUNNING)
                    kill(runs[i].pid, SIGKILL);
        for (int i = 0; i < b->nseeds; i++) {
            int status;
            if (runs[i].state == RUN_RUNNING && waitpid(runs[i].pid, &status, WNOHANG) == runs[i].pid)
                s_finished(b, &runs[i], status);
        }
        if (clock_now() - last >= PROGRESS_S) {
            last = clock_now();
            s_progress(b, runs, t0);
        }
        usleep(100000);
    }
}

/* DIR: --out, or build/bench/learning-ENV-<UTC date-time>; made, with no earlier seed runs in it */
static int s_prepare_dir(s_bench_t *b, s_run_t *runs) {
    if (b->out) {
        snprintf(b->dir, sizeof b->dir, "%s", b->out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(b->dir, sizeof b->dir, "build/bench/learning-%s-%s", b->env, stamp);
    }
    if (strlen(b->dir) + 24 >= CONFIG_STR_MAX) {
        fprintf(stderr, "mpo bench learning: --out '%s' is too long (run_dir holds %d characters)\n", b->dir,
                CONFIG_STR_MAX - 1);
        return -1;
    }
    if (run_dir_mkdirs(b->dir) != 0) {
        fprintf(stderr, "mpo bench learning: cannot create %s: %s\n", b->dir, strerror(errno));
        return -1;
    }
    struct stat st;
    for (int i = 0; i < b->nseeds; i++) {
        s_run_t *r = &runs[i];
        r->seed = b->seeds[i];
        r->wall = NAN;
        snprintf(r->dir, sizeof r->dir, "%s/seed-%d", b->dir, r->seed);
        snprintf(r->log, sizeof r->log, "%s/seed-%d.log", b->dir, r->seed);
        if (stat(r->dir, &st) == 0) {
            fprintf(stderr, "mpo bench learning: %s already holds a run: choose another --out\n", r->dir);
            return -1;
        }
    }
    return 0;
}

/* the table, summary.csv, summary.md and learning.png; 0, or -1 when nothing could be summarised */
static int s_summarise(const s_bench_t *b, const s_run_t *runs) {
    static const char *const cols[] = LEARNING_EVAL_COLUMNS;
    csv_table_t evals[MAX_SEEDS];
    double wall[MAX_SEEDS];
    char path[S_PATH + 64], title[512], err[S_PATH + 128];
    for (int i = 0; i < b->nseeds; i++) {
        snprintf(path, sizeof path, "%s/eval.csv", runs[i].dir);
        if (csv_table_read(path, cols, 3, 1, &evals[i]) != 0)
            csv_table_free(&evals[i]);
        wall[i] = runs[i].wall;
    }
    learning_summary_t s;
    int rc = -1;
    if (learning_summary_make(&s, b->seeds, evals, wall, (size_t)b->nseeds) != 0) {
        fprintf(stderr, "mpo bench learning: out of memory\n");
        goto done;
    }
    snprintf(title, sizeof title, "%s: %d seed%s, %lld steps, deterministic evaluation of %lld episode%s", b->env,
             b->nseeds, b->nseeds == 1 ? "" : "s", b->steps, b->eval_episodes, b->eval_episodes == 1 ? "" : "s");
    printf("\n%s\n", title);
    learning_summary_print(&s, stdout, 0);
    snprintf(path, sizeof path, "%s/summary.csv", b->dir);
    if (learning_summary_write_csv(&s, path) != 0)
        fprintf(stderr, "mpo bench learning: cannot write %s: %s\n", path, strerror(errno));
    snprintf(path, sizeof path, "%s/summary.md", b->dir);
    FILE *md = fopen(path, "w");
    if (md) {
        fprintf(md, "# %s\n\n", title);
        learning_summary_print(&s, md, 1);
        if (fclose(md) != 0)
            fprintf(stderr, "mpo bench learning: cannot write %s: %s\n", path, strerror(errno));
    } else {
        fprintf(stderr, "mpo bench learning: cannot write %s: %s\n", path, strerror(errno));
    }
    if (s.nrows == 0) {
        fprintf(stderr, "mpo bench learning: no seed evaluated: see the logs in %s\n", b->dir);
        learning_summary_free(&s);
        goto done;
    }
    snprintf(path, sizeof path, "%s/learning.png", b->dir);
    if (learning_summary_plot(&s, evals, b->env, title, path, err, sizeof err) != 0)
        fprintf(stderr, "mpo bench learning: no plot: %s\n", err);
    printf("wrote %s/summary.csv, %s/summary.md%s%s\n", b->dir, b->dir, access(path, F_OK) == 0 ? ", " : "",
           access(path, F_OK) == 0 ? path : "");
    learning_summary_free(&s);
    rc = 0;
done:
    for (int i = 0; i < b->nseeds; i++)
        csv_table_free(&evals[i]);
    return rc;
}

int bench_learning_main(int argc, char **argv) {
    static s_bench_t b;
    static s_run_t runs[MAX_SEEDS];
    memset(&b, 0, sizeof b);
    memset(runs, 0, sizeof runs);
    int prc = s_parse(&b, argc, argv);
    if (prc)
        return prc == 1 ? 0 : 2;
    if (!realpath("/proc/self/exe", b.exe)) {
        fprintf(stderr, "mpo bench learning: cannot find this program: %s\n", strerror(errno));
        return 1;
    }
    if (s_prepare_dir(&b, runs) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("bench learning: %s, %d seed%s, %lld steps each, evaluation every %lld steps (%lld deterministic "
           "episode%s), %d at a time%s\nruns in %s (seed-S/, seed-S.log)\n",
           b.env, b.nseeds, b.nseeds == 1 ? "" : "s", b.steps, b.eval_every, b.eval_episodes,
           b.eval_episodes == 1 ? "" : "s", b.jobs, b.threads_given ? "" : ", 1 thread each", b.dir);
    fflush(stdout);
    int rc = s_run_all(&b, runs);
    int failed = rc != 0, stopped = s_signals != 0;
    for (int i = 0; i < b.nseeds; i++)
        if (runs[i].state == RUN_DONE && !runs[i].stopped &&
            !(WIFEXITED(runs[i].status) && WEXITSTATUS(runs[i].status) == 0))
            failed = 1;
    if (s_summarise(&b, runs) != 0)
        failed = 1;
    return stopped ? 130 : failed ? 1 : 0;
}
