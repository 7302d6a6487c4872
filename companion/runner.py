"""Run one group of runs of a registry experiment: build its networks, environments and trainer."""
from __future__ import annotations

import numpy as np

from .agents import ActorCriticConfig, train_actor_critic, train_single_step
from .envs import RunEnvs
from .experiments import Experiment
from .network import init_network, run_seeds
from .optim import LinearSchedule
from .settings import ActorCriticSettings, SingleStepSettings
from .tasks import Multiplexer, Regression
from .units import Bernoulli, Normal, Softmax, SoftmaxLastZero


def index_action(a):
    """The action as chosen: an index (discrete tasks) or the output unit's value."""
    return a.numpy()


def authors_action(a):
    """The authors' map for MountainCar, ``clip(2a + 1, -1, 1)``: it pushes right when ``a = 0`` (chapter 4)."""
    return (2 * a.numpy() + 1).clip(-1, 1)


def symmetric_action(a):
    """``clip(a, -1, 1)``: the output's value as the force."""
    return a.numpy().clip(-1, 1)


ACTION_MAPS = {"index": index_action, "authors": authors_action, "symmetric": symmetric_action}


def schedules(spec) -> list:
    """One :class:`LinearSchedule` per layer from a registry rate ``[[start...], [end...], env_steps]``."""
    start, end, env_steps = spec
    return [LinearSchedule(a, b, env_steps) for a, b in zip(start, end)]


def per_run_schedules(specs) -> list:
    """One :class:`LinearSchedule` per layer with per-run rates, from one registry rate per run."""
    if len({spec[2] for spec in specs}) != 1 or len({len(spec[0]) for spec in specs}) != 1:
        raise ValueError(f"per-run schedules must share their env_steps and number of layers, got {specs!r}")
    starts, ends = np.array([spec[0] for spec in specs]), np.array([spec[1] for spec in specs])
    return [LinearSchedule(a, b, specs[0][2]) for a, b in zip(starts.T, ends.T)]


