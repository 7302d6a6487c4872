"""An actor and a critic learning together with eligibility traces (Algorithm 2 of [MAP]).

:class:`SeparateTeams` combines an actor part and a critic part and calls the rules of
:mod:`companion.rules` on each in turn: with two teams it is the reference implementation,
written to be read next to the paper; with ordinary networks (:class:`ANNActor`,
:class:`ANNCritic`) or Bernoulli teams (:class:`WeightMaxActor`, :class:`STEActor`,
:class:`TracedWeightMaxActor`, all rules of a :class:`RuleActor`) it gives the baselines and
Weight Maximization. :mod:`companion.paired` computes the MAP
Propagation case much faster. Traces decay by ``gamma * lambda`` and restart at an episode's
first step (steps 1 and 5 of Algorithm 2 in chapter 3); a MAP critic's traces are scaled by
``1 / (A - mu_L)`` (eq. 68). An actor or critic part is chosen by name from :data:`ACTORS` and
:data:`CRITICS`; a new rule is a new part registered there.
"""
from __future__ import annotations

import numpy as np
import torch

from .network import DTYPE, sample, sample_deterministic_hidden, sample_exploring_some
from .optim import BlockAdam, as_schedules, layer_rates, per_run
from .rules import (
    backprop_update,
    layer_log_prob_grads,
    output_mean_grads,
    reinforce_update,
    settle,
    ste_update,
    weight_max_update,
)
from .rules.map_prop import check_critic, check_settleable, output_mean


def accumulate_traces(traces, grads, decay, fresh):
    """``z <- decay * z + grad`` (steps 1 and 5 of Algorithm 2); runs starting an episode (``fresh``) restart at 0.

    ``decay`` is a number or a per-run vector (one entry per row of the traces).
    """
    keep = decay * (~fresh).to(grads[0].dtype)
    return torch._foreach_add(torch._foreach_mul(traces, [per_run(keep, z) for z in traces]), grads)


def per_run_or_number(x):
    """A setting that is a number, or one value per run (a sweep) as a float64 tensor of shape ``(R,)``."""
    return float(x) if np.ndim(x) == 0 else torch.as_tensor(np.asarray(x, dtype=np.float64))


def check_finite(params, t, runs):
    """Stop with a clear message if any run's weights are no longer finite (e.g. A = mu_L in eq. 68)."""
    finite = torch.isfinite(torch.cat([p.flatten(1) for p in params], 1)).all(1)  # one entry per row
    if finite.all():
        return
    bad = sorted({r % runs for r in (~finite).nonzero()[:, 0].tolist()})
    raise FloatingPointError(f"non-finite weights in run(s) {bad} of the batch at environment step {t}")


class Traced:
    """One network's eligibility traces and Adam (steps 3 and 5 of Algorithm 2)."""

    def __init__(self, net, lrs, decay):
        self.net, self.decay = net, per_run_or_number(decay)
        self.schedules = as_schedules(lrs)
        self.opt = BlockAdam(net.parameters())
        self.traces = [torch.zeros_like(p) for p in net.parameters()]

    def trace(self, grads, fresh):
        """``z <- decay * z + grads`` (restarting where ``fresh``)."""
        self.traces = accumulate_traces(self.traces, grads, self.decay, fresh)

    def learn(self, delta, t, mask):
        """``W^l <- W^l + alpha_l * delta * z^l`` for the runs in ``mask``."""
        if not mask.any():  # most steps end no episode: skip the products
            return
        self.opt.step(torch._foreach_mul(self.traces, [per_run(delta, z) for z in self.traces]),
                      layer_rates(self.schedules, t), mask)


class TeamActor:
    """A team of stochastic units: MAP Propagation with ``cfg.settle_steps`` settling steps (0: global REINFORCE).

    An actor part is built from its network and the :class:`~companion.agents.ActorCriticConfig`
    and offers ``act(state, generator)`` (sample the network at the state), ``action()`` (the
    sampled action per run) and ``grads()`` (its trace increment, in ``Network.parameters``
    order). With ``cfg.explore < 1`` each hidden unit explores only with that probability
    (:func:`~companion.network.sample_exploring_some`, the Thomas (2011) baseline); a sweep
    gives one probability per run.
    """

    def __init__(self, net, cfg):
        if cfg.settle_steps:
            check_settleable(net)
        self.net, self.settle_steps, self.explore = net, cfg.settle_steps, per_run_or_number(cfg.explore)

    def act(self, state, generator):
        """Sample every layer at ``state`` (``(R, 1, n)``) and keep the values."""
        if not isinstance(self.explore, float) or self.explore < 1:  # per-run probabilities always explore this way
            self.values = sample_exploring_some(self.net, state, self.explore, generator, checked=True)
        else:
            self.values = sample(self.net, state, generator, checked=True)

    def action(self):
        """The sampled action per run, shape ``(R,)`` (index) or ``(R, n)`` (continuous)."""
        return self.net.layers[-1].units.action(self.values[-1])[:, 0]

    def grads(self):
        """``grad log pi_l`` at the settled values (eq. 9), the actor's trace increment."""
        return layer_log_prob_grads(self.net, settle(self.net, self.values, self.settle_steps))


