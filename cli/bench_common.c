#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "cli/bench.h"

void bench_cpu_model(char *out, size_t outlen) {
    snprintf(out, outlen, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ')
                    c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(out, outlen, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

void bench_cpu_flags(char *out, size_t outlen) {
    static const char *const wanted[] = {"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"};
    out[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[8192];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) {
            size_t used = 0;
            for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
                char word[64];
                snprintf(word, sizeof word, " %s", wanted[i]);
                const char *hit = strstr(line, word);
                size_t len = strlen(word);
                if (hit && (hit[len] == ' ' || hit[len] == '\n') && used + len < outlen)
                    used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? " " : "", wanted[i]);
            }
            break;
        }
    fclose(f);
    if (!out[0])
        snprintf(out, outlen, "no AVX2");
}

double bench_sgemm_gflops(gemm_backend_t backend, double seconds) {
    /* the reference rate: a square product large enough for the library's best kernel */
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.01f;
        b[i] = (float)(i % 5) * 0.01f;
    }
    gemm_sgemm_with(backend, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm */
    double t0 = clock_now(), t;
    long reps = 0;
    do {
        gemm_sgemm_with(backend, 0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        reps++;
        t = clock_now() - t0;
    } while (t < seconds);
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * (double)n * reps / t / 1e9;
}
