#!/bin/sh
# deploy/slurm/mpo.sbatch on a real three-node Slurm cluster in network namespaces
# (deploy/test-slurm.sh, also `make test-slurm`): replay and learner on the first node, an actor on
# each other, resume from the checkpoint, the time limit's signal and scancel, nothing left behind.
# Once per `make test`: the sanitizer pass skips it (it adds a minute and tests the script, not the
# program), and a machine that cannot host the cluster (no root, no packages, no namespaces) skips
# it with the reason.
case "${MPO_BIN:-build/mpo}" in
*sanitize*) echo "slurm test runs in the first pass only"; exit 77 ;;
esac
MPO_SLURM_OPTIONAL=1 exec bash deploy/test-slurm.sh
