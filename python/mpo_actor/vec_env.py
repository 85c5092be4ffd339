"""K environments with Gymnasium's API, stepped together the way the C actor steps its own.

Any object works that has reset(seed=...) -> (obs, info) and step(action) -> (obs, reward,
terminated, truncated, info). Sizes and action bounds come from its observation_space and
action_space when it has Gymnasium-like spaces (anything with .shape, and .low/.high for
actions), else from the arguments. One step maps the K policy-space actions to the environment's
bounds (low + (a + 1)(high - low)/2, clipped; nn/policy.h's policy_to_env), steps every
instance, and reports K transitions (s, a, r, d, s') in which d is 1 only when the environment
says `terminated`: a `truncated` episode (a time limit) is reset with d = 0, so the critic
bootstraps through it, and s' is the state the step reached, never the reset's (env/vec_env.c).
"""
import numpy as np

RECENT_EPISODES = 10   # VEC_ENV_RECENT_EPISODES: the progress line's "return (last n)"
SEED_STRIDE = 1000     # VEC_ENV_SEED_STRIDE: environment k is first reset with seed + k * 1000


class Box:
    """The attributes of gymnasium.spaces.Box this package reads (low, high, shape), for
    environments written without Gymnasium."""

    def __init__(self, low, high):
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        self.shape = self.low.shape


def _size(space, given, what):
    shape = getattr(space, "shape", None) if space is not None else None
    have = int(np.prod(shape)) if shape is not None else None
    if given is None and have is None:
        raise ValueError("the environment has no %s_space: pass %s_dim" % (what, what))
    if given is not None and have is not None and given != have:
        raise ValueError("%s_dim %d, but the environment's %s_space has %d" % (what, given, what, have))
    return given if given is not None else have


def _bounds(space, given, A, what):
    have = getattr(space, what, None) if space is not None else None
    if given is None and have is None:
        raise ValueError("the environment has no action_space: pass action_low and action_high")
    value = np.broadcast_to(np.asarray(given if given is not None else have, dtype=np.float32).ravel(), (A,)).copy()
    if given is not None and have is not None and not np.array_equal(value, np.asarray(have, np.float32).ravel()):
        raise ValueError("action_%s %s, but the environment's action_space has %s" % (what, value, have))
    if not np.all(np.isfinite(value)):
        raise ValueError("action %s %s is not finite: policy actions in [-1, 1] need finite bounds"
                         % (what, value))
    return value


def _observation(obs, S, k):
    o = np.asarray(obs, dtype=np.float32).ravel()
    if o.size != S:
        raise ValueError("environment %d returned an observation of %d values, expected %d" % (k, o.size, S))
    if not np.all(np.isfinite(o)):
        # the replay server refuses the whole batch: say so here, where the fault is
        raise ValueError("environment %d returned a non-finite observation %s" % (k, o))
    return o


class VecEnv:
    def __init__(self, env_fn, num_envs, seed, obs_dim=None, act_dim=None, action_low=None,
                 action_high=None):
        if num_envs < 1:
            raise ValueError("%d environments (at least 1)" % num_envs)
        self.envs = [env_fn() for _ in range(num_envs)]
        e = self.envs[0]
        obs_space, act_space = getattr(e, "observation_space", None), getattr(e, "action_space", None)
        self.K = num_envs
        self.S = _size(obs_space, obs_dim, "obs")
        self.A = _size(act_space, act_dim, "act")
        self.low = _bounds(act_space, action_low, self.A, "low")
        self.high = _bounds(act_space, action_high, self.A, "high")
        if np.any(self.high <= self.low):
            raise ValueError("action bounds low %s, high %s" % (self.low, self.high))
        self.cur = np.empty((self.K, self.S), np.float32)   # what the next step acts on
        self.ep_return = np.zeros(self.K)
        self.ep_length = np.zeros(self.K, np.int64)
        self.steps = self.episodes = 0
        self.recent = []
        for k, env in enumerate(self.envs):
            self.cur[k] = _observation(first_obs(env.reset(seed=(seed + k * SEED_STRIDE) % 2**64)), self.S, k)

    def to_env(self, action):
        """Policy-space actions (K, A) in the environments' units."""
        return np.clip(self.low + (action + 1.0) * 0.5 * (self.high - self.low), self.low, self.high)

    def step(self, action):
        """Step every environment with its policy-space action (K, A). Returns (obs, action,
        reward, done, next_obs, ended, ep_return, ep_length): the K transitions, and where ended,
        the finished episode's return and length (that environment is reset already)."""
        K, S = self.K, self.S
        obs = self.cur.copy()
        action = np.asarray(action, dtype=np.float32).reshape(K, self.A)
        env_action = self.to_env(action)
        reward = np.empty(K, np.float32)
        done = np.zeros(K, np.float32)
        next_obs = np.empty((K, S), np.float32)
        ended = np.zeros(K, bool)
        ep_return = np.zeros(K)
        ep_length = np.zeros(K, np.int64)
        for k, env in enumerate(self.envs):
            result = env.step(env_action[k])
            if len(result) != 5:
                raise TypeError("environment %d: step() returned %d values; the Gymnasium API returns "
                                "(obs, reward, terminated, truncated, info)" % (k, len(result)))
            o, r, terminated, truncated, _ = result
            next_obs[k] = _observation(o, S, k)
            reward[k] = r
            if not np.isfinite(reward[k]):
                raise ValueError("environment %d returned a non-finite reward %r" % (k, r))
            done[k] = 1.0 if terminated else 0.0   # truncation is not a terminal state
            self.ep_return[k] += float(reward[k])
            self.ep_length[k] += 1
            if terminated or truncated:
                ended[k] = True
                ep_return[k], ep_length[k] = self.ep_return[k], self.ep_length[k]
                self.recent = (self.recent + [self.ep_return[k]])[-RECENT_EPISODES:]
                self.episodes += 1
                self.ep_return[k], self.ep_length[k] = 0.0, 0
                self.cur[k] = _observation(first_obs(env.reset()), S, k)   # its own RNG stream goes on
            else:
                self.cur[k] = next_obs[k]
        self.steps += K
        return obs, action, reward, done, next_obs, ended, ep_return, ep_length

    def recent_mean(self):
        """(mean return of the last RECENT_EPISODES episodes or 0, how many)."""
        return (float(np.mean(self.recent)) if self.recent else 0.0), len(self.recent)


def first_obs(reset_result):
    """reset() returns (obs, info) in Gymnasium; tolerate a bare observation."""
    return reset_result[0] if isinstance(reset_result, tuple) else reset_result
