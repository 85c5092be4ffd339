/* policy_cmd: a trained policy out of the learner and back into an environment.
 *   mpo export CHECKPOINT -o FILE   a checkpoint (its directory or its learner.ckpt) as a policy
 *                                   file (nn/policy_file.h, docs/policy-file.md)
 *   mpo play FILE [--env E] [--episodes N] [--seed S]   deterministic episodes, their returns */
#ifndef MPO_POLICY_CMD_H
#define MPO_POLICY_CMD_H

/* argv[0] is "export" / "play". 0 on success; 1 with one line on stderr; 2 for bad usage. */
int export_main(int argc, char **argv);
int play_main(int argc, char **argv);

#endif
