/* bench/bf16_critic.c: what a bf16 critic would give, measured on the update's real shapes.
 *
 * A benchmark only (issue: "measure what a bf16 critic would give with oneDNN; do not build it
 * yet"): nothing in mpo links oneDNN. For every matrix product the two critics do in one update
 * (learner/mpo.c at HalfCheetah sizes by default: the bootstrap's target critics, the online
 * critics forward and backward, the E-step's target critics over B*N rows in chunks of 256) it
 * times, on one thread:
 *   sgemm  OpenBLAS fp32, what mpo runs today;
 *   dnnl_sgemm  oneDNN's BLAS-like sgemm (a drop-in for cblas_sgemm);
 *   f32    oneDNN's fp32 matmul primitive on the same shapes;
 *   bf16   oneDNN's matmul with bf16 operands and an fp32 result (what a bf16 critic would do;
 *          the activations would be written as bf16 by the bias/ReLU pass that already reads them).
 * It prints each product's time, the oneDNN kernel chosen (AMX shows as "amx"), and the sum per
 * update, so that update time - sgemm sum + bf16 sum estimates a bf16 critic's update.
 *
 *   build/bench/bf16_critic [--obs 17] [--act 6] [--batch 256] [--samples 20] [--hidden 256]
 *                           [--seconds 0.3]      (seconds per product and kind)
 * Build: make build/bench/bf16_critic; make bench BENCH=bf16 runs it.
 * ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 keeps oneDNN off AMX, to see what AMX adds. */
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *what;
    int m, k, n;  /* C[m x n] = op(A)[m x k] . op(B)[k x n] */
    int ta, tb;   /* A stored k x m (weight gradients), B stored n x k (input gradients) */
    int count;    /* times per update, both critics counted */
} gemm_t;

typedef enum { KIND_SGEMM, KIND_DNNL_SGEMM, KIND_F32, KIND_BF16, KIND_COUNT } kind_t;
static const char *kind_name[KIND_COUNT] = {"sgemm", "dnnl_sgemm", "f32", "bf16"};

static double s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void s_check(dnnl_status_t st, const char *what) {
    if (st != dnnl_success) {
        fprintf(stderr, "bf16_critic: %s failed (oneDNN status %d)\n", what, (int)st);
        exit(1);
    }
}

/* a rows x cols matrix, row-major, or its transpose stored row-major (cols x rows) */
static void s_md(dnnl_memory_desc_t *md, int rows, int cols, int transposed, dnnl_data_type_t dt) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {transposed ? 1 : cols, transposed ? rows : 1};
    s_check(dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides), "memory_desc");
}

static uint16_t s_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16); /* round to nearest even */
}

