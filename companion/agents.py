"""Trainers that put a network, a rule and a task together."""
from __future__ import annotations

import torch

from .network import sample, sample_deterministic_hidden
from .optim import Adam, LinearSchedule, layer_rates
from .rules import backprop_update, reinforce_update

# name -> (how the network acts, which update it learns by)
LEARNERS = {
    "reinforce": (sample, reinforce_update),
    "backprop": (sample_deterministic_hidden, backprop_update),
}


def train_single_step(net, task, learner: str, batches: int, batch_size: int, lrs, seed: int = 0):
    """Train ``net`` in place on a single-step ``task`` (Algorithm 1 with ``N = 0`` for REINFORCE).

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
    schedules = [lr if isinstance(lr, LinearSchedule) else LinearSchedule(lr) for lr in lrs]
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
