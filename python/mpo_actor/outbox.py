"""The actor's batches from the moment they fill until the replay server acknowledges them.

actor/outbox.c in Python, as pure logic: no socket and no clock (the caller passes a send
function and the time), so a test drives it by hand. A batch is FILLING (taking transitions),
READY (full, waiting for credit), SENT (on the wire, unacknowledged) or ACKED (acknowledged,
behind an older unacknowledged one). At most `credit` batches are SENT, and the actor steps only
while fewer than `credit` batches are full (can_step): a replay server that delays its acks (its
rate limiter) or is gone stops the actor instead of filling its memory. Each batch gets its seq
(1, 2, ...) when it opens and keeps it across resends, so a resend after an ack timeout or a
server restart is the same batch, and the server's (id, incarnation, seq) dedup makes it
idempotent.
"""
import collections

import numpy as np

from . import wire

FILLING, READY, SENT, ACKED = range(4)


class Batch:
    """Up to `size` transitions in fixed arrays, the episodes that ended in them, and their seq."""

    def __init__(self, seq, size, obs_dim, act_dim):
        self.seq = seq
        self.state = FILLING
        self.n = 0
        self.policy_version = 0   # the weights that acted on its newest transition
        self.obs = np.empty((size, obs_dim), np.float32)
        self.action = np.empty((size, act_dim), np.float32)
        self.reward = np.empty(size, np.float32)
        self.done = np.empty(size, np.float32)
        self.next_obs = np.empty((size, obs_dim), np.float32)
        self.episodes = []        # (return, length) of the episodes that ended in it


class Outbox:
    def __init__(self, obs_dim, act_dim, batch, credit):
        if obs_dim < 1 or act_dim < 1 or not 1 <= batch <= wire.MAX_BATCH or credit < 1:
            raise ValueError("outbox: obs %d, act %d, batch %d, credit %d out of range"
                             % (obs_dim, act_dim, batch, credit))
        self.obs_dim, self.act_dim, self.batch, self.credit = obs_dim, act_dim, batch, credit
        # each transition ends at most one episode, so a batch closes at this many episodes
        self.per_batch = min(batch, wire.MAX_EPISODES)
        self.batches = collections.deque()   # oldest first
        self.next_seq = 1
        self.in_flight = 0
        self.last_ack = 0.0   # the last ack, or when the oldest unacknowledged batch went out
        self.sent = self.acked = self.resent = 0

    def held(self):
        """Full batches not yet acknowledged (READY, SENT, or ACKED behind one)."""
        held = len(self.batches)
        if held and self.batches[-1].state == FILLING:
            held -= 1
        return held

    def can_step(self):
        return self.held() < self.credit

    def add(self, obs, action, reward, done, next_obs, policy_version, ended=False,
            episode_return=0.0, episode_length=0):
        """One transition into the filling batch (opening one with the next seq when none is);
        an ended episode's return and length travel with the batch holding its last transition."""
        if not self.batches or self.batches[-1].state != FILLING:
            self.batches.append(Batch(self.next_seq, self.batch, self.obs_dim, self.act_dim))
            self.next_seq += 1
        b = self.batches[-1]
        j = b.n
        b.obs[j] = obs
        b.action[j] = action
        b.reward[j] = reward
        b.done[j] = done
        b.next_obs[j] = next_obs
        b.n += 1
        b.policy_version = policy_version
        if ended:
            b.episodes.append((float(episode_return), int(episode_length)))
        if b.n == self.batch or len(b.episodes) == self.per_batch:
            b.state = READY

    def close(self):
        """Make a partly filled batch READY (the actor's last one, when it stops by itself)."""
        if self.batches and self.batches[-1].state == FILLING and self.batches[-1].n > 0:
            self.batches[-1].state = READY

    def flush(self, send, now):
        """Send READY batches, oldest first, while fewer than credit are on the wire; stop at the
        first that cannot go (send returns False). Returns how many went."""
        went = 0
        for b in self.batches:
            if self.in_flight >= self.credit:
                break
            if b.state != READY:
                continue
            if not send(b):
                break   # stays READY, tried again on the next flush; order is kept
            if self.in_flight == 0:
                self.last_ack = now   # the ack clock starts with the first unacknowledged batch
            b.state = SENT
            self.in_flight += 1
            self.sent += 1
            went += 1
        return went

    def resend(self, send, now):
        """Every SENT batch again, same seq, oldest first; restarts the ack clock."""
        self.last_ack = now
        went = sum(1 for b in self.batches if b.state == SENT and send(b))
        self.resent += went
        return went

    def ack(self, seq, now):
        """The server stored batch seq: True when that acknowledged a batch on the wire (its
        credit comes back), False for a duplicate ack or a seq not on the wire."""
        matched = False
        for b in self.batches:
            if b.state == SENT and b.seq == seq:
                b.state = ACKED
                self.in_flight -= 1
                self.acked += 1
                self.last_ack = now
                matched = True
                break
        # free from the oldest: an ack out of order waits for the ones before it
        while self.batches and self.batches[0].state == ACKED:
            self.batches.popleft()
        return matched

    def overdue(self, now, timeout):
        """A batch is on the wire and no ack has come for longer than timeout seconds."""
        return self.in_flight > 0 and now - self.last_ack > timeout

    def empty(self):
        """Nothing unacknowledged, nothing waiting (a filling batch with no rows aside)."""
        return all(b.state == FILLING and b.n == 0 for b in self.batches)
