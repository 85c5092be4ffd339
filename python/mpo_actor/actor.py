"""The actor role in Python: actor/actor.c's loop over Gymnasium-style environments.

num_envs environments step together with one batched numpy forward (or uniform random actions
in policy space until the first weights arrive); their transitions go into the outbox, which
ships them to the replay server in batches under credit, and the loop keeps the C actor's
protocol with the replay server:

- Hello (role ACTOR, environment, sizes, id, and an incarnation: a random nonzero 64-bit number
  drawn once per process) before anything else; the server dedups by (id, incarnation, seq).
- Batches numbered from 1, at most `actor_credit` unacknowledged; stepping waits for credit.
- No ack within `ack_timeout`, a NO_HELLO answer, or the connection coming back after a loss (a
  restarted server, seen on the socket monitor): Hello again and every unacknowledged batch again
  with its same seq.
- ID_IN_USE (another live process holds this id): a warning, then Hello and the batches again
  every 5 s, quietly, until the server gives us the id.
- WRONG_ENV / WRONG_SIZES / WRONG_VERSION end the actor (Refused): it can never be let in.

Weights come on a SUB socket with ZMQ_CONFLATE (only the newest PolicyWeights is kept: an old
version is worthless once a newer one exists); each is checked (policy.check_weights) and the
version that acted travels with every batch. The actor's figures (the names of
actor/actor_stats.h) ride on a batch at most once a second, so `mpo stat` shows them.
"""
import logging
import math
import os
import secrets
import socket
import time

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from . import curve as curve_keys
from . import wire
from .nstep import NStep
from .outbox import Outbox
from .policy import check_weights
from .vec_env import VecEnv

log = logging.getLogger("mpo_actor")

RESYNC_MIN_GAP_S = 1.0   # a burst of NO_HELLO errors (one per queued batch) resyncs once
ACTOR_HWM = 1000         # messages queued per socket
ID_RETRY_S = 5.0         # how often an actor whose id another live process holds asks again
STATS_INTERVAL = 1.0     # ACTOR_STATS_INTERVAL: seconds between stats lists and rate samples
ACTION_SALT = 0x6163746F72   # VEC_ENV_ACTION_SALT ("actor")
MAX_MESSAGE_BYTES = 67108864  # the max_message_bytes default

# actor/actor_stats.h's table, in its order
STAT_NAMES = ("env_steps_total", "env_steps_rate", "num_envs", "episodes_total",
              "episode_return_recent", "episodes_recent", "policy_version", "weights_refused_total",
              "batches_sent_total", "batches_acked_total", "batches_resent_total", "batches_in_flight",
              "batches_held", "resyncs_total", "replay_size", "replay_connected", "learning_started",
              "uptime_seconds")

ERR = wire.pb.ErrorCode.Value


class Refused(Exception):
    """The replay server refuses this actor for good (another environment, sizes or protocol)."""


def fnv1a(text):
    """FNV-1a, as the C actor spreads its id into its environment and action seeds."""
    h = 1469598103934665603
    for byte in text.encode():
        h = ((h ^ byte) * 1099511628211) % 2**64
    return h


def make_id():
    """actor-<host>-<pid>-<random>, the C actor's default id."""
    return "actor-%s-%d-%06x" % (socket.gethostname()[:63], os.getpid(), secrets.randbits(24))


def new_incarnation():
    """A random nonzero 64-bit number: this process, in every Hello."""
    while True:
        x = secrets.randbits(64)
        if x:
            return x


