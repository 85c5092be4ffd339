"""Unit tests of the Python actor's pure parts: the outbox under credit, n-step windows, the
weights checks and the numpy forward against a slow reference of nn/mlp.h's layout, the vectorised
environments' termination/truncation rules, the Python Pendulum against Pendulum-v1's facts, and
the actor's side of the protocol against a scripted replay server (a ROUTER on loopback).
Run: PYTHONPATH=python python3 -m unittest discover -s python/tests (tests/test_python_units.sh)."""
import math
import os
import shutil
import tempfile
import threading
import time
import unittest

import numpy as np
import zmq

from mpo_actor import curve, wire
from mpo_actor.actor import Actor, Refused
from mpo_actor.nstep import NStep
from mpo_actor.outbox import ACKED, READY, SENT, Outbox
from mpo_actor.pendulum import Pendulum, Rng
from mpo_actor.policy import check_weights, layer_sizes, n_params, softplus
from mpo_actor import policy_file
from mpo_actor.policy_file import fnv1a64
from mpo_actor.vec_env import VecEnv


def add(box, n, version=0, ended_at=()):
    for i in range(n):
        box.add([i, i, i], [0.5], -1.0, 0.0, [i, i, i], version, i in ended_at, -100.0 - i, 200)


class OutboxTest(unittest.TestCase):
    def setUp(self):
        self.sent = []
        self.box = Outbox(3, 1, batch=4, credit=2)

    def send(self, b):
        self.sent.append(b.seq)
        return True

    def test_credit_gates_stepping_and_sending(self):
        self.assertTrue(self.box.can_step())
        add(self.box, 8)                          # two full batches: seq 1 and 2
        self.assertFalse(self.box.can_step())     # credit 2 full: the actor waits
        self.assertEqual(self.box.flush(self.send, 0.0), 2)
        self.assertEqual(self.sent, [1, 2])
        self.assertEqual(self.box.in_flight, 2)
        self.assertTrue(self.box.ack(1, 1.0))
        self.assertTrue(self.box.can_step())
        add(self.box, 4)
        self.assertEqual(self.box.flush(self.send, 1.0), 1)
        self.assertEqual(self.sent, [1, 2, 3])

    def test_ack_out_of_order_and_duplicates(self):
        add(self.box, 8)
        self.box.flush(self.send, 0.0)
        self.assertTrue(self.box.ack(2, 1.0))
        self.assertEqual([b.state for b in self.box.batches], [SENT, ACKED])   # 2 waits behind 1
        self.assertFalse(self.box.ack(2, 1.0))    # a duplicate ack after a resend
        self.assertFalse(self.box.ack(99, 1.0))   # a seq never given
        self.assertTrue(self.box.ack(1, 1.0))
        self.assertEqual(len(self.box.batches), 0)
        self.assertTrue(self.box.empty())

    def test_resend_keeps_seq_and_overdue(self):
        add(self.box, 8)
        self.box.flush(self.send, 10.0)
        self.assertFalse(self.box.overdue(39.0, 30.0))
        self.assertTrue(self.box.overdue(41.0, 30.0))
        self.assertEqual(self.box.resend(self.send, 41.0), 2)
        self.assertEqual(self.sent, [1, 2, 1, 2])
        self.assertFalse(self.box.overdue(42.0, 30.0))   # the clock restarted
        self.assertEqual(self.box.resent, 2)

    def test_send_refused_keeps_order(self):
        add(self.box, 8)
        self.assertEqual(self.box.flush(lambda b: False, 0.0), 0)
        self.assertEqual([b.state for b in self.box.batches], [READY, READY])
        self.box.flush(self.send, 0.0)
        self.assertEqual(self.sent, [1, 2])

    def test_episodes_and_close(self):
        add(self.box, 3, version=7, ended_at=(1,))
        b = self.box.batches[0]
        self.assertEqual(b.episodes, [(-101.0, 200)])
        self.assertEqual(b.policy_version, 7)
        self.box.close()                          # the last, partly filled batch goes too
        self.assertEqual(self.box.flush(self.send, 0.0), 1)
        msg, _ = wire.parse(wire.transition_batch(b, [("env_steps_total", 3.0)]))
        tb = msg.transitions
        self.assertEqual((tb.seq, tb.n, tb.policy_version), (1, 3, 7))
        self.assertEqual(list(tb.obs), [0, 0, 0, 1, 1, 1, 2, 2, 2])
        self.assertEqual(len(tb.episodes), 1)
        self.assertEqual(tb.stats[0].name, "env_steps_total")

    def test_bad_sizes(self):
        with self.assertRaises(ValueError):
            Outbox(3, 1, batch=0, credit=2)


