"""n-step transitions from the one-step transitions of K environments (env/nstep.c in Python).

The transition from s_t keeps a_t, R = sum_{i<n} gamma^i r_{t+i} and the state s_{t+n} that the
learner bootstraps from with gamma^n, so n_step must be the learner's. A terminated episode ends
every open window with d = 1; a truncated one ends them with d = 0 (they bootstrap from the final
state with gamma^n, slightly off for the last n-1, as the C actor does). With n = 1 every
transition passes through unchanged.
"""
import collections

NSTEP_MAX = 64


class NStep:
    def __init__(self, n, num_envs, gamma):
        if not 1 <= n <= NSTEP_MAX:
            raise ValueError("n_step %d out of range [1, %d]" % (n, NSTEP_MAX))
        self.n, self.gamma = n, gamma
        self.pending = [collections.deque() for _ in range(num_envs)]  # (obs, action, reward)

    def push(self, obs, action, reward, done, next_obs, ended):
        """One step of the K environments (arrays with K rows; ended: the episode ended here,
        terminated or truncated). Returns the transitions it completes, as
        (k, obs, action, reward, done, next_obs, last) with last: the final transition of an
        episode that ended at this step."""
        out = []
        if self.n == 1:
            for k in range(len(reward)):
                out.append((k, obs[k], action[k], float(reward[k]), float(done[k]), next_obs[k],
                            bool(ended[k])))
            return out
        for k, window in enumerate(self.pending):
            window.append((obs[k].copy(), action[k].copy(), float(reward[k])))
            first = len(out)
            if len(window) == self.n:
                out.append(self._emit(k, window, next_obs[k], float(done[k])))
            if ended[k] or done[k]:
                while window:   # the episode ended: every window still open ends here
                    out.append(self._emit(k, window, next_obs[k], float(done[k])))
            if (ended[k] or done[k]) and len(out) > first:
                out[-1] = out[-1][:6] + (True,)
        return out

    def _emit(self, k, window, next_obs, done):
        total, disc = 0.0, 1.0
        for _, _, r in window:
            total += disc * r
            disc *= self.gamma
        o, a, _ = window.popleft()
        return (k, o, a, total, done, next_obs, False)
