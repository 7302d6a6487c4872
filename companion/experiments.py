"""The registry of the papers' experiments: one entry per task x method, every hyperparameter.

The registry is the single source of truth: the runner builds networks and environments from
it, the store keeps its hash next to every result, and the book renders its tables from it.
Settings follow ``shared/reference/hyperparameters.md`` (the MAP Propagation paper's Tables 2
and 3 and the authors' configuration files).
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, replace

import numpy as np

from .settings import ActorCriticSettings, SingleStepSettings


@dataclass(frozen=True)
class Experiment:
    """One curve of a figure: a task, a method and every setting needed to rerun it."""

    name: str
    paper: str  # citation key of the source paper
    figure: str  # where the curve appears
    task: str  # a gymnasium id, "multiplexer-37", "multiplexer-20" or "regression-8"
    method: str  # the method's name as plotted (a key of plotting.METHOD_COLOURS)
    episodes: int  # episodes per run (single-step tasks: updates, each on a batch of episodes of one step)
    settings: ActorCriticSettings | SingleStepSettings
    runs: int = 10
    group: int = 5  # runs computed together as one batch; the unit of checkpointing and of parallel work
    seed: int = 0

    @property
    def kind(self) -> str:
        """``"actor_critic"`` or ``"single_step"``, after the type of the settings."""
        return self.settings.kind

    def config(self) -> dict:
        """The entry as every stored result keeps it (``episodes`` under the store's key ``length``,
        the settings under ``params``): the dict the config hash is computed from."""
        return {"name": self.name, "paper": self.paper, "figure": self.figure, "task": self.task,
                "method": self.method, "kind": self.kind, "length": self.episodes,
                "params": self.settings.to_dict(), "runs": self.runs, "group": self.group, "seed": self.seed}

    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`config`: any change of a setting changes it."""
        return hashlib.sha256(json.dumps(self.config(), sort_keys=True).encode()).hexdigest()[:16]

    def groups(self, runs: int | None = None) -> list:
        """``(first run, number of runs)`` of every group for ``runs`` runs (default: the paper's)."""
        runs = self.runs if runs is None else runs
        return [(start, min(self.group, runs - start)) for start in range(0, runs, self.group)]


# the settings a sweep may give each run its own value of (see runner.run_settings)
SWEEPABLE = {"actor_critic": ("actor_lr", "critic_lr", "actor_lambda", "critic_lambda", "explore"),
             "single_step": ("lr", "explore")}


def sweep_experiment(base: Experiment, name: str, axis: str, values, changes: list, seeds_per_value: int = 3,
                     seed: int = 1, figure: str = "sensitivity sweep", group: int | None = None) -> Experiment:
    """``base`` run at each of ``values`` of ``axis``, value ``i`` making the setting ``changes[i]``
    (a dict of sweepable settings that replace ``base``'s), with ``seeds_per_value`` runs each, as
    one experiment of ``len(values) * seeds_per_value`` runs: run ``r`` has value ``r // seeds_per_value``,
    so a group of runs mixes values and is still one batched computation. ``seed`` should differ
    from the final results' seeds."""
    allowed = SWEEPABLE[base.kind]
    if not changes or any(set(c) != set(changes[0]) or not set(c) <= set(allowed) for c in changes):
        raise ValueError(f"changes must be a non-empty list of dicts with the same keys among {allowed}, "
                         f"got {changes!r}")
    if len(values) != len(changes):
        raise ValueError(f"values must give one {axis} per change ({len(changes)}), got {len(values)}")
    if not isinstance(seeds_per_value, int) or seeds_per_value < 1:
        raise ValueError(f"seeds_per_value must be a positive integer, got {seeds_per_value!r}")
    runs = len(changes) * seeds_per_value
    unscaled = replace(base.settings, lr_scale=None, named=base.settings.named - {"lr_scale"})
    settings = unscaled.changed(sweep={"axis": axis, "values": list(values), "changes": [dict(c) for c in changes],
                                       "seeds_per_value": seeds_per_value})
    return replace(base, name=name, figure=figure, settings=settings, runs=runs, seed=seed,
                   group=group or min(runs, 4 * seeds_per_value))


def short_name(task: str) -> str:
    """The task's short name used in entry names: ``"CartPole-v1"`` -> ``"cartpole"``."""
    return task.split("-")[0].replace("Continuous", "").lower()


def _map_prop_rl(task, episodes, critic_var, actor_var, actor_out, lambdas, critic_lr, actor_lr, reward_clip=None,
                 action_map="index", record_episodes=None):
    """A MAP Propagation actor-critic entry (Algorithm 2; Table 3 of [MAP])."""
    extra = {} if record_episodes is None else {"record_episodes": record_episodes}
    return Experiment(
        name=f"map_{short_name(task)}", paper="chung2021map", figure="Fig 2, Table 1", task=task,
        method="MAP Propagation", episodes=episodes,
        settings=ActorCriticSettings(
            hidden=[64, 32], activation="softplus", critic_var=critic_var, actor_var=actor_var, actor_out=actor_out,
            critic_lambda=lambdas[0], actor_lambda=lambdas[1], gamma=0.98, settle_steps=20, critic_lr=critic_lr,
            actor_lr=actor_lr, reward_clip=reward_clip, action_map=action_map, **extra))


BASELINES = {  # method -> (actor kind, critic kind); all use global REINFORCE's N = 0 in a team actor
    "REINFORCE": ("team", "ann"),
    "REINFORCE with Thomas (2011)": ("team", "ann"),
    "Backprop": ("ann", "ann"),
}


MAP_TAGS = {"REINFORCE": "reinforce", "REINFORCE with Thomas (2011)": "thomas", "Backprop": "backprop"}


def _scaled(spec, scale: float) -> list:
    """A learning-rate schedule ``[start], [end], steps`` with every rate multiplied by ``scale``."""
    start, end, env_steps = spec
    return [[scale * x for x in start], [scale * x for x in end], env_steps]


def baseline(map_entry: Experiment, method: str, scale: float, explore: float = 1.0, runs: int = 10,
             name: str | None = None, figure: str = "Fig 2, Table 1", fast_output: bool = True) -> Experiment:
    """A baseline of Fig 2 on the task of ``map_entry``: same architecture, variances, traces and
    schedules' shape, every learning rate multiplied by ``scale`` (their values were never
    published: the protocol's sweeps choose them). With ``fast_output`` the
    output layers of actor and critic learn at their first layer's rate instead of MAP
    Propagation's much smaller one (``SLOW_OUTPUTS`` shows why)."""
    actor_kind, critic_kind = BASELINES[method]
    rates = {}
    for key in ("actor_lr", "critic_lr"):
        start, end, env_steps = getattr(map_entry.settings, key)
        if fast_output:
            start, end = [*start[:-1], start[0]], [*end[:-1], end[0]]
        rates[key] = _scaled([start, end, env_steps], scale)
    settings = map_entry.settings.changed(settle_steps=0, actor_kind=actor_kind, critic_kind=critic_kind,
                                          explore=explore, lr_scale=scale, **rates)
    return Experiment(name=name or f"{MAP_TAGS[method]}_{short_name(map_entry.task)}", paper="chung2021map",
                      figure=figure, task=map_entry.task, method=method, episodes=map_entry.episodes,
                      settings=settings, runs=runs, group=min(5, runs))


