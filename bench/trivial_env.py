"""An environment that costs nothing: Pendulum-v1's sizes (obs 3, act 1), zero observations and
rewards, episodes of 200 steps; what the Python actor costs per step is then all there is to time
(bench/actor_overhead.sh)."""
import numpy as np


class Trivial:
    def __init__(self):
        self.obs = np.zeros(3, np.float32)
        self.t = 0

    def reset(self, seed=None, options=None):
        self.t = 0
        return self.obs, {}

    def step(self, action):
        self.t += 1
        return self.obs, 0.0, False, self.t >= 200, {}