class WireTest(unittest.TestCase):
    def test_parse_refuses_what_is_not_ours(self):
        self.assertIsNone(wire.parse(b"\xff\xff\xff")[0])
        other = wire.pb.Message(version=2, ack=wire.pb.Ack(seq=1)).SerializeToString()
        self.assertIn("protocol version 2", wire.parse(other)[1])
        self.assertIn("no body", wire.parse(wire.pb.Message(version=1).SerializeToString())[1])
        msg, _ = wire.parse(wire.hello("Pendulum-v1", 3, 1, "a", 5))
        self.assertEqual((msg.hello.role, msg.hello.incarnation), (wire.pb.ROLE_ACTOR, 5))


def policy_file_bytes(params, magic="mpo-policy 1", checksum=None, tail=b""):
    """A policy file as mpo export writes one: obs 3, act 2, hidden 5, 2 layers."""
    body = np.asarray(params, "<f4").tobytes()
    head = ("%s\nenv Pendulum-v1\nobs_dim 3\nact_dim 2\nhidden 5\nlayers 2\npolicy squashed\nmin_std 0.001\n"
            "act_low -2 -1\nact_high 2 1\nparams %d\nfnv1a64 %016x\nend\n"
            % (magic, len(params), fnv1a64(body) if checksum is None else checksum))
    return head.encode() + body + tail


class PolicyFileTest(unittest.TestCase):
    def setUp(self):
        self.params = np.random.default_rng(2).uniform(-1, 1, n_params(layer_sizes(3, 5, 2, 2))).astype(np.float32)
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def load(self, data):
        path = os.path.join(self.dir, "p.policy")
        with open(path, "wb") as f:
            f.write(data)
        return policy_file.load(path)

    def test_reads_what_mpo_export_writes(self):
        self.assertEqual(fnv1a64(b"a"), 0xAF63DC4C8601EC8C)   # FNV-1a 64's published value
        pf = self.load(policy_file_bytes(self.params))
        self.assertEqual((pf.env, pf.obs_dim, pf.act_dim, pf.policy.policy_type), ("Pendulum-v1", 3, 2, "squashed"))
        self.assertEqual((list(pf.act_low), list(pf.act_high)), ([-2.0, -1.0], [2.0, 1.0]))
        x = np.array([[0.1, 0.2, 0.3]], np.float32)
        self.assertEqual(pf.policy.forward(x).shape, (1, 4))

    def test_refusals(self):
        bad = self.params.copy()
        bad[3] = np.nan
        cases = [(policy_file_bytes(self.params, magic="mpo-policy 2"), "another format version"),
                 (policy_file_bytes(self.params, magic="hello 1"), "not an mpo policy file"),
                 (policy_file_bytes(self.params)[:-4], "truncated"),
                 (policy_file_bytes(self.params, tail=b"x"), "bytes after"),
                 (policy_file_bytes(self.params, checksum=1), "checksum"),
                 (policy_file_bytes(self.params[:-1]), "does not fit"),
                 (policy_file_bytes(bad), "not finite"),
                 (policy_file_bytes(self.params).replace(b"act_high 2 1", b"act_high 2 inf"), "bounds"),
                 (policy_file_bytes(self.params).replace(b"policy squashed", b"policy beta"), "policy type")]
        for data, why in cases:
            with self.assertRaises(ValueError) as e:
                self.load(data)
            self.assertIn(why, str(e.exception))
            self.assertIn("p.policy", str(e.exception))