SWEEP_EXPLORE = 0.5  # Thomas's exploring probability in the protocol's first stage


def slow_output_entry(map_entry: Experiment, method: str, scale: float) -> Experiment:
    """Our first grid's entry at ``scale`` (3 runs): every rate, the output layers' included, at ``scale``
    times MAP Propagation's. On Acrobot REINFORCE learned nothing at any scale, which is why every
    baseline's output layers learn at their first layer's rate (``baseline``; chapter 4)."""
    return baseline(map_entry, method, scale, SWEEP_EXPLORE if "Thomas" in method else 1.0, runs=3,
                    name=f"sweep_{short_name(map_entry.task)}_{MAP_TAGS[method]}_x{scale:g}",
                    figure="baseline sweep (Fig 2)", fast_output=False)


def _single_step(name, method, learner):
    """The 37-input multiplexer (Fig 1 of [MAP]): 64-32 network, batch 128, Table 2 settings."""
    return Experiment(
        name=name, paper="chung2021map", figure="Fig 1", task="multiplexer-37", method=method, episodes=31_250,
        group=10, settings=SingleStepSettings(hidden=[64, 32], activation="softplus", hidden_var=[0.3, 1.0],
                                              temperature=1.0, lr=[4e-2, 4e-5, 4e-6], batch_size=128, learner=learner,
                                              named=frozenset({"temperature"})))


def _regression(name, method, learner):
    """Scalar regression (Fig 1 of [MAP]): 8 inputs, 64-32 network, batch 128, Table 2 settings."""
    return Experiment(
        name=name, paper="chung2021map", figure="Fig 1", task="regression-8", method=method,
        episodes=7_813, group=10,  # 1,000,000 samples in batches of 128
        settings=SingleStepSettings(hidden=[64, 32], activation="softplus", hidden_var=[0.0075, 0.025],
                                    output_var=0.025, lr=[6e-2, 6e-5, 6e-6], batch_size=128, learner=learner,
                                    target_seed=0, named=frozenset({"target_seed"})))


def _weight_max_rl(task, episodes, actor_lr, critic_lr, critic_lambda, traces_lambda, temperature=1.0):
    """Weight Max and Weight Max with traces on an RL task ([WM]'s Fig 2; the authors' configuration).

    Actor: Bernoulli-logistic 64-32, a softmax whose last logit is fixed at 0, biases in +-1e-3.
    Critic: a backprop network (64-32 softplus, linear output) with eligibility traces.
    """
    common = ActorCriticSettings(
        hidden=[64, 32], activation="softplus", actor_units="bernoulli", bias_range=1e-3, actor_var=[1.0, 1.0],
        actor_out=["softmax_last_zero", temperature], critic_var=[1.0, 1.0, 1.0], critic_lambda=critic_lambda,
        gamma=0.98, settle_steps=0, critic_kind="ann", critic_lr=critic_lr, actor_lr=actor_lr, reward_clip=None,
        action_map="index", actor_lambda=0.0)
    short = short_name(task)
    return [
        Experiment(name=f"wm_{short}", paper="chung2022weightmax", figure="WM Fig 2", task=task, method="Weight Max",
                   episodes=episodes, settings=common.changed(actor_kind="weight_max")),
        Experiment(name=f"wm_traces_{short}", paper="chung2022weightmax", figure="WM Fig 2", task=task,
                   method="Weight Max with traces", episodes=episodes,
                   settings=common.changed(actor_kind="weight_max_async", actor_lambda=traces_lambda)),
    ]


def _weight_max_multiplexer(name, method, learner):
    """The 20-input multiplexer of [WM]: 64-32, one Bernoulli output, 800,000 episodes of one sample."""
    return Experiment(
        name=name, paper="chung2022weightmax", figure="WM Fig 2", task="multiplexer-20", method=method,
        episodes=800_000, group=10,
        settings=SingleStepSettings(hidden=[64, 32], activation="relu", hidden_var=[1.0, 1.0], units="bernoulli",
                                    bias_range=1e-3, lr=[1e-2, 1e-3, 1e-4], batch_size=1, learner=learner))


WM_TAGS = {"REINFORCE": "reinforce", "STE backprop": "ste", "Backprop": "backprop"}  # [WM]'s baselines


def wm_baseline(wm_entry: Experiment, method: str, scale: float, runs: int = 10, name: str | None = None,
                figure: str = "WM Fig 2") -> Experiment:
    """A baseline of [WM]'s Fig 2 on the task of ``wm_entry``: Weight Max's network, critic and
    settings with another rule for the actor (global REINFORCE, STE backprop through the Bernoulli
    units, or backprop through continuous ReLU units) and every actor learning rate multiplied by
    ``scale`` (the baselines' rates were never published: the protocol's sweeps choose ``scale``)."""
    s, backprop = wm_entry.settings, method == "Backprop"
    if wm_entry.kind == "single_step":
        s = s.changed(lr_scale=scale, learner=WM_TAGS[method], units="normal" if backprop else "bernoulli",
                      lr=[scale * x for x in s.lr])
    else:
        actor_kind = {"REINFORCE": "team", "STE backprop": "ste", "Backprop": "ann"}[method]
        s = s.changed(lr_scale=scale, actor_kind=actor_kind, actor_lambda=0.0, actor_lr=_scaled(s.actor_lr, scale))
        if backprop:
            s = s.changed(actor_units="normal", actor_activation="relu")
    return Experiment(name=name or f"wm_{WM_TAGS[method]}_{short_name(wm_entry.task)}", paper="chung2022weightmax",
                      figure=figure, task=wm_entry.task, method=method, episodes=wm_entry.episodes,
                      settings=s, runs=runs, group=wm_entry.group if runs == 10 else runs)


# Fig 1 at the paper's settings (Table 2 of [MAP]): its entries as first registered, and the start of every
# single-step sweep (the baselines' registry entries later take the protocol's choices)
FIG1_PAPER = {e.name: e for e in [
    _single_step("map_multiplexer", "MAP Propagation", "map_propagation"),
    _single_step("reinforce_multiplexer", "REINFORCE", "reinforce"),
    _single_step("backprop_multiplexer", "Backprop", "backprop"),
    _regression("map_rl_regression", "MAP Propagation (RL)", "map_propagation"),
    _regression("map_sl_regression", "MAP Propagation (SL)", "map_propagation_sl"),
    _regression("backprop_regression", "Backprop", "backprop_sl")]}

