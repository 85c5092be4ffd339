#include "replay/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/run_dir.h"

struct persist_s {
    char dir[CONFIG_STR_MAX], path[CONFIG_STR_MAX + 32];
    double interval;        /* seconds; 0: none on a timer */
    uint64_t every;         /* transitions; 0: none by count */
    int start_empty;
    pid_t child;            /* the writer, 0 when none */
    int report_fd;          /* its pipe's reading end */
    double child_t, pause;  /* when it began; how long the fork held the loop */
    uint64_t child_inserted;
    double attempt_t;       /* when the newest snapshot was begun (or found current) */
    uint64_t attempt_inserted, saved_inserted; /* insert counts of the newest begun and on disk */
};

/* what the child tells the server, in one write (below PIPE_BUF, so whole or not at all) */
typedef struct {
    int rc;
    double seconds;
    snapshot_info_t info;
    char err[512];
} s_report_t;
_Static_assert(sizeof(s_report_t) <= 4096, "one atomic pipe write");

static double s_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

persist_t *persist_new(const config_t *cfg, char *err, size_t errlen) {
    MPO_ASSERT(cfg->replay_dir[0]);
    if (run_dir_mkdirs(cfg->replay_dir) != 0 || access(cfg->replay_dir, W_OK) != 0) {
        snprintf(err, errlen, "replay_dir '%s' cannot be made or written: %s", cfg->replay_dir, strerror(errno));
        return NULL;
    }
    persist_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(self->dir, sizeof self->dir, "%s", cfg->replay_dir);
    snprintf(self->path, sizeof self->path, "%s/" SNAPSHOT_FILE, cfg->replay_dir);
    self->interval = cfg->replay_snapshot_interval;
    self->every = (uint64_t)cfg->replay_snapshot_inserts;
    self->start_empty = (int)cfg->replay_start_empty;
    self->report_fd = -1;
    return self;
}

/* wait for the child (block: until it ends); 1 when it has ended, with *report and *status */
static int s_collect(persist_t *self, int block, s_report_t *report, int *status) {
    pid_t r;
    do
        r = waitpid(self->child, status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    memset(report, 0, sizeof *report);
    report->rc = -MPO_EIO;
    if (r < 0) /* cannot be, for our own child; say so rather than wait forever */
        snprintf(report->err, sizeof report->err, "lost the snapshot writer: %s", strerror(errno));
    else if (read(self->report_fd, report, sizeof *report) != (ssize_t)sizeof *report) {
        memset(report, 0, sizeof *report);
        report->rc = -MPO_EIO;
        if (WIFSIGNALED(*status))
            snprintf(report->err, sizeof report->err, "the snapshot writer was killed by signal %d",
                     WTERMSIG(*status));
        else
            snprintf(report->err, sizeof report->err, "the snapshot writer exited without a report");
    }
    close(self->report_fd);
    self->report_fd = -1;
    self->child = 0;
    return 1;
}

static void s_kill_child(persist_t *self) {
    if (self->child <= 0)
        return;
    s_report_t report;
    int status;
    kill(self->child, SIGKILL);
    s_collect(self, 1, &report, &status);
}

void persist_destroy(persist_t **self_p) {
    persist_t *self = *self_p;
    if (!self)
        return;
    s_kill_child(self);
    free(self);
    *self_p = NULL;
}

int persist_restore(persist_t *self, const snapshot_parts_t *parts, double now) {
    replay_counts_t *c = parts->counts;
    c->snapshots_on = 1;
    c->snapshot_t = self->attempt_t = now;
    char tmp[sizeof self->path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", self->path);
    unlink(tmp); /* a write cut short by a crash */
    if (access(self->path, F_OK) != 0) {
        log_info("replay: no snapshot in %s; starting empty", self->dir);
        return 0;
    }
    char err[768];
    snapshot_info_t info;
    double t0 = clock_now();
    int rc = snapshot_load(parts, self->path, now, s_wall(), &info, err, sizeof err);
    if (rc == 0) {
        c->restored = info.restored;
        self->attempt_inserted = self->saved_inserted = info.inserted;
        log_info("replay: restored %llu transitions (inserts_total %llu, %zu actors) from %s in %.2f s; it was "
                 "written %.0f s ago",
                 (unsigned long long)info.restored, (unsigned long long)info.inserted, info.actors, self->path,
                 clock_now() - t0, s_wall() - info.written_at);
        if (info.restored < info.size)
            log_warn("replay: the snapshot held %llu transitions, more than buffer_size: kept the newest %llu",
                     (unsigned long long)info.size, (unsigned long long)info.restored);
        if (!info.limiter_restored)
            log_warn("replay: the snapshot's rate limiter had another window (samples_per_insert, learning_starts "
                     "or rate_limit_tolerance changed): the rate limiter starts from zero");
        return 0;
    }
    if (!self->start_empty) {
        log_error("replay: %s; set replay_start_empty=1 to start with an empty buffer instead", err);
        return rc;
    }
    char aside[sizeof self->path + 16];
    snprintf(aside, sizeof aside, "%s.refused", self->path);
    if (rename(self->path, aside) == 0)
        log_warn("replay: %s; starting empty (replay_start_empty=1), the file kept as %s", err, aside);
    else
        log_warn("replay: %s; starting empty (replay_start_empty=1); it could not be kept as %s (%s) and the next "
                 "snapshot replaces it",
                 err, aside, strerror(errno));
    return 0;
}

/* the child: write, report, _exit; never returns */
static _Noreturn void s_child(persist_t *self, const snapshot_parts_t *parts, pid_t parent, int report_fd, double now,
                              double wall) {
    /* with the server gone the snapshot has nobody to serve, and a restarted one writes its own */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    s_report_t r;
    memset(&r, 0, sizeof r);
    r.rc = snapshot_save(parts, self->dir, now, wall, &r.info, r.err, sizeof r.err);
    r.seconds = clock_now() - now;
    ssize_t w = write(report_fd, &r, sizeof r);
    _exit(r.rc == 0 && w == (ssize_t)sizeof r ? 0 : 1);
}

static void s_begin(persist_t *self, const snapshot_parts_t *parts, double now) {
    uint64_t inserted = replay_buffer_inserted(parts->buffer);
    self->attempt_t = now;
    self->attempt_inserted = inserted;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        parts->counts->snapshot_failures++;
        log_warn("replay: snapshot not begun: pipe: %s", strerror(errno));
        return;
    }
    double wall = s_wall();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        s_child(self, parts, parent, fds[1], now, wall);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        parts->counts->snapshot_failures++;
        log_warn("replay: snapshot not begun: fork: %s (tried again in %g s)", strerror(errno), self->interval);
        return;
    }
    self->child = pid;
    self->report_fd = fds[0];
    self->child_t = now;
    self->child_inserted = inserted;
    self->pause = clock_now() - now;
}