class NStepTest(unittest.TestCase):
    def step(self, ns, r, done=0.0, ended=False):
        o = np.array([[r, 0, 0]], np.float32)
        return ns.push(o, np.array([[0.1]], np.float32), np.array([r], np.float32),
                       np.array([done], np.float32), o + 1, np.array([ended]))

    def test_one_step_passes_through(self):
        out = self.step(NStep(1, 1, 0.9), 2.0, ended=True)
        self.assertEqual(len(out), 1)
        self.assertEqual(out[0][3], 2.0)
        self.assertTrue(out[0][6])

    def test_windows_sum_and_end(self):
        ns = NStep(3, 1, 0.5)
        self.assertEqual(self.step(ns, 1.0), [])
        self.assertEqual(self.step(ns, 2.0), [])
        out = self.step(ns, 4.0)
        self.assertAlmostEqual(out[0][3], 1.0 + 0.5 * 2.0 + 0.25 * 4.0)
        out = self.step(ns, 8.0, done=1.0, ended=True)   # terminal: every open window ends, d = 1
        self.assertEqual(len(out), 3)
        self.assertAlmostEqual(out[0][3], 2.0 + 0.5 * 4.0 + 0.25 * 8.0)
        self.assertAlmostEqual(out[2][3], 8.0)
        self.assertEqual([t[4] for t in out], [1.0, 1.0, 1.0])
        self.assertEqual([t[6] for t in out], [False, False, True])
        out = self.step(ns, 1.0)
        self.assertEqual(out, [])                        # a fresh window

    def test_truncation_bootstraps(self):
        ns = NStep(3, 1, 0.5)
        self.step(ns, 1.0)
        out = self.step(ns, 1.0, done=0.0, ended=True)
        self.assertEqual([t[4] for t in out], [0.0, 0.0])


class PolicyTest(unittest.TestCase):
    S, A, H, L = 3, 2, 5, 2

    def weights(self, **layout):
        rng = np.random.default_rng(1)
        sizes = layer_sizes(self.S, self.H, self.L, self.A)
        lay = dict(obs_dim=self.S, act_dim=self.A, hidden=self.H, layers=self.L, policy="squashed",
                   min_std=1e-3, env="Pendulum-v1")
        lay.update(layout)
        w = wire.pb.PolicyWeights(version=3, learner_step=30, layout=wire.pb.PolicyLayout(**lay))
        w.params.extend(rng.uniform(-1, 1, n_params(sizes)).astype(np.float32).tolist())
        return w

    def test_refusals(self):
        def reason(w, env="Pendulum-v1"):
            return check_weights(w, env, self.S, self.A)[1]
        self.assertIn("this actor runs", reason(self.weights(), env="Other-v0"))
        self.assertIn("this actor has obs", reason(self.weights(obs_dim=4)))
        self.assertIn("unknown policy type", reason(self.weights(policy="beta")))
        self.assertIn("bad network shape", reason(self.weights(hidden=0)))
        self.assertIn("bad network shape", reason(self.weights(layers=8)))
        self.assertIn("min_std", reason(self.weights(min_std=0.0)))
        self.assertIn("not a PolicyWeights", reason(None))
        w = self.weights()
        del w.params[-1]
        self.assertIn("the layout needs", reason(w))
        w = self.weights()
        w.params[5] = float("nan")
        self.assertIn("parameter 5 is not finite", reason(w))
        w = self.weights()
        w.params[0] = float("inf")
        self.assertIn("parameter 0 is not finite", reason(w))

    def test_forward_matches_the_layout(self):
        """The slow reference: layer l has W (out, in) row-major, then b (out), ReLU between."""
        w = self.weights()
        policy, reason = check_weights(w, "Pendulum-v1", self.S, self.A)
        self.assertEqual(reason, "")
        p = list(w.params)
        x = [[0.3, -0.2, 0.9], [1.0, 0.5, -2.0]]
        sizes = layer_sizes(self.S, self.H, self.L, self.A)
        ref = []
        for row in x:
            h, off = row, 0
            for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
                W, b = p[off:off + o * i], p[off + o * i:off + o * i + o]
                off += o * i + o
                h = [sum(W[r * i + c] * h[c] for c in range(i)) + b[r] for r in range(o)]
                if l < len(sizes) - 2:
                    h = [max(v, 0.0) for v in h]
            ref.append(h)
        np.testing.assert_allclose(policy.forward(np.array(x, np.float32)), ref, rtol=1e-5, atol=1e-6)
        mean = policy.act(np.array(x, np.float32), deterministic=True)
        np.testing.assert_allclose(mean, np.tanh(np.array(ref)[:, :self.A]), rtol=1e-5, atol=1e-6)
        rng = np.random.default_rng(0)
        a = policy.act(np.array(x * 500, np.float32), rng)
        self.assertTrue(np.all(np.abs(a) <= 1.0))
        gauss, _ = check_weights(self.weights(policy="gaussian"), "Pendulum-v1", self.S, self.A)
        np.testing.assert_allclose(gauss.act(np.array(x, np.float32), deterministic=True),
                                   np.array(ref)[:, :self.A], rtol=1e-5, atol=1e-6)

    def test_softplus(self):
        x = np.array([-30.0, 0.0, 5.0, 25.0, 1e6], np.float32)
        np.testing.assert_allclose(softplus(x), [math.log1p(math.exp(-30)), math.log(2), math.log1p(math.exp(5)),
                                                 25.0, 1e6], rtol=1e-6)


