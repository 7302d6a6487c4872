"""Typed settings of the registry's experiments: one field per setting, each with its meaning.

:class:`ActorCriticSettings` holds everything an actor-critic run needs (Algorithm 2; Table 3 of
[MAP]), :class:`SingleStepSettings` everything a single-step run needs (Algorithm 1; Table 2).
The runner reads the fields directly; a misspelt setting is an error, never a silent default.

Each serialises with :meth:`Settings.to_dict` to the dict the results store has always kept
under ``"params"``, so the config hash of every stored result stays valid. Settings added after
the first results were stored (the optional ones, with a default) are written only when they
differ from their default or when an entry names them (``named``, kept by :meth:`Settings.changed`).

Every field holds one value shared by all runs of a batch, except in a sensitivity sweep: its
``sweep`` field lists, for each value of the swept axis, the settings that value changes
(learning rates, trace decays, the exploring probability), and each run of the batch takes
those of its value.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from typing import ClassVar


@dataclass(frozen=True)
class Settings:
    """Common behaviour of the typed settings: construction from and serialisation to a dict."""

    named: frozenset = field(default=frozenset(), kw_only=True, repr=False)
    """Optional settings written to the stored dict even at their default value."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict:
        """The settings as the results store keeps them (and hashes them): required fields always,
        optional ones when they differ from their default or are ``named``."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "named" and (f.default is MISSING or f.name in self.named or value != f.default):
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, params: dict):
        """Settings from a stored ``"params"`` dict; the optional settings it holds become ``named``."""
        known = {f.name: f for f in fields(cls) if f.name != "named"}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"params of a {cls.kind} experiment must be among {sorted(known)}, got {unknown}")
        missing = [name for name, f in known.items() if f.default is MISSING and name not in params]
        if missing:
            raise ValueError(f"params of a {cls.kind} experiment must give {missing}, got {sorted(params)}")
        optional = {name for name in params if known[name].default is not MISSING}
        return cls(**params, named=frozenset(optional))

    def changed(self, **changes):
        """A copy with ``changes`` applied; each changed setting is ``named`` (stored even at its default)."""
        return replace(self, **changes, named=self.named | frozenset(changes))


@dataclass(frozen=True)
class ActorCriticSettings(Settings):
    """Every setting of an actor-critic experiment: architecture, unit variances, rules, rates, task."""

    kind: ClassVar[str] = "actor_critic"

    hidden: list
    """Widths of the hidden layers, the same for the actor and the critic, e.g. ``[64, 32]``."""
    activation: str
    """Mean function of the normal hidden units: ``"softplus"``, ``"relu"`` or ``"linear"``."""
    critic_var: list
    """Variance of the critic's units, one per layer, output last."""
    actor_var: list
    """Variance of the actor's normal hidden units, one per hidden layer."""
    actor_out: list
    """The actor's output: ``["softmax", T]``, ``["softmax_last_zero", T]`` or ``["normal", variance]``."""
    critic_lambda: float
    """Trace decay lambda of the critic."""
    actor_lambda: float
    """Trace decay lambda of the actor."""
    gamma: float
    """Discount factor."""
    settle_steps: int
    """Settling steps N of MAP Propagation (0: no settling, global REINFORCE)."""
    critic_lr: list
    """The critic's learning rates ``[[start per layer], [end per layer], env_steps]`` (linear, then held)."""
    actor_lr: list
    """The actor's learning rates, in the same form as ``critic_lr``."""
    reward_clip: float | None
    """Rewards are clipped to ``+-reward_clip`` for learning (None: not clipped)."""
    action_map: str
    """How an action is read off the actor's output (a key of ``runner.ACTION_MAPS``)."""
    actor_kind: str = "team"
    """How the actor learns: a name in ``teams.ACTORS`` (``"team"``: MAP Propagation / REINFORCE)."""
    critic_kind: str = "team"
    """How the critic learns: a name in ``teams.CRITICS`` (``"team"`` or ``"ann"``, backprop)."""
    explore: float = 1.0
    """Probability that a hidden unit of a team actor explores (below 1: the Thomas (2011) baseline)."""
    actor_units: str = "normal"
    """The actor's hidden units: ``"normal"`` or ``"bernoulli"`` (Weight Max and its baselines)."""
    actor_activation: str | None = None
    """Mean function of the actor's normal hidden units (None: ``activation``)."""
    bias_range: float = 0.0
    """The actor's biases start uniform in ``+-bias_range``."""
    record_episodes: list = ()
    """Episodes (0-based) whose visited states are kept with the returns."""
    lr_scale: float | None = None
    """Bookkeeping of a baseline: the factor its learning rates were scaled by (from the sweep)."""
    sweep: dict | None = None
    """A sensitivity sweep: ``{"axis", "values", "changes", "seeds_per_value"}``, run ``r`` replacing the
    settings in ``changes[r // seeds_per_value]`` (``experiments.sweep_experiment``; None: no sweep)."""


@dataclass(frozen=True)
class SingleStepSettings(Settings):
    """Every setting of a single-step experiment (a multiplexer or the regression)."""

    kind: ClassVar[str] = "single_step"

    hidden: list
    """Widths of the hidden layers, e.g. ``[64, 32]``."""
    activation: str
    """Mean function of the normal hidden units: ``"softplus"``, ``"relu"`` or ``"linear"``."""
    hidden_var: list
    """Variance of the normal hidden units, one per hidden layer."""
    lr: list
    """Learning rate of every layer (constant)."""
    batch_size: int
    """Samples per update (each a single-step episode)."""
    learner: str
    """The rule: a name in ``agents.LEARNERS``."""
    units: str = "normal"
    """The hidden units: ``"normal"`` or ``"bernoulli"``."""
    temperature: float = 1.0
    """Temperature of the softmax output (the 37-input multiplexer)."""
    output_var: float | None = None
    """Variance of the normal output unit (the regression)."""
    target_seed: int = 0
    """Seed of the regression's target function."""
    bias_range: float = 0.0
    """Biases start uniform in ``+-bias_range``."""
    settle_steps: int | None = None
    """Settling steps N of the MAP Propagation learners (None: the learner's N = 20)."""
    explore: float = 1.0
    """Probability that a hidden unit explores, with the ``"reinforce"`` learner (below 1: Thomas 2011)."""
    lr_scale: float | None = None
    """Bookkeeping of a baseline: the factor its learning rates were scaled by (from the sweep)."""
    sweep: dict | None = None
    """A sensitivity sweep of the rates ``lr``, as in :class:`ActorCriticSettings`."""
