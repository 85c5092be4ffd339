/* keygen: `mpo keygen NAME` writes NAME.key (the key pair, mode 0600) and NAME.pub (the public key)
 * with common/curve.h's curve_keygen, and never overwrites either. */
#include "cli/keygen.h"

#include <stdio.h>
#include <string.h>

#include "common/curve.h"

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: mpo keygen NAME\n"
            "Make a ZeroMQ CURVE key pair for one role (docs/security.md):\n"
            "  NAME.key  the key pair, mode 0600: this role's curve_key_file; keep it on its machine\n"
            "  NAME.pub  the public key, `KEY NAME`: for the servers' curve_authorized_keys (one line per\n"
            "            client) or, for a server's, the clients' curve_replay_key / curve_weights_key\n"
            "Neither file may exist. Exit status 0, or 1 with the reason.\n");
}

int keygen_main(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        s_usage(stderr);
        return 1;
    }
    char public_z85[CURVE_Z85_LEN + 1], err[512];
    if (curve_keygen(argv[1], public_z85, err, sizeof err) != 0) {
        fprintf(stderr, "mpo keygen: %s\n", err);
        return 1;
    }
    printf("%s.key: the key pair (secret, mode 0600)\n%s.pub: the public key %s\n", argv[1], argv[1], public_z85);
    return 0;
}
