"""An actor and a critic learning together with eligibility traces (Algorithm 2 of [MAP]).

Two implementations of the same steps, used by :func:`companion.agents.train_actor_critic`:

- :class:`SeparateTeams` calls the rules of :mod:`companion.rules` on each network in turn;
  with two teams it is the reference, written to be read next to the paper; with ordinary
  networks (:class:`ANNActor`, :class:`ANNCritic`) it gives the baselines;
- :class:`PairedTeams` computes the same numbers with far fewer tensor operations: the hidden
  layers of the two teams (same widths, normal units) are stacked along the runs axis and
  settle as one batch, the first layer's mean is computed once per settling (the state does
  not move), and Adam updates all tensors with ``torch._foreach`` operations. A test checks
  that both give the same run.

Both keep eligibility traces (Algorithm 2, line 19), decaying by ``gamma * lambda`` and
restarting at an episode's first step; the critic's traces are scaled by ``1 / (A - mu_L)``
(eq. 68).
"""
from __future__ import annotations


import torch

from .network import DTYPE, Layer, sample, sample_deterministic_hidden, sample_exploring_some
from .optim import BlockAdam, as_schedules, layer_rates
from .rules import backprop_update, layer_log_prob_grads, output_mean_grads, settle
from .rules.map_prop import check_settleable, output_mean


def per_run(x, like):
    """View a per-run vector ``x`` (shape ``(R,)``) so it broadcasts against ``like``."""
    return x.view((-1,) + (1,) * (like.dim() - 1))


def accumulate_traces(traces, grads, decay, fresh):
    """``z <- decay * z + grad`` (Algorithm 2, line 19); runs starting an episode (``fresh``) restart at 0.

    ``decay`` is a number or a per-run vector (one entry per row of the traces).
    """
    keep = decay * (~fresh).to(grads[0].dtype)
    return [per_run(keep, z) * z + g for z, g in zip(traces, grads)]


def check_finite(params, t, runs):
    """Stop with a clear message if any run's weights are no longer finite (e.g. A = mu_L in eq. 68)."""
    bad = sorted({r % runs for p in params for r in (~torch.isfinite(p.flatten(1)).all(1)).nonzero()[:, 0].tolist()})
    if bad:
        raise FloatingPointError(f"non-finite weights in run(s) {bad} of the batch at environment step {t}")


class Traced:
    """One network's eligibility traces and Adam (Algorithm 2, lines 14 and 19)."""

    def __init__(self, net, lrs, decay: float):
        self.net, self.decay = net, decay
        self.schedules = as_schedules(lrs)
        self.opt = BlockAdam(net.parameters())
        self.traces = [torch.zeros_like(p) for p in net.parameters()]

    def trace(self, grads, fresh):
        self.traces = accumulate_traces(self.traces, grads, self.decay, fresh)

    def learn(self, delta, t, mask):
        """``W^l <- W^l + alpha_l * delta * z^l`` for the runs in ``mask``."""
        self.opt.step([per_run(delta, z) * z for z in self.traces], layer_rates(self.schedules, t), mask)


class TeamActor:
    """A team of stochastic units: MAP Propagation with ``steps`` settling steps (0: global REINFORCE).

    With ``explore < 1`` each hidden unit explores only with that probability
    (:func:`~companion.network.sample_exploring_some`, the Thomas (2011) baseline).
    """

    def __init__(self, net, steps: int, explore: float = 1.0):
        if steps:
            check_settleable(net)
        self.net, self.steps, self.explore = net, steps, explore

    def act(self, state, generator):
        if self.explore < 1:
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
        output_mean(net, [torch.zeros(net.runs, 1, n, dtype=DTYPE) for n in net.sizes])
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
        output_mean(net, [torch.zeros(net.runs, 1, n, dtype=DTYPE) for n in net.sizes])
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


def output_dz(z, out_units, outputs, runs, widths):
    """``d log pi_L / d z^L`` for the actor's rows (the first ``runs``) and the critic's rows of a
    stacked output pre-activation ``z``; the narrower is padded with zeros to the common width."""
    parts = (z[:runs, :, : widths[0]], z[runs:, :, : widths[1]])
    dz = [units.dlogp_dz(value, part) for units, value, part in zip(out_units, outputs, parts)]
    return torch.cat([torch.nn.functional.pad(d, (0, z.shape[-1] - d.shape[-1])) for d in dz])


