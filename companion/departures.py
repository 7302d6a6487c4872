"""Where the companion departs from the papers' text: each setting, its sources, which we follow and why.

The papers' text values are written here once, with where they stand; our value is read from
the registry or the companion itself, so the table cannot drift from the code that made the
results. The authors' configuration values come from ``shared/reference/hyperparameters.md``.
"""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import store
from .experiments import EXPLORE_GRID, REGISTRY, baseline_choice_rows
from .rules.weight_max import unit_rewards
from .units import Softmax

# the force each action map of runner.ACTION_MAPS applies for the actor's output a
ACTION_MAP_FORMULAS = {"authors": "clip(2a + 1, -1, 1)", "symmetric": "clip(a, -1, 1)"}
TRACES_VARIANTS = {"weight_max_async":
                   "asynchronous: every layer learns on every step, traces bridge the delay",
                   "weight_max_topdown": "synchronous (top-down within a step), actor traces added"}


@dataclass(frozen=True)
class Setting:
    """One setting where the papers' text, the authors' configuration and the companion may differ."""

    setting: str
    experiments: str  # the registry entries it concerns
    paper: str  # the paper's text ("" where the text says nothing)
    paper_source: str
    config: str  # the authors' configuration ("" where unknown)
    ours: Callable[[], str]  # read from the registry or the companion
    why: str
    measured: str  # where its effect is measured, or "not measured"


def _rate(name: str, key: str, end: bool, layer: int) -> Callable[[], str]:
    return lambda: f"{getattr(REGISTRY[name].settings, key)[int(end)][layer]:g}"


def softmax_reading() -> str:
    """Which reading of the temperature ``units.Softmax`` computes: ``softmax(z / T)`` or ``softmax(T z)``."""
    z, t = torch.tensor([0.0, 1.0], dtype=torch.float64), 2.0
    probs = Softmax(t).probs(z)
    if torch.allclose(probs, torch.softmax(z / t, -1)):
        return "softmax(z / T)"
    return "softmax(T z)" if torch.allclose(probs, torch.softmax(t * z, -1)) else "neither"


def unit_reward_form() -> str:
    """The hidden unit's reward ``unit_rewards`` computes by default: with or without the step size."""
    default = inspect.signature(unit_rewards).parameters["alpha"].default
    return "2 dW . W (no step size)" if default is None else f"2 alpha dW . W + ... (alpha = {default})"


def baselines_tuned() -> str:
    """How the baselines of both papers are set, each by the protocol's choice (``baseline_choice_rows``)."""
    rows = [r for paper in ("chung2021map", "chung2022weightmax") for r in baseline_choice_rows(paper)]
    return f"chosen by the protocol's stored sweeps, all {len(rows)} of them"


def weight_regularisation() -> str:
    """The settings of any registry entry that regularise or decay the weights ("none" if there are none)."""
    keys = {k for e in REGISTRY.values() for k in e.settings.to_dict() if "decay" in k or "regular" in k}
    return "none" if not keys else ", ".join(sorted(keys))


def stored_versions(root: Path = store.RESULTS) -> dict:
    """``{package: sorted versions}`` over the ``versions`` of every stored result's metadata."""
    seen: dict = {}
    for path in sorted(root.glob("*.json")):
        for package, version in json.loads(path.read_text()).get("versions", {}).items():
            seen.setdefault(package, set()).add(version)
    return {package: sorted(versions) for package, versions in sorted(seen.items())}


def _gym() -> str:
    return "gymnasium " + ", ".join(stored_versions().get("gymnasium", ["?"]))


