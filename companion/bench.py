"""Throughput of the learners: run-steps per second (runs x environment steps / s, learning included).

Seconds are the CPU time of this one-threaded process, so a figure does not depend on what else
the machine runs (on an idle machine it equals the wall time).

The authors' MAP Propagation actor-critic steps CartPole-v1 about 590 times a second per run
on one core of the project's machines; every row is compared with that figure.
"""
from __future__ import annotations

import platform
import time

import numpy as np
import torch

from .agents import ActorCriticConfig, train_actor_critic, train_single_step
from .envs import RunEnvs
from .network import init_network
from .tasks import Multiplexer
from .units import Bernoulli, Normal, Softmax

AUTHORS_RUN_STEPS_PER_S = 590.0


def cartpole_teams(runs: int):
    """The paper's CartPole actor and critic (64-32 softplus; Table 3 variances, T = 2)."""
    actor = init_network([4, 64, 32, 2], [Normal("softplus", 0.03), Normal("softplus", 0.1), Softmax(2.0)], runs,
                         seed=1)
    critic = init_network([4, 64, 32, 1], [Normal("softplus", 0.03), Normal("softplus", 0.1), Normal("linear", 0.1)],
                          runs, seed=2)
    return actor, critic


SWEEP_RATES = np.logspace(-4, -2, 20)  # the batched sweep's 20 settings: one Adam rate per network


def _actor_critic(settle_steps: int, fused: bool, compiled: bool, actor_kind: str = "team",
                  critic_kind: str = "team", sweep: bool = False):
    """A measurement of an actor-critic learner on CartPole: ``(runs, env_steps) -> run-steps per second``;
    with ``sweep``, run ``r`` learns at the ``(r mod 20)``-th of ``SWEEP_RATES`` (the critic at twice it)."""
    def run(runs: int, env_steps: int) -> float:
        """Run-steps per second of ``runs`` runs over ``env_steps`` environment steps."""
        actor, critic = cartpole_teams(runs)
        if actor_kind == "weight_max":  # a Bernoulli team in place of the normal one
            actor = init_network([4, 64, 32, 2], [Bernoulli(), Bernoulli(), Softmax(1.0)], runs, seed=1,
                                 bias_range=1e-3)
        if sweep:
            rate = SWEEP_RATES[np.arange(runs) % len(SWEEP_RATES)]
            actor_lrs, critic_lrs = [rate] * 3, [2 * rate] * 3
        else:
            actor_lrs, critic_lrs = [1e-2, 1e-5, 1e-6], [2e-2, 2e-5, 2e-6]
        cfg = ActorCriticConfig(actor_lrs, critic_lrs, 0.95, 0.95, settle_steps=settle_steps,
                                actor_kind=actor_kind, critic_kind=critic_kind)
        envs = RunEnvs("CartPole-v1", runs, seed=0)
        start = time.process_time()
        train_actor_critic(actor, critic, envs, env_steps, cfg, seed=3, fused=fused, compiled=compiled,
                           max_env_steps=env_steps)
        return runs * env_steps / (time.process_time() - start)
    return run


def _single_step(learner: str):
    """A measurement of a single-step learner on the multiplexer: ``(runs, updates) -> samples per second``."""
    def run(runs: int, updates: int) -> float:
        """Samples per second of ``runs`` runs over ``updates`` updates of 128 samples."""
        task = Multiplexer(5)
        net = init_network([task.n_inputs, 64, 32, 2], [Normal("softplus", 0.3), Normal("softplus", 1.0), Softmax(1.0)],
                           runs, seed=0)
        start = time.process_time()
        train_single_step(net, task, learner, updates, 128, [4e-2, 4e-5, 4e-6])
        return runs * updates * 128 / (time.process_time() - start)
    return run


# name -> (task, how one measurement runs: (runs, env steps or updates) -> run-steps per second)
LEARNERS = {
    "map_prop_actor_critic": ("CartPole-v1", _actor_critic(20, fused=True, compiled=True)),
    "map_prop_actor_critic_eager": ("CartPole-v1", _actor_critic(20, fused=True, compiled=False)),
    "map_prop_actor_critic_reference": ("CartPole-v1", _actor_critic(20, fused=False, compiled=False)),
    "global_reinforce_actor_critic": ("CartPole-v1", _actor_critic(0, fused=True, compiled=False)),  # N = 0
    "weight_max_actor_critic": ("CartPole-v1", _actor_critic(0, False, False, "weight_max", "ann")),
    "backprop_actor_critic": ("CartPole-v1", _actor_critic(0, False, False, "ann", "ann")),
    "backprop_actor_critic_sweep": ("CartPole-v1", _actor_critic(0, False, False, "ann", "ann", sweep=True)),
    "reinforce_multiplexer": ("multiplexer-37 (samples)", _single_step("reinforce")),
    "backprop_multiplexer": ("multiplexer-37 (samples)", _single_step("backprop")),
    "map_prop_multiplexer": ("multiplexer-37 (samples)", _single_step("map_propagation")),
}


def steps_for(learner: str, runs: int) -> int:
    """Enough environment steps (updates for the multiplexer) for a measurement of a second or more."""
    if LEARNERS[learner][0].startswith("multiplexer"):
        return max(20, 400 // runs)
    return max(100, 3000 // runs)


def machine() -> dict:
    """The CPU, Python and PyTorch versions and the number of threads, to go with the figures."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if platform.system() == "Linux" else platform.processor()
    return {"cpu": cpu, "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def run_bench(learners, runs_list) -> list:
    """One row per learner and number of runs, each after a short warm-up (compilation, caches)."""
    unknown = [name for name in learners if name not in LEARNERS]
    if unknown:
        raise ValueError(f"learners must be among {tuple(LEARNERS)}, got {unknown}")
    if not runs_list or any(not isinstance(r, int) or r < 1 for r in runs_list):
        raise ValueError(f"runs must be positive integers, got {runs_list!r}")
    rows = []
    for name in learners:
        task, measure = LEARNERS[name]
        for runs in runs_list:
            measure(runs, 5)  # warm-up: compilation happens once per shape
            rate = measure(runs, steps_for(name, runs))
            rows.append({"learner": name, "task": task, "runs": runs, "run_steps_per_s": round(rate, 1),
                         "vs_authors": round(rate / AUTHORS_RUN_STEPS_PER_S, 2) if task == "CartPole-v1" else None})
    return rows


def format_table(rows) -> str:
    """The rows of :func:`run_bench` as an aligned text table."""
    lines = [f"{'learner':34s} {'task':26s} {'runs':>5s} {'run-steps/s':>12s} {'x authors':>10s}"]
    for r in rows:
        ratio = "" if r["vs_authors"] is None else f"{r['vs_authors']:.1f}"
        lines.append(f"{r['learner']:34s} {r['task']:26s} {r['runs']:5d} {r['run_steps_per_s']:12,.0f} {ratio:>10s}")
    return "\n".join(lines)
