"""Pendulum-v1 in plain Python: Gymnasium's dynamics, as env/pendulum.c has them.

The replay server and the learner know Pendulum-v1 by name and sizes (obs 3: cos, sin, angular
velocity; act 1: torque in [-2, 2]); this class is the same task on the Python side, for
examples, the test and the benchmark. Like Gymnasium's registered Pendulum-v1 (its TimeLimit
wrapper included) it never terminates and truncates after 200 steps. Its start states come from
the C environment's generator (common/rng.c: xoshiro256** seeded through splitmix64, seed 0 until
reset with one), so reset(seed=s) starts where the C Pendulum-v1 does, and with the same actions
an episode is the C environment's, step for step (both integrate in double).
"""
import math

import numpy as np

from .vec_env import Box

MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0


M64 = 0xFFFFFFFFFFFFFFFF


class Rng:
    """common/rng.c's generator: xoshiro256**, seeded through splitmix64; uniform() has 53 bits."""

    def __init__(self, seed=0):
        x, self.s = seed & M64, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64  # noqa: E731
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self, lo, hi):
        return lo + (hi - lo) * ((self.next() >> 11) * 2.0 ** -53)


def angle_normalize(x):
    """((x + pi) mod 2 pi) - pi with Python's non-negative modulo."""
    return ((x + math.pi) % (2.0 * math.pi)) - math.pi


class Pendulum:
    def __init__(self, max_episode_steps=200):
        self.max_episode_steps = max_episode_steps
        self.observation_space = Box([-1.0, -1.0, -MAX_SPEED], [1.0, 1.0, MAX_SPEED])
        self.action_space = Box([-MAX_TORQUE], [MAX_TORQUE])
        self.rng = Rng(0)
        self.theta = self.theta_dot = 0.0
        self.t = 0

    def _obs(self):
        return np.array([math.cos(self.theta), math.sin(self.theta), self.theta_dot], np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = Rng(seed)
        self.theta = self.rng.uniform(-math.pi, math.pi)
        self.theta_dot = self.rng.uniform(-1.0, 1.0)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        u = min(max(float(np.asarray(action).ravel()[0]), -MAX_TORQUE), MAX_TORQUE)
        th, thdot = self.theta, self.theta_dot
        cost = angle_normalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2
        thdot = thdot + (3.0 * G / (2.0 * L) * math.sin(th) + 3.0 / (M * L * L) * u) * DT
        thdot = min(max(thdot, -MAX_SPEED), MAX_SPEED)
        self.theta, self.theta_dot = th + thdot * DT, thdot
        self.t += 1
        return self._obs(), -cost, False, self.t >= self.max_episode_steps, {}