/* microseconds per product of one kind, timed for about `seconds`; *impl gets oneDNN's kernel */
static double s_time(const gemm_t *g, kind_t kind, double seconds, dnnl_engine_t eng,
                     dnnl_stream_t strm, char *impl, size_t impl_len) {
    size_t na = (size_t)g->m * g->k, nb = (size_t)g->k * g->n, nc = (size_t)g->m * g->n;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = calloc(nc, sizeof *c);
    uint16_t *a16 = malloc(na * sizeof *a16), *b16 = malloc(nb * sizeof *b16);
    if (!a || !b || !c || !a16 || !b16) { fprintf(stderr, "bf16_critic: out of memory\n"); exit(1); }
    for (size_t i = 0; i < na; i++) a16[i] = s_to_bf16(a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f);
    for (size_t i = 0; i < nb; i++) b16[i] = s_to_bf16(b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f);

    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    impl[0] = '\0';
    if (kind == KIND_F32 || kind == KIND_BF16) {
        dnnl_data_type_t dt = kind == KIND_BF16 ? dnnl_bf16 : dnnl_f32;
        dnnl_memory_desc_t da, db, dc;
        s_md(&da, g->m, g->k, g->ta, dt);
        s_md(&db, g->k, g->n, g->tb, dt);
        s_md(&dc, g->m, g->n, 0, dnnl_f32);
        dnnl_matmul_desc_t desc;
        s_check(dnnl_matmul_desc_init(&desc, &da, &db, NULL, &dc), "matmul_desc_init");
        dnnl_primitive_desc_t pd;
        if (dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL) != dnnl_success) {
            snprintf(impl, impl_len, "unsupported");
            free(a), free(b), free(c), free(a16), free(b16);
            return -1.0;
        }
        const char *info = NULL;
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success && info)
            snprintf(impl, impl_len, "%s", info);
        s_check(dnnl_primitive_create(&prim, pd), "primitive_create");
        dnnl_primitive_desc_destroy(pd);
        s_check(dnnl_memory_create(&ma, &da, eng, kind == KIND_BF16 ? (void *)a16 : a), "memory a");
        s_check(dnnl_memory_create(&mb, &db, eng, kind == KIND_BF16 ? (void *)b16 : b), "memory b");
        s_check(dnnl_memory_create(&mc, &dc, eng, c), "memory c");
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    long reps = 0;
    double start = 0.0;
    for (long i = 0;; i++) {
        if (i == 3) start = s_now(); /* three warm-up calls */
        if (kind == KIND_SGEMM)
            cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                        g->m, g->n, g->k, 1.0f, a, g->ta ? g->m : g->k, b, g->tb ? g->k : g->n, 0.0f, c, g->n);
        else if (kind == KIND_DNNL_SGEMM)
            s_check(dnnl_sgemm(g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, 1.0f, a, g->ta ? g->m : g->k, b,
                               g->tb ? g->k : g->n, 0.0f, c, g->n), "dnnl_sgemm");
        else {
            s_check(dnnl_primitive_execute(prim, strm, 3, args), "execute");
            s_check(dnnl_stream_wait(strm), "stream_wait");
        }
        if (i >= 3) {
            reps++;
            if ((reps & 7) == 0 && s_now() - start >= seconds) break;
        }
    }
    double us = (s_now() - start) / reps * 1e6;
    if (prim) dnnl_primitive_destroy(prim);
    if (ma) dnnl_memory_destroy(ma), dnnl_memory_destroy(mb), dnnl_memory_destroy(mc);
    free(a), free(b), free(c), free(a16), free(b16);
    return us;
}