class RuleActor(TeamActor):
    """A team trained by a rule linear in the reward: its trace increment is the rule's update
    for a reward of 1, so ``delta * z`` is the rule's update. Every unit explores, nothing settles.

    A subclass names the rule: ``rule(net, values, reward)`` returns one update per tensor of
    ``net.parameters()`` (an ascent direction, batch mean), like every rule of :mod:`companion.rules`.
    """

    rule = None

    def __init__(self, net, cfg):
        self.net, self.settle_steps, self.explore = net, 0, 1.0

    def grads(self):
        """The rule's update for a reward of 1 at the sampled values."""
        return self.rule(self.net, self.values, torch.ones(self.net.runs, 1, dtype=DTYPE))


class WeightMaxActor(RuleActor):
    """A Bernoulli team trained by Weight Max (eqs. 5-6 of [REVIEW]), every unit from the same step's signal."""

    rule = staticmethod(weight_max_update)


class STEActor(RuleActor):
    """A Bernoulli team trained by backprop through its samples with the straight-through estimator."""

    rule = staticmethod(ste_update)


class ANNActor(RuleActor):
    """An ordinary network (hidden units output their means) trained by backprop: ``grad log pi(A | S)``."""

    rule = staticmethod(backprop_update)

    def act(self, state, generator):
        """Hidden units output their means; the output layer samples the action."""
        self.values = sample_deterministic_hidden(self.net, state, generator, checked=True)


class TracedWeightMaxActor(RuleActor):
    """Weight Max with eligibility traces, in which every layer can learn on every step ([WM]).

    Each layer keeps a trace ``e^l <- gamma lambda e^l + grad log pi_l`` (REINFORCE's update for
    a reward of 1). On a learning step the output units are rewarded with the TD error; a hidden
    unit ``i`` of layer ``l`` with ``R_i = 2 sum_j W^{l+1}_ij dW^{l+1}_ij`` (eq. 5), where
    ``dW^{l+1}`` is the update layer ``l + 1`` made ``delay`` learning steps earlier: with
    ``delay = 1`` no layer waits for another, and a unit's reward arrives ``L - l`` steps late,
    which the traces bridge; with ``delay = 0`` (:class:`TopDownWeightMaxActor`) the rewards go
    top-down within the step (and with no trace decay this is :class:`WeightMaxActor`).
    Then ``dW^l_:,i = R_i e^l_:,i``. The actor is its own learner (traces and Adam).
    """

    rule = staticmethod(reinforce_update)
    delay = 1

    def __init__(self, net, cfg):
        super().__init__(net, cfg)
        self.learner = Traced(net, cfg.actor_lrs, cfg.gamma * cfg.actor_lambda)
        self.previous = [torch.zeros_like(layer.weight) for layer in net.layers]

    def trace(self, grads, fresh):
        """Add ``grads`` to the traces (restarting where ``fresh``)."""
        self.learner.trace(grads, fresh)

    def learn(self, delta, t, mask):
        """Reward the output units with ``delta`` and every hidden unit by eq. (5); step the runs in ``mask``."""
        if not mask.any():
            return
        traces, layers = self.learner.traces, self.net.layers
        reward = (delta * mask.to(delta.dtype)).unsqueeze(-1)  # (R, 1): every output unit gets the TD error
        updates = [None] * len(traces)
        for l in range(len(layers) - 1, -1, -1):
            updates[2 * l] = traces[2 * l] * reward.unsqueeze(1)  # column i scaled by unit i's reward
            updates[2 * l + 1] = traces[2 * l + 1] * reward
            if l:
                change = updates[2 * l] if self.delay == 0 else self.previous[l]
                reward = 2 * (layers[l].weight * change).sum(-1)  # (R, n_{l-1}), eq. (5)
        self.previous = updates[::2]
        self.learner.opt.step(updates, layer_rates(self.learner.schedules, t), mask)


