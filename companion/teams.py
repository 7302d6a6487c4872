"""An actor and a critic learning together with eligibility traces (Algorithm 2 of [MAP]).

:class:`SeparateTeams` combines an actor part and a critic part and calls the rules of
:mod:`companion.rules` on each in turn: with two teams it is the reference implementation,
written to be read next to the paper; with ordinary networks (:class:`ANNActor`,
:class:`ANNCritic`) or Bernoulli teams (:class:`RuleActor`, :class:`TracedWeightMaxActor`) it
gives the baselines and Weight Maximization. :mod:`companion.paired` computes the MAP
Propagation case much faster. Traces decay by ``gamma * lambda`` and restart at an episode's
first step (Algorithm 2, line 19); a MAP critic's traces are scaled by ``1 / (A - mu_L)`` (eq. 68).
"""
from __future__ import annotations

import numpy as np
import torch

from .network import DTYPE, sample, sample_deterministic_hidden, sample_exploring_some
from .optim import BlockAdam, as_schedules, layer_rates
from .rules import backprop_update, layer_log_prob_grads, output_mean_grads, settle
from .rules.map_prop import check_critic, check_settleable, output_mean


def per_run(x, like):
    """View a per-run vector ``x`` (shape ``(R,)``) so it broadcasts against ``like``."""
    return x.view((-1,) + (1,) * (like.dim() - 1))


def accumulate_traces(traces, grads, decay, fresh):
    """``z <- decay * z + grad`` (Algorithm 2, line 19); runs starting an episode (``fresh``) restart at 0.

    ``decay`` is a number or a per-run vector (one entry per row of the traces).
    """
    keep = decay * (~fresh).to(grads[0].dtype)
    return [per_run(keep, z) * z + g for z, g in zip(traces, grads)]


def per_run_or_number(x):
    """A setting that is a number, or one value per run (a sweep) as a float64 tensor of shape ``(R,)``."""
    return float(x) if np.ndim(x) == 0 else torch.as_tensor(np.asarray(x, dtype=np.float64))


def check_finite(params, t, runs):
    """Stop with a clear message if any run's weights are no longer finite (e.g. A = mu_L in eq. 68)."""
    bad = sorted({r % runs for p in params for r in (~torch.isfinite(p.flatten(1)).all(1)).nonzero()[:, 0].tolist()})
    if bad:
        raise FloatingPointError(f"non-finite weights in run(s) {bad} of the batch at environment step {t}")


class Traced:
    """One network's eligibility traces and Adam (Algorithm 2, lines 14 and 19)."""

    def __init__(self, net, lrs, decay):
        self.net, self.decay = net, per_run_or_number(decay)
        self.schedules = as_schedules(lrs)
        self.opt = BlockAdam(net.parameters())
        self.traces = [torch.zeros_like(p) for p in net.parameters()]

    def trace(self, grads, fresh):
        self.traces = accumulate_traces(self.traces, grads, self.decay, fresh)

    def learn(self, delta, t, mask):
        """``W^l <- W^l + alpha_l * delta * z^l`` for the runs in ``mask``."""
        if not mask.any():  # most steps end no episode: skip the products
            return
        self.opt.step([per_run(delta, z) * z for z in self.traces], layer_rates(self.schedules, t), mask)


class TeamActor:
    """A team of stochastic units: MAP Propagation with ``steps`` settling steps (0: global REINFORCE).

    With ``explore < 1`` each hidden unit explores only with that probability
    (:func:`~companion.network.sample_exploring_some`, the Thomas (2011) baseline); a sweep
    gives one probability per run.
    """

    def __init__(self, net, steps: int, explore=1.0):
        if steps:
            check_settleable(net)
        self.net, self.steps, self.explore = net, steps, per_run_or_number(explore)

    def act(self, state, generator):
        if not isinstance(self.explore, float) or self.explore < 1:  # per-run probabilities always explore this way
            self.values = sample_exploring_some(self.net, state, self.explore, generator)
        else:
            self.values = sample(self.net, state, generator)

    def action(self):
        return self.net.layers[-1].units.action(self.values[-1])[:, 0]

    def grads(self):
        """``grad log pi_l`` at the settled values (eq. 9), the actor's trace increment."""
        return layer_log_prob_grads(self.net, settle(self.net, self.values, self.steps))


class RuleActor(TeamActor):
    """A team trained by a rule linear in the reward (Weight Max, STE backprop): its trace
    increment is the rule's update for a reward of 1, so ``delta * z`` is the rule's update."""

    def __init__(self, net, rule):
        super().__init__(net, steps=0)
        self.rule = rule

    def grads(self):
        return self.rule(self.net, self.values, torch.ones(self.net.runs, 1, dtype=DTYPE))


