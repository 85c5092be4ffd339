/* mpo bench update: learner updates per second on synthetic data, beside the sgemm rate measured
 * in the same run, so the figure means something on any CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "cli/bench.h"
#include "common/config.h"
#include "env/env.h"
#include "learner/mpo.h"
#include "nn/simd.h"

#define BENCH_SLICES 4

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo bench update [--obs N] [--act N] [--batch N] [--samples N] [--hidden N]\n"
            "                        [--threads N] [--seconds S] [--isa sse2|avx2|avx512]\n"
            "                        [--gemm onednn|openblas] [--set KEY=VALUE ...] [--json]\n"
            "Times MPO updates on random data (defaults: HalfCheetah sizes 17/6, batch 256, N 20,\n"
            "hidden 256, 1 thread, 10 s) and, in the same run, the single-thread sgemm rate (1024^3) of\n"
            "both libraries, in alternating slices so that a change of clock speed moves all of them;\n"
            "the ratio is to the faster library's rate. --isa runs the element-wise kernels (and\n"
            "oneDNN's) of a narrower instruction set than the CPU's widest (also MPO_ISA=...); --gemm\n"
            "picks the library of the update's products (also MPO_GEMM=...; default onednn). --set\n"
            "sets any other key of the update (critic_layer_norm=1, policy=gaussian; `mpo config --help`).\n");
}

struct bench_updater_s {
    mpo_t *mpo;
    float *block;
    transition_batch_t batch;
    int batch_size;
};

bench_updater_t *bench_updater_new(const config_t *cfg, int obs, int act, char *err, size_t errlen) {
    if (obs > ENV_MAX_OBS || act > ENV_MAX_ACT) {
        snprintf(err, errlen, "--obs at most %d, --act at most %d", ENV_MAX_OBS, ENV_MAX_ACT);
        return NULL;
    }
    env_spec_t spec = {.name = "bench", .obs_dim = obs, .act_dim = act, .max_episode_steps = 1000};
    for (int k = 0; k < act; k++) {
        spec.act_low[k] = -1;
        spec.act_high[k] = 1;
    }
    bench_updater_t *self = calloc(1, sizeof *self);
    mpo_params_t params;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (mpo_params_from_config(cfg, &spec, &params, err, errlen) == 0)
        self->mpo = mpo_new(&params, err, errlen);
    self->batch_size = (int)cfg->batch_size;
    size_t floats = (size_t)self->batch_size * transition_floats(obs, act);
    self->block = malloc(sizeof(float) * floats);
    if (!self->mpo || !self->block) {
        if (self->mpo)
            snprintf(err, errlen, "out of memory");
        bench_updater_destroy(&self);
        return NULL;
    }
    /* random transitions, fixed seed */
    rng_t rng;
    rng_seed(&rng, 1);
    for (size_t i = 0; i < floats; i++)
        self->block[i] = (float)rng_uniform_range(&rng, -1, 1);
    self->batch = transition_batch_view(self->block, self->batch_size, obs, act);
    for (int b = 0; b < self->batch_size; b++)
        self->batch.done[b] = 0;
    mpo_metrics_t m;
    mpo_update(self->mpo, &self->batch, &m); /* warm up */
    return self;
}

double bench_updater_run(bench_updater_t *self, double seconds, long *n) {
    mpo_metrics_t m;
    long k = 0;
    double t0 = clock_now(), dt;
    do {
        mpo_update(self->mpo, &self->batch, &m);
        k++;
        dt = clock_now() - t0;
    } while (dt < seconds);
    if (n)
        *n = k;
    return (double)k / dt;
}

double bench_updater_gflop(const bench_updater_t *self) {
    return mpo_flops_per_update(self->mpo, self->batch_size) / 1e9;
}

void bench_updater_destroy(bench_updater_t **self_p) {
    bench_updater_t *self = *self_p;
    if (!self)
        return;
    mpo_destroy(&self->mpo);
    free(self->block);
    free(self);
    *self_p = NULL;
}