class Scripted:
    """An environment without spaces whose episodes end as told: 'term' or 'trunc' at step 3."""

    def __init__(self, how):
        self.how, self.t, self.resets = how, 0, []

    def reset(self, seed=None, options=None):
        self.resets.append(seed)
        self.t = 0
        return np.array([0.0, -1.0]), {}

    def step(self, action):
        self.t += 1
        end = self.t == 3
        return np.array([float(self.t), float(action[0])]), 1.0, end and self.how == "term", \
            end and self.how == "trunc", {}


class VecEnvTest(unittest.TestCase):
    def venv(self, how):
        return VecEnv(lambda: Scripted(how), 2, seed=7, obs_dim=2, act_dim=1, action_low=[-2.0], action_high=[4.0])

    def run3(self, v):
        for _ in range(3):
            out = v.step(np.array([[1.0], [-1.0]], np.float32))
        return out

    def test_truncation_is_not_terminal(self):
        v = self.venv("trunc")
        obs, action, reward, done, next_obs, ended, ret, length = self.run3(v)
        self.assertEqual(list(done), [0.0, 0.0])
        self.assertEqual(list(ended), [True, True])
        self.assertEqual(list(next_obs[:, 0]), [3.0, 3.0])   # the step's state, not the reset's
        self.assertEqual(list(v.cur[:, 1]), [-1.0, -1.0])    # the next step acts on the reset's
        self.assertEqual(list(ret), [3.0, 3.0])
        self.assertEqual(list(length), [3, 3])
        self.assertEqual(v.envs[1].resets, [1007, None])     # seed + 1000 k, then its own stream
        self.assertEqual(list(next_obs[:, 1]), [4.0, -2.0])  # policy space [-1, 1] -> [low, high]

    def test_termination_is_terminal(self):
        v = self.venv("term")
        _, _, _, done, _, ended, _, _ = self.run3(v)
        self.assertEqual(list(done), [1.0, 1.0])
        self.assertEqual(v.episodes, 2)

    def test_sizes_and_bounds(self):
        with self.assertRaises(ValueError):   # no spaces and no sizes
            VecEnv(lambda: Scripted("term"), 1, 0)
        with self.assertRaises(ValueError):   # disagreeing with the spaces
            VecEnv(Pendulum, 1, 0, obs_dim=4)
        with self.assertRaises(ValueError):
            VecEnv(Pendulum, 1, 0, action_low=[-1.0])
        v = VecEnv(Pendulum, 3, 0)
        self.assertEqual((v.S, v.A, list(v.low), list(v.high)), (3, 1, [-2.0], [2.0]))
        self.assertEqual(list(v.to_env(np.array([[-1.0], [0.0], [1.5]]))[:, 0]), [-2.0, 0.0, 2.0])

    def test_non_finite_observation(self):
        class Bad(Scripted):
            def step(self, action):
                return np.array([math.nan, 0.0]), 0.0, False, False, {}
        v = VecEnv(lambda: Bad("term"), 1, 0, obs_dim=2, act_dim=1, action_low=[-1], action_high=[1])
        with self.assertRaises(ValueError):
            v.step(np.zeros((1, 1), np.float32))


