/* mujoco_env: the MuJoCo plumbing shared by the MuJoCo environments (HalfCheetah-v4, Hopper-v4,
 * Walker2d-v4, Ant-v4, Humanoid-v4; env/mujoco_task.h holds what their steps have in common).
 *
 * A model comes from one of two places, resolved when an environment instance is made:
 *   - $MPO_MODEL_DIR/<file> on disk, when MPO_MODEL_DIR is set and not empty;
 *   - otherwise the copy of env/models/<file> that the build embeds in the binary (loaded
 *     through MuJoCo's virtual file system, so no path is needed at run time).
 * A compiled mjModel is shared read-only by every instance loaded from the same source (a small
 * reference-counted cache behind a mutex, so instances may be made from several threads); each
 * instance owns its mjData and its rng_t. Stepping allocates nothing (mj_step works in mjData's
 * preallocated stack).
 *
 * Errors: a missing or invalid model gives NULL / -1 and one line (no newline) naming the file and
 * carrying MuJoCo's own error text. MuJoCo's error and warning handlers are installed on the first
 * load: the XML compiler reports model errors through mj_loadXML's error string, never by exiting;
 * a warning at run time (e.g. an unstable simulation, which MuJoCo answers by resetting that mjData)
 * is counted and its first few are written to stderr as one line each; an error at run time (MuJoCo
 * cannot continue after one) writes one line to stderr and exits with status 1 instead of MuJoCo's
 * default of waiting for a key press. */
#ifndef MPO_MUJOCO_ENV_H
#define MPO_MUJOCO_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mujoco/mujoco.h>

#include "common/rng.h"

#define MUJOCO_ENV_SOURCE_LEN 512 /* longest model path */

/* Where an environment's model comes from. */
typedef struct {
    const char *file;          /* model file name, "half_cheetah.xml": the name under
                                  MPO_MODEL_DIR and in the virtual file system */
    const unsigned char *xml;  /* the embedded copy of that file (xml_len bytes) */
    size_t xml_len;
    const char *path;          /* when not NULL, load exactly this file from disk instead */
} mujoco_env_source_t;

/* One environment instance's simulation (a plain value struct; see mujoco_env_init/_free). */
typedef struct {
    const mjModel *model;      /* shared, read-only */
    mjData *data;              /* this instance's */
    int frame_skip;            /* physics steps per environment step */
    bool contact_forces;       /* mj_rnePostConstraint after the physics steps (fills cfrc_ext) */
    double dt;                 /* model timestep * frame_skip */
    rng_t rng;                 /* this instance's start-state noise */
    char source[MUJOCO_ENV_SOURCE_LEN]; /* where the model came from, for messages */
} mujoco_env_t;

/* Load (or share) the model the source names and make this instance's mjData; the RNG is seeded
 * with 0. 0, or -1 with a one-line reason in err (self is then left freed). */
int mujoco_env_init(mujoco_env_t *self, const mujoco_env_source_t *src, int frame_skip, char *err,
                    size_t errlen);
/* Free the mjData and drop this instance's reference to the model. Safe on a zeroed or freed
 * struct. */
void mujoco_env_free(mujoco_env_t *self);

/* How a reset draws the velocities: Gymnasium's HalfCheetah and Ant draw qvel = noise * N(0, 1),
 * its Hopper, Walker2d and Humanoid qvel = U(-noise, noise). */
typedef enum { MUJOCO_QVEL_NORMAL, MUJOCO_QVEL_UNIFORM } mujoco_qvel_noise_t;

/* Gymnasium's MuJoCo start state: mj_resetData, then qpos = qpos0 + U(-noise, noise) (nq draws)
 * and qvel = 0 + noise * N(0, 1) or U(-noise, noise) (nv draws), in that order from self->rng,
 * then mj_forward (nothing else: cfrc_ext stays zero). mujoco_env_reset_seeded reseeds the RNG
 * first. */
void mujoco_env_reset(mujoco_env_t *self, double noise, mujoco_qvel_noise_t qvel);
void mujoco_env_reset_seeded(mujoco_env_t *self, uint64_t seed, double noise, mujoco_qvel_noise_t qvel);

/* ctrl = action (nu floats, as passed: MuJoCo clamps the force, not ctrl, where the model limits
 * it), then frame_skip physics steps, then mj_rnePostConstraint when self->contact_forces. Nothing
 * else: every derived quantity is as the last mj_step left it. */
void mujoco_env_step(mujoco_env_t *self, const float *action);

/* Compile a model on its own (not shared; the caller frees it with mj_deleteModel): from a file
 * on disk, or from XML text in memory given the file name it should carry. NULL and a one-line
 * reason in err on failure. */
mjModel *mujoco_env_load_path(const char *path, char *err, size_t errlen);
mjModel *mujoco_env_load_xml(const char *file, const void *xml, size_t len, char *err,
                             size_t errlen);

/* Warnings MuJoCo has reported in this process (all instances). */
long mujoco_env_warnings(void);

#endif
