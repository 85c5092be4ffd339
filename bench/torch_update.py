#!/usr/bin/env python3
"""PyTorch version of mpo's learner update, timed the way `mpo bench update` times ours.

A benchmark only: nothing builds or tests against it. It does the update of learner/mpo.c
(docs/algorithm.md) with the "squashed" default policy, at the same shapes and hyperparameters,
written as a PyTorch user would write it, so `make bench BENCH=update` can print PyTorch's
updates/s beside mpo's on the same core.

  python3 bench/torch_update.py [--obs 17] [--act 6] [--batch 256] [--samples 20] [--hidden 256]
                                [--threads 1] [--seconds 10] [--json] [--default-malloc] [--count-flops]
"""
import argparse
import ctypes
import ctypes.util
import math
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in (("obs", 17), ("act", 6), ("batch", 256), ("samples", 20), ("hidden", 256), ("threads", 1)):
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--default-malloc", action="store_true",
                   help="leave glibc malloc's thresholds alone (see keep_freed_memory)")
    p.add_argument("--count-flops", action="store_true",
                   help="also count one update's matrix-product FLOPs with torch.profiler")
    a = p.parse_args()
    for name in ("obs", "act", "batch", "samples", "hidden", "threads", "seconds"):
        if getattr(a, name) <= 0:
            p.error("--%s needs a positive value" % name)
    return a


