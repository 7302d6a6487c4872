"""Trainers that put a network, a rule and a task together."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .checks import integer, one_of, real
from .network import DTYPE, sample, sample_deterministic_hidden
from .optim import BlockAdam, as_schedules, layer_rates
from .rules import (backprop_update, critic_update, map_update, reinforce_update, reparam_squared_error_grads,
                    ste_update, weight_max_update)
from .paired import PairedTeams
from .teams import (ANNActor, ANNCritic, RuleActor, SeparateTeams, TeamActor, TeamCritic,
                    TracedWeightMaxActor)


def backprop_squared_error(net, values, target) -> list:
    """Gradient descent on the squared error ``(y - mu_L)^2`` of an ordinary network, as an ascent direction."""
    return [-g for g in reparam_squared_error_grads(net, values, target)]


# name -> (how the network acts, which update it learns by, whether the update gets the reward or the target)
LEARNERS = {
    "reinforce": (sample, reinforce_update, "reward"),
    "backprop": (sample_deterministic_hidden, backprop_update, "reward"),
    "map_propagation": (sample, partial(map_update, steps=20), "reward"),  # Algorithm 1 of [MAP], N = 20
    "map_propagation_sl": (sample, partial(critic_update, steps=20), "target"),  # Appendix C of [MAP]
    "backprop_sl": (sample_deterministic_hidden, backprop_squared_error, "target"),
    "weight_max": (sample, weight_max_update, "reward"),  # eqs. 5-6 of [REVIEW], Bernoulli teams
    "ste": (sample, ste_update, "reward"),  # backprop through Bernoulli units, straight-through
}


def train_single_step(net, task, learner: str, batches: int, batch_size: int, lrs, seed: int = 0, on_batch=None,
                      settle_steps: int | None = None):
    """Train ``net`` in place on a single-step ``task`` (Algorithm 1 of [MAP]; REINFORCE is ``N = 0``).

    Each of ``batches`` updates draws ``batch_size`` states per run, acts, receives rewards and
    takes one Adam step per run with the batch-mean update (supervised learners get the
    task's target instead of the reward). ``settle_steps`` overrides the ``N = 20`` settling
    steps of the MAP Propagation learners. ``lrs`` gives one
    :class:`~companion.optim.LinearSchedule` (or a constant rate) per layer. Returns the mean
    reward of every batch, shape ``(R, batches)``.
    """
    one_of("learner", learner, LEARNERS)
    if not isinstance(lrs, (list, tuple)) or len(lrs) != len(net.layers):
        raise ValueError(f"lrs must give one rate per layer ({len(net.layers)}), got {lrs!r}")
    batches, batch_size = integer("batches", batches), integer("batch_size", batch_size)
    seed = integer("seed", seed, 0)
    act, update, signal = LEARNERS[learner]
    if settle_steps is not None:
        settle_steps = integer("settle_steps", settle_steps, 0)
        if "steps" not in getattr(update, "keywords", {}):
            raise ValueError(f"settle_steps applies to the MAP Propagation learners only, not to {learner!r}")
        update = partial(update.func, steps=settle_steps)
    schedules = as_schedules(lrs)
    gen = torch.Generator().manual_seed(seed)
    opt = BlockAdam(net.parameters())
    out_units = net.layers[-1].units
    rewards = torch.empty(net.runs, batches, dtype=torch.float64)
    for t in range(batches):
        state = task.sample(net.runs, batch_size, gen)
        values = act(net, state, gen)
        reward = task.reward(state, out_units.action(values[-1]))
        opt.step(update(net, values, reward if signal == "reward" else task.target(state)), layer_rates(schedules, t))
        rewards[:, t] = reward.mean(1)
        check_finite(net, rewards[:, t], t)
        if on_batch is not None:
            on_batch(net.runs)
    return rewards


def check_finite(net, reward, t: int) -> None:
    """Stop with a :class:`FloatingPointError` naming the runs whose weights or batch reward are not finite."""
    bad = ~torch.isfinite(reward)
    for p in net.parameters():
        bad |= ~torch.isfinite(p.flatten(1)).all(1)
    if bad.any():
        raise FloatingPointError(f"non-finite weights or rewards in run(s) {bad.nonzero()[:, 0].tolist()} of the "
                                 f"batch after batch {t}")


@dataclass
class ActorCriticConfig:
    """Settings of Algorithm 2 of [MAP] for an actor team and a critic team (Appendix C)."""

    actor_lrs: list  # one LinearSchedule (or rate) per actor layer, indexed by environment step
    critic_lrs: list
    actor_lambda: float
    critic_lambda: float
    gamma: float = 0.98
    steps: int = 20  # energy-minimisation steps N (0: global REINFORCE)
    actor_kind: str = "team"  # "team" (REINFORCE / MAP Prop), "weight_max", "ste" (Bernoulli teams) or "ann"
    critic_kind: str = "team"
    explore: float = 1.0  # probability that a hidden unit of a team actor explores (Thomas 2011 baseline)

    def __post_init__(self):
        for name in ("actor_lambda", "critic_lambda", "gamma"):
            setattr(self, name, real(name, getattr(self, name), 0.0, 1.0))
        self.explore = real("explore", self.explore, 0.0, 1.0, open_low=True)
        self.steps = integer("steps", self.steps, 0)
        kinds = {"actor_kind": ("team", "ann", "weight_max", "ste", "weight_max_async", "weight_max_topdown"),
                 "critic_kind": ("team", "ann")}
        for name, allowed in kinds.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")


def train_actor_critic(actor, critic, envs, episodes: int, cfg: ActorCriticConfig, seed: int = 0,
                       action_map=None, fused: bool = True, compile: bool = False, max_steps: int | None = None,
                       on_episode=None, record_episodes=()):
    """MAP Propagation actor-critic with eligibility traces (Algorithm 2 and Appendix C of [MAP]).

    One environment per run; every run learns online from its own transitions until it has
    finished ``episodes`` episodes. Per step: sample both teams at the state ``S'``; learn from
    the previous transition with ``delta = R + gamma * mu(S') - mu(S)`` (a transition into a
    terminal state learns at once with ``delta = R - mu(S)``; one cut off by the time limit
    is not learned from); settle both teams (eq. 8); add the settled log-probability gradients
    to the traces, the critic's divided by ``A - mu`` (eq. 68); act. Learning rates follow the
    schedules by environment step. ``fused`` picks :class:`~companion.paired.PairedTeams` (fast)
    over :class:`~companion.teams.SeparateTeams` (the reference); both give the same run;
    ``compile`` compiles the fused settling loop with ``torch.compile``.
    ``max_steps`` stops every run after that many environment steps (for benchmarks);
    ``on_episode(n)`` is called whenever ``n`` episodes have just ended. Non-finite weights stop
    the run with a :class:`FloatingPointError` naming the runs and the step.
    Returns every episode's undiscounted return, ``(R, episodes)`` (0 where not reached); with
    ``record_episodes`` (0-based episode indices) also the states visited in those episodes,
    ``(R, len(record_episodes), T, n_obs)`` padded with NaN (``T`` = the time limit + 1).
    """
    episodes, seed = integer("episodes", episodes), integer("seed", seed, 0)
    max_steps = None if max_steps is None else integer("max_steps", max_steps)
    runs = actor.runs
    gen = torch.Generator().manual_seed(seed)
    if cfg.actor_kind == cfg.critic_kind == "team" and cfg.explore == 1 and fused:
        teams = PairedTeams(actor, critic, cfg, compile)
    else:
        actors = {"team": lambda: TeamActor(actor, cfg.steps, cfg.explore), "ann": lambda: ANNActor(actor),
                  "weight_max": lambda: RuleActor(actor, weight_max_update), "ste": lambda: RuleActor(actor, ste_update),
                  "weight_max_async": lambda: TracedWeightMaxActor(actor, cfg.actor_lrs, cfg.gamma * cfg.actor_lambda, 1),
                  "weight_max_topdown": lambda: TracedWeightMaxActor(actor, cfg.actor_lrs, cfg.gamma * cfg.actor_lambda, 0)}
        critics = {"team": lambda: TeamCritic(critic, cfg.steps), "ann": lambda: ANNCritic(critic)}
        teams = SeparateTeams(actors[cfg.actor_kind](), critics[cfg.critic_kind](), cfg)
    action_map = action_map or (lambda a: a.numpy())
    returns = np.zeros((runs, episodes))
    finished = np.zeros(runs, dtype=int)
    ep_return = np.zeros(runs)
    fresh = torch.ones(runs, dtype=torch.bool)  # first step of an episode: nothing to learn yet
    reward, mu_prev = torch.zeros(runs, dtype=DTYPE), torch.zeros(runs, dtype=DTYPE)
    obs = torch.as_tensor(envs.reset(), dtype=DTYPE)
    record = {e: i for i, e in enumerate(record_episodes)}
    limit = envs.envs[0].spec.max_episode_steps or 10_000
    states = np.full((runs, len(record), limit + 1, envs.n_obs), np.nan)
    ep_step = np.zeros(runs, dtype=int)
    t = 0
    while (finished < episodes).any() and t != max_steps:
        active = torch.as_tensor(finished < episodes)
        for r in range(runs) if record else ():
            if active[r] and finished[r] in record:
                states[r, record[finished[r]], ep_step[r]] = obs[r].numpy()
        mu = teams.act(obs.unsqueeze(1), gen)
        teams.learn(reward + cfg.gamma * mu - mu_prev, t, ~fresh & active)
        teams.settle_and_trace(fresh)
        next_obs, raw, clipped, term, trunc = envs.step(action_map(teams.action()), active.numpy())
        reward = torch.as_tensor(clipped, dtype=DTYPE)
        teams.learn(reward - mu, t, torch.as_tensor(term) & active)
        ep_return += raw
        ep_step += 1
        ended = (term | trunc) & active.numpy()
        for r in np.flatnonzero(ended):
            returns[r, finished[r]] = ep_return[r]
            finished[r] += 1
            ep_return[r] = 0.0
            ep_step[r] = 0
        if ended.any():
            teams.check_finite(t)
            if on_episode is not None:
                on_episode(int(ended.sum()))
        fresh = torch.as_tensor(ended)
        obs, mu_prev = torch.as_tensor(next_obs, dtype=DTYPE), mu
        t += 1
    teams.finish()
    return (returns, states) if record else returns