class Actor:
    """One actor process's state: environments, outbox, sockets, the policy it holds."""

    def __init__(self, env_fn, replay, learner, env_name, num_envs=1, seed=42, actor_id="",
                 actor_batch=64, actor_credit=2, ack_timeout=30.0, n_step=1, gamma=0.99,
                 obs_dim=None, act_dim=None, action_low=None, action_high=None,
                 max_message_bytes=MAX_MESSAGE_BYTES, log_interval=5.0, curve=None):
        self.replay, self.learner, self.env_name = replay, learner, env_name
        self.id = actor_id or make_id()
        self.incarnation = new_incarnation()
        self.ack_timeout, self.log_interval = ack_timeout, log_interval
        h = fnv1a(self.id)
        # the id spreads every actor of a run onto its own environment and action streams
        self.venv = VecEnv(env_fn, num_envs, (seed + h) % 2**64, obs_dim, act_dim, action_low, action_high)
        self.K, self.S, self.A = self.venv.K, self.venv.S, self.venv.A
        self.rng = np.random.default_rng(((seed ^ h) ^ ACTION_SALT) % 2**64)
        self.nstep = NStep(n_step, self.K, gamma)
        self.outbox = Outbox(self.S, self.A, actor_batch, actor_credit)
        self.policy = None   # None: acting at random
        self.version = 0
        self.weights_refused = self.resyncs = 0
        self.hello_acked = self.connected_once = self.link_up = False
        self.id_refused, self.id_retry_at = False, 0.0
        self.learning_started, self.replay_size = False, 0
        self.rate, self.rate_steps = 0.0, 0

        self.ctx = zmq.Context()
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.sub = self.ctx.socket(zmq.SUB)
        for s in (self.dealer, self.sub):
            s.setsockopt(zmq.LINGER, 0)   # exit promptly; nobody resends what is unacknowledged
            s.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
            s.setsockopt(zmq.SNDHWM, ACTOR_HWM)
            s.setsockopt(zmq.RCVHWM, ACTOR_HWM)
        self.sub.setsockopt(zmq.CONFLATE, 1)   # before connect: keep only the newest weights
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.curve_on, self.failed_handshakes = curve is not None, 0
        if curve is not None:   # CURVE clients of both servers (curve.py)
            curve.client(self.dealer, curve.replay_key, "curve_replay_key")
            curve.client(self.sub, curve.weights_key, "curve_weights_key")
        # watched before they connect, so that no connection event is missed
        self.monitor = self.dealer.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED |
                                                      curve_keys.CLIENT_EVENTS)
        self.sub_monitor = self.sub.get_monitor_socket(curve_keys.CLIENT_EVENTS)
        self.dealer.connect(replay)
        self.sub.connect(learner)
        self.now = self.started = self.last_resync = self.rate_t = time.monotonic()
        self.stats_sent_t = self.now - STATS_INTERVAL   # the first batch carries the figures

    def close(self):
        self.dealer.disable_monitor()
        self.sub.disable_monitor()
        for s in (self.monitor, self.sub_monitor, self.dealer, self.sub):
            s.close(linger=0)
        self.ctx.term()

    # --- the replay server -------------------------------------------------------------------

    def _send(self, data):
        try:
            self.dealer.send(data, zmq.NOBLOCK)
            return True
        except zmq.Again:   # high-water mark: tried again on the next flush
            return False

    def _hello(self):
        self._send(wire.hello(self.env_name, self.S, self.A, self.id, self.incarnation))

    def _send_batch(self, batch):
        """outbox send function: one batch, with our figures at most once an interval."""
        with_stats = self.now - self.stats_sent_t >= STATS_INTERVAL
        stats = list(zip(STAT_NAMES, self.stat_values())) if with_stats else None
        went = self._send(wire.transition_batch(batch, stats))
        if went and with_stats:
            self.stats_sent_t = self.now
        return went

    def _resync(self, why):
        """Hello and every unacknowledged batch again, same seq: a restarted server knows
        neither us nor what the old one stored; if it is the same server it dedups."""
        if self.hello_acked:
            log.info("%s: saying hello again and resending %d unacknowledged batches", why, self.outbox.in_flight)
        else:
            log.warning("%s (and the last hello went unanswered): saying hello again and resending %d batches",
                        why, self.outbox.in_flight)
        self.resyncs += 1
        self.last_resync = self.now
        self.hello_acked = False
        self._hello()
        self.outbox.resend(self._send_batch, self.now)

    def _on_replay(self, frames):
        if len(frames) != 1:
            log.warning("dropped a message from the replay server: %d frames", len(frames))
            return
        msg, reason = wire.parse(frames[0])
        if msg is None:
            log.warning("dropped a message from the replay server: %s", reason)
            return
        body = msg.WhichOneof("body")
        if body == "ack":
            ack = msg.ack
            self.replay_size, self.learning_started = ack.size, ack.learning_started
            if ack.seq == 0:
                if self.id_refused:
                    log.info("the replay server took our id %s: this process holds it now", self.id)
                self.hello_acked, self.id_refused = True, False
            else:
                self.outbox.ack(ack.seq, self.now)   # False: a duplicate ack after a resend
        elif body == "error":
            code, r = msg.error.code, msg.error.reason
            if code == ERR("ERROR_ID_IN_USE"):
                if not self.id_refused:
                    log.warning("the replay server refuses us for now: %s; asking again every %.0f s", r, ID_RETRY_S)
                self.id_refused, self.hello_acked = True, False
                self.id_retry_at = self.now + ID_RETRY_S
            elif code == ERR("ERROR_NO_HELLO"):
                # while our id is refused every resent batch is unknown: expected, not a restart
                if not self.id_refused and self.now - self.last_resync >= RESYNC_MIN_GAP_S:
                    self._resync("the replay server does not know us (restarted?)")
            elif code in (ERR("ERROR_WRONG_ENV"), ERR("ERROR_WRONG_SIZES"), ERR("ERROR_WRONG_VERSION")):
                raise Refused("the replay server refuses this actor: %s" % r)
            else:
                log.warning("the replay server refused a message: %s", r)
        else:
            log.warning("unexpected message '%s' from the replay server", body)

    def _on_handshake(self, event, value, server):
        said, line = curve_keys.client_event(self.curve_on, event, value, server)
        if said == 2:
            raise Refused(line)
        if said == 1:
            if self.failed_handshakes % 100 == 0:   # the first, then every 100th
                log.warning("%s", line)
            self.failed_handshakes += 1

    def _on_monitor(self):
        m = recv_monitor_message(self.monitor, zmq.NOBLOCK)
        event = m["event"]
        self._on_handshake(event, m["value"], "the replay server at %s" % self.replay)
        if event == zmq.EVENT_DISCONNECTED and self.link_up:
            log.info("lost the connection to the replay server at %s", self.replay)
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            # a new connection after a lost one is most likely a restarted server: resync now,
            # not after ack_timeout
            if self.connected_once:
                self._resync("connected to the replay server again")
            self.connected_once = True
        if event in (zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED):
            self.link_up = event == zmq.EVENT_HANDSHAKE_SUCCEEDED

    # --- weights -----------------------------------------------------------------------------

    def _on_weights(self, data):
        msg, reason = wire.parse(data)
        if msg is None:
            log.warning("dropped a weights message: %s", reason)
            self.weights_refused += 1
            return
        w = msg.weights if msg.WhichOneof("body") == "weights" else None
        if w is not None and self.policy is not None and w.version == self.version:
            return   # the idle republication of what we hold
        policy, reason = check_weights(w, self.env_name, self.S, self.A)
        if policy is None:
            if self.weights_refused % 100 == 0:   # once in the log, not every republication
                log.warning("refusing weights: %s", reason)
            self.weights_refused += 1
            return
        if self.policy is None:
            log.info("first weights: version %d (learner step %d), acting with the policy from now on",
                     policy.version, policy.learner_step)
        self.policy, self.version = policy, policy.version

    # --- stepping and figures ----------------------------------------------------------------

    def _step(self):
        """One step of all K environments with one forward; the transitions it completes into the
        outbox, each ended episode's record with its last transition."""
        if self.policy is None:
            action = self.rng.uniform(-1.0, 1.0, (self.K, self.A)).astype(np.float32)
        else:
            action = self.policy.act(self.venv.cur, self.rng)
        obs, action, reward, done, next_obs, ended, ep_return, ep_length = self.venv.step(action)
        for k, o, a, r, d, no, last in self.nstep.push(obs, action, reward, done, next_obs, ended):
            self.outbox.add(o, a, r, d, no, self.version, last, ep_return[k], ep_length[k])

    def _sample_rate(self):
        dt = self.now - self.rate_t
        if dt >= STATS_INTERVAL:
            self.rate = (self.venv.steps - self.rate_steps) / dt
            self.rate_steps, self.rate_t = self.venv.steps, self.now

    def stat_values(self):
        """The figures in STAT_NAMES order; the replay refuses non-finite ones, so those are 0."""
        recent, n_recent = self.venv.recent_mean()
        ob = self.outbox
        v = (self.venv.steps, self.rate, self.K, self.venv.episodes, recent, n_recent, self.version,
             self.weights_refused, ob.sent, ob.acked, ob.resent, ob.in_flight, ob.held(), self.resyncs,
             self.replay_size, self.hello_acked, self.learning_started, self.now - self.started)
        return [float(x) if math.isfinite(float(x)) else 0.0 for x in v]

    def stats(self):
        return dict(zip(STAT_NAMES, self.stat_values()), id=self.id)

    def _progress(self):
        s = self.stats()
        log.info("%.0f steps (%.0f/s) | weights v%d%s | episodes %d, return %.1f (last %d) | "
                 "batches sent %d acked %d resent %d | replay size %d%s",
                 s["env_steps_total"], s["env_steps_rate"], self.version, "" if self.policy else " (random)",
                 s["episodes_total"], s["episode_return_recent"], s["episodes_recent"], s["batches_sent_total"],
                 s["batches_acked_total"], s["batches_resent_total"], s["replay_size"],
                 "" if self.hello_acked else " | waiting for the replay server")
        waited = self.now - self.started
        if not self.hello_acked and not self.id_refused:
            log.warning("waiting for the replay server at %s: no answer to our Hello (%.0f s since start)",
                        self.replay, waited)
        if self.policy is None and self.learning_started:
            log.warning("waiting for weights from the learner at %s: learning has started but none arrived "
                        "(%.0f s since start; acting at random meanwhile)", self.learner, waited)

    # --- the loop ----------------------------------------------------------------------------

    def run(self, total_steps=0, seconds=0.0, stop=None, drain_timeout=120.0):
        """Act until stop() is true, `seconds` have passed, or (total_steps > 0) total_steps
        environment steps are taken and every batch is acknowledged (the last one sent partly
        filled; at most drain_timeout seconds of waiting for acks). Returns stats()."""
        log.info("actor %s: %d x %s (obs %d, act %d), batches of %d, credit %d; replay %s, weights %s",
                 self.id, self.K, self.env_name, self.S, self.A, self.outbox.batch, self.outbox.credit,
                 self.replay, self.learner)
        poller = zmq.Poller()
        for s in (self.dealer, self.sub, self.monitor):
            poller.register(s, zmq.POLLIN)
        self._hello()
        last_hello = last_log = self.now
        stepping, drain_until = True, None
        while not (stop and stop()):
            # stepping: just look; otherwise sleep on the sockets (100 ms bounds a stop's latency)
            can_step = stepping and self.outbox.can_step()
            events = dict(poller.poll(0 if can_step else 100))
            now = self.now = time.monotonic()
            if self.dealer in events:
                for _ in range(64):   # drain: acks are small and each frees credit
                    try:
                        frames = self.dealer.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._on_replay(frames)
            if self.sub in events:
                try:
                    self._on_weights(self.sub.recv(zmq.NOBLOCK))
                except zmq.Again:
                    pass
            while self.monitor.poll(0):
                self._on_monitor()
            while self.sub_monitor.poll(0):
                m = recv_monitor_message(self.sub_monitor, zmq.NOBLOCK)
                self._on_handshake(m["event"], m["value"], "the learner at %s" % self.learner)
            if self.id_refused:
                if now >= self.id_retry_at:   # Hello and our batches again, quietly
                    self.id_retry_at = now + ID_RETRY_S
                    self.last_resync = now
                    self._hello()
                    self.outbox.resend(self._send_batch, now)
            elif self.outbox.overdue(now, self.ack_timeout):
                self._resync("no acknowledgement within ack_timeout")
            elif not self.hello_acked and self.outbox.in_flight == 0 and now - last_hello > self.ack_timeout:
                self._hello()   # nothing to resend yet, but keep knocking
                last_hello = now
            if stepping and self.outbox.can_step():   # an ack above may have freed credit
                self._step()
                if total_steps and self.venv.steps >= total_steps:
                    stepping, drain_until = False, now + drain_timeout
                    self.outbox.close()
            self.outbox.flush(self._send_batch, now)
            self._sample_rate()
            if now - last_log >= self.log_interval:
                self._progress()
                last_log = now
            if seconds and now - self.started >= seconds:
                break
            if not stepping and (self.outbox.empty() or now >= drain_until):
                break
        log.info("stopping: %d steps, %d batches acked, %d unacknowledged dropped",
                 self.venv.steps, self.outbox.acked, self.outbox.held())
        return self.stats()


def run(env_fn, replay="tcp://127.0.0.1:5555", learner="tcp://127.0.0.1:5556", env_name="Pendulum-v1",
        num_envs=1, total_steps=0, seconds=0.0, stop=None, **options):
    """Run an actor of env_fn() environments against a replay server and a learner until stop()
    is true, `seconds` pass, or total_steps environment steps are stored. Options are Actor's
    (seed, actor_id, actor_batch, actor_credit, ack_timeout, n_step, gamma, obs_dim, act_dim,
    action_low, action_high, max_message_bytes, log_interval, curve: a curve.Curve for CURVE
    sockets). Returns the actor's figures.
    Raises Refused when the replay server refuses this actor for good."""
    actor = Actor(env_fn, replay, learner, env_name, num_envs=num_envs, **options)
    try:
        return actor.run(total_steps=total_steps, seconds=seconds, stop=stop)
    finally:
        actor.close()