int main(int argc, char **argv) {
    int S = 17, A = 6, B = 256, N = 20, H = 256;
    double seconds = 0.3;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bf16_critic [--obs N] [--act N] [--batch N] [--samples N] [--hidden N] [--seconds S]\n"
                   "Times the two critics' matrix products of one MPO update: OpenBLAS sgemm, oneDNN f32 and\n"
                   "oneDNN bf16 (bf16 operands, f32 result), one thread. ONEDNN_MAX_CPU_ISA limits oneDNN's ISA.\n");
            return 0;
        }
        int *dst = !strcmp(argv[i], "--obs") ? &S : !strcmp(argv[i], "--act") ? &A
                 : !strcmp(argv[i], "--batch") ? &B : !strcmp(argv[i], "--samples") ? &N
                 : !strcmp(argv[i], "--hidden") ? &H : NULL;
        if (!v || (!dst && strcmp(argv[i], "--seconds"))) {
            fprintf(stderr, "bf16_critic: unknown or incomplete option '%s' (--help)\n", argv[i]);
            return 2;
        }
        if (dst) *dst = atoi(v); else seconds = atof(v);
        if ((dst && *dst <= 0) || (!dst && seconds <= 0.0)) {
            fprintf(stderr, "bf16_critic: %s needs a positive value\n", argv[i]);
            return 2;
        }
        i++;
    }
    openblas_set_num_threads(1);
    omp_set_num_threads(1); /* Debian's oneDNN runs on OpenMP: one thread, as mpo calls it */
    int in = S + A, C = 256, chunks = (B * N + C - 1) / C; /* MLP_SPLIT_CHUNK rows at a time */
    /* nn/mlp.c's products for one critic, each counted twice (two critics): forward
     * out = in . W^T (W stored out x in), backward dW = d^T . in and din = d . W. The target
     * critics split their first layer: a state half once per state and an action half that is
     * no product (simd split_rows), then the other layers 256 rows at a time. */
    const gemm_t g[] = {
        {"target: state half", B, S, H, 0, 1, 2},        {"target: layer 2", C, H, H, 0, 1, 2 * ((B + C - 1) / C)},
        {"target: out", C, H, 1, 0, 1, 2 * ((B + C - 1) / C)},
        {"online: layer 1", B, in, H, 0, 1, 2},          {"online: layer 2", B, H, H, 0, 1, 2},
        {"online: out", B, H, 1, 0, 1, 2},               {"online: dW out", 1, B, H, 1, 0, 2},
        {"online: dh2", B, 1, H, 0, 0, 2},               {"online: dW2", H, B, H, 1, 0, 2},
        {"online: dh1", B, H, H, 0, 0, 2},               {"online: dW1", H, B, in, 1, 0, 2},
        {"E-step: state half", B, S, H, 0, 1, 2},        {"E-step: layer 2", C, H, H, 0, 1, 2 * chunks},
        {"E-step: out", C, H, 1, 0, 1, 2 * chunks},
    };
    const int ng = (int)(sizeof g / sizeof g[0]);
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    s_check(dnnl_engine_create(&eng, dnnl_cpu, 0), "engine_create");
    s_check(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags), "stream_create");
    const dnnl_version_t *ver = dnnl_version();
    printf("## bf16 critic: the two critics' products of one update (obs %d, act %d, batch %d, N %d, hidden %d),"
           " 1 thread, oneDNN %d.%d.%d, effective ISA %d\n", S, A, B, N, H, ver->major, ver->minor, ver->patch,
           (int)dnnl_get_effective_cpu_isa());
    printf("%-22s %-14s %5s %9s %11s %9s %9s  %s\n", "product", "m x k x n", "count", "sgemm us", "dnnl_sgemm",
           "f32 us", "bf16 us", "oneDNN bf16 kernel");
    double sum[KIND_COUNT] = {0}, flops = 0.0;
    int bf16_ok = 1;
    for (int i = 0; i < ng; i++) {
        double us[KIND_COUNT];
        char impl[KIND_COUNT][128];
        for (int k = 0; k < KIND_COUNT; k++) {
            us[k] = s_time(&g[i], (kind_t)k, seconds, eng, strm, impl[k], sizeof impl[k]);
            if (us[k] < 0) bf16_ok &= k != KIND_BF16;
            else sum[k] += us[k] * g[i].count;
        }
        flops += 2.0 * g[i].m * g[i].k * g[i].n * g[i].count;
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", g[i].m, g[i].k, g[i].n);
        printf("%-22s %-14s %5d %9.1f %11.1f %9.1f %9.1f  %s\n", g[i].what, shape, g[i].count, us[KIND_SGEMM],
               us[KIND_DNNL_SGEMM], us[KIND_F32], us[KIND_BF16], impl[KIND_BF16]);
    }
    printf("critic products per update: %.3f GFLOP; ", flops / 1e9);
    for (int k = 0; k < KIND_COUNT; k++)
        printf("%s %.2f ms (%.1f GFLOP/s)%s", kind_name[k], sum[k] / 1e3, flops / sum[k] / 1e3,
               k + 1 < KIND_COUNT ? ", " : "\n");
    if (!bf16_ok) printf("bf16: this CPU or oneDNN build has no bf16 matmul for some shapes (sums leave them out)\n");
    else printf("bf16 against sgemm on the critics' products: %.2fx\n", sum[KIND_SGEMM] / sum[KIND_BF16]);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    return 0;
}