# learning rates: [start per layer], [end per layer], steps (0: constant)
REGISTRY = {e.name: e for e in [
    _map_prop_rl("Acrobot-v1", 500, [0.06, 0.2, 0.2], [0.03, 0.1], ["softmax", 4.0], (0.97, 0.97),
                 [[2e-2, 2e-5, 2e-6], [2e-3, 2e-6, 2e-7], 100_000], [[1e-2, 1e-5, 1e-6], [1e-3, 1e-6, 1e-8], 100_000]),
    _map_prop_rl("CartPole-v1", 1000, [0.03, 0.1, 0.1], [0.03, 0.1], ["softmax", 2.0], (0.95, 0.95),
                 [[2e-2, 2e-5, 2e-6], [2e-3, 2e-6, 2e-7], 50_000], [[1e-2, 1e-5, 1e-6], [1e-3, 1e-6, 1e-8], 50_000]),
    _map_prop_rl("LunarLander-v3", 2500, [0.003, 0.01, 0.01], [0.06, 0.2], ["softmax", 8.0], (0.97, 0.97),
                 [[1e-2, 1e-5, 1e-6], [1e-2, 1e-5, 1e-6], 0], [[4e-3, 4e-6, 4e-7], [4e-3, 4e-6, 4e-7], 0]),
    _map_prop_rl("MountainCarContinuous-v0", 500, [0.003, 0.01, 0.05], [0.03, 0.1], ["normal", 0.5], (0.97, 0.97),
                 [[1e-2, 1e-5, 1e-6], [1e-2, 1e-5, 1e-6], 0], [[4e-3, 4e-6, 4e-7], [4e-3, 4e-6, 4e-7], 0],
                 reward_clip=5.0, action_map="authors", record_episodes=[0, 49, 99]),  # Fig 5: episodes 1, 50, 100
    *FIG1_PAPER.values(),
    *_weight_max_rl("CartPole-v1", 1000, [[2e-2, 2e-4, 2e-5], [2e-4, 2e-6, 2e-7], 50_000],
                    [[4e-2, 4e-5, 4e-6], [4e-3, 4e-5, 4e-6], 50_000], 0.8, 0.8),
    *_weight_max_rl("Acrobot-v1", 1000, [[1e-1, 1e-3, 1e-4], [1e-2, 1e-4, 1e-5], 1_000_000],
                    [[1e-2, 1e-5, 1e-6], [1e-2, 1e-5, 1e-6], 0], 0.8, 0.8),
    *_weight_max_rl("LunarLander-v3", 3000, [[8e-2, 8e-4, 8e-5], [8e-2, 8e-4, 8e-5], 0],
                    [[2e-2, 2e-5, 2e-6], [2e-2, 2e-5, 2e-6], 0], 0.9, 0.9, temperature=2.0),
    _weight_max_multiplexer("wm_multiplexer", "Weight Max", "weight_max"),
]}
# the output-rate check on Acrobot (chapter 4): baselines whose output layers learn at MAP Propagation's rates
SLOW_OUTPUTS = [slow_output_entry(REGISTRY["map_acrobot"], "REINFORCE", s) for s in (0.3, 1.0, 3.0)] + [
    slow_output_entry(REGISTRY["map_acrobot"], "REINFORCE with Thomas (2011)", 0.3)]
REGISTRY.update({e.name: e for e in SLOW_OUTPUTS})
# MountainCar with the symmetric action map clip(a, -1, 1) instead of the authors' clip(2a + 1, -1, 1)
_car = REGISTRY["map_mountaincar"]
REGISTRY["map_mountaincar_symmetric"] = replace(
    _car, name="map_mountaincar_symmetric", figure="action map check (Fig 2)",
    settings=_car.settings.changed(action_map="symmetric"))

# the supervised MAP Propagation regression with 100 settling steps instead of 20 (chapter 4)
_sl = REGISTRY["map_sl_regression"]
REGISTRY["map_sl_regression_n100"] = replace(
    _sl, name="map_sl_regression_n100", figure="settling check (Fig 1)",
    settings=_sl.settings.changed(settle_steps=100))

# 30 more Acrobot runs of MAP Propagation with other seeds: how often a run learns slowly (chapter 4)
REGISTRY["map_acrobot_more_runs"] = replace(REGISTRY["map_acrobot"], name="map_acrobot_more_runs",
                                            figure="slow-run check (Table 1)", runs=30, seed=1)

# the authors' own "with traces" configuration on LunarLander: the synchronous rule with actor traces
# (layer by layer from the top, no delay), on the seeds of wm_traces_lunarlander's first five runs (chapter 6)
_traces = REGISTRY["wm_traces_lunarlander"]
REGISTRY["wm_traces_config_lunarlander"] = replace(
    _traces, name="wm_traces_config_lunarlander", figure="variant check (WM Fig 2)", runs=5,
    settings=_traces.settings.changed(actor_kind="weight_max_topdown"))

# the factor on which each RL baseline's grids of layer-shaped rates are centred (chapters 4 and 6): the factor
# an earlier, shorter sweep of ours had chosen (3 seeds of the first 300 episodes per setting, factors about 3
# apart), before the protocol replaced it
GRID_CENTRES = {  # (paper, method, task short name) -> factor on the paper's rates
    ("chung2021map", "REINFORCE", "acrobot"): 0.3,
    ("chung2021map", "Backprop", "acrobot"): 0.3,
    ("chung2021map", "REINFORCE with Thomas (2011)", "acrobot"): 0.3,
    ("chung2021map", "REINFORCE", "cartpole"): 1.0,
    ("chung2021map", "Backprop", "cartpole"): 0.3,
    ("chung2021map", "REINFORCE with Thomas (2011)", "cartpole"): 0.3,
    ("chung2021map", "REINFORCE", "mountaincar"): 0.03,
    ("chung2021map", "Backprop", "mountaincar"): 0.03,
    ("chung2021map", "REINFORCE with Thomas (2011)", "mountaincar"): 0.03,
    ("chung2021map", "REINFORCE", "lunarlander"): 1.0,
    ("chung2021map", "Backprop", "lunarlander"): 0.3,
    ("chung2021map", "REINFORCE with Thomas (2011)", "lunarlander"): 0.1,
    ("chung2022weightmax", "REINFORCE", "acrobot"): 3.0,
    ("chung2022weightmax", "STE backprop", "acrobot"): 3.0,
    ("chung2022weightmax", "Backprop", "acrobot"): 0.03,
    ("chung2022weightmax", "REINFORCE", "cartpole"): 100.0,
    ("chung2022weightmax", "STE backprop", "cartpole"): 3.0,
    ("chung2022weightmax", "Backprop", "cartpole"): 0.3,
    ("chung2022weightmax", "STE backprop", "multiplexer"): 1.0,
    ("chung2022weightmax", "REINFORCE", "multiplexer"): 3.0,
    ("chung2022weightmax", "Backprop", "multiplexer"): 0.3,
    ("chung2022weightmax", "REINFORCE", "lunarlander"): 0.3,
    ("chung2022weightmax", "STE backprop", "lunarlander"): 3.0,
    ("chung2022weightmax", "Backprop", "lunarlander"): 1.0,
}
# the paper-scale RL baselines at their grids' centre; PROTOCOL_CHOICES (below) gives each the protocol's choice,
# keeping its name, runs, seed and group
REGISTRY.update({e.name: e for e in (
    baseline(REGISTRY[f"map_{task}"], method, centre) if paper == "chung2021map"
    else wm_baseline(REGISTRY[f"wm_{task}"], method, centre)
    for (paper, method, task), centre in GRID_CENTRES.items())})


