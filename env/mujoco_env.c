#include "env/mujoco_env.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUJOCO_ENV_CACHE 16           /* distinct models loaded at once */
#define MUJOCO_ENV_WARN_PRINTED 10    /* warnings written to stderr; later ones only counted */
#define MUJOCO_ENV_ERRLEN 1000        /* MuJoCo's error text */

/* ---- MuJoCo's error and warning handlers ---------------------------------------------------- */

static pthread_once_t s_handlers_once = PTHREAD_ONCE_INIT;
static atomic_long s_warnings;

/* copy src into dst (n bytes) as one line: every run of whitespace holding a line break becomes
 * one space, and trailing whitespace goes */
static void s_one_line(char *dst, size_t n, const char *src) {
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < n; i++) {
        char c = src[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c == ' ' && (j == 0 || dst[j - 1] == ' '))
            continue;
        dst[j++] = c;
    }
    while (j > 0 && dst[j - 1] == ' ')
        j--;
    if (n)
        dst[j] = '\0';
}

static void s_on_warning(const char *msg) {
    long k = atomic_fetch_add(&s_warnings, 1);
    if (k >= MUJOCO_ENV_WARN_PRINTED)
        return;
    char line[512];
    s_one_line(line, sizeof line, msg);
    fprintf(stderr, "mpo: MuJoCo warning: %s%s\n", line,
            k + 1 == MUJOCO_ENV_WARN_PRINTED ? " (further MuJoCo warnings are only counted)" : "");
}

/* MuJoCo's errors do not return to the caller. The XML compiler installs its own handler while it
 * runs, so this one only sees errors while stepping, which leave the simulation unusable. */
static void s_on_error(const char *msg) {
    char line[512];
    s_one_line(line, sizeof line, msg);
    fprintf(stderr, "mpo: MuJoCo error: %s\n", line);
    exit(EXIT_FAILURE);
}

static void s_install_handlers(void) {
    mju_user_error = s_on_error;
    mju_user_warning = s_on_warning;
}

long mujoco_env_warnings(void) { return atomic_load(&s_warnings); }

/* ---- loading -------------------------------------------------------------------------------- */

/* mj_loadXML swaps MuJoCo's global handlers while it compiles: one load at a time. */
static pthread_mutex_t s_load_lock = PTHREAD_MUTEX_INITIALIZER;

static mjModel *s_finish_load(mjModel *m, const char *what, const char *mjerr, char *err,
                              size_t errlen) {
    char line[MUJOCO_ENV_ERRLEN];
    s_one_line(line, sizeof line, mjerr);
    if (!m) {
        snprintf(err, errlen, "invalid MuJoCo model %s: %s", what,
                 line[0] ? line : "MuJoCo gave no reason");
        return NULL;
    }
    if (line[0]) /* compiled, with a warning */
        fprintf(stderr, "mpo: MuJoCo warning loading %s: %s\n", what, line);
    return m;
}

static mjModel *s_load_path_locked(const char *path, char *err, size_t errlen) {
    char what[600];
    snprintf(what, sizeof what, "file '%s'", path);
    /* mj_loadXML reports a missing file as an XML parse error; say what actually happened */
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read MuJoCo model file '%s': %s", path, strerror(errno));
        return NULL;
    }
    fclose(f);
    char mjerr[MUJOCO_ENV_ERRLEN] = "";
    mjModel *m = mj_loadXML(path, NULL, mjerr, sizeof mjerr);
    return s_finish_load(m, what, mjerr, err, errlen);
}

static mjModel *s_load_xml_locked(const char *file, const void *xml, size_t len, char *err,
                                  size_t errlen) {
    char what[600];
    snprintf(what, sizeof what, "'%s' (embedded)", file);
    if (!xml || len == 0 || len > (size_t)1 << 30) {
        snprintf(err, errlen, "invalid MuJoCo model %s: empty", what);
        return NULL;
    }
    mjVFS *vfs = malloc(sizeof *vfs); /* about 2 MB of file-name table: not for the stack */
    if (!vfs) {
        snprintf(err, errlen, "out of memory loading MuJoCo model %s", what);
        return NULL;
    }
    mj_defaultVFS(vfs);
    mjModel *m = NULL;
    int rc = mj_makeEmptyFileVFS(vfs, file, (int)len);
    int idx = rc == 0 ? mj_findFileVFS(vfs, file) : -1;
    if (idx < 0) {
        snprintf(err, errlen, "cannot place MuJoCo model %s in the virtual file system (code %d)",
                 what, rc);
    } else {
        memcpy(vfs->filedata[idx], xml, len);
        char mjerr[MUJOCO_ENV_ERRLEN] = "";
        m = mj_loadXML(file, vfs, mjerr, sizeof mjerr);
        m = s_finish_load(m, what, mjerr, err, errlen);
    }
    mj_deleteVFS(vfs);
    free(vfs);
    return m;
}

mjModel *mujoco_env_load_path(const char *path, char *err, size_t errlen) {
    pthread_once(&s_handlers_once, s_install_handlers);
    pthread_mutex_lock(&s_load_lock);
    mjModel *m = s_load_path_locked(path, err, errlen);
    pthread_mutex_unlock(&s_load_lock);
    return m;
}

mjModel *mujoco_env_load_xml(const char *file, const void *xml, size_t len, char *err,
                             size_t errlen) {
    pthread_once(&s_handlers_once, s_install_handlers);
    pthread_mutex_lock(&s_load_lock);
    mjModel *m = s_load_xml_locked(file, xml, len, err, errlen);
    pthread_mutex_unlock(&s_load_lock);
    return m;
}

