#include "fuzz/fuzz_msg.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static const char *const s_names[FUZZ_BODIES] = {
    [FUZZ_HELLO] = "hello",
    [FUZZ_TRANSITIONS] = "transitions",
    [FUZZ_ACK] = "ack",
    [FUZZ_SAMPLE_REQUEST] = "sample_request",
    [FUZZ_SAMPLE_BATCH] = "sample_batch",
    [FUZZ_WEIGHTS] = "weights",
    [FUZZ_STATS_REQUEST] = "stats_request",
    [FUZZ_STATS_REPLY] = "stats_reply",
    [FUZZ_ERROR] = "error",
    [FUZZ_EVAL_RESULT] = "eval_result",
};

const char *fuzz_body_name(fuzz_body_t body) { return (unsigned)body < FUZZ_BODIES ? s_names[body] : "?"; }

static float s_value(rng_t *rng) { return (float)rng_uniform_range(rng, -1.0, 1.0); }

/* n transitions' five arrays in m->floats, in the order obs, action, reward, done, next_obs */
static void s_arrays(fuzz_msg_t *m, const fuzz_shape_t *shape, rng_t *rng, float **obs, float **act, float **rew,
                     float **done, float **next) {
    size_t n = shape->n, so = n * (size_t)shape->obs, sa = n * (size_t)shape->act;
    MPO_ASSERT(2 * so + sa + 2 * n <= FUZZ_MSG_FLOATS);
    float *f = m->floats;
    *obs = f, *act = f + so, *rew = f + so + sa, *done = f + so + sa + n, *next = f + so + sa + 2 * n;
    for (size_t i = 0; i < 2 * so + sa + 2 * n; i++)
        f[i] = s_value(rng);
    for (size_t i = 0; i < n; i++)
        (*done)[i] = rng_below(rng, 8) == 0 ? 1.0f : 0.0f;
}

/* a stats list of k valid figures */
static size_t s_stats(fuzz_msg_t *m, rng_t *rng, size_t k) {
    MPO_ASSERT(k <= FUZZ_MSG_STATS);
    for (size_t i = 0; i < k; i++) {
        mpo__stat__init(&m->stat[i]);
        snprintf(m->names[i], sizeof m->names[i], "fuzz_stat_%zu", i);
        m->stat[i].name = m->names[i];
        m->stat[i].value = rng_uniform_range(rng, -1e6, 1e6);
        m->stats[i] = &m->stat[i];
    }
    return k;
}