# Table 1 of [MAP]: average return over all episodes, mean and std over 10 runs, as reported
REPORTED = {
    ("MAP Propagation", "Acrobot-v1"): (-100.29, 5.40), ("MAP Propagation", "CartPole-v1"): (459.70, 13.89),
    ("MAP Propagation", "LunarLander-v3"): (127.88, 24.57),
    ("MAP Propagation", "MountainCarContinuous-v0"): (39.45, 30.48),
    ("REINFORCE", "Acrobot-v1"): (-148.42, 47.65), ("REINFORCE", "CartPole-v1"): (47.29, 8.22),
    ("REINFORCE", "LunarLander-v3"): (-62.05, 16.16), ("REINFORCE", "MountainCarContinuous-v0"): (-35.52, 0.65),
    ("REINFORCE with Thomas (2011)", "Acrobot-v1"): (-149.11, 33.50),
    ("REINFORCE with Thomas (2011)", "CartPole-v1"): (112.58, 42.54),
    ("REINFORCE with Thomas (2011)", "LunarLander-v3"): (-54.61, 23.47),
    ("REINFORCE with Thomas (2011)", "MountainCarContinuous-v0"): (-4.65, 0.21),
    ("Backprop", "Acrobot-v1"): (-106.29, 15.00), ("Backprop", "CartPole-v1"): (458.96, 9.44),
    ("Backprop", "LunarLander-v3"): (104.92, 31.98), ("Backprop", "MountainCarContinuous-v0"): (4.30, 59.28),
}

# [WM]'s reported results (the authors' README): average return over all episodes, mean and std over 10 runs;
# their "with traces" runs differ from the plain ones only by the actor's trace decay (see chapter 6)
REPORTED_WM = {
    ("Weight Max", "multiplexer-20"): (0.81, 0.01), ("Weight Max", "CartPole-v1"): (390.38, 43.25),
    ("Weight Max", "Acrobot-v1"): (-97.05, 2.90), ("Weight Max", "LunarLander-v3"): (111.23, 16.58),
    ("Weight Max with traces", "CartPole-v1"): (373.11, 17.86),
    ("Weight Max with traces", "Acrobot-v1"): (-105.00, 4.38),
    ("Weight Max with traces", "LunarLander-v3"): (39.04, 14.39),
}


def average_return(returns):
    """Table 1's statistic: each run's mean return over all its episodes, then mean and std over runs."""
    per_run = returns.mean(1)
    return float(per_run.mean()), float(per_run.std(ddof=1))


def _numbers(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _schedule(spec) -> str:
    start, end, env_steps = spec
    return _numbers(start) if not env_steps else f"{_numbers(start)} to {_numbers(end)} over {env_steps:,} steps"


def hyperparameter_rows(kind: str, method: str = "MAP Propagation", paper: str = "chung2021map") -> list:
    """Rows of Table 2 (``"single_step"``) or Table 3 (``"actor_critic"``) of ``paper``, read from the registry."""
    rows = []
    for exp in REGISTRY.values():
        if (exp.kind != kind or exp.paper != paper or not exp.figure.startswith("Fig")
                or not exp.method.startswith(method)):
            continue
        s = exp.settings
        if kind == "actor_critic":
            out_kind, out_value = s.actor_out
            rows.append({"task": exp.task, "episodes": exp.episodes, "critic sigma^2": _numbers(s.critic_var),
                         "actor sigma^2": _numbers(s.actor_var + [out_value] if out_kind == "normal" else s.actor_var),
                         "actor T": "-" if out_kind == "normal" else f"{out_value:g}",
                         "lambda (critic, actor)": _numbers([s.critic_lambda, s.actor_lambda]),
                         "critic alpha": _schedule(s.critic_lr), "actor alpha": _schedule(s.actor_lr),
                         "reward clip": "-" if s.reward_clip is None else f"+-{s.reward_clip:g}",
                         "settling steps N": s.settle_steps})
        else:
            rows.append({"experiment": exp.name, "task": exp.task, "method": exp.method,
                         "samples per run": f"{exp.episodes * s.batch_size:,}", "batch": s.batch_size,
                         "alpha": _numbers(s.lr), "hidden sigma^2": _numbers(s.hidden_var),
                         "output": f"normal sigma^2 = {s.output_var:g}" if exp.task.startswith("regression")
                         else f"softmax T = {s.temperature:g}"})
    return rows


def weight_max_rows() -> list:
    """Weight Max's settings on each task of [WM]'s Fig 2, read from the registry (its baselines
    change only the actor's rule and rates; its variant with traces only the actor's lambda)."""
    rows = []
    for exp in REGISTRY.values():
        if exp.paper != "chung2022weightmax" or exp.method != "Weight Max" or exp.settings.sweep:
            continue
        s = exp.settings
        traces = REGISTRY.get(f"wm_traces_{short_name(exp.task)}")
        if exp.kind == "single_step":
            row = {"actor alpha": _numbers(s.lr), "critic alpha": "-", "lambda (critic, actor)": "-",
                   "actor lambda with traces": "-", "T": "-", "batch": s.batch_size}
        else:
            row = {"actor alpha": _schedule(s.actor_lr), "critic alpha": _schedule(s.critic_lr),
                   "lambda (critic, actor)": _numbers([s.critic_lambda, s.actor_lambda]),
                   "actor lambda with traces": _numbers([traces.settings.actor_lambda]),
                   "T": f"{s.actor_out[1]:g}", "batch": 1}
        rows.append({"task": exp.task, "episodes": f"{exp.episodes:,}", **row})
    return rows


def get(name: str) -> Experiment:
    """The registry entry called ``name``."""
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, REGISTRY, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"experiment name must be one of the {len(REGISTRY)} names `python -m companion list` "
                         f"shows, got {name!r}{hint}")
    return REGISTRY[name]