int bench_update_main(int argc, char **argv) {
    int obs = 17, act = 6, batch = 256, samples = 20, hidden = 256, threads = 1, json = 0;
    double seconds = 10;
    config_t cfg;
    config_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(o, "--json")) {
            json = 1;
        } else if (!strcmp(o, "--isa") && i + 1 < argc) {
            char err[160];
            int isa = simd_isa_parse(argv[++i]);
            if (isa < 0 || simd_set_isa((simd_isa_t)isa, err, sizeof err) != 0) {
                fprintf(stderr, "mpo bench update: --isa %s: %s\n", argv[i],
                        isa < 0 ? "expected sse2, avx2 or avx512" : err);
                return 2;
            }
            /* oneDNN's products at the same width (its narrowest is SSE4.1) */
            gemm_limit_isa(isa == SIMD_SSE2 ? 16 : isa == SIMD_AVX2 ? 32 : 64);
        } else if (!strcmp(o, "--set") && i + 1 < argc) {
            char err[256];
            if (config_set_pair(&cfg, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "mpo bench update: --set %s: %s\n", argv[i], err);
                return 2;
            }
        } else if (!strcmp(o, "--gemm") && i + 1 < argc) {
            int b = gemm_backend_parse(argv[++i]);
            if (b < 0) {
                fprintf(stderr, "mpo bench update: --gemm %s: expected onednn or openblas\n", argv[i]);
                return 2;
            }
            gemm_set_backend((gemm_backend_t)b);
        } else if (i + 1 < argc && (!strcmp(o, "--obs") || !strcmp(o, "--act") || !strcmp(o, "--batch") ||
                                    !strcmp(o, "--samples") || !strcmp(o, "--hidden") || !strcmp(o, "--threads") ||
                                    !strcmp(o, "--seconds"))) {
            double v = atof(argv[++i]);
            if (v <= 0) {
                fprintf(stderr, "mpo bench update: %s needs a positive value\n", o);
                return 2;
            }
            if (!strcmp(o, "--obs")) obs = (int)v;
            else if (!strcmp(o, "--act")) act = (int)v;
            else if (!strcmp(o, "--batch")) batch = (int)v;
            else if (!strcmp(o, "--samples")) samples = (int)v;
            else if (!strcmp(o, "--hidden")) hidden = (int)v;
            else if (!strcmp(o, "--threads")) threads = (int)v;
            else seconds = v;
        } else {
            fprintf(stderr, "mpo bench update: unknown option '%s' (see --help)\n", o);
            return 2;
        }
    }
    if (obs > ENV_MAX_OBS || act > ENV_MAX_ACT) {
        fprintf(stderr, "mpo bench update: --obs at most %d, --act at most %d\n", ENV_MAX_OBS, ENV_MAX_ACT);
        return 2;
    }
    cfg.batch_size = batch;
    cfg.n_action_samples = samples;
    cfg.hidden = hidden;
    cfg.threads = threads;
    char err[256];
    bench_updater_t *u = bench_updater_new(&cfg, obs, act, err, sizeof err);
    if (!u) {
        fprintf(stderr, "mpo bench update: %s\n", err);
        return 1;
    }
    /* BENCH_SLICES rounds of (sgemm of each library, updates): the ratio compares rates taken side
     * by side, against the faster library so that changing library cannot flatter the ratio */
    double ref[GEMM_BACKEND_COUNT] = {0}, t = 0;
    long n = 0;
    for (int slice = 0; slice < BENCH_SLICES; slice++) {
        for (int b = 0; b < GEMM_BACKEND_COUNT; b++)
            ref[b] += bench_sgemm_gflops((gemm_backend_t)b, seconds / BENCH_SLICES / 8) / BENCH_SLICES;
        long k = 0;
        double ups = bench_updater_run(u, seconds / BENCH_SLICES, &k);
        n += k;
        t += (double)k / ups;
    }
    double ups = n / t, gflop = bench_updater_gflop(u);
    double sgemm = ref[GEMM_ONEDNN] > ref[GEMM_OPENBLAS] ? ref[GEMM_ONEDNN] : ref[GEMM_OPENBLAS];
    double ratio = gflop * ups / sgemm;
    const char *gemm = gemm_backend_name(gemm_backend());
    char cpu[128], flags[128];
    bench_cpu_model(cpu, sizeof cpu);
    bench_cpu_flags(flags, sizeof flags);
    const char *isa = simd_isa_name(simd_isa());
    if (json)
        printf("{\"bench\":\"update\",\"obs\":%d,\"act\":%d,\"batch\":%d,\"samples\":%d,\"hidden\":%d,"
               "\"threads\":%d,\"updates\":%ld,\"seconds\":%.3f,\"updates_per_s\":%.3f,\"gflop_per_update\":%.4f,"
               "\"gflop_per_s\":%.2f,\"sgemm_gflop_per_s\":%.2f,\"sgemm_openblas_gflop_per_s\":%.2f,"
               "\"sgemm_onednn_gflop_per_s\":%.2f,\"ratio_to_sgemm\":%.3f,\"isa\":\"%s\",\"gemm\":\"%s\","
               "\"cpu\":\"%s\",\"cpu_flags\":\"%s\"}\n",
               obs, act, batch, samples, hidden, threads, n, t, ups, gflop, gflop * ups, sgemm, ref[GEMM_OPENBLAS],
               ref[GEMM_ONEDNN], ratio, isa, gemm, cpu, flags);
    else
        printf("update obs %d act %d batch %d N %d hidden %d threads %d: %.2f updates/s, %.3f GFLOP/update, "
               "%.1f GFLOP/s = %.2f x sgemm (%.1f GFLOP/s; openblas %.1f, onednn %.1f), kernels %s, gemm %s, "
               "on %s (%s)\n",
               obs, act, batch, samples, hidden, threads, ups, gflop, gflop * ups, ratio, sgemm, ref[GEMM_OPENBLAS],
               ref[GEMM_ONEDNN], isa, gemm, cpu, flags);
    bench_updater_destroy(&u);
    return 0;
}