class PendulumTest(unittest.TestCase):
    def test_start_states_are_the_c_environments(self):
        # common/rng.c's numbers for these seeds (xoshiro256** through splitmix64), printed by C
        self.assertEqual(Rng(123).next(), 3628370374969813497)
        e = Pendulum()
        e.reset()                                      # never seeded: seed 0, as env/pendulum.c
        self.assertEqual(e.theta, 0.63625419010351481)
        o1, _ = e.reset(seed=5)
        self.assertEqual((e.theta, e.theta_dot), (-1.3294514623249492, 0.2041646662640213))
        np.testing.assert_array_equal(o1, np.array([math.cos(e.theta), math.sin(e.theta), e.theta_dot], np.float32))
        e.reset()                                      # the stream goes on
        self.assertEqual(e.theta, 0.93962982013492713)

    def test_facts(self):
        e = Pendulum()
        o1, _ = e.reset(seed=5)
        o2, _ = Pendulum().reset(seed=5)
        np.testing.assert_array_equal(o1, o2)
        e.theta, e.theta_dot = math.pi, 8.0            # the worst state, full torque
        obs, r, term, trunc, _ = e.step(np.array([2.0]))
        self.assertAlmostEqual(r, -(math.pi ** 2 + 0.1 * 64 + 0.001 * 4), places=6)
        self.assertEqual(e.theta_dot, 8.0)             # clipped speed
        e.theta, e.theta_dot = 0.5, 0.0
        e.step(np.array([5.0]))                        # torque clipped to 2
        nd = (3 * 10.0 / 2 * math.sin(0.5) + 3.0 * 2.0) * 0.05
        self.assertAlmostEqual(e.theta_dot, nd)
        self.assertAlmostEqual(e.theta, 0.5 + nd * 0.05)
        e.reset(seed=1)
        steps = 0
        while True:
            _, _, term, trunc, _ = e.step(np.array([0.0]))
            steps += 1
            self.assertFalse(term)
            if trunc:
                break
        self.assertEqual(steps, 200)


class ProtocolTest(unittest.TestCase):
    """The actor loop in a thread against a ROUTER played by the test: what it sends, in order."""

    def setUp(self):
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.stop = threading.Event()
        self.raised = []

    def tearDown(self):
        self.stop.set()
        self.thread.join(5)
        self.actor.close()
        self.router.close()
        self.ctx.term()

    def start(self, ack_timeout):
        # weights from a port nobody serves: the actor acts at random, which is all this needs
        self.actor = Actor(Pendulum, "tcp://127.0.0.1:%d" % self.port, "tcp://127.0.0.1:9", "Pendulum-v1",
                           actor_id="proto-test", actor_batch=4, actor_credit=2, ack_timeout=ack_timeout,
                           log_interval=100)

        def body():
            try:
                self.actor.run(stop=self.stop.is_set)
            except Refused as e:
                self.raised.append(e)
        self.thread = threading.Thread(target=body)
        self.thread.start()

    def recv(self):
        self.assertTrue(self.router.poll(5000), "the actor sent nothing within 5 s")
        self.ident, data = self.router.recv_multipart()
        msg, reason = wire.parse(data)
        self.assertIsNotNone(msg, reason)
        return msg

    def expect(self, *what):
        """The next messages: "hello", or a seq for a TransitionBatch."""
        for w in what:
            msg = self.recv()
            if w == "hello":
                self.assertEqual(msg.WhichOneof("body"), "hello")
                h = msg.hello
                self.assertEqual((h.role, h.env, h.obs_dim, h.act_dim, h.id),
                                 (wire.pb.ROLE_ACTOR, "Pendulum-v1", 3, 1, "proto-test"))
                self.assertNotEqual(h.incarnation, 0)
                self.assertEqual(h.incarnation, self.actor.incarnation)
            else:
                self.assertEqual(msg.WhichOneof("body"), "transitions")
                self.assertEqual((msg.transitions.seq, msg.transitions.n), (w, 4))

    def reply(self, **body):
        self.router.send_multipart([self.ident, wire.message(**body).SerializeToString()])

    def test_credit_and_resend_after_ack_timeout(self):
        self.start(ack_timeout=0.3)
        self.expect("hello")
        self.reply(ack=wire.pb.Ack(seq=0))
        self.expect(1, 2)                    # credit 2: then it waits
        self.assertFalse(self.router.poll(150))
        self.expect("hello", 1, 2)           # no ack within 0.3 s: hello, the same seqs again
        self.reply(ack=wire.pb.Ack(seq=0))
        self.reply(ack=wire.pb.Ack(seq=1))
        self.reply(ack=wire.pb.Ack(seq=2))
        # credit back: new seqs (a hello may come first: the actor knocks while nothing is in flight)
        seqs = []
        while len(seqs) < 2:
            msg = self.recv()
            if msg.WhichOneof("body") == "transitions":
                seqs.append(msg.transitions.seq)
        self.assertEqual(seqs, [3, 4])

    def test_no_hello_resyncs_at_once(self):
        self.start(ack_timeout=30.0)
        self.expect("hello")
        self.reply(ack=wire.pb.Ack(seq=0))
        self.expect(1, 2)
        time.sleep(1.1)                      # a burst of NO_HELLO resyncs once a second at most
        self.reply(error=wire.pb.Error(code=wire.pb.ERROR_NO_HELLO, reason="who are you"))
        self.expect("hello", 1, 2)

    def test_wrong_env_ends_the_actor(self):
        self.start(ack_timeout=30.0)
        self.expect("hello")
        self.reply(error=wire.pb.Error(code=wire.pb.ERROR_WRONG_ENV, reason="this server runs Other-v0"))
        self.thread.join(5)
        self.assertFalse(self.thread.is_alive())
        self.assertIn("Other-v0", str(self.raised[0]))


