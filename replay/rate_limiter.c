#include "replay/rate_limiter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct rate_limiter_s {
    double spi;                /* 0: off */
    uint64_t min_size;         /* >= 1 */
    double min_diff, max_diff; /* the window around spi * min_size */
    double timeout_s;
    uint64_t inserts, samples; /* cumulative transitions admitted */
    uint64_t timeouts;
    double held_s[2]; /* by rate_limiter_side_t */
};

rate_limiter_t *rate_limiter_new(const rate_limiter_config_t *config, char *err, size_t errlen) {
    double spi = config->samples_per_insert;
    uint64_t min_size = config->min_size ? config->min_size : 1;
    if (!(spi >= 0) || !isfinite(spi)) {
        snprintf(err, errlen, "samples_per_insert %g: must be 0 (off), -1 (batch_size) or positive", spi);
        return NULL;
    }
    if (config->capacity && min_size > config->capacity) {
        /* the table could never reach the size that lets the first sample through */
        snprintf(err, errlen, "learning_starts %llu exceeds buffer_size %llu: no sample could ever be served",
                 (unsigned long long)min_size, (unsigned long long)config->capacity);
        return NULL;
    }
    double error = config->tolerance * spi;
    if (spi > 0) {
        double need = spi * (double)config->max_insert + (double)config->max_sample;
        if (2.0 * error < need) {
            snprintf(err, errlen,
                     "rate limiter window too narrow to move: 2 * rate_limit_tolerance * samples_per_insert = %g "
                     "< samples_per_insert * actor_batch + batch_size = %g; raise rate_limit_tolerance to at least "
                     "%.0f",
                     2.0 * error, need, ceil(need / (2.0 * spi)));
            return NULL;
        }
    }
    rate_limiter_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->spi = spi;
    self->min_size = min_size;
    double offset = spi * (double)min_size;
    self->min_diff = offset - error;
    self->max_diff = offset + error;
    self->timeout_s = config->timeout_s;
    return self;
}

void rate_limiter_destroy(rate_limiter_t **self_p) {
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* d = inserts * SPI - samples, in double: exact for counts below 2^53 / SPI */
static double s_diff(const rate_limiter_t *self) { return (double)self->inserts * self->spi - (double)self->samples; }

int rate_limiter_can_insert(const rate_limiter_t *self, uint64_t n, uint64_t size) {
    if (self->spi == 0 || size < self->min_size)
        return 1;
    return s_diff(self) + (double)n * self->spi <= self->max_diff;
}

int rate_limiter_can_sample(const rate_limiter_t *self, uint64_t n, uint64_t size) {
    if (size < self->min_size || size == 0)
        return 0;
    if (self->spi == 0)
        return 1;
    return s_diff(self) - (double)n >= self->min_diff;
}

rate_limiter_verdict_t rate_limiter_admit(rate_limiter_t *self, rate_limiter_side_t side, uint64_t n, uint64_t size,
                                          double since, double now) {
    rate_limiter_verdict_t v;
    if (side == RATE_LIMITER_INSERT)
        v = rate_limiter_can_insert(self, n, size) ? RATE_LIMITER_ALLOW : RATE_LIMITER_HOLD;
    else
        v = rate_limiter_can_sample(self, n, size) ? RATE_LIMITER_ALLOW : RATE_LIMITER_HOLD;
    /* a sample below min_size is waiting for data, not for the ratio: no timeout there */
    int may_time_out = side == RATE_LIMITER_INSERT || (size >= self->min_size && size > 0);
    if (v == RATE_LIMITER_HOLD && may_time_out && now - since >= self->timeout_s)
        v = RATE_LIMITER_TIMEOUT;
    if (v == RATE_LIMITER_HOLD)
        return v;
    if (side == RATE_LIMITER_INSERT)
        self->inserts += n;
    else
        self->samples += n;
    if (now > since)
        self->held_s[side] += now - since;
    if (v == RATE_LIMITER_TIMEOUT)
        self->timeouts++;
    return v;
}

uint64_t rate_limiter_inserts(const rate_limiter_t *self) { return self->inserts; }
uint64_t rate_limiter_samples(const rate_limiter_t *self) { return self->samples; }
uint64_t rate_limiter_timeouts(const rate_limiter_t *self) { return self->timeouts; }
double rate_limiter_held_seconds(const rate_limiter_t *self, rate_limiter_side_t side) {
    return self->held_s[side == RATE_LIMITER_SAMPLE];
}
rate_limiter_counts_t rate_limiter_counts(const rate_limiter_t *self) {
    return (rate_limiter_counts_t){self->inserts, self->samples, self->timeouts, {self->held_s[0], self->held_s[1]}};
}

void rate_limiter_restore(rate_limiter_t *self, const rate_limiter_counts_t *c) {
    self->inserts = c->inserts;
    self->samples = c->samples;
    self->timeouts = c->timeouts;
    self->held_s[0] = c->held_s[0];
    self->held_s[1] = c->held_s[1];
}

double rate_limiter_spi(const rate_limiter_t *self) { return self->spi; }
double rate_limiter_min_diff(const rate_limiter_t *self) { return self->min_diff; }
double rate_limiter_max_diff(const rate_limiter_t *self) { return self->max_diff; }

uint64_t rate_limiter_max_item(const rate_limiter_t *self, rate_limiter_side_t side) {
    if (!(self->spi > 0))
        return UINT64_MAX;
    double window = self->max_diff - self->min_diff; /* in samples */
    return (uint64_t)(side == RATE_LIMITER_INSERT ? window / self->spi : window);
}