# ---- sensitivity sweeps (issue 16's protocol, stated in chapter 4 before any result) ----
# every setting runs the paper's full number of episodes with 3 seeds of its own (SWEEP_SEED: disjoint from
# the final results' seed 0); the criterion is Table 1's measure, the average return over all episodes
RATE_GRID = (1e-4, 2.15e-4, 4.64e-4, 1e-3, 2.15e-3, 4.64e-3, 1e-2)  # neighbours a factor 10^(1/3) ~ 2.15 apart
SWEEP_SEED = 2026
SWEEP_SEEDS_PER_VALUE = 3


def one_rate_per_network(map_entry: Experiment, actor_rate: float, critic_rate: float) -> dict:
    """Backprop's learning rates as backprop is usually run: one Adam rate for every layer of each
    network, following the schedule of the task's MAP Propagation entry over time (the same
    end/start ratio of its first layer over the same steps; constant where it is constant)."""
    def schedule(spec, rate):
        start, end, steps = spec
        return [[rate] * len(start), [rounded(rate * end[0] / start[0])] * len(start), steps]
    return {"actor_lr": schedule(map_entry.settings.actor_lr, actor_rate),
            "critic_lr": schedule(map_entry.settings.critic_lr, critic_rate)}


def critic_actor_ratio(map_entry: Experiment) -> float:
    """The papers' critic/actor learning-rate ratio on a task (first layers, at the start)."""
    return map_entry.settings.critic_lr[0][0] / map_entry.settings.actor_lr[0][0]


def rounded(x: float) -> float:
    """``x`` to 12 significant digits, so that a product of rates reads as meant (3e-07, not 3.0000000000000004e-07)."""
    return float(f"{x:.12g}")


def centred_grid(centre: float) -> tuple:
    """Seven factors ``centre * 10^(k/3)``, ``k = -3..3``: two decades around ``centre``, neighbours ~2.15 apart."""
    return tuple(float(f"{centre * 10 ** (k / 3):.3g}") for k in range(-3, 4))


def scaled_rates(entry: Experiment, scale: float, critic: bool = True) -> dict:
    """The setting that multiplies every learning rate of ``entry`` by ``scale`` (the critic's too,
    unless ``critic`` is false)."""
    if entry.kind == "single_step":
        return {"lr": [rounded(scale * x) for x in entry.settings.lr]}
    rates = {key: getattr(entry.settings, key) for key in ("actor_lr", "critic_lr") if critic or key == "actor_lr"}
    return {key: [[rounded(scale * x) for x in start], [rounded(scale * x) for x in end], env_steps]
            for key, (start, end, env_steps) in rates.items()}


def scale_sweep(base: Experiment, name: str, scales, critic: bool = True) -> Experiment:
    """``base`` with all its learning rates (only the actor's unless ``critic``) scaled by each of ``scales``."""
    return sweep_experiment(base, name, "rate factor", scales, [scaled_rates(base, x, critic) for x in scales],
                            SWEEP_SEEDS_PER_VALUE, SWEEP_SEED, f"sensitivity sweep ({base.figure})")


RATE_AXES = ("actor rate", "critic rate", "rate factor")  # the axes whose settings are learning rates


def extended_sweep(sweep: Experiment, name: str, values) -> Experiment:
    """``sweep`` at more ``values`` of its axis (the protocol goes on past a grid's end while its
    best setting sits there): the rates its axis moves (every rate, or on a critic-rate axis the
    critic's alone) of its first setting times ``value / first value``."""
    spec = sweep.settings.sweep
    if spec["axis"] not in RATE_AXES:
        raise ValueError(f"sweep must vary a learning rate ({RATE_AXES}), got {spec['axis']!r} of {sweep.name}")

    def times(rates, k):  # a list of rates, or a schedule [start rates, end rates, steps]
        if len(rates) == 3 and isinstance(rates[0], list):
            return [times(rates[0], k), times(rates[1], k), rates[2]]
        return [rounded(k * x) for x in rates]
    first, v0 = spec["changes"][0], spec["values"][0]
    moved = ("critic_lr",) if spec["axis"] == "critic rate" else tuple(first)
    changes = [{key: times(rates, v / v0) if key in moved else rates for key, rates in first.items()} for v in values]
    return sweep_experiment(sweep, name, spec["axis"], values, changes, spec["seeds_per_value"], sweep.seed,
                            sweep.figure)


def backprop_actor_sweep(entry: Experiment, base: Experiment, name: str) -> Experiment:
    """Stage 1 for backprop: the actor's rate on ``RATE_GRID``, the critic's at the papers'
    critic/actor ratio times it (on a single-step task, every layer's rate)."""
    if entry.kind == "single_step":
        settings = [{"lr": [a] * len(entry.settings.lr)} for a in RATE_GRID]
    else:
        ratio = critic_actor_ratio(entry)
        settings = [one_rate_per_network(entry, a, rounded(ratio * a)) for a in RATE_GRID]
    return sweep_experiment(base, name, "actor rate", RATE_GRID, settings, SWEEP_SEEDS_PER_VALUE, SWEEP_SEED,
                            f"sensitivity sweep ({entry.figure})")


def backprop_critic_sweep(entry: Experiment, base: Experiment, name: str, actor_rate: float) -> Experiment:
    """Stage 2 for backprop: the actor's rate fixed at stage 1's choice, the critic's on ``RATE_GRID``."""
    settings = [one_rate_per_network(entry, actor_rate, c) for c in RATE_GRID]
    return sweep_experiment(base, name, "critic rate", RATE_GRID, settings, SWEEP_SEEDS_PER_VALUE, SWEEP_SEED,
                            f"sensitivity sweep ({entry.figure})")


EXPLORE_GRID = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)  # Thomas's exploring probability, stage 2


def thomas_explore_sweep(thomas: Experiment, factor: float, name: str) -> Experiment:
    """Stage 2 for REINFORCE with Thomas (2011): ``thomas`` (stage 1's base) with its rates at stage
    1's ``factor``, the exploring probability on ``EXPLORE_GRID``."""
    changed = scaled_rates(thomas, factor)
    if thomas.kind == "actor_critic":
        changed["lr_scale"] = factor
    base = replace(thomas, settings=thomas.settings.changed(**changed))
    return sweep_experiment(base, name, "exploring probability", EXPLORE_GRID, [{"explore": p} for p in EXPLORE_GRID],
                            SWEEP_SEEDS_PER_VALUE, SWEEP_SEED, f"sensitivity sweep ({thomas.figure})")


def thomas_base(task: str) -> Experiment:
    """REINFORCE with Thomas (2011) on a task of [MAP] at the paper's rates (REINFORCE's on the
    multiplexer, where the paper gives none of its own) and exploring probability 0.5: the base
    of its sweeps."""
    if task == "multiplexer":
        reinforce = FIG1_PAPER["reinforce_multiplexer"]  # the paper's settings, not the protocol's choice
        return replace(reinforce, method="REINFORCE with Thomas (2011)",
                       settings=reinforce.settings.changed(explore=SWEEP_EXPLORE))
    return baseline(REGISTRY[f"map_{task}"], "REINFORCE with Thomas (2011)", 1.0, SWEEP_EXPLORE)


