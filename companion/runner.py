"""Run one group of runs of a registry experiment: build its networks, environments and trainer."""
from __future__ import annotations

import numpy as np

from .agents import ActorCriticConfig, train_actor_critic, train_single_step
from .envs import RunEnvs
from .experiments import Experiment
from .network import init_network, run_seeds
from .optim import LinearSchedule
from .tasks import Multiplexer, Regression
from .units import Bernoulli, Normal, Softmax, SoftmaxLastZero

ACTION_MAPS = {
    "index": lambda a: a.numpy(),
    # the authors' map for MountainCar, clip(2a + 1, -1, 1): it pushes right when a = 0 (see chapter 4)
    "authors": lambda a: (2 * a.numpy() + 1).clip(-1, 1),
    "symmetric": lambda a: a.numpy().clip(-1, 1),
}


def _schedules(spec):
    """One :class:`LinearSchedule` per layer from ``[start per layer], [end per layer], steps``."""
    start, end, steps = spec
    return [LinearSchedule(a, b, steps) for a, b in zip(start, end)]


def per_run_schedules(specs):
    """One :class:`LinearSchedule` per layer with per-run rates, from one ``[start], [end], steps`` per run."""
    if len({spec[2] for spec in specs}) != 1 or len({len(spec[0]) for spec in specs}) != 1:
        raise ValueError(f"per-run schedules must share their steps and number of layers, got {specs!r}")
    starts, ends = np.array([spec[0] for spec in specs]), np.array([spec[1] for spec in specs])
    return [LinearSchedule(a, b, specs[0][2]) for a, b in zip(starts.T, ends.T)]