TENTH = "[MAP] App. D: rates fall linearly to a tenth"
SETTINGS = [
    Setting("actor's output-layer end rate", "map_acrobot", "1e-07", TENTH,
            "1e-08", _rate("map_acrobot", "actor_lr", True, 2),
            "the configuration made the reported numbers; the other layers' ends are a tenth in both",
            "not measured"),
    Setting("actor's output-layer end rate", "map_cartpole", "1e-07", TENTH,
            "1e-08", _rate("map_cartpole", "actor_lr", True, 2), "as on Acrobot", "not measured"),
    Setting("critic's third-layer rate", "map_lunarlander", "1e-06", "[MAP] Table 3", "1e-07",
            _rate("map_lunarlander", "critic_lr", False, 2), "the paper's table is the published setting",
            "not measured"),
    Setting("actor's third-layer rate", "map_lunarlander", "4e-07", "[MAP] Table 3", "4e-08",
            _rate("map_lunarlander", "actor_lr", False, 2), "the paper's table is the published setting",
            "not measured"),
    Setting("actor's third-layer rate", "map_mountaincar", "4e-07", "[MAP] Table 3", "4e-08",
            _rate("map_mountaincar", "actor_lr", False, 2), "the paper's table is the published setting",
            "not measured"),
    Setting("softmax output with temperature T", "MAP Propagation actors (T = 2, 4, 8), [WM] actors",
            "softmax(T z)", "[MAP] section 5: softmax(T W h)", "softmax(z / T)", softmax_reading,
            "the configuration made the reported numbers, and T then reads as a temperature", "not measured"),
    Setting("MountainCar force from the actor's output a", "map_mountaincar and its baselines", "",
            "[MAP] does not say", ACTION_MAP_FORMULAS["authors"],
            lambda: ACTION_MAP_FORMULAS[REGISTRY["map_mountaincar"].settings.action_map],
            "the configuration made the reported numbers (its map pushes right at a = 0)",
            "chapter 4: map_mountaincar_symmetric, the symmetric map"),
    Setting("baselines' output variance on MountainCar", "reinforce_, thomas_, backprop_mountaincar",
            "0.5", "[MAP] App. E: the same as MAP Propagation's", "",
            lambda: f"{REGISTRY['reinforce_mountaincar'].settings.actor_out[1]:g}",
            "the paper states it", "chapter 4: the output noise's floor on an episode that misses the flag"),
    Setting("LunarLander version", "map_, wm_ and every baseline on LunarLander", "LunarLander-v2",
            "[MAP] App. D (gym)", "LunarLander-v2", lambda: REGISTRY["map_lunarlander"].task,
            "gymnasium 1.x has only v3 (fixes to physics and termination)", "not measured"),
    Setting("environment library", "every control task", "OpenAI Gym", "[MAP] App. D (version not given)", "",
            _gym, "the maintained successor of Gym; pinned to the version every result was made with",
            "not measured"),
    Setting("hidden unit's reward", "wm_* (Weight Max)", "2 alpha dW . W", "[REVIEW] eq. (5)",
            "2 dW . W (no step size)", unit_reward_form,
            "a constant factor mostly cancels in Adam's normalised step (not where rates decay, "
            "nor via its eps)",
            "not measured"),
    Setting("Weight Max with traces", "wm_traces_*", TRACES_VARIANTS["weight_max_async"],
            "[WM], [REVIEW] Algorithms", TRACES_VARIANTS["weight_max_topdown"],
            lambda: TRACES_VARIANTS[REGISTRY["wm_traces_lunarlander"].settings.actor_kind],
            "the variant the papers describe",
            "chapter 6: wm_traces_config_lunarlander (the configuration's variant, LunarLander, 5 runs)"),
    Setting("weight regularisation with Weight Max", "wm_*", "used: 'a much better result'",
            "[WM blog] (no setting given)", "none", weight_regularisation,
            "the reported numbers (REPORTED_WM) were made without it; no regularisation setting is published",
            "not run"),
    Setting("baselines' learning rates", "every baseline of both papers", "not published",
            "[MAP] App. D, [WM]: 'manual tuning'", "not published",
            baselines_tuned,
            "one documented protocol for every method", "chapters 4 and 6: the stored sweeps"),
    Setting("REINFORCE with Thomas (2011)", "thomas_*", "exploration of units randomly disabled",
            "[MAP] section 4", "",
            lambda: "a unit that does not explore outputs its mean; p = " + ", ".join(
                sorted({f"{e.settings.explore:g}" for n, e in REGISTRY.items() if n.startswith("thomas_")})),
            "our reading; p chosen by the sweep",
            f"chapter 4: the protocol's sweeps over p ({EXPLORE_GRID[0]:g} to {EXPLORE_GRID[-1]:g})"),
]


def follows(paper: str, config: str, ours: str) -> str:
    """Which source our value agrees with."""
    named = (("paper text", paper), ("authors' configuration", config))
    sources = [name for name, value in named if value == ours]
    return " and ".join(sources) or "neither (our choice)"


def departure_rows() -> list:
    """One row per setting of ``SETTINGS``: the three values, which we follow, why, and where measured."""
    rows = []
    for s in SETTINGS:
        ours = s.ours()
        rows.append({"setting": s.setting, "experiments": s.experiments,
                     "paper text": f"{s.paper or '-'} ({s.paper_source})",
                     "authors' configuration": s.config or "-", "ours": ours,
                     "follows": follows(s.paper, s.config, ours), "departs from the paper": ours != s.paper,
                     "why": s.why, "effect measured": s.measured})
    return rows