def map_sensitivity(task: str) -> list:
    """Stage 1 of the protocol on a task of [MAP]: backprop's actor rate, REINFORCE's, Thomas's and
    layer-shaped backprop's factor (around ``GRID_CENTRES``, Thomas at exploring
    probability 0.5) and MAP Propagation's factor on the paper's rates."""
    entry = REGISTRY[f"map_{task}"]
    centre = {m: GRID_CENTRES["chung2021map", m, task] for m in MAP_TAGS}
    return [backprop_actor_sweep(entry, baseline(entry, "Backprop", 1.0), f"sens_{task}_backprop_actor"),
            scale_sweep(baseline(entry, "Backprop", 1.0), f"sens_{task}_backprop_layered",
                        centred_grid(centre["Backprop"])),
            scale_sweep(baseline(entry, "REINFORCE", 1.0), f"sens_{task}_reinforce", centred_grid(centre["REINFORCE"])),
            scale_sweep(thomas_base(task), f"sens_{task}_thomas", centred_grid(centre["REINFORCE with Thomas (2011)"])),
            scale_sweep(entry, f"sens_{task}_map", centred_grid(1.0))]


def wm_sensitivity(task: str) -> list:
    """Stage 1 of the protocol on a task of [WM]: backprop's actor rate, REINFORCE's, STE
    backprop's and layer-shaped backprop's actor factor (around ``GRID_CENTRES``) and
    Weight Max's factor on its rates."""
    entry = REGISTRY[f"wm_{task}"]
    centre = {m: GRID_CENTRES["chung2022weightmax", m, task] for m in WM_TAGS}
    return [backprop_actor_sweep(entry, wm_baseline(entry, "Backprop", 1.0), f"wmsens_{task}_backprop_actor"),
            scale_sweep(wm_baseline(entry, "Backprop", 1.0), f"wmsens_{task}_backprop_layered",
                        centred_grid(centre["Backprop"]), critic=False),
            scale_sweep(wm_baseline(entry, "REINFORCE", 1.0), f"wmsens_{task}_reinforce",
                        centred_grid(centre["REINFORCE"]), critic=False),
            scale_sweep(wm_baseline(entry, "STE backprop", 1.0), f"wmsens_{task}_ste",
                        centred_grid(centre["STE backprop"]), critic=False),
            scale_sweep(entry, f"wmsens_{task}_wm", centred_grid(1.0))]


REGISTRY.update({e.name: e for task in ("acrobot", "cartpole", "lunarlander", "mountaincar")
                 for e in map_sensitivity(task)})
REGISTRY.update({e.name: e for task in ("acrobot", "cartpole", "lunarlander", "multiplexer")
                 for e in wm_sensitivity(task)})

def single_step_sensitivity() -> list:
    """Stage 1 of the protocol on [MAP]'s single-step tasks (Fig 1): backprop's rate on
    ``RATE_GRID`` (every layer), and a factor on the paper's rates for layer-shaped backprop,
    REINFORCE, REINFORCE with Thomas (2011) at exploring probability 0.5 and the MAP Propagation
    learners. Every sweep starts from the paper's settings (``FIG1_PAPER``, not the registry, whose
    baseline entries take the protocol's choices)."""
    paper = FIG1_PAPER
    return [backprop_actor_sweep(paper["map_multiplexer"], paper["backprop_multiplexer"], "sens_multiplexer_backprop"),
            scale_sweep(paper["reinforce_multiplexer"], "sens_multiplexer_reinforce", centred_grid(1.0)),
            scale_sweep(thomas_base("multiplexer"), "sens_multiplexer_thomas", centred_grid(1.0)),
            scale_sweep(paper["map_multiplexer"], "sens_multiplexer_map", centred_grid(1.0)),
            backprop_actor_sweep(paper["backprop_regression"], paper["backprop_regression"],
                                 "sens_regression_backprop"),
            scale_sweep(paper["backprop_multiplexer"], "sens_multiplexer_backprop_layered", centred_grid(1.0)),
            scale_sweep(paper["backprop_regression"], "sens_regression_backprop_layered", centred_grid(1.0)),
            scale_sweep(paper["map_rl_regression"], "sens_regression_map_rl", centred_grid(1.0)),
            scale_sweep(paper["map_sl_regression"], "sens_regression_map_sl", centred_grid(1.0))]


REGISTRY.update({e.name: e for e in single_step_sensitivity()})


def backprop_stage_two(stage_one: str, actor_rate: float) -> Experiment:
    """Stage 2 of the backprop sweep named ``stage_one`` (``sens_TASK_backprop_actor`` of [MAP] or
    ``wmsens_TASK_backprop_actor`` of [WM]), at that sweep's chosen ``actor_rate``: the same name
    with ``critic`` for ``actor``."""
    prefix, task, rest = (stage_one.split("_", 2) + ["", ""])[:3]
    if rest != "backprop_actor" or prefix not in ("sens", "wmsens"):
        raise ValueError(f"stage_one must be sens_TASK_backprop_actor or wmsens_TASK_backprop_actor, got {stage_one!r}")
    if prefix == "sens":
        entry = REGISTRY[f"map_{task}"]
        base = baseline(entry, "Backprop", 1.0)
    else:
        entry = REGISTRY[f"wm_{task}"]
        base = wm_baseline(entry, "Backprop", 1.0)
    return backprop_critic_sweep(entry, base, stage_one.replace("_actor", "_critic"), actor_rate)


# stage 2 for backprop: the actor's rate that each stage-1 sweep chose (tests/test_provenance.py checks each
# against its stored sweep), with the critic's rate swept on RATE_GRID
BACKPROP_ACTOR_RATES = {"sens_cartpole_backprop_actor": 1e-3, "sens_acrobot_backprop_actor": 1e-4,
                        "sens_mountaincar_backprop_actor": 1e-3, "wmsens_acrobot_backprop_actor": 1e-2,
                        "wmsens_cartpole_backprop_actor": 1e-3, "sens_lunarlander_backprop_actor": 4.64e-4,
                        "wmsens_lunarlander_backprop_actor": 2.15e-4}
REGISTRY.update({e.name: e for e in (backprop_stage_two(name, rate) for name, rate in BACKPROP_ACTOR_RATES.items())})

# stage 2 for REINFORCE with Thomas (2011): the rate factor stage 1 chose on each task (checked likewise),
# with the exploring probability swept on EXPLORE_GRID
THOMAS_FACTORS = {"cartpole": 0.646, "multiplexer": 0.1, "acrobot": 0.3, "mountaincar": 0.139,
                  "lunarlander": 0.464}
REGISTRY.update({e.name: e for e in (
    thomas_explore_sweep(thomas_base(task), factor, f"sens_{task}_thomas_explore")
    for task, factor in THOMAS_FACTORS.items())})

