#include "replay/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct peers_s {
    peers_peer_t peers[PEERS_MAX]; /* [0, n_peers) in use */
    size_t n_peers, last_peer;     /* last_peer: the most recent hit, looked at first */
    peers_actor_t actors[PEERS_MAX_ACTORS];
};

peers_t *peers_new(void) { return calloc(1, sizeof(peers_t)); }

void peers_destroy(peers_t **self_p) {
    free(*self_p);
    *self_p = NULL;
}

/* a lookup scans only live entries; a burst from one peer hits last_peer */
peers_peer_t *peers_find(peers_t *self, const router_rid_t *rid) {
    if (self->last_peer < self->n_peers && router_rid_eq(&self->peers[self->last_peer].rid, rid))
        return &self->peers[self->last_peer];
    for (size_t i = 0; i < self->n_peers; i++)
        if (router_rid_eq(&self->peers[i].rid, rid)) {
            self->last_peer = i;
            return &self->peers[i];
        }
    return NULL;
}

static peers_peer_t *s_peer_add(peers_t *self, const router_rid_t *rid) {
    peers_peer_t *p = peers_find(self, rid);
    if (p)
        return p;
    if (self->n_peers < PEERS_MAX)
        p = &self->peers[self->n_peers++];
    else { /* a full table forgets the peer idle longest: it has to say Hello again */
        p = &self->peers[0];
        for (size_t i = 1; i < PEERS_MAX; i++)
            if (self->peers[i].last_seen < p->last_seen)
                p = &self->peers[i];
    }
    memset(p, 0, sizeof *p);
    p->actor = -1;
    p->rid = *rid;
    return p;
}

/* the id's holder, now this incarnation: a new process's seqs start again from 1, so the dedup state
 * and the stats list go; the counters are the id's and carry on. The generation moves so that the
 * old process's connections (and its batches still held) are no longer this actor. */
static void s_actor_take_over(peers_actor_t *a, uint64_t incarnation) {
    a->incarnation = incarnation;
    a->last_seq = 0;
    a->stats_seq = 0;
    a->stats.n = 0;
    a->gen++;
    a->takeovers++;
}

/* the actor with this id, made if new; its dedup state and counters survive reconnects of one
 * incarnation. -1 when another incarnation holds it and was heard from within live_s. */
static int s_actor_bind(peers_t *self, const char *id, uint64_t incarnation, double now, double live_s,
                        double *silent_s) {
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < PEERS_MAX_ACTORS; i++) {
        peers_actor_t *a = &self->actors[i];
        if (!a->used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (strncmp(a->id, id, PEERS_ACTOR_ID_MAX - 1) == 0) {
            if (a->incarnation == incarnation)
                return i;
            *silent_s = now - a->last_seen;
            if (*silent_s < live_s)
                return -1;
            s_actor_take_over(a, incarnation);
            return i;
        }
        if (a->last_seen < self->actors[oldest].last_seen || !self->actors[oldest].used)
            oldest = i;
    }
    int i = free_slot >= 0 ? free_slot : oldest;
    peers_actor_t *a = &self->actors[i];
    uint32_t gen = a->gen + 1;
    memset(a, 0, sizeof *a); /* the forgotten actor's stats list goes with it */
    a->used = 1;
    a->gen = gen;
    a->incarnation = incarnation;
    a->last_seen = now;
    snprintf(a->id, sizeof a->id, "%s", id);
    return i;
}

peers_peer_t *peers_hello(peers_t *self, const router_rid_t *rid, Mpo__Role role, const char *id,
                          uint64_t incarnation, double now, double live_s, double *silent_s) {
    char name[PEERS_ACTOR_ID_MAX];
    int actor = -1;
    if (role == MPO__ROLE__ROLE_ACTOR) {
        if (id && id[0])
            snprintf(name, sizeof name, "%s", id);
        else { /* an actor without an id is known by its connection */
            int o = snprintf(name, sizeof name, "peer-");
            for (size_t i = 0; i < rid->rid_len && o < (int)sizeof name - 3; i++)
                o += snprintf(name + o, sizeof name - o, "%02x", rid->rid[i]);
        }
        if ((actor = s_actor_bind(self, name, incarnation, now, live_s, silent_s)) < 0)
            return NULL; /* before the peer entry: a refused Hello leaves this connection unknown */
    }
    peers_peer_t *p = s_peer_add(self, rid);
    p->role = role;
    p->last_seen = now;
    p->actor = actor;
    if (actor >= 0) {
        p->gen = self->actors[actor].gen;
        self->actors[actor].last_seen = now;
    }
    return p;
}

peers_actor_t *peers_actor_if(peers_t *self, int i, uint32_t gen) {
    if (i < 0)
        return NULL;
    MPO_ASSERT(i < PEERS_MAX_ACTORS);
    peers_actor_t *a = &self->actors[i];
    return a->used && a->gen == gen ? a : NULL;
}

peers_actor_t *peers_actor(peers_t *self, const peers_peer_t *p) { return peers_actor_if(self, p->actor, p->gen); }

const peers_actor_t *peers_actor_at(const peers_t *self, size_t i) {
    MPO_ASSERT(i < PEERS_MAX_ACTORS);
    return self->actors[i].used ? &self->actors[i] : NULL;
}

int peers_actor_restore(peers_t *self, const peers_actor_t *a) {
    int free_slot = -1;
    for (int i = 0; i < PEERS_MAX_ACTORS; i++) {
        if (!self->actors[i].used) {
            if (free_slot < 0)
                free_slot = i;
        } else if (strncmp(self->actors[i].id, a->id, PEERS_ACTOR_ID_MAX - 1) == 0)
            return -1;
    }
    if (free_slot < 0)
        return -1;
    peers_actor_t *e = &self->actors[free_slot];
    uint32_t gen = e->gen + 1;
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->gen = gen;
    snprintf(e->id, sizeof e->id, "%s", a->id);
    e->incarnation = a->incarnation;
    e->last_seq = a->last_seq;
    e->takeovers = a->takeovers;
    e->transitions = a->transitions;
    e->batches = a->batches;
    e->episodes = a->episodes;
    e->policy_version = a->policy_version;
    e->last_seen = a->last_seen;
    return 0;
}

void peers_stats_set(peers_stats_t *s, Mpo__Stat *const *stats, size_t n) {
    MPO_ASSERT(n <= WIRE_MAX_STATS); /* wire_check_stats refused longer lists */
    if (n == 0)
        return;
    s->n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < s->n && strcmp(s->name[k], stats[i]->name) != 0)
            k++;
        if (k == s->n) {
            snprintf(s->name[k], sizeof s->name[k], "%s", stats[i]->name);
            s->n++;
        }
        s->value[k] = stats[i]->value;
    }
}

size_t peers_stats_to_wire(const peers_stats_t *s, Mpo__Stat *stats, Mpo__Stat **ptrs) {
    for (size_t i = 0; i < s->n; i++) {
        mpo__stat__init(&stats[i]);
        stats[i].name = (char *)s->name[i];
        stats[i].value = s->value[i];
        ptrs[i] = &stats[i];
    }
    return s->n;
}