class TracedWeightMaxActor(TeamActor):
    """Weight Max with eligibility traces, in which every layer can learn on every step ([WM]).

    Each layer keeps a trace ``e^l <- gamma lambda e^l + grad log pi_l``. On a learning step
    the output units are rewarded with the TD error; a hidden unit ``i`` of layer ``l`` with
    ``R_i = 2 sum_j W^{l+1}_ij dW^{l+1}_ij`` (eq. 5), where ``dW^{l+1}`` is the update layer
    ``l + 1`` made ``delay`` learning steps earlier: with ``delay = 1`` no layer waits for
    another, and a unit's reward arrives ``L - l`` steps late, which the traces bridge; with
    ``delay = 0`` the rewards go top-down within the step (and with no trace decay this is
    :class:`RuleActor` with ``weight_max_update``). Then ``dW^l_:,i = R_i e^l_:,i``.
    The actor is its own learner (traces and Adam).
    """

    def __init__(self, net, lrs, decay: float, delay: int):
        if delay not in (0, 1):
            raise ValueError(f"delay must be 0 (top-down within a step) or 1 (asynchronous), got {delay!r}")
        super().__init__(net, steps=0)
        self.delay, self.learner = delay, Traced(net, lrs, decay)
        self.previous = [torch.zeros_like(layer.weight) for layer in net.layers]

    def trace(self, grads, fresh):
        self.learner.trace(grads, fresh)

    def learn(self, delta, t, mask):
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


class TeamCritic(TeamActor):
    """A MAP Propagation critic (Appendix C of [MAP]): a team with one normal output unit."""

    def __init__(self, net, steps: int):
        check_critic(net)
        super().__init__(net, steps)

    def act(self, state, generator):
        """Sample the team; returns the value estimate ``mu_L(S)``, shape ``(R,)``."""
        super().act(state, generator)
        return output_mean(self.net, self.values)[:, 0]

    def grads(self):
        """The settled gradients divided by ``A - mu_L`` (eq. 68)."""
        settled = settle(self.net, self.values, self.steps)
        residual = settled[-1][..., 0] - output_mean(self.net, settled)
        return layer_log_prob_grads(self.net, settled, 1.0 / residual)


class ANNActor(TeamActor):
    """An ordinary network (hidden units output their means) trained by backprop: ``grad log pi(A | S)``."""

    def __init__(self, net):
        self.net = net

    def act(self, state, generator):
        self.values = sample_deterministic_hidden(self.net, state, generator)

    def grads(self):
        return backprop_update(self.net, self.values, torch.ones(self.net.runs, 1, dtype=DTYPE))


class ANNCritic:
    """An ordinary network estimating the value; its trace increment is ``grad v(S)`` (TD(lambda))."""

    def __init__(self, net):
        check_critic(net)
        self.net = net

    def act(self, state, generator):
        self.state = state
        return output_mean(self.net, sample_deterministic_hidden(self.net, state, generator))[:, 0]

    def grads(self):
        return output_mean_grads(self.net, self.state)


class SeparateTeams:
    """An actor part and a critic part, sampled, settled and updated one after the other.

    With two teams this is the reference implementation of Algorithm 2, written to be read
    next to the paper; with :class:`ANNActor` / :class:`ANNCritic` it gives the baselines.
    """

    def __init__(self, actor, critic, cfg):
        self.actor, self.critic = actor, critic
        own = getattr(actor, "learner", None) and actor  # a part that keeps its own traces and Adam
        self.learners = (own or Traced(actor.net, cfg.actor_lrs, cfg.gamma * cfg.actor_lambda),
                         Traced(critic.net, cfg.critic_lrs, cfg.gamma * cfg.critic_lambda))

    def act(self, state, generator):
        """Sample both parts at ``state`` (``(R, 1, n)``), the actor first; returns the value estimate, ``(R,)``."""
        self.actor.act(state, generator)
        return self.critic.act(state, generator)

    def action(self):
        """The actor's action per run, shape ``(R,)`` (index) or ``(R, n)`` (continuous)."""
        return self.actor.action()

    def learn(self, delta, t, mask):
        """Algorithm 2, line 14, in both parts, for the runs in ``mask``."""
        for learner in self.learners:
            learner.learn(delta, t, mask)

    def settle_and_trace(self, fresh):
        """Algorithm 2, lines 16-19: settle (teams only), then add the gradients to the traces."""
        for part, learner in zip((self.actor, self.critic), self.learners):
            learner.trace(part.grads(), fresh)

    def check_finite(self, t):
        check_finite(self.actor.net.parameters() + self.critic.net.parameters(), t, self.actor.net.runs)

    def finish(self):
        """Nothing to do: the networks were trained in place."""