/* a finished child's report into the counts and the log */
static void s_count(persist_t *self, replay_counts_t *c, const s_report_t *r, int status) {
    if (r->rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        c->snapshot_failures++;
        log_warn("replay: snapshot failed: %s", r->err[0] ? r->err : "the snapshot writer failed");
        return;
    }
    c->snapshots++;
    c->snapshot_seconds = r->seconds;
    c->snapshot_pause = self->pause;
    c->snapshot_bytes = (double)r->info.bytes;
    if (c->snapshot_t < self->child_t)
        c->snapshot_t = self->child_t;
    self->saved_inserted = self->child_inserted;
    log_info("replay: snapshot of %llu transitions (inserts_total %llu) written to %s (%.1f MB in %.2f s; the loop "
             "paused %.1f ms)",
             (unsigned long long)r->info.size, (unsigned long long)r->info.inserted, self->path,
             (double)r->info.bytes / 1e6, r->seconds, self->pause * 1e3);
}

void persist_tick(persist_t *self, const snapshot_parts_t *parts, double now) {
    if (self->child > 0) {
        s_report_t r;
        int status;
        if (!s_collect(self, 0, &r, &status))
            return; /* still writing */
        s_count(self, parts->counts, &r, status);
    }
    uint64_t inserted = replay_buffer_inserted(parts->buffer);
    int due = (self->interval > 0 && now - self->attempt_t >= self->interval) ||
              (self->every > 0 && inserted - self->attempt_inserted >= self->every);
    if (!due)
        return;
    if (inserted == self->saved_inserted) { /* the file on disk is current: nothing to lose */
        self->attempt_t = now;
        parts->counts->snapshot_t = now;
        return;
    }
    s_begin(self, parts, now);
}

int persist_final(persist_t *self, const snapshot_parts_t *parts, double now) {
    s_kill_child(self); /* what it was writing is older than what is written now */
    replay_counts_t *c = parts->counts;
    char err[768];
    snapshot_info_t info;
    int rc = snapshot_save(parts, self->dir, now, s_wall(), &info, err, sizeof err);
    double dt = clock_now() - now;
    if (rc != 0) {
        c->snapshot_failures++;
        log_error("replay: final snapshot failed: %s", err);
        return rc;
    }
    c->snapshots++;
    c->snapshot_t = now;
    c->snapshot_seconds = dt;
    c->snapshot_bytes = (double)info.bytes;
    log_info("replay: final snapshot of %llu transitions (inserts_total %llu) written to %s (%.1f MB in %.2f s)",
             (unsigned long long)info.size, (unsigned long long)info.inserted, self->path, (double)info.bytes / 1e6,
             dt);
    return 0;
}