# the grids gone on past an end where their best setting sat there (tests/test_provenance.py checks each):
# sweep -> the values added beyond that end
SENSITIVITY_EXTENDED = {"sens_acrobot_backprop_actor": (1e-5, 2.15e-5, 4.64e-5),
                        "sens_multiplexer_reinforce": (0.01, 0.0215, 0.0464),
                        "sens_acrobot_backprop_critic": (1e-5, 2.15e-5, 4.64e-5),
                        "sens_multiplexer_thomas": (0.01, 0.0215, 0.0464),
                        "sens_regression_backprop": (0.0215, 0.0464, 0.1),
                        "sens_mountaincar_backprop_layered": (0.646, 1.39, 3.0),
                        "wmsens_cartpole_ste": (0.03, 0.0646, 0.139),
                        "wmsens_acrobot_backprop_actor": (0.0215, 0.0464, 0.1),
                        "wmsens_acrobot_backprop_critic": (0.0215, 0.0464, 0.1),
                        "wmsens_lunarlander_backprop_critic": (1e-5, 2.15e-5, 4.64e-5)}
REGISTRY.update({e.name: e for e in (extended_sweep(REGISTRY[name], f"{name}_more", values)
                                     for name, values in SENSITIVITY_EXTENDED.items())})


def chosen_entry(final: Experiment, sweep: Experiment, value) -> Experiment:
    """The paper-scale entry ``final`` (its name, runs, seed and group kept) with the settings of
    ``sweep``'s setting at ``value``: the setting the protocol chose."""
    spec = sweep.settings.sweep
    if value not in spec["values"]:
        raise ValueError(f"value must be one of {sweep.name}'s {spec['axis']} values {spec['values']}, got {value!r}")
    unswept = replace(sweep.settings, sweep=None, named=sweep.settings.named - {"sweep"})
    return replace(final, settings=unswept.changed(**spec["changes"][spec["values"].index(value)]))


# the protocol's choices, each the best setting of the method's last stage on the task (tests/test_provenance.py
# checks each against its stored sweeps): (paper, method, task) -> (sweep, value); the paper-scale entry of that
# method and task keeps its name and seeds and takes the chosen setting
PROTOCOL_CHOICES = {("chung2021map", "REINFORCE", "cartpole"): ("sens_cartpole_reinforce", 0.464),
                    ("chung2021map", "Backprop", "cartpole"): ("sens_cartpole_backprop_layered", 0.3),
                    ("chung2021map", "Backprop", "acrobot"): ("sens_acrobot_backprop_layered", 0.3),
                    ("chung2021map", "REINFORCE", "acrobot"): ("sens_acrobot_reinforce", 0.139),
                    ("chung2021map", "REINFORCE with Thomas (2011)", "acrobot"):
                        ("sens_acrobot_thomas_explore", 0.375),
                    ("chung2021map", "REINFORCE", "lunarlander"): ("sens_lunarlander_reinforce", 0.464),
                    ("chung2021map", "REINFORCE", "mountaincar"): ("sens_mountaincar_reinforce", 0.139),
                    ("chung2021map", "REINFORCE", "multiplexer"): ("sens_multiplexer_reinforce", 0.1),
                    ("chung2021map", "Backprop", "regression"): ("sens_regression_backprop_layered", 4.64),
                    ("chung2021map", "Backprop", "multiplexer"): ("sens_multiplexer_backprop_layered", 1.0),
                    ("chung2021map", "REINFORCE with Thomas (2011)", "multiplexer"):
                        ("sens_multiplexer_thomas_explore", 0.375),
                    ("chung2021map", "REINFORCE with Thomas (2011)", "cartpole"):
                        ("sens_cartpole_thomas_explore", 0.375),
                    ("chung2021map", "REINFORCE with Thomas (2011)", "mountaincar"):
                        ("sens_mountaincar_thomas_explore", 0.625),
                    ("chung2021map", "REINFORCE with Thomas (2011)", "lunarlander"):
                        ("sens_lunarlander_thomas_explore", 0.75),
                    ("chung2021map", "Backprop", "mountaincar"): ("sens_mountaincar_backprop_layered", 0.3),
                    ("chung2021map", "Backprop", "lunarlander"): ("sens_lunarlander_backprop_layered", 0.646),
                    ("chung2022weightmax", "REINFORCE", "acrobot"): ("wmsens_acrobot_reinforce", 6.46),
                    ("chung2022weightmax", "STE backprop", "acrobot"): ("wmsens_acrobot_ste", 3.0),
                    ("chung2022weightmax", "STE backprop", "cartpole"): ("wmsens_cartpole_ste", 0.3),
                    ("chung2022weightmax", "REINFORCE", "cartpole"): ("wmsens_cartpole_reinforce", 21.5),
                    ("chung2022weightmax", "Backprop", "cartpole"): ("wmsens_cartpole_backprop_layered", 0.139),
                    ("chung2022weightmax", "REINFORCE", "multiplexer"): ("wmsens_multiplexer_reinforce", 6.46),
                    ("chung2022weightmax", "STE backprop", "multiplexer"): ("wmsens_multiplexer_ste", 4.64),
                    ("chung2022weightmax", "Backprop", "acrobot"): ("wmsens_acrobot_backprop_layered", 0.03),
                    ("chung2022weightmax", "Backprop", "multiplexer"): ("wmsens_multiplexer_backprop_layered", 0.646),
                    ("chung2022weightmax", "REINFORCE", "lunarlander"): ("wmsens_lunarlander_reinforce", 1.39),
                    ("chung2022weightmax", "STE backprop", "lunarlander"): ("wmsens_lunarlander_ste", 0.646),
                    ("chung2022weightmax", "Backprop", "lunarlander"): ("wmsens_lunarlander_backprop_layered", 0.215)}

# Fig 1's baselines, tuned by the protocol from the paper's rates (factor 1)
FIG1_BASELINES = (("chung2021map", "REINFORCE", "multiplexer"), ("chung2021map", "Backprop", "multiplexer"),
                  ("chung2021map", "REINFORCE with Thomas (2011)", "multiplexer"),
                  ("chung2021map", "Backprop", "regression"))
# REINFORCE with Thomas (2011) on the multiplexer: in the paper's Figure 1, it enters ours with the protocol's choice
REGISTRY["thomas_multiplexer"] = replace(thomas_base("multiplexer"), name="thomas_multiplexer")


def final_name(paper: str, method: str, task: str) -> str:
    """The name of the paper-scale entry of ``method`` on ``task`` (e.g. ``backprop_cartpole``)."""
    return f"{MAP_TAGS[method]}_{task}" if paper == "chung2021map" else f"wm_{WM_TAGS[method]}_{task}"


REGISTRY.update({e.name: e for e in (
    chosen_entry(REGISTRY[final_name(*key)], REGISTRY[sweep], value)
    for key, (sweep, value) in PROTOCOL_CHOICES.items())})


