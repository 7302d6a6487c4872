"""Trainers that put a network, a rule and a task together."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .checks import integer, one_of, real
from .network import DTYPE, check_explore, sample, sample_deterministic_hidden, sample_exploring_some
from .optim import BlockAdam, as_schedules, check_runs, layer_rates
from .paired import PairedTeams
from .rules import (
    backprop_update,
    critic_update,
    map_update,
    reinforce_update,
    reparam_squared_error_grads,
    ste_update,
    weight_max_update,
)
from .teams import ACTORS, CRITICS, SeparateTeams


def backprop_squared_error(net, values, target) -> list:
    """Gradient descent on the squared error ``(y - mu_L)^2`` of an ordinary network, as an ascent direction."""
    return [-g for g in reparam_squared_error_grads(net, values, target)]


# name -> (how the network acts, which update it learns by, whether the update gets the reward or the target)
LEARNERS = {
    "reinforce": (sample, reinforce_update, "reward"),
    "backprop": (sample_deterministic_hidden, backprop_update, "reward"),
    "map_propagation": (sample, partial(map_update, settle_steps=20), "reward"),  # Algorithm 1 of [MAP], N = 20
    "map_propagation_sl": (sample, partial(critic_update, settle_steps=20), "target"),  # Appendix C of [MAP]
    "backprop_sl": (sample_deterministic_hidden, backprop_squared_error, "target"),
    "weight_max": (sample, weight_max_update, "reward"),  # eqs. 5-6 of [REVIEW], Bernoulli teams
    "ste": (sample, ste_update, "reward"),  # backprop through Bernoulli units, straight-through
}


def train_single_step(net, task, learner: str, episodes: int, batch_size: int, lrs, seed: int = 0,
                      on_episode=None, settle_steps: int | None = None, explore: float = 1.0):
    """Train ``net`` in place on a single-step ``task`` (Algorithm 1 of [MAP]; REINFORCE is ``N = 0``).

    Each of ``episodes`` updates (the registry's episodes of a single-step task) draws
    ``batch_size`` states per run, acts, receives rewards and takes one Adam step per run with
    the batch-mean update (supervised learners get the task's target instead of the reward).
    The loop follows the steps of chapter 3's algorithm for single-step tasks.
    ``settle_steps`` overrides the ``N = 20`` settling steps of the MAP Propagation learners;
    ``explore`` below 1 makes each hidden unit of the ``"reinforce"`` learner explore only with that
    probability (our reading of Thomas 2011, :func:`~companion.network.sample_exploring_some`),
    one number or (a sweep's) one per run.
    ``lrs`` gives one :class:`~companion.optim.LinearSchedule` (or a constant rate) per layer;
    ``on_episode(n)`` is called after every update with the ``n`` runs that made it. Returns the
    mean reward of every update, shape ``(R, episodes)``.
    """
    one_of("learner", learner, LEARNERS)
    if not isinstance(lrs, (list, tuple)) or len(lrs) != len(net.layers):
        raise ValueError(f"lrs must give one rate per layer ({len(net.layers)}), got {lrs!r}")
    episodes, batch_size = integer("episodes", episodes), integer("batch_size", batch_size)
    seed = integer("seed", seed, 0)
    act, update, signal = LEARNERS[learner]
    if settle_steps is not None:
        settle_steps = integer("settle_steps", settle_steps, 0)
        if "settle_steps" not in getattr(update, "keywords", {}):
            raise ValueError(f"settle_steps applies to the MAP Propagation learners only, not to {learner!r}")
        update = partial(update.func, settle_steps=settle_steps)
    probs = check_explore(explore, net.runs)
    if (probs < 1).any():
        if learner != "reinforce":
            raise ValueError(f"explore must be 1 with learner {learner!r} (only 'reinforce' explores partly), "
                             f"got {explore!r}")
        probs = probs.item() if probs.dim() == 0 else probs  # a number, or one per run

        def act(net, state, gen, checked=False):
            return sample_exploring_some(net, state, probs, gen, checked)
    schedules = as_schedules(lrs)
    check_runs(schedules, net.runs, "lrs")
    gen = torch.Generator().manual_seed(seed)
    opt = BlockAdam(net.parameters())
    out_units = net.layers[-1].units
    rewards = torch.empty(net.runs, episodes, dtype=torch.float64)
    for t in range(episodes):
        state = task.sample(net.runs, batch_size, gen)  # step 1
        values = act(net, state, gen, checked=t > 0)  # step 2 (the task's states checked once)
        reward = task.reward(state, out_units.action(values[-1]))  # step 3
        grads = update(net, values, reward if signal == "reward" else task.target(state))  # steps 4 and 5
        opt.step(grads, layer_rates(schedules, t))  # step 6
        rewards[:, t] = reward.mean(1)
        check_finite(net, rewards[:, t], t)
        if on_episode is not None:
            on_episode(net.runs)
    return rewards


def check_finite(net, reward, t: int) -> None:
    """Stop with a :class:`FloatingPointError` naming the runs whose weights or batch reward are not finite."""
    finite = torch.isfinite(torch.cat([reward.unsqueeze(1)] + [p.flatten(1) for p in net.parameters()], 1)).all(1)
    if not finite.all():
        raise FloatingPointError(f"non-finite weights or rewards in run(s) {(~finite).nonzero()[:, 0].tolist()} of the "
                                 f"batch after update {t}")


MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; absent elsewhere
TRIM_EVERY = 2_000  # environment steps between two calls of return_freed_memory in train_actor_critic


def return_freed_memory() -> None:
    """Hand the pages that the C allocator holds free back to the system (``malloc_trim``; glibc only).

    Before glibc 2.38, a block from ``posix_memalign`` (how PyTorch allocates a tensor) is rarely
    reused once freed (glibc bug 14581), so a run that makes tensors of a few hundred kilobytes
    every step keeps taking fresh memory: the Weight Max paper's LunarLander sweeps reached 13 GB
    in 11 minutes. Handing the freed pages back keeps the resident memory low (about 0.3 GB over 150
    episodes of 12 runs) at no measurable cost, though the address space still grows; preloading
    jemalloc avoids both (README, Reproduce).
    """
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


PER_RUN_SETTINGS = ("actor_lambda", "critic_lambda", "explore")  # settings a sweep may give one value per run


def per_run_real(name: str, value, low: float, high: float, open_low: bool = False):
    """A setting that is a number in its range, or (a sweep's) one such number per run as an array."""
    if np.ndim(value) == 0:
        return real(name, value, low, high, open_low=open_low)
    return np.array([real(f"{name}[{r}]", v, low, high, open_low=open_low) for r, v in enumerate(value)])


@dataclass
class ActorCriticConfig:
    """Settings of Algorithm 2 of [MAP] for an actor and a critic (Appendix C)."""

    actor_lrs: list  # one LinearSchedule (or rate) per actor layer, indexed by environment step
    critic_lrs: list
    actor_lambda: float
    critic_lambda: float
    gamma: float = 0.98
    settle_steps: int = 20  # settling steps N (0: global REINFORCE)
    actor_kind: str = "team"  # a name in teams.ACTORS: "team" (REINFORCE / MAP Prop), "weight_max", "ann", ...
    critic_kind: str = "team"  # a name in teams.CRITICS: "team" or "ann"
    explore: float = 1.0  # probability that a hidden unit of a team actor explores (Thomas 2011 baseline)
    # a sweep gives the lambdas and explore one value per run, and the rates per-run schedules

    def __post_init__(self):
        self.actor_lambda, self.critic_lambda = (per_run_real(name, getattr(self, name), 0.0, 1.0)
                                                 for name in ("actor_lambda", "critic_lambda"))
        self.gamma = real("gamma", self.gamma, 0.0, 1.0)
        self.explore = per_run_real("explore", self.explore, 0.0, 1.0, open_low=True)
        self.settle_steps = integer("settle_steps", self.settle_steps, 0)
        for name, allowed in (("actor_kind", ACTORS), ("critic_kind", CRITICS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {tuple(allowed)}, got {getattr(self, name)!r}")


def make_teams(actor, critic, cfg: ActorCriticConfig, fused: bool = True, compiled: bool = False):
    """The actor and critic parts that ``cfg`` names, learning together: two MAP Propagation teams
    are fused into :class:`~companion.paired.PairedTeams` (fast) when ``fused``, any other pair
    is a :class:`~companion.teams.SeparateTeams` (the reference); both give the same run."""
    if fused and cfg.actor_kind == cfg.critic_kind == "team" and np.ndim(cfg.explore) == 0 and cfg.explore == 1:
        return PairedTeams(actor, critic, cfg, compiled)
    return SeparateTeams(actor, critic, cfg)


class EpisodeLog:
    """Per run: the return of each of its first ``episodes`` episodes and the states visited in
    the episodes listed in ``record`` (0-based), padded with NaN up to ``limit + 1`` steps."""

    def __init__(self, runs: int, episodes: int, record, limit: int, n_obs: int):
        self.episodes, self.record = episodes, {e: i for i, e in enumerate(record)}
        self.returns = np.zeros((runs, episodes))
        self.states = np.full((runs, len(self.record), limit + 1, n_obs), np.nan)
        self.finished = np.zeros(runs, dtype=int)
        self.ep_return, self.ep_step = np.zeros(runs), np.zeros(runs, dtype=int)

    def active(self) -> np.ndarray:
        """The runs that have episodes left to play."""
        return self.finished < self.episodes

    def visit(self, obs, active):
        """Keep the state of every active run whose current episode is recorded."""
        for r in np.flatnonzero(active) if self.record else ():
            if self.finished[r] in self.record:
                self.states[r, self.record[self.finished[r]], self.ep_step[r]] = obs[r].numpy()

    def add(self, reward, ended):
        """Add one step's reward to every run's return; close the episodes that ``ended``."""
        self.ep_return += reward
        self.ep_step += 1
        for r in np.flatnonzero(ended):
            self.returns[r, self.finished[r]] = self.ep_return[r]
            self.finished[r] += 1
            self.ep_return[r], self.ep_step[r] = 0.0, 0


def check_per_run(cfg: ActorCriticConfig, runs: int) -> None:
    """Every per-run setting of ``cfg`` (a sweep's) must give exactly one value per run."""
    for name in ("actor_lrs", "critic_lrs"):
        check_runs(as_schedules(getattr(cfg, name)), runs, name)
    for name in PER_RUN_SETTINGS:
        value = getattr(cfg, name)
        if np.ndim(value) > 0 and np.shape(value) != (runs,):
            raise ValueError(f"{name} must be a number or give one value per run ({runs}), got {len(value)} values")


def train_actor_critic(actor, critic, envs, episodes: int, cfg: ActorCriticConfig, seed: int = 0,
                       action_map=None, fused: bool = True, compiled: bool = False, max_env_steps: int | None = None,
                       on_episode=None, record_episodes=()):
    """MAP Propagation actor-critic with eligibility traces (Algorithm 2 and Appendix C of [MAP]).

    One environment per run; every run learns online from its own transitions until it has
    finished ``episodes`` episodes. The loop carries the numbers of the steps of the algorithm
    in chapter 3. Learning rates follow the schedules by environment step. The parts come from
    :func:`make_teams` (``fused``; ``compiled`` compiles the fused settling loop with
    ``torch.compile``). ``max_env_steps`` stops every run after that many environment steps (for
    benchmarks); ``on_episode(n)`` is called whenever ``n`` episodes have just ended. Non-finite
    weights stop the run with a :class:`FloatingPointError` naming the runs and the step.
    Returns every episode's undiscounted return, ``(R, episodes)`` (0 where not reached); with
    ``record_episodes`` (0-based episode indices) also the states visited in those episodes,
    ``(R, len(record_episodes), T, n_obs)`` padded with NaN (``T`` = the time limit + 1).
    """
    episodes, seed = integer("episodes", episodes), integer("seed", seed, 0)
    max_env_steps = None if max_env_steps is None else integer("max_env_steps", max_env_steps)
    runs, gen = actor.runs, torch.Generator().manual_seed(seed)
    check_per_run(cfg, runs)
    teams = make_teams(actor, critic, cfg, fused, compiled)
    action_map = action_map or (lambda a: a.numpy())
    log = EpisodeLog(runs, episodes, record_episodes, envs.envs[0].spec.max_episode_steps or 10_000, envs.n_obs)
    fresh = torch.ones(runs, dtype=torch.bool)  # step 1: a run starting an episode restarts its traces
    reward, mu_prev = torch.zeros(runs, dtype=DTYPE), torch.zeros(runs, dtype=DTYPE)
    obs = torch.as_tensor(envs.reset(), dtype=DTYPE)
    for net in (actor, critic):  # once: the parts sample without checking every state again
        net.check_state(obs.unsqueeze(1))
    t = 0
    while log.active().any() and t != max_env_steps:
        active = torch.as_tensor(log.active())
        log.visit(obs, active.numpy())
        mu = teams.act(obs.unsqueeze(1), gen)  # step 2: sample both networks at S; mu = mu_L(S)
        teams.learn(reward + cfg.gamma * mu - mu_prev, t, ~fresh & active)  # step 3: the previous transition
        teams.settle_and_trace(fresh)  # steps 4 and 5 (and step 1 for the fresh runs)
        next_obs, raw, clipped, term, trunc = envs.step(action_map(teams.action()), active.numpy())  # step 6
        reward = torch.as_tensor(clipped, dtype=DTYPE)
        teams.learn(reward - mu, t, torch.as_tensor(term) & active)  # step 6: a terminal transition at once
        ended = (term | trunc) & active.numpy()
        log.add(raw, ended)
        if ended.any():
            teams.check_finite(t)
            if on_episode is not None:
                on_episode(int(ended.sum()))
        fresh = torch.as_tensor(ended)
        obs, mu_prev = torch.as_tensor(next_obs, dtype=DTYPE), mu
        t += 1
        if t % TRIM_EVERY == 0:  # housekeeping, not a step of the algorithm: hand freed memory back
            return_freed_memory()
    teams.finish()
    return (log.returns, log.states) if record_episodes else log.returns
