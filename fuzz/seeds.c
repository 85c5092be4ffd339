/* seeds: the libFuzzer targets' seed corpora, made here rather than shipped (`make fuzz` runs it).
 *
 *   seeds DIR    writes DIR/wire/BODY-K.bin: valid encoded messages of every body, a few shapes each;
 *                and DIR/config/NAME.ini: every key at its default (config_write), a file with an
 *                [mpo] section and comments, and key=value lines as --set takes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "common/rng.h"
#include "fuzz/fuzz_msg.h"

static int s_mkdir(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "seeds: cannot make %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_write(const char *dir, const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seeds: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_wire(const char *dir) {
    static const fuzz_shape_t shapes[] = {
        {"Pendulum-v1", 3, 1, 1}, {"Pendulum-v1", 3, 1, 16}, {"bench:17:6", 17, 6, 8}};
    static fuzz_msg_t m;
    static uint8_t buf[64 * 1024];
    rng_t rng;
    rng_seed(&rng, 1);
    for (int body = 0; body < FUZZ_BODIES; body++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            fuzz_msg_make(&m, (fuzz_body_t)body, &shapes[k], &rng);
            if (body == FUZZ_HELLO) /* every role once */
                m.hello.role = k == 0 ? MPO__ROLE__ROLE_ACTOR : k == 1 ? MPO__ROLE__ROLE_LEARNER : MPO__ROLE__ROLE_STAT;
            size_t len = fuzz_msg_pack(&m, buf, sizeof buf);
            char name[64];
            snprintf(name, sizeof name, "%s-%zu.bin", fuzz_body_name((fuzz_body_t)body), k);
            if (len == 0 || s_write(dir, name, buf, len) != 0)
                return -1;
        }
    return 0;
}

static int s_config(const char *dir) {
    config_t c;
    config_defaults(&c);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return -1;
    config_write(&c, out);
    fclose(out);
    int rc = s_write(dir, "defaults.ini", text, len);
    free(text);
    static const char sectioned[] = "# a comment\n; another\n[mpo]\nenv = HalfCheetah-v4\nhidden = 64\n"
                                    "learning_rate = 1e-3\npolicy = gaussian\nlog_level = debug\nrun_dir =\n";
    static const char pairs[] = "seed=7\nbatch_size=65536\nmin_std=1e-8\nmax_abs_value=0\n"
                                "replay_endpoint=tcp://127.0.0.1:5555\nsamples_per_insert=-1\n";
    if (rc == 0)
        rc = s_write(dir, "sectioned.ini", sectioned, sizeof sectioned - 1);
    if (rc == 0)
        rc = s_write(dir, "pairs.ini", pairs, sizeof pairs - 1);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: seeds DIR  (writes DIR/wire and DIR/config)\n");
        return 2;
    }
    char wire[512], cfg[512];
    snprintf(wire, sizeof wire, "%s/wire", argv[1]);
    snprintf(cfg, sizeof cfg, "%s/config", argv[1]);
    if (s_mkdir(argv[1]) || s_mkdir(wire) || s_mkdir(cfg) || s_wire(wire) || s_config(cfg))
        return 1;
    return 0;
}