class CurveKeysTest(unittest.TestCase):
    """curve.py reads the files `mpo keygen` writes (common/curve.h's format) and refuses bad ones."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.pub, self.sec = (k.decode() for k in zmq.curve_keypair())

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_key_pair_and_server_keys(self):
        pair = self.write("a.key", "# a comment\npublic %s\nsecret %s\n" % (self.pub, self.sec))
        self.assertEqual(curve.read_key_pair(pair), (self.pub.encode(), self.sec.encode()))
        server = self.write("s.pub", "\n# first a comment\n%s replay\n" % self.pub)
        self.assertEqual(curve.read_server_key(server, "curve_replay_key"), self.pub.encode())
        self.assertEqual(curve.read_server_key(self.pub, "curve_replay_key"), self.pub.encode())
        keys = curve.from_options(pair, server, self.pub)
        self.assertEqual((keys.replay_key, keys.weights_key), (self.pub.encode(), self.pub.encode()))
        self.assertIsNone(curve.from_options())

    def test_refusals(self):
        other_pub = zmq.curve_keypair()[0].decode()
        cases = [
            ("public %s\nsecret %s\n" % (other_pub, self.sec), "is not the secret key's"),
            ("public %s\n" % self.pub, "lacks its secret key"),
            ("public %s\nsecret %s\nnonsense\n" % (self.pub, self.sec), "line 3"),
        ]
        for text, why in cases:
            with self.assertRaises(curve.CurveKeyError) as e:
                curve.read_key_pair(self.write("bad.key", text))
            self.assertIn(why, str(e.exception))
        with self.assertRaises(curve.CurveKeyError) as e:
            curve.read_server_key(self.write("bad.pub", "not-a-key x\n"), "curve_weights_key")
        self.assertIn("line 1: not a key", str(e.exception))
        with self.assertRaises(curve.CurveKeyError) as e:
            curve.read_server_key(os.path.join(self.dir, "missing"), "curve_weights_key")
        self.assertIn("cannot read", str(e.exception))
        with self.assertRaises(curve.CurveKeyError) as e:
            curve.from_options(None, self.pub, None)
        self.assertIn("need curve_key_file", str(e.exception))

    def test_client_events(self):
        self.assertEqual(curve.client_event(True, zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400, "X")[0], 2)
        said, line = curve.client_event(False, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, curve.MECHANISM_MISMATCH, "X")
        self.assertEqual(said, 2)
        self.assertIn("requires CURVE", line)
        self.assertEqual(curve.client_event(True, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 1, "X")[0], 1)
        said, line = curve.client_event(False, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 32, "X")
        self.assertEqual(said, 1)
        self.assertIn("if it requires CURVE: set curve_key_file", line)
        self.assertEqual(curve.client_event(True, zmq.EVENT_CONNECTED, 0, "X"), (0, None))


if __name__ == "__main__":
    unittest.main()