class TopDownWeightMaxActor(TracedWeightMaxActor):
    """The authors' "with traces" configuration: rewards go top-down within the step (``delay = 0``)."""

    delay = 0


class TeamCritic(TeamActor):
    """A MAP Propagation critic (Appendix C of [MAP]): a team with one normal output unit.

    A critic part offers ``act(state, generator)``, which returns the value estimate ``mu_L(S)``
    per run, and ``grads()``, its trace increment.
    """

    def __init__(self, net, cfg):
        check_critic(net)
        super().__init__(net, cfg)

    def act(self, state, generator):
        """Sample the team; returns the value estimate ``mu_L(S)``, shape ``(R,)``."""
        self.values = sample(self.net, state, generator, checked=True)
        return output_mean(self.net, self.values)[:, 0]

    def grads(self):
        """The settled gradients divided by ``A - mu_L`` (eq. 68)."""
        settled = settle(self.net, self.values, self.settle_steps)
        residual = settled[-1][..., 0] - output_mean(self.net, settled)
        return layer_log_prob_grads(self.net, settled, 1.0 / residual)


class ANNCritic:
    """An ordinary network estimating the value; its trace increment is ``grad v(S)`` (TD(lambda))."""

    def __init__(self, net, cfg):
        check_critic(net)
        self.net = net

    def act(self, state, generator):
        """The value estimate ``v(S)`` per run, shape ``(R,)`` (the hidden units output their means)."""
        self.state = state
        return output_mean(self.net, sample_deterministic_hidden(self.net, state, generator, checked=True))[:, 0]

    def grads(self):
        """``grad v(S)``, the critic's trace increment."""
        return output_mean_grads(self.net, self.state)


# how an actor or a critic learns, by the name an experiment's settings give (actor_kind, critic_kind)
ACTORS = {"team": TeamActor, "ann": ANNActor, "weight_max": WeightMaxActor, "ste": STEActor,
          "weight_max_async": TracedWeightMaxActor, "weight_max_topdown": TopDownWeightMaxActor}
CRITICS = {"team": TeamCritic, "ann": ANNCritic}


class SeparateTeams:
    """An actor part and a critic part, sampled, settled and updated one after the other.

    The parts are the ones ``cfg.actor_kind`` and ``cfg.critic_kind`` name in :data:`ACTORS` and
    :data:`CRITICS`, built on the ``actor`` and ``critic`` networks. With two teams this is the
    reference implementation of Algorithm 2, written to be read next to the paper; with
    :class:`ANNActor` / :class:`ANNCritic` it gives the baselines.
    """

    def __init__(self, actor, critic, cfg):
        self.actor, self.critic = ACTORS[cfg.actor_kind](actor, cfg), CRITICS[cfg.critic_kind](critic, cfg)
        own = getattr(self.actor, "learner", None) and self.actor  # a part that keeps its own traces and Adam
        self.learners = (own or Traced(actor, cfg.actor_lrs, cfg.gamma * cfg.actor_lambda),
                         Traced(critic, cfg.critic_lrs, cfg.gamma * cfg.critic_lambda))

    def act(self, state, generator):
        """Sample both parts at ``state`` (``(R, 1, n)``), the actor first; returns the value estimate, ``(R,)``.

        The parts trust ``state``: the training loop checks its shape once and :class:`~companion.envs.RunEnvs`
        that every observation is finite."""
        self.actor.act(state, generator)
        return self.critic.act(state, generator)

    def action(self):
        """The actor's action per run, shape ``(R,)`` (index) or ``(R, n)`` (continuous)."""
        return self.actor.action()

    def learn(self, delta, t, mask):
        """Steps 3 and 6 of Algorithm 2: ``W^l <- W^l + alpha_l * delta * z^l`` in both parts, runs in ``mask``."""
        for learner in self.learners:
            learner.learn(delta, t, mask)

    def settle_and_trace(self, fresh):
        """Steps 4 and 5 of Algorithm 2: settle (teams only), then add the gradients to the traces
        (step 1: the runs starting an episode, ``fresh``, restart them at 0)."""
        for part, learner in zip((self.actor, self.critic), self.learners):
            learner.trace(part.grads(), fresh)

    def check_finite(self, t):
        """Stop if a run's weights are no longer finite (``t``: the environment step, for the message)."""
        check_finite(self.actor.net.parameters() + self.critic.net.parameters(), t, self.actor.net.runs)

    def finish(self):
        """Nothing to do: the networks were trained in place."""