def settle_steps(hidden, mean_first, layers, back, var, rate, out_units, outputs, runs, widths, steps: int):
    """Eq. (8) of [MAP], ``steps`` times, on the stacked hidden layers of :class:`PairedTeams`.

    The arithmetic of :func:`companion.rules.energy_gradient`: ``errors`` are ``(h - mu) / var``
    (minus the gradient from below), the feedback is ``dz^{l+1} (W^{l+1})^T`` with the
    transposes ``back`` made once. A pure function of tensors, so ``torch.compile`` can fuse it.
    """
    above = layers[1:]
    for _ in range(steps):
        zs = [layer.preact(h) for layer, h in zip(above[:-1], hidden[:-1])]
        means = [mean_first] + [layer.units.mean(z) for layer, z in zip(above, zs)]
        errors = [(h - mu) / v for h, mu, v in zip(hidden, means, var)]
        dzs = [e * layer.units.mean_slope(z) for layer, e, z in zip(above, errors[1:], zs)]
        dzs.append(output_dz(layers[-1].preact(hidden[-1]), out_units, outputs, runs, widths))
        hidden = [h - r * (e - torch.bmm(dz, w)) for h, r, e, dz, w in zip(hidden, rate, errors, dzs, back)]
    return hidden


class PairedTeams:
    """Algorithm 2 for an actor and a critic with the same hidden widths, fused for speed.

    Every tensor has ``2R`` rows, the actor's runs first: hidden layers are stacked as they
    are; the two output layers are stacked after padding the narrower one with columns that
    stay zero (their gradient is always zero). All weights and biases of a row live in one
    flat vector, so Adam, the traces and the learning step are a handful of operations on one
    ``(2R, P)`` tensor; the layers are views into it.
    """

    def __init__(self, actor, critic, cfg, compile: bool = False):
        check_settleable(actor)
        check_settleable(critic)
        output_mean(critic, [torch.zeros(critic.runs, 1, n, dtype=DTYPE) for n in critic.sizes])
        # compiled, the settling loop runs as generated C++ plus matrix products (needs a C++
        # compiler; about 20 s once per process and network shape)
        self.settle_steps = torch.compile(settle_steps, dynamic=False) if compile else settle_steps
        if actor.sizes[:-1] != critic.sizes[:-1] or any(
                a.units.activation != c.units.activation for a, c in zip(actor.layers[:-1], critic.layers[:-1])):
            raise ValueError("actor and critic must share input and hidden widths and activations to be paired, "
                             f"got {actor.sizes} and {critic.sizes}")
        self.actor, self.critic, self.cfg, self.runs = actor, critic, cfg, actor.runs
        self.widths = (actor.sizes[-1], critic.sizes[-1])
        self.out_units = (actor.layers[-1].units, critic.layers[-1].units)
        stacked = [self._pad(a, c) for la, lc in zip(actor.layers, critic.layers)
                   for a, c in ((la.weight, lc.weight), (la.bias, lc.bias))]
        self.flat = torch.cat([p.flatten(1) for p in stacked], 1)  # (2R, P)
        views, start = [], 0
        for p in stacked:
            views.append(self.flat[:, start:start + p[0].numel()].view(p.shape))
            start += p[0].numel()
        self.layers = [Layer(w, b, a.units) for w, b, a in zip(views[::2], views[1::2], actor.layers)]
        # Adam blocks: every (team, layer) pair, i.e. its rows and the columns of W^l and b^l
        ends = torch.tensor([0] + [p[0].numel() for p in stacked]).cumsum(0).tolist()
        columns = [slice(ends[2 * l], ends[2 * l + 2]) for l in range(len(self.layers))]
        teams = (range(self.runs), range(self.runs, 2 * self.runs))
        self.opt = BlockAdam([self.flat], [[(rows, cols) for rows in teams for cols in columns]])
        self.var = [self.per_team(a.units.var, c.units.var).view(-1, 1, 1)
                    for a, c in zip(actor.layers[:-1], critic.layers[:-1])]
        self.std = [v.sqrt() for v in self.var]
        self.rate = [0.5 * v for v in self.var]  # the settling step 0.5 * sigma_l^2
        self.decay = self.per_team(cfg.gamma * cfg.actor_lambda, cfg.gamma * cfg.critic_lambda)
        self.trace = torch.zeros_like(self.flat)
        self.schedules = (as_schedules(cfg.actor_lrs), as_schedules(cfg.critic_lrs))

    def per_team(self, a, c):
        """A per-row vector: ``a`` on the actor's rows, ``c`` on the critic's."""
        return torch.cat([torch.full((self.runs,), float(a), dtype=DTYPE), torch.full((self.runs,), float(c), dtype=DTYPE)])

    @staticmethod
    def _pad(a, c):
        """Stack actor rows over critic rows, padding the last axis of the narrower with zeros."""
        width = max(a.shape[-1], c.shape[-1])
        pad = lambda x: torch.nn.functional.pad(x, (0, width - x.shape[-1]))  # noqa: E731
        return torch.cat([pad(a), pad(c)])

    def act(self, state, generator):
        """Sample both teams (noise drawn in the same order as :class:`SeparateTeams`); returns ``mu_L``."""
        noise = [[layer.units.noise(torch.empty(self.runs, 1, n, dtype=DTYPE), generator)
                  for layer, n in zip(team.layers, team.sizes[1:])] for team in (self.actor, self.critic)]
        self.state = torch.cat([state, state])
        h, self.hidden = self.state, []
        for l, layer in enumerate(self.layers[:-1]):
            h = layer.units.mean(layer.preact(h)) + self.std[l] * torch.cat([noise[0][l], noise[1][l]])
            self.hidden.append(h)
        z = self.layers[-1].preact(h)
        z_a, z_c = z[: self.runs, :, : self.widths[0]], z[self.runs:, :, : self.widths[1]]
        self.outputs = (self.out_units[0].from_noise(z_a, noise[0][-1]), self.out_units[1].from_noise(z_c, noise[1][-1]))
        return self.out_units[1].mean(z_c)[:, 0, 0]

    def action(self):
        return self.out_units[0].action(self.outputs[0])[:, 0]

    def learn(self, delta, t, mask):
        """Algorithm 2, line 14, for both teams: ``W^l <- W^l + alpha_l * delta * z^l`` on the rows in ``mask``."""
        rates = [schedule(t) for team in self.schedules for schedule in team]
        self.opt.step([torch.cat([delta, delta]).unsqueeze(1) * self.trace], rates, torch.cat([mask, mask]))

    def _settle(self):
        """Eq. (8) of [MAP] for every hidden layer of both teams at once, ``cfg.steps`` times."""
        first = self.layers[0]
        mean_first = first.units.mean(first.preact(self.state))  # the state does not move while settling
        back = [layer.weight.transpose(1, 2).contiguous() for layer in self.layers[1:]]
        return self.settle_steps(list(self.hidden), mean_first, self.layers, back, self.var, self.rate,
                                 self.out_units, self.outputs, self.runs, self.widths, self.cfg.steps)

    def settle_and_trace(self, fresh):
        """Algorithm 2, lines 16-19, for both teams at once."""
        self.hidden = self._settle()
        z_out = self.layers[-1].preact(self.hidden[-1])
        dz_out = output_dz(z_out, self.out_units, self.outputs, self.runs, self.widths)
        z_c = z_out[self.runs:, :, : self.widths[1]]
        residual = self.outputs[1][..., 0] - self.out_units[1].mean(z_c)[..., 0]  # A - mu_L, eq. (68)
        weight = torch.cat([torch.ones(self.runs, 1, dtype=DTYPE), 1.0 / residual]).unsqueeze(-1)
        grads, below = [], self.state
        for layer, h, v in zip(self.layers, self.hidden, self.var):
            z = layer.preact(below)
            grads.extend(layer.weight_grads(below, (h - layer.units.mean(z)) / v * layer.units.mean_slope(z) * weight))
            below = h
        grads.extend(self.layers[-1].weight_grads(below, dz_out * weight))
        grad = torch.cat([g.flatten(1) for g in grads], 1)
        self.trace = accumulate_traces([self.trace], [grad], self.decay, torch.cat([fresh, fresh]))[0]

    def check_finite(self, t):
        check_finite([self.flat], t, self.runs)

    def finish(self):
        """Copy the trained weights back into the actor and critic networks."""
        for team, rows in ((self.actor, slice(0, self.runs)), (self.critic, slice(self.runs, None))):
            for layer, own in zip(self.layers, team.layers):
                width = own.weight.shape[-1]
                own.weight.copy_(layer.weight[rows, :, :width])
                own.bias.copy_(layer.bias[rows, :width])