def run_settings(exp: Experiment, first_run: int, runs: int) -> dict:
    """The settings of a sweep that differ from run to run, for runs ``first_run ..``: each swept
    setting -> one value per run (run ``r`` has the sweep's value ``r // seeds_per_value``);
    empty for an experiment that is not a sweep."""
    sweep = exp.settings.sweep
    if not sweep:
        return {}
    rows = [sweep["changes"][r // sweep["seeds_per_value"]] for r in range(first_run, first_run + runs)]
    return {key: [row[key] for row in rows] for key in rows[0]}


def group_seed(exp: Experiment, first_run: int) -> int:
    """The seed of the group starting at ``first_run`` (independent of how many groups there are)."""
    return run_seeds(exp.seed, first_run // exp.group + 1)[-1]


def actor_units(s: ActorCriticSettings) -> list:
    """The actor's unit family in every layer, the output last."""
    if s.actor_units == "bernoulli":
        hidden = [Bernoulli()] * len(s.hidden)
    else:
        hidden = [Normal(s.actor_activation or s.activation, var) for var in s.actor_var]
    kind, value = s.actor_out
    if kind == "normal":
        return hidden + [Normal("linear", value)]
    return hidden + [{"softmax": Softmax, "softmax_last_zero": SoftmaxLastZero}[kind](value)]


def critic_units(s: ActorCriticSettings) -> list:
    """The critic's unit family in every layer: normal hidden units and one linear normal output."""
    return [Normal(s.activation, var) for var in s.critic_var[:-1]] + [Normal("linear", s.critic_var[-1])]


def algorithm_config(s: ActorCriticSettings, per_run: dict | None = None) -> ActorCriticConfig:
    """The settings of Algorithm 2 itself: rates, traces, discount, settling steps, the parts' rules;
    ``per_run`` (a sweep's, see :func:`run_settings`) replaces settings by one value per run."""
    per_run = per_run or {}
    rates = [per_run_schedules(per_run[key]) if key in per_run else schedules(getattr(s, key))
             for key in ("actor_lr", "critic_lr")]
    actor_lambda, critic_lambda, explore = (per_run.get(key, getattr(s, key))
                                            for key in ("actor_lambda", "critic_lambda", "explore"))
    return ActorCriticConfig(*rates, actor_lambda, critic_lambda, gamma=s.gamma, settle_steps=s.settle_steps,
                             actor_kind=s.actor_kind, critic_kind=s.critic_kind, explore=explore)


def _actor_critic_group(exp, runs, seed, episodes, on_episode, compiled, networks=None, per_run=None):
    """Train one group of an actor-critic experiment; ``networks`` (a dict), when given, receives
    the trained ``actor`` and ``critic`` and the ``envs``; ``per_run`` holds a sweep's per-run settings."""
    s = exp.settings
    envs = RunEnvs(exp.task, runs, seed=seed + 2, reward_clip=s.reward_clip)
    actions = envs.n_actions - 1 if s.actor_out[0] == "softmax_last_zero" else envs.n_actions
    actor = init_network([envs.n_obs, *s.hidden, actions], actor_units(s), runs, seed=seed, bias_range=s.bias_range)
    critic = init_network([envs.n_obs, *s.hidden, 1], critic_units(s), runs, seed=seed + 1)
    record = [e for e in s.record_episodes if e < episodes]
    out = train_actor_critic(actor, critic, envs, episodes, algorithm_config(s, per_run), seed=seed + 3,
                             action_map=ACTION_MAPS[s.action_map], compiled=compiled, on_episode=on_episode,
                             record_episodes=record)
    if networks is not None:
        networks.update(actor=actor, critic=critic, envs=envs)
    return {"returns": out[0], "states": out[1]} if record else {"returns": out}


def single_step_task(task: str, s: SingleStepSettings):
    """The task named ``task`` and its network's output units."""
    if task == "multiplexer-37":
        return Multiplexer(5), Softmax(s.temperature)
    if task == "multiplexer-20":  # [WM]: one Bernoulli output unit, its 0/1 read as the bit
        return Multiplexer(4), Bernoulli()
    return Regression(8, s.target_seed), Normal("linear", s.output_var)


def _single_step_group(exp, runs, seed, episodes, on_episode, compiled, per_run=None):
    """Train one group of a single-step experiment (nothing to compile); ``per_run`` holds a sweep's per-run
    rates or exploring probabilities."""
    s = exp.settings
    task, out = single_step_task(exp.task, s)
    if s.units == "bernoulli":
        hidden = [Bernoulli()] * len(s.hidden)
    else:
        hidden = [Normal(s.activation, var) for var in s.hidden_var]
    width = 1 if isinstance(out, Bernoulli) else task.n_actions
    net = init_network([task.n_inputs, *s.hidden, width], hidden + [out], runs, seed=seed, bias_range=s.bias_range)
    per_run = per_run or {}
    lrs = list(np.array(per_run["lr"]).T) if "lr" in per_run else s.lr  # per layer: a rate or one per run
    rewards = train_single_step(net, task, s.learner, episodes, s.batch_size, lrs, seed=seed + 1, on_episode=on_episode,
                                settle_steps=s.settle_steps, explore=per_run.get("explore", s.explore))
    return {"returns": rewards.numpy()}


def run_group(exp: Experiment, first_run: int, runs: int, episodes: int | None = None, on_episode=None,
              compiled: bool = True) -> dict:
    """Run one group of ``runs`` runs for ``episodes`` episodes each; returns arrays ``(runs, episodes)``.

    A group's runs depend only on the experiment and ``first_run``, never on the other groups,
    so groups can run in any order, in parallel, and be replayed alone. ``on_episode(n)`` is
    called with the number of episodes just finished; ``compiled`` compiles MAP Propagation's
    settling loop.
    """
    episodes = exp.episodes if episodes is None else episodes
    seed = group_seed(exp, first_run)
    runner = _actor_critic_group if exp.kind == "actor_critic" else _single_step_group
    try:
        return runner(exp, runs, seed, episodes, on_episode, compiled, per_run=run_settings(exp, first_run, runs))
    except FloatingPointError as err:
        raise FloatingPointError(f"experiment {exp.name}, runs {first_run}-{first_run + runs - 1}: {err}") from None


def trained_group(exp: Experiment, first_run: int, runs: int, episodes: int) -> tuple:
    """Train one group of an actor-critic experiment exactly as :func:`run_group` does (its
    returns are the stored ones) and keep what it trained, to look inside the runs.

    Returns ``(returns, networks)``: returns ``(runs, episodes)`` and a dict of the trained
    ``actor`` and ``critic`` and the ``envs``.
    """
    if exp.kind != "actor_critic":
        raise ValueError(f"trained_group needs an actor-critic experiment, got {exp.name!r} of kind {exp.kind!r}")
    networks = {}
    arrays = _actor_critic_group(exp, runs, group_seed(exp, first_run), episodes, None, False, networks,
                                 run_settings(exp, first_run, runs))
    return arrays["returns"], networks