def keep_freed_memory():
    """Stop glibc returning freed memory to the kernel. An update allocates and frees a dozen
    (B*N, hidden) activations of 5 MB; with glibc's default thresholds the heap is trimmed and
    regrown every update and each regrown page faults (about 20% of the time at HalfCheetah
    sizes). PyTorch's CPU tuning guide says to swap in jemalloc or tcmalloc for this; mallopt is
    the same effect without a package. mpo allocates its buffers once, so it needs neither."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 28))


ARGS = parse_args()
MALLOC_TUNED = not ARGS.default_malloc and keep_freed_memory()
# Debian's torch does its matrix products in OpenBLAS (as mpo does): pin its threads before loading it.
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# common/config.h defaults
GAMMA, TAU, LR, DUAL_LR, GRAD_CLIP, MIN_STD = 0.99, 0.005, 3e-4, 1e-2, 40.0, 1e-3
EPSILON, EPSILON_MEAN, EPSILON_STDDEV = 0.1, 1e-2, 1e-6
INIT_LOG_TEMPERATURE, INIT_LOG_ALPHA_MEAN, INIT_LOG_ALPHA_STDDEV = 10.0, 10.0, 1000.0
DUAL_MIN = -18.0  # free parameters of the duals are clamped below here
M = 1  # critic_action_samples


def mlp(inp, hidden, out):
    # nn.Linear's default initialisation is the one mpo uses
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden),
                         nn.ReLU(inplace=True), nn.Linear(hidden, out))


def critic_split(net, obs, act):
    """Q(s, a_r) of a target critic for R actions per state, (B, R, A) -> (B, R), no autograd.
    The first layer splits as W [s; a] = W_s s + W_a a, so the state half is computed once per
    state (as mpo does); rows stay 2-D and the activations are updated in place."""
    B, R, A = act.shape
    S = obs.shape[1]
    first, hidden, last = net[0], net[2], net[4]
    h = torch.mm(act.reshape(B * R, A), first.weight[:, S:].t()).view(B, R, -1)
    h.add_(F.linear(obs, first.weight[:, :S], first.bias).unsqueeze(1)).relu_()
    h = F.linear(h.view(B * R, -1), hidden.weight, hidden.bias).relu_()
    return F.linear(h, last.weight, last.bias).view(B, R)


def head(out, A):
    return out[..., :A], F.softplus(out[..., A:]) + MIN_STD


def gaussian_log_prob(u, mu, sigma):
    """log N(u; mu, sigma) summed over the action dimensions (u over pre-tanh samples)."""
    return (-0.5 * ((u - mu) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum(-1)


def dual(x):
    return F.softplus(x) + 1e-8


class MPO:
    def __init__(self, S, A, H, N):
        self.S, self.A, self.N = S, A, N
        self.actor = mlp(S, H, 2 * A)
        self.q1, self.q2 = mlp(S + A, H, 1), mlp(S + A, H, 1)
        self.target_actor, self.target_q1, self.target_q2 = (mlp(S, H, 2 * A), mlp(S + A, H, 1), mlp(S + A, H, 1))
        for t, o in ((self.target_actor, self.actor), (self.target_q1, self.q1), (self.target_q2, self.q2)):
            t.load_state_dict(o.state_dict())
            t.requires_grad_(False)
        self.critic_params = list(self.q1.parameters()) + list(self.q2.parameters())
        self.critic_targets = list(self.target_q1.parameters()) + list(self.target_q2.parameters())
        self.actor_params = list(self.actor.parameters())
        self.actor_targets = list(self.target_actor.parameters())
        # duals: eta and per-dimension alphas (eta_penalty is not used by the squashed policy)
        self.log_temperature = nn.Parameter(torch.tensor([INIT_LOG_TEMPERATURE]))
        self.log_alpha_mean = nn.Parameter(torch.full((A,), INIT_LOG_ALPHA_MEAN))
        self.log_alpha_stddev = nn.Parameter(torch.full((A,), INIT_LOG_ALPHA_STDDEV))
        self.duals = [self.log_temperature, self.log_alpha_mean, self.log_alpha_stddev]
        self.critic_opt = torch.optim.Adam(self.critic_params, lr=LR, foreach=True)
        self.actor_opt = torch.optim.Adam(self.actor_params, lr=LR, foreach=True)
        self.dual_opt = torch.optim.Adam(self.duals, lr=DUAL_LR, foreach=True)

    @staticmethod
    @torch.no_grad()
    def polyak(targets, params):
        # x' <- x' + tau (x - x')
        torch._foreach_add_(targets, torch._foreach_sub(params, targets), alpha=TAU)

    def update(self, obs, act, rew, next_obs, done):
        B, A, N = obs.shape[0], self.A, self.N
        # 0-2. Everything that reads only target networks: no autograd graph at all.
        with torch.inference_mode():
            mu_t2, sigma_t2 = head(self.target_actor(torch.cat([next_obs, obs])), A)
            mu_tn, sigma_tn, mu_t, sigma_t = mu_t2[:B], sigma_t2[:B], mu_t2[B:], sigma_t2[B:]
            # E-step samples from the target policy at s, scored by min of the target critics
            u = mu_t.unsqueeze(1) + sigma_t.unsqueeze(1) * torch.randn(B, N, A)
            a = torch.tanh(u)
            q = torch.min(critic_split(self.target_q1, obs, a), critic_split(self.target_q2, obs, a))  # (B, N)
            # critic target: M samples of the target policy at s'
            a_next = torch.tanh(mu_tn.unsqueeze(1) + sigma_tn.unsqueeze(1) * torch.randn(B, M, A))
            q_next = torch.min(critic_split(self.target_q1, next_obs, a_next),
                               critic_split(self.target_q2, next_obs, a_next)).mean(1)
            y = rew + GAMMA * (1.0 - done) * q_next
        # inference tensors cannot be saved for backward: the M-step and duals need these as ordinary ones
        q, u, mu_t, sigma_t, y = q.clone(), u.clone(), mu_t.clone(), sigma_t.clone(), y.clone()

        # 1. Critic: clipped double-Q regression, clip over both critics, Adam, Polyak
        sa = torch.cat([obs, act], 1)
        critic_loss = ((self.q1(sa).squeeze(-1) - y) ** 2 + (self.q2(sa).squeeze(-1) - y) ** 2).mean()
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        nn.utils.clip_grad_norm_(self.critic_params, GRAD_CLIP)
        self.critic_opt.step()
        self.polyak(self.critic_targets, self.critic_params)

        # 2-3. E-step weights per state (eta held fixed) and the temperature dual
        eta = dual(self.log_temperature)
        w = torch.softmax(q / eta.detach(), dim=1)                                # (B, N)
        temperature_loss = eta * EPSILON + eta * (torch.logsumexp(q / eta, 1) - math.log(N)).mean()

        # 4. M-step, decoupled: log N(u; mu, sigma') + log N(u; mu', sigma), per-dimension KL duals
        mu, sigma = head(self.actor(obs), A)
        u_ = u.transpose(0, 1)                                                    # (N, B, A)
        lp = gaussian_log_prob(u_, mu, sigma_t) + gaussian_log_prob(u_, mu_t, sigma)   # (N, B)
        nll = -(w.t() * lp).sum(0).mean()
        kl_mean = ((mu - mu_t) ** 2 / (2 * sigma_t ** 2)).mean(0)                   # (A)
        kl_std = (torch.log(sigma / sigma_t) + sigma_t ** 2 / (2 * sigma ** 2) - 0.5).mean(0)
        alpha_mean, alpha_std = dual(self.log_alpha_mean), dual(self.log_alpha_stddev)
        policy_loss = nll + (alpha_mean.detach() * kl_mean).sum() + (alpha_std.detach() * kl_std).sum()
        dual_loss = temperature_loss.sum() + (alpha_mean * (EPSILON_MEAN - kl_mean.detach())).sum() + \
            (alpha_std * (EPSILON_STDDEV - kl_std.detach())).sum()
        # the two losses share no parameters: one backward, then each group's own step
        self.actor_opt.zero_grad(set_to_none=True)
        self.dual_opt.zero_grad(set_to_none=True)
        (policy_loss + dual_loss).backward()
        nn.utils.clip_grad_norm_(self.actor_params, GRAD_CLIP)
        self.actor_opt.step()
        self.polyak(self.actor_targets, self.actor_params)
        self.dual_opt.step()
        with torch.no_grad():
            for d in self.duals:
                d.clamp_(min=DUAL_MIN)
        return critic_loss.detach(), policy_loss.detach()


def mlp_flops(rows, sizes):
    return sum(2.0 * rows * i * o for i, o in zip(sizes, sizes[1:]))


def flops_per_update(S, A, B, N, H):
    """learner/mpo.c's mpo_flops_per_update: the matrix products of one update."""
    actor, critic = [S, H, H, 2 * A], [S + A, H, H, 1]

    def split(rows_s, R):
        rows = rows_s * R
        return 2.0 * rows_s * S * H + 2.0 * rows * A * H + mlp_flops(rows, critic) - 2.0 * rows * (S + A) * H

    def backward(sizes, rows):
        return 2.0 * mlp_flops(rows, sizes) - 2.0 * rows * sizes[0] * sizes[1]

    f = mlp_flops(2 * B, actor) + 2 * split(B, M) + 2 * (mlp_flops(B, critic) + backward(critic, B))
    f += 2 * split(B, N) + mlp_flops(B, actor) + backward(actor, B)
    return f