/* ---- the shared-model cache ----------------------------------------------------------------- */

typedef struct {
    char key[MUJOCO_ENV_SOURCE_LEN];
    mjModel *model;
    int refs;
} s_cached_t;

static s_cached_t s_cache[MUJOCO_ENV_CACHE]; /* guarded by s_load_lock */

/* the model for src with one more reference, or NULL and err; key receives the source's name */
static const mjModel *s_acquire(const mujoco_env_source_t *src, char *key, size_t keylen,
                                char *err, size_t errlen) {
    const char *dir = getenv("MPO_MODEL_DIR");
    char path[MUJOCO_ENV_SOURCE_LEN] = "";
    int n = 0;
    if (src->path)
        n = snprintf(path, sizeof path, "%s", src->path);
    else if (dir && dir[0])
        n = snprintf(path, sizeof path, "%s/%s", dir, src->file ? src->file : "");
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "MuJoCo model path too long (at most %d bytes): %.80s...",
                 MUJOCO_ENV_SOURCE_LEN - 1, src->path ? src->path : dir);
        return NULL;
    }
    if (path[0])
        snprintf(key, keylen, "%s", path);
    else
        snprintf(key, keylen, "embedded:%s", src->file);

    pthread_once(&s_handlers_once, s_install_handlers);
    pthread_mutex_lock(&s_load_lock);
    const mjModel *found = NULL;
    int free_slot = -1;
    for (int i = 0; i < MUJOCO_ENV_CACHE; i++) {
        if (s_cache[i].model && strcmp(s_cache[i].key, key) == 0) {
            s_cache[i].refs++;
            found = s_cache[i].model;
            break;
        }
        if (!s_cache[i].model && free_slot < 0)
            free_slot = i;
    }
    if (!found) {
        mjModel *m = NULL;
        if (free_slot < 0)
            snprintf(err, errlen, "too many distinct MuJoCo models loaded at once (at most %d)",
                     MUJOCO_ENV_CACHE);
        else if (path[0])
            m = s_load_path_locked(path, err, errlen);
        else if (!src->file || !src->xml)
            snprintf(err, errlen, "no MuJoCo model given");
        else
            m = s_load_xml_locked(src->file, src->xml, src->xml_len, err, errlen);
        if (m) {
            snprintf(s_cache[free_slot].key, sizeof s_cache[free_slot].key, "%s", key);
            s_cache[free_slot].model = m;
            s_cache[free_slot].refs = 1;
            found = m;
        }
    }
    pthread_mutex_unlock(&s_load_lock);
    return found;
}

static void s_release(const mjModel *m) {
    pthread_mutex_lock(&s_load_lock);
    for (int i = 0; i < MUJOCO_ENV_CACHE; i++)
        if (s_cache[i].model == m) {
            if (--s_cache[i].refs == 0) {
                mj_deleteModel(s_cache[i].model);
                memset(&s_cache[i], 0, sizeof s_cache[i]);
            }
            break;
        }
    pthread_mutex_unlock(&s_load_lock);
}

/* ---- instances ------------------------------------------------------------------------------ */

int mujoco_env_init(mujoco_env_t *self, const mujoco_env_source_t *src, int frame_skip, char *err,
                    size_t errlen) {
    memset(self, 0, sizeof *self);
    if (frame_skip < 1) {
        snprintf(err, errlen, "frame_skip must be at least 1 (got %d)", frame_skip);
        return -1;
    }
    self->model = s_acquire(src, self->source, sizeof self->source, err, errlen);
    if (!self->model)
        return -1;
    self->data = mj_makeData(self->model);
    if (!self->data) {
        snprintf(err, errlen, "out of memory making MuJoCo data for %s", self->source);
        mujoco_env_free(self);
        return -1;
    }
    self->frame_skip = frame_skip;
    self->dt = self->model->opt.timestep * frame_skip;
    rng_seed(&self->rng, 0);
    return 0;
}

void mujoco_env_free(mujoco_env_t *self) {
    if (self->data)
        mj_deleteData(self->data);
    if (self->model)
        s_release(self->model);
    self->data = NULL;
    self->model = NULL;
}

void mujoco_env_reset(mujoco_env_t *self, double noise, mujoco_qvel_noise_t qvel) {
    const mjModel *m = self->model;
    mjData *d = self->data;
    mj_resetData(m, d);
    for (int i = 0; i < m->nq; i++)
        d->qpos[i] = m->qpos0[i] + rng_uniform_range(&self->rng, -noise, noise);
    for (int i = 0; i < m->nv; i++)
        d->qvel[i] = qvel == MUJOCO_QVEL_NORMAL ? noise * rng_normal(&self->rng)
                                                : rng_uniform_range(&self->rng, -noise, noise);
    mj_forward(m, d);
}

void mujoco_env_reset_seeded(mujoco_env_t *self, uint64_t seed, double noise, mujoco_qvel_noise_t qvel) {
    rng_seed(&self->rng, seed);
    mujoco_env_reset(self, noise, qvel);
}

void mujoco_env_step(mujoco_env_t *self, const float *action) {
    const mjModel *m = self->model;
    mjData *d = self->data;
    for (int i = 0; i < m->nu; i++)
        d->ctrl[i] = (mjtNum)action[i];
    for (int k = 0; k < self->frame_skip; k++)
        mj_step(m, d);
    if (self->contact_forces)
        mj_rnePostConstraint(m, d);
}