def baseline_choice_rows(paper: str) -> list:
    """One row per paper-scale baseline of ``paper``: its entry (whose name says the task), its
    method, and the protocol's choice that sets its rates: the sweep and the value taken."""
    rows = []
    for key in [*GRID_CENTRES, *FIG1_BASELINES]:
        if key[0] == paper:
            sweep, value = PROTOCOL_CHOICES[key]
            rows.append({"entry": final_name(*key), "method": key[1], "sweep": sweep,
                         "setting": f"{REGISTRY[sweep].settings.sweep['axis']} {value:g}"})
    return rows


def sensitivity_rows(exp: Experiment, returns) -> list:
    """One row per value of a sweep's axis: the value, the mean over its seeds of each run's
    average return over all episodes (Table 1's measure), and the standard error of that mean
    (sample std over seeds, ddof = 1, over sqrt(seeds)). ``returns`` is ``(runs, episodes)``."""
    sweep = exp.settings.sweep
    per_run = np.asarray(returns).mean(1)
    if per_run.shape != (exp.runs,):
        raise ValueError(f"returns must have one row per run of {exp.name} ({exp.runs}), got shape {np.shape(returns)}")
    k = sweep["seeds_per_value"]
    rows = []
    for value, runs in zip(sweep["values"], per_run.reshape(-1, k)):
        se = runs.std(ddof=1) / np.sqrt(k) if k > 1 else float("nan")
        rows.append({sweep["axis"]: value, "average return": float(runs.mean()), "standard error": float(se)})
    return rows


def sweep_setting_rows(names, load) -> list:
    """Every setting of the named sweeps in one table: ``experiment``, the ``varied`` axis, its
    ``value`` and the setting's ``sensitivity_rows`` measures. ``load(name)`` returns the returns."""
    rows = []
    for name in names:
        exp = get(name)
        axis = exp.settings.sweep["axis"]
        rows += [{"experiment": name, "varied": axis, "value": row[axis], "average return": row["average return"],
                  "standard error": row["standard error"]} for row in sensitivity_rows(exp, load(name))]
    return rows


def best_setting(exp: Experiment, returns) -> float:
    """The axis value of the sweep's setting with the best average return (the protocol's choice)."""
    rows = sensitivity_rows(exp, returns)
    return max(rows, key=lambda row: row["average return"])[exp.settings.sweep["axis"]]


def actor_rate(change: dict) -> float:
    """The actor's first-layer learning rate at the start of its schedule in a setting (every layer's
    rate on a single-step task is ``lr``): the common x axis of the sensitivity figure."""
    return change["lr"][0] if "lr" in change else change["actor_lr"][0][0]


def sweep_families(paper: str, load) -> dict:
    """The stored sweeps of ``paper``, a sweep and its extensions (``SENSITIVITY_EXTENDED``)
    together: ``(task short name, method, axis) -> {"experiments": names, "rows": rows}``, the
    rows (``sensitivity_rows`` plus each setting's ``actor rate``) sorted by the axis.
    ``load(name)`` returns a stored result's returns or None."""
    families = {}
    for e in REGISTRY.values():
        sweep = e.settings.sweep
        if e.paper != paper or not sweep or (returns := load(e.name)) is None:
            continue
        rates = [actor_rate(c) if "lr" in c or "actor_lr" in c else None for c in sweep["changes"]]
        family = families.setdefault((short_name(e.task), e.method, sweep["axis"]),
                                     {"experiments": [], "rows": []})
        family["experiments"].append(e.name)
        family["rows"] += [{**row, "actor rate": rate} for row, rate in zip(sensitivity_rows(e, returns), rates)]
    for (_, _, axis), family in families.items():
        family["rows"].sort(key=lambda row: row[axis])
    return families


def sensitivity_curves(paper: str, load) -> dict:
    """The sensitivity figure's data for ``paper``: task -> one curve per stored sweep family on a
    learning-rate axis but the critic's, each a dict with ``method``, ``label``, ``rows`` (with the
    setting's ``actor rate``), ``chosen`` (the best setting's actor rate), ``paper`` (the paper's
    own setting, for the method the paper tuned: factor 1) and ``linestyle`` (dashed: backprop
    with layer-shaped rates)."""
    curves = {}
    for (task, method, axis), family in sweep_families(paper, load).items():
        if axis not in ("actor rate", "rate factor"):
            continue
        rows = family["rows"]
        best = max(rows, key=lambda row: row["average return"])["actor rate"]
        own = method.startswith(("MAP Propagation", "Weight Max"))
        paper_rate = next((row["actor rate"] for row in rows if row[axis] == 1.0), None) if own else None
        layered = method == "Backprop" and axis == "rate factor"
        curves.setdefault(task, []).append(
            {"method": method, "label": "Backprop, layer-shaped rates" if layered else method, "rows": rows,
             "chosen": best, "paper": paper_rate, "linestyle": "--" if layered else "-"})
    return curves


def sweep_summary_rows(paper: str, load) -> list:
    """One row per stored sweep family of ``paper`` (a sweep and its extensions): its best setting,
    the best average return with its standard error, whether the best sits at an end of the grid
    (then the grid must go on), and the paper's reported cell for that method and task where it
    has one (mean, std over 10 runs) with the level 2 of its std below its mean, the least a tuned
    baseline should reach. ``load(name)`` returns stored returns or None."""
    reported = REPORTED if paper == "chung2021map" else REPORTED_WM
    rows = []
    for (_, method, axis), family in sweep_families(paper, load).items():
        best = max(family["rows"], key=lambda row: row["average return"])
        first, *extensions = family["experiments"]
        cell = reported.get((method, REGISTRY[first].task))
        rows.append({"experiment": " + ".join([first] + [e[len(first):] for e in extensions]),
                     "varied": axis, "best": best[axis],
                     "at an end": best[axis] in (family["rows"][0][axis], family["rows"][-1][axis]),
                     "average return": best["average return"], "standard error": best["standard error"],
                     "paper": "" if cell is None else f"{cell[0]:.2f} ({cell[1]:.2f})",
                     "paper - 2 std": float("nan") if cell is None else round(cell[0] - 2 * cell[1], 2)})
    return rows


def protocol_rows(paper: str) -> list:
    """The tuning protocol of ``paper``'s comparison, one row per sweep, read from the registry:
    the method, what it varies over which values, the seeds per value and the episodes per run."""
    rows = []
    for e in REGISTRY.values():
        sweep = e.settings.sweep
        if e.paper != paper or not sweep:
            continue
        values = sweep["values"]
        rows.append({"experiment": e.name, "method": e.method, "varied": sweep["axis"],  # the name says the task
                     "values": f"{min(values):g} to {max(values):g} ({len(values)})",
                     "seeds": sweep["seeds_per_value"], "episodes": e.episodes})  # seeds per value, episodes per run
    return rows