def profiled_gflop(mpo, batch):
    """FLOPs of one update's matrix products as torch.profiler counts them (forward and backward)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        mpo.update(*batch)
    return sum(e.flops for e in prof.key_averages() if e.flops) / 1e9


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    S, A, B = a.obs, a.act, a.batch
    mpo = MPO(S, A, a.hidden, a.samples)
    # random transitions, fixed seed, uniform in [-1, 1], no terminals (as mpo bench update)
    g = torch.Generator().manual_seed(1)
    rnd = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1  # noqa: E731
    batch = (rnd(B, S), rnd(B, A), rnd(B), rnd(B, S), torch.zeros(B))

    for _ in range(3):  # warm up: allocator, thread pools, Adam state
        mpo.update(*batch)
    n, t0 = 0, time.perf_counter()
    while True:
        mpo.update(*batch)
        n += 1
        t = time.perf_counter() - t0
        if t >= a.seconds:
            break
    ups = n / t
    gflop = flops_per_update(S, A, B, a.samples, a.hidden) / 1e9
    counted = profiled_gflop(mpo, batch) if a.count_flops else None
    if a.json:
        import json
        out = {"bench": "pytorch_update", "obs": S, "act": A, "batch": B, "samples": a.samples,
               "hidden": a.hidden, "threads": a.threads, "updates": n, "seconds": round(t, 3),
               "updates_per_s": round(ups, 3), "gflop_per_update": round(gflop, 4),
               "gflop_per_s": round(gflop * ups, 2), "malloc_tuned": MALLOC_TUNED, "torch": torch.__version__}
        if counted is not None:
            out["profiler_gflop_per_update"] = round(counted, 4)
        print(json.dumps(out, separators=(",", ":")))
    else:
        extra = ", profiler counts %.3f GFLOP/update" % counted if counted is not None else ""
        print("pytorch update obs %d act %d batch %d N %d hidden %d threads %d: %.2f updates/s, "
              "%.3f GFLOP/update, %.1f GFLOP/s%s (torch %s%s)"
              % (S, A, B, a.samples, a.hidden, a.threads, ups, gflop, gflop * ups, extra, torch.__version__,
                 "" if MALLOC_TUNED else ", glibc malloc untuned"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
