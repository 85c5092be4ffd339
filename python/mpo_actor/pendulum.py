"""Pendulum-v1 in plain Python: Gymnasium's dynamics, as env/pendulum.c has them.

The replay server and the learner know Pendulum-v1 by name and sizes (obs 3: cos, sin, angular
velocity; act 1: torque in [-2, 2]); this class is the same task on the Python side, for
examples, the test and the benchmark. Like Gymnasium's registered Pendulum-v1 (its TimeLimit
wrapper included) it never terminates and truncates after 200 steps. Its start states come from
its own numpy Generator, so its episodes are not the C environment's bit for bit.
"""
import math

import numpy as np

from .vec_env import Box

MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0


def angle_normalize(x):
    """((x + pi) mod 2 pi) - pi with Python's non-negative modulo."""
    return ((x + math.pi) % (2.0 * math.pi)) - math.pi


class Pendulum:
    def __init__(self, max_episode_steps=200):
        self.max_episode_steps = max_episode_steps
        self.observation_space = Box([-1.0, -1.0, -MAX_SPEED], [1.0, 1.0, MAX_SPEED])
        self.action_space = Box([-MAX_TORQUE], [MAX_TORQUE])
        self.np_random = np.random.default_rng()
        self.theta = self.theta_dot = 0.0
        self.t = 0

    def _obs(self):
        return np.array([math.cos(self.theta), math.sin(self.theta), self.theta_dot], np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.theta = float(self.np_random.uniform(-math.pi, math.pi))
        self.theta_dot = float(self.np_random.uniform(-1.0, 1.0))
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
