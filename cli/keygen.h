/* keygen: `mpo keygen NAME`, a CURVE key pair for one role (common/curve.h, docs/security.md). */
#ifndef MPO_CLI_KEYGEN_H
#define MPO_CLI_KEYGEN_H

/* argv[0] is "keygen" */
int keygen_main(int argc, char **argv);

#endif