def run_settings(exp: Experiment, first_run: int, runs: int) -> dict:
    """The settings of a sweep that differ from run to run, for runs ``first_run ..``: each swept
    key -> one value per run (run ``r`` has the sweep's value ``r // seeds_per_value``); empty
    for an experiment that is not a sweep."""
    sweep = exp.params.get("sweep")
    if not sweep:
        return {}
    rows = [sweep["changes"][r // sweep["seeds_per_value"]] for r in range(first_run, first_run + runs)]
    return {key: [row[key] for row in rows] for key in rows[0]}


def group_seed(exp: Experiment, first_run: int) -> int:
    """The seed of the group starting at ``first_run`` (independent of how many groups there are)."""
    return run_seeds(exp.seed, first_run // exp.group + 1)[-1]


def _actor_critic_group(exp, runs, seed, length, on_episode, compile, networks=None, per_run=None):
    """Train one group of an actor-critic experiment; ``networks`` (a dict), when given, receives
    the trained ``actor`` and ``critic`` and the ``envs``; ``per_run`` holds a sweep's per-run settings."""
    p, per_run = exp.params, per_run or {}
    envs = RunEnvs(exp.task, runs, seed=seed + 2, reward_clip=p["reward_clip"])
    sizes = [envs.n_obs, *p["hidden"]]
    hidden = lambda var, act=p["activation"]: [Normal(act, v) for v in var]  # noqa: E731
    kind, value = p["actor_out"]
    out = {"softmax": Softmax, "softmax_last_zero": SoftmaxLastZero}.get(kind, lambda v: Normal("linear", v))(value)
    width = envs.n_actions - 1 if kind == "softmax_last_zero" else envs.n_actions
    actor_hidden = ([Bernoulli()] * len(p["hidden"]) if p.get("actor_units") == "bernoulli"
                    else hidden(p["actor_var"], p.get("actor_activation", p["activation"])))
    actor = init_network(sizes + [width], actor_hidden + [out], runs, seed=seed, bias_range=p.get("bias_range", 0.0))
    critic = init_network(sizes + [1], hidden(p["critic_var"][:-1]) + [Normal("linear", p["critic_var"][-1])],
                          runs, seed=seed + 1)
    rates = {key: per_run_schedules(per_run[key]) if key in per_run else _schedules(p[key])
             for key in ("actor_lr", "critic_lr")}
    swept = {**p, **per_run}  # a sweep's per-run settings in place of the shared ones
    cfg = ActorCriticConfig(rates["actor_lr"], rates["critic_lr"], swept["actor_lambda"], swept["critic_lambda"],
                            gamma=p["gamma"], steps=p["settle_steps"], actor_kind=p.get("actor_kind", "team"),
                            critic_kind=p.get("critic_kind", "team"), explore=swept.get("explore", 1.0))
    record = [e for e in p.get("record_episodes", ()) if e < length]
    out = train_actor_critic(actor, critic, envs, length, cfg, seed=seed + 3, action_map=ACTION_MAPS[p["action_map"]],
                             compile=compile, on_episode=on_episode, record_episodes=record)
    if networks is not None:
        networks.update(actor=actor, critic=critic, envs=envs)
    return {"returns": out[0], "states": out[1]} if record else {"returns": out}


def _single_step_group(exp, runs, seed, length, on_episode, compile, per_run=None):
    p, per_run = exp.params, per_run or {}
    if exp.task == "multiplexer-37":
        task, out = Multiplexer(5), Softmax(p["temperature"])
    elif exp.task == "multiplexer-20":  # [WM]: one Bernoulli output unit, its 0/1 read as the bit
        task, out = Multiplexer(4), Bernoulli()
    else:
        task, out = Regression(8, p["target_seed"]), Normal("linear", p["output_var"])
    if p.get("units") == "bernoulli":
        units = [Bernoulli()] * len(p["hidden"]) + [out]
    else:
        units = [Normal(p["activation"], v) for v in p["hidden_var"]] + [out]
    width = 1 if isinstance(out, Bernoulli) else task.n_actions
    net = init_network([task.n_inputs, *p["hidden"], width], units, runs, seed=seed, bias_range=p.get("bias_range", 0.0))
    lrs = np.array(per_run["lr"]).T if "lr" in per_run else p["lr"]  # per layer: a rate, or one per run
    rewards = train_single_step(net, task, p["learner"], length, p["batch_size"], lrs, seed=seed + 1,
                                on_batch=on_episode, settle_steps=p.get("settle_steps"))
    return {"returns": rewards.numpy()}


def run_group(exp: Experiment, first_run: int, runs: int, length: int | None = None, on_episode=None,
              compile: bool = True) -> dict:
    """Run one group of ``runs`` runs for ``length`` episodes (batches); returns arrays ``(runs, length)``.

    A group's runs depend only on the experiment and ``first_run``, never on the other groups,
    so groups can run in any order, in parallel, and be replayed alone. ``on_episode(n)`` is
    called with the number of episodes (batches) just finished.
    """
    length = exp.length if length is None else length
    seed = group_seed(exp, first_run)
    runner = _actor_critic_group if exp.kind == "actor_critic" else _single_step_group
    try:
        return runner(exp, runs, seed, length, on_episode, compile, per_run=run_settings(exp, first_run, runs))
    except FloatingPointError as err:
        raise FloatingPointError(f"experiment {exp.name}, runs {first_run}-{first_run + runs - 1}: {err}") from None


def trained_group(exp: Experiment, first_run: int, runs: int, length: int) -> tuple:
    """Train one group of an actor-critic experiment exactly as :func:`run_group` does (its
    returns are the stored ones) and keep what it trained, to look inside the runs.

    Returns ``(returns, networks)``: returns ``(runs, length)`` and a dict of the trained
    ``actor`` and ``critic`` and the ``envs``.
    """
    if exp.kind != "actor_critic":
        raise ValueError(f"trained_group needs an actor-critic experiment, got {exp.name!r} of kind {exp.kind!r}")
    networks = {}
    arrays = _actor_critic_group(exp, runs, group_seed(exp, first_run), length, None, False, networks,
                                 run_settings(exp, first_run, runs))
    return arrays["returns"], networks