void fuzz_msg_make(fuzz_msg_t *m, fuzz_body_t body, const fuzz_shape_t *shape, rng_t *rng) {
    memset(m, 0, offsetof(fuzz_msg_t, floats)); /* the floats are written as far as they are used */
    wire_init_message(&m->msg);
    float *obs, *act, *rew, *done, *next;
    size_t n = shape->n;
    switch (body) {
    case FUZZ_HELLO:
        mpo__hello__init(&m->hello);
        snprintf(m->id, sizeof m->id, "fuzz-%016llx", (unsigned long long)rng_next(rng));
        m->hello.role = MPO__ROLE__ROLE_ACTOR;
        m->hello.env = (char *)shape->env;
        m->hello.obs_dim = (uint32_t)shape->obs;
        m->hello.act_dim = (uint32_t)shape->act;
        m->hello.id = m->id;
        m->hello.incarnation = rng_next(rng) | 1;
        m->msg.body_case = MPO__MESSAGE__BODY_HELLO;
        m->msg.hello = &m->hello;
        break;
    case FUZZ_TRANSITIONS:
        mpo__transition_batch__init(&m->tb);
        s_arrays(m, shape, rng, &obs, &act, &rew, &done, &next);
        m->tb.seq = 1 + rng_below(rng, 1000);
        m->tb.n = (uint32_t)n;
        m->tb.obs = obs, m->tb.n_obs = n * (size_t)shape->obs;
        m->tb.action = act, m->tb.n_action = n * (size_t)shape->act;
        m->tb.reward = rew, m->tb.n_reward = n;
        m->tb.done = done, m->tb.n_done = n;
        m->tb.next_obs = next, m->tb.n_next_obs = n * (size_t)shape->obs;
        for (int i = 0; i < 2; i++) {
            mpo__episode__init(&m->ep[i]);
            m->ep[i].episode_return = (float)rng_uniform_range(rng, -2000, 0);
            m->ep[i].length = 200;
            m->eps[i] = &m->ep[i];
        }
        m->tb.n_episodes = rng_below(rng, 3);
        m->tb.episodes = m->eps;
        m->tb.policy_version = rng_below(rng, 100);
        m->tb.n_stats = s_stats(m, rng, rng_below(rng, FUZZ_MSG_STATS + 1));
        m->tb.stats = m->stats;
        m->msg.body_case = MPO__MESSAGE__BODY_TRANSITIONS;
        m->msg.transitions = &m->tb;
        break;
    case FUZZ_ACK:
        mpo__ack__init(&m->ack);
        m->ack.seq = rng_below(rng, 1000);
        m->ack.size = rng_below(rng, 1000000);
        m->ack.learning_started = rng_below(rng, 2);
        m->msg.body_case = MPO__MESSAGE__BODY_ACK;
        m->msg.ack = &m->ack;
        break;
    case FUZZ_SAMPLE_REQUEST:
        mpo__sample_request__init(&m->sr);
        m->sr.id = 1 + rng_below(rng, 1000);
        m->sr.batch_size = (uint32_t)n;
        m->sr.policy_version = rng_below(rng, 100);
        m->sr.updates = rng_below(rng, 10000);
        m->sr.n_stats = s_stats(m, rng, rng_below(rng, FUZZ_MSG_STATS + 1));
        m->sr.stats = m->stats;
        m->msg.body_case = MPO__MESSAGE__BODY_SAMPLE_REQUEST;
        m->msg.sample_request = &m->sr;
        break;
    case FUZZ_SAMPLE_BATCH:
        mpo__sample_batch__init(&m->sb);
        s_arrays(m, shape, rng, &obs, &act, &rew, &done, &next);
        m->sb.request_id = 1 + rng_below(rng, 1000);
        m->sb.n = (uint32_t)n;
        m->sb.obs = obs, m->sb.n_obs = n * (size_t)shape->obs;
        m->sb.action = act, m->sb.n_action = n * (size_t)shape->act;
        m->sb.reward = rew, m->sb.n_reward = n;
        m->sb.done = done, m->sb.n_done = n;
        m->sb.next_obs = next, m->sb.n_next_obs = n * (size_t)shape->obs;
        m->sb.env_steps = rng_below(rng, 1000000);
        m->sb.recent_return = (float)rng_uniform_range(rng, -2000, 0);
        m->sb.recent_episodes = (uint32_t)rng_below(rng, 101);
        m->msg.body_case = MPO__MESSAGE__BODY_SAMPLE_BATCH;
        m->msg.sample_batch = &m->sb;
        break;
    case FUZZ_WEIGHTS:
        mpo__policy_weights__init(&m->w);
        mpo__policy_layout__init(&m->layout);
        m->layout.obs_dim = (uint32_t)shape->obs;
        m->layout.act_dim = (uint32_t)shape->act;
        m->layout.hidden = 4;
        m->layout.layers = 1;
        m->layout.policy = "squashed";
        m->layout.min_std = 1e-3f;
        m->layout.env = (char *)shape->env;
        m->w.version = 1 + rng_below(rng, 1000);
        m->w.learner_step = rng_below(rng, 100000);
        m->w.layout = &m->layout;
        m->w.n_params = 64;
        for (size_t i = 0; i < m->w.n_params; i++)
            m->floats[i] = s_value(rng);
        m->w.params = m->floats;
        m->msg.body_case = MPO__MESSAGE__BODY_WEIGHTS;
        m->msg.weights = &m->w;
        break;
    case FUZZ_STATS_REQUEST:
        mpo__stats_request__init(&m->sq);
        m->msg.body_case = MPO__MESSAGE__BODY_STATS_REQUEST;
        m->msg.stats_request = &m->sq;
        break;
    case FUZZ_STATS_REPLY:
        mpo__stats_reply__init(&m->rep);
        mpo__actor_stat__init(&m->actor);
        mpo__rejection__init(&m->rej);
        m->rep.n_stats = s_stats(m, rng, FUZZ_MSG_STATS);
        m->rep.stats = m->stats;
        snprintf(m->id, sizeof m->id, "fuzz-actor");
        m->actor.id = m->id;
        m->actor.transitions = rng_below(rng, 1000000);
        m->actors[0] = &m->actor;
        m->rep.n_actors = 1;
        m->rep.actors = m->actors;
        m->rej.reason = "malformed";
        m->rej.count = rng_below(rng, 1000);
        m->rejs[0] = &m->rej;
        m->rep.n_rejected = 1;
        m->rep.rejected = m->rejs;
        m->rep.env = (char *)shape->env;
        m->msg.body_case = MPO__MESSAGE__BODY_STATS_REPLY;
        m->msg.stats_reply = &m->rep;
        break;
    case FUZZ_EVAL_RESULT:
        mpo__eval_result__init(&m->eval);
        m->eval.policy_version = 1 + rng_below(rng, 1000);
        m->eval.learner_step = rng_below(rng, 100000);
        m->eval.mean_return = (float)rng_uniform_range(rng, -2000, 0);
        m->eval.std_return = (float)rng_uniform_range(rng, 0, 100);
        m->eval.episodes = 1 + (uint32_t)rng_below(rng, 10);
        m->msg.body_case = MPO__MESSAGE__BODY_EVAL_RESULT;
        m->msg.eval_result = &m->eval;
        break;
    case FUZZ_ERROR:
    default:
        mpo__error__init(&m->err);
        m->err.code = (Mpo__ErrorCode)(1 + rng_below(rng, 11));
        m->err.reason = "fuzz";
        m->msg.body_case = MPO__MESSAGE__BODY_ERROR;
        m->msg.error = &m->err;
        break;
    }
}

size_t fuzz_msg_pack(const fuzz_msg_t *m, uint8_t *out, size_t cap) {
    size_t len = mpo__message__get_packed_size(&m->msg);
    if (len > cap)
        return 0;
    return mpo__message__pack(&m->msg, out);
}
