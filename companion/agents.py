"""Trainers that put a network, a rule and a task together."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .network import DTYPE, sample, sample_deterministic_hidden
from .optim import Adam, as_schedules, layer_rates
from .rules import backprop_update, layer_log_prob_grads, map_update, reinforce_update, settle
from .rules.map_prop import output_mean

# name -> (how the network acts, which update it learns by)
LEARNERS = {
    "reinforce": (sample, reinforce_update),
    "backprop": (sample_deterministic_hidden, backprop_update),
    "map_propagation": (sample, partial(map_update, steps=20)),  # Algorithm 1 of [MAP], N = 20
}


def train_single_step(net, task, learner: str, batches: int, batch_size: int, lrs, seed: int = 0):
    """Train ``net`` in place on a single-step ``task`` (Algorithm 1 of [MAP]; REINFORCE is ``N = 0``).

    Each of ``batches`` updates draws ``batch_size`` states per run, acts, receives rewards and
    takes one Adam step per run with the batch-mean update. ``lrs`` gives one
    :class:`~companion.optim.LinearSchedule` (or a constant rate) per layer. Returns the mean
    reward of every batch, shape ``(R, batches)``.
    """
    if learner not in LEARNERS:
        raise ValueError(f"learner must be one of {tuple(LEARNERS)}, got {learner!r}")
    if len(lrs) != len(net.layers):
        raise ValueError(f"lrs must give one rate per layer ({len(net.layers)}), got {len(lrs)}")
    if batches < 1 or batch_size < 1:
        raise ValueError(f"batches and batch_size must be positive, got {batches!r} and {batch_size!r}")
    act, update = LEARNERS[learner]
    schedules = as_schedules(lrs)
    gen = torch.Generator().manual_seed(seed)
    opt = Adam(net.parameters())
    out_units = net.layers[-1].units
    rewards = torch.empty(net.runs, batches, dtype=torch.float64)
    for t in range(batches):
        state = task.sample(net.runs, batch_size, gen)
        values = act(net, state, gen)
        reward = task.reward(state, out_units.action(values[-1]))
        opt.step(update(net, values, reward), layer_rates(schedules, t))
        rewards[:, t] = reward.mean(1)
    return rewards


@dataclass
class ActorCriticConfig:
    """Settings of Algorithm 2 of [MAP] for an actor team and a critic team (Appendix C)."""

    actor_lrs: list  # one LinearSchedule (or rate) per actor layer, indexed by environment step
    critic_lrs: list
    actor_lambda: float
    critic_lambda: float
    gamma: float = 0.98
    steps: int = 20  # energy-minimisation steps N (0: global REINFORCE)


def per_run(x, like):
    """View a per-run vector ``x`` (shape ``(R,)``) so it broadcasts against ``like``."""
    return x.view((-1,) + (1,) * (like.dim() - 1))


def accumulate_traces(traces, grads, decay, fresh):
    """``z <- decay * z + grad`` (Algorithm 2, line 19); runs starting an episode (``fresh``) restart at 0."""
    keep = decay * (~fresh).to(grads[0].dtype)
    return [per_run(keep, z) * z + g for z, g in zip(traces, grads)]


def _learn(opt, traces, delta, schedules, t, mask):
    """Algorithm 2, line 14: ``W^l <- W^l + alpha_l * delta * z^l`` for the runs in ``mask``."""
    opt.step([per_run(delta, z) * z for z in traces], layer_rates(schedules, t), mask)


def train_actor_critic(actor, critic, envs, episodes: int, cfg: ActorCriticConfig, seed: int = 0,
                       action_map=None):
    """MAP Propagation actor-critic with eligibility traces (Algorithm 2 and Appendix C of [MAP]).

    One environment per run; every run learns online from its own transitions until it has
    finished ``episodes`` episodes. Per step: sample both teams at the state ``S'``; learn from
    the previous transition with ``delta = R + gamma * mu(S') - mu(S)`` (a transition into a
    terminal state learns at once with ``delta = R - mu(S)``; one cut off by the time limit
    is not learned from); settle both teams (eq. 8); add the settled log-probability gradients
    to the traces, the critic's divided by ``A - mu`` (eq. 68); act. Learning rates follow the
    schedules by environment step. Returns every episode's undiscounted return, ``(R, episodes)``.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    runs = actor.runs
    gen = torch.Generator().manual_seed(seed)
    schedules = {"actor": as_schedules(cfg.actor_lrs), "critic": as_schedules(cfg.critic_lrs)}
    actor_opt, critic_opt = Adam(actor.parameters()), Adam(critic.parameters())
    action_map = action_map or (lambda a: a.numpy())
    actor_traces = [torch.zeros_like(p) for p in actor.parameters()]
    critic_traces = [torch.zeros_like(p) for p in critic.parameters()]
    returns = np.zeros((runs, episodes))
    finished = np.zeros(runs, dtype=int)
    ep_return = np.zeros(runs)
    fresh = torch.ones(runs, dtype=torch.bool)  # first step of an episode: nothing to learn yet
    reward, mu_prev = torch.zeros(runs, dtype=DTYPE), torch.zeros(runs, dtype=DTYPE)
    obs = torch.as_tensor(envs.reset(), dtype=DTYPE)
    t = 0
    while (finished < episodes).any():
        active = torch.as_tensor(finished < episodes)
        state = obs.unsqueeze(1)
        a_values, c_values = sample(actor, state, gen), sample(critic, state, gen)
        mu = output_mean(critic, c_values)[:, 0]
        learn = ~fresh & active
        delta = reward + cfg.gamma * mu - mu_prev
        _learn(actor_opt, actor_traces, delta, schedules["actor"], t, learn)
        _learn(critic_opt, critic_traces, delta, schedules["critic"], t, learn)
        a_settled, c_settled = settle(actor, a_values, cfg.steps), settle(critic, c_values, cfg.steps)
        residual = c_settled[-1][..., 0] - output_mean(critic, c_settled)
        actor_traces = accumulate_traces(actor_traces, layer_log_prob_grads(actor, a_settled),
                                         cfg.gamma * cfg.actor_lambda, fresh)
        critic_traces = accumulate_traces(critic_traces, layer_log_prob_grads(critic, c_settled, 1.0 / residual),
                                          cfg.gamma * cfg.critic_lambda, fresh)
        action = action_map(actor.layers[-1].units.action(a_values[-1])[:, 0])
        next_obs, raw, clipped, term, trunc = envs.step(action, active.numpy())
        reward = torch.as_tensor(clipped, dtype=DTYPE)
        terminal = torch.as_tensor(term) & active
        _learn(actor_opt, actor_traces, reward - mu, schedules["actor"], t, terminal)
        _learn(critic_opt, critic_traces, reward - mu, schedules["critic"], t, terminal)
        ep_return += raw
        ended = (term | trunc) & active.numpy()
        for r in np.flatnonzero(ended):
            returns[r, finished[r]] = ep_return[r]
            finished[r] += 1
            ep_return[r] = 0.0
        fresh = torch.as_tensor(ended)
        obs, mu_prev = torch.as_tensor(next_obs, dtype=DTYPE), mu
        t += 1
    return returns
