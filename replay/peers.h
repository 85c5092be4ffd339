/* peers: who the replay server is talking to. Two tables, both of fixed size so that no peer can
 * grow the server's memory:
 *   - peers: one entry per connection (its routing id, replay/router.h) that said Hello: its role,
 *     its actor, when last heard; when full, the peer idle longest is forgotten and must say Hello
 *     again;
 *   - actors: one entry per actor id, with the process that holds it (its incarnation), its dedup
 *     state (the highest seq stored), its counters and its own stats list. An actor's entry
 *     belongs to its id, not its connection, so an actor that reconnects carries on where it was.
 *     A new process with the id (another incarnation, its seqs from 1 again) takes the entry over
 *     with a fresh seq stream once the holder has been silent long enough, and is refused before
 *     that: two live processes never share one dedup state, so no batch is acked and dropped as a
 *     duplicate of another process's. When full, the actor not heard from longest is forgotten.
 *     A generation number tells a connection bound to an entry's old occupant (a forgotten actor,
 *     a superseded incarnation) that it is no longer that actor.
 * A peer's own stats list (TransitionBatch.stats, SampleRequest.stats) is kept as the newest list
 * it sent, in fixed storage of WIRE_MAX_STATS figures of WIRE_STAT_NAME_MAX-byte names: no
 * allocation per message, and memory bounded by the tables' sizes. */
#ifndef MPO_REPLAY_PEERS_H
#define MPO_REPLAY_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "proto/mpo.pb-c.h"
#include "replay/router.h"

#define PEERS_MAX 1024         /* routing ids remembered */
#define PEERS_MAX_ACTORS 1024  /* actor ids with dedup state and counters */
#define PEERS_ACTOR_ID_MAX 128 /* longer actor ids are cut to this (NUL included) */

/* A peer's own stats list as it last sent it; names are copies, so no frame is kept alive. */
typedef struct {
    size_t n;
    char name[WIRE_MAX_STATS][WIRE_STAT_NAME_MAX];
    double value[WIRE_MAX_STATS];
} peers_stats_t;

typedef struct {
    router_rid_t rid;
    Mpo__Role role;
    int actor;    /* index into the actor table; -1 for other roles */
    uint32_t gen; /* the actor slot's generation when bound: a reused slot is not this actor */
    double last_seen;
} peers_peer_t;

typedef struct {
    int used;
    uint32_t gen;
    char id[PEERS_ACTOR_ID_MAX];
    uint64_t incarnation; /* the process that holds the id (Hello.incarnation) */
    uint64_t last_seq; /* highest seq stored by this incarnation: at or below it is a resend */
    uint64_t takeovers; /* new incarnations that took the id over from a silent one */
    uint64_t transitions, batches, episodes, policy_version;
    double last_seen;
    uint64_t stats_seq; /* seq of the batch that brought the stats below: an older resend keeps them */
    peers_stats_t stats;
} peers_actor_t;

typedef struct peers_s peers_t;

/* NULL when out of memory */
peers_t *peers_new(void);
void peers_destroy(peers_t **self_p);

/* the peer on this connection; NULL when it has not said Hello (or was forgotten) */
peers_peer_t *peers_find(peers_t *self, const router_rid_t *rid);
/* A Hello that passed its checks: the peer on this connection (made or reused) takes the role, and
 * an actor is bound to its id's entry (made if new; an empty id stands for its connection,
 * "peer-<hex of the routing id>"). An actor whose id another incarnation holds takes it over when
 * that one has been silent for live_s or more (*silent_s then says for how long; it is left as it
 * was otherwise); before that, NULL with *silent_s set, and nothing changes. */
peers_peer_t *peers_hello(peers_t *self, const router_rid_t *rid, Mpo__Role role, const char *id,
                          uint64_t incarnation, double now, double live_s, double *silent_s);
/* the actor a peer is bound to; NULL for another role, or when its entry was given to another actor */
peers_actor_t *peers_actor(peers_t *self, const peers_peer_t *p);
/* the actor entry at index i when the generation still matches (a held batch's actor), else NULL */
peers_actor_t *peers_actor_if(peers_t *self, int i, uint32_t gen);
/* the actor table for reports: entry i of PEERS_MAX_ACTORS, NULL when unused */
const peers_actor_t *peers_actor_at(const peers_t *self, size_t i);

/* An actor entry as a snapshot kept it (replay/snapshot.h) into a free slot, bound to no connection:
 * its id, incarnation, dedup state (last_seq), counters and last_seen are taken from *a, the rest
 * starts fresh (no stats list). Its process, saying Hello again with the same incarnation, carries
 * on with that dedup state, so a batch it resends after the restart is still stored once. -1 when
 * the table is full or already has the id. */
int peers_actor_restore(peers_t *self, const peers_actor_t *a);

/* Replace *s with a list that wire_check_stats accepted. An empty list leaves *s as it is (a peer
 * sends its list at most once a second, so most messages carry none). A name listed twice keeps
 * its last value: /metrics must not show one series twice. */
void peers_stats_set(peers_stats_t *s, Mpo__Stat *const *stats, size_t n);
/* *s as a protocol list over caller storage stats[WIRE_MAX_STATS], ptrs[WIRE_MAX_STATS]; the names
 * are borrowed from *s. Returns the count. */
size_t peers_stats_to_wire(const peers_stats_t *s, Mpo__Stat *stats, Mpo__Stat **ptrs);

#endif
