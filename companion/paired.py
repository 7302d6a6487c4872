"""MAP Propagation's actor-critic fused for speed: both teams settle as one batch ([MAP], Algorithm 2).

:class:`PairedTeams` computes the same numbers as :class:`companion.teams.SeparateTeams` with two
teams (a test compares the runs) with far fewer tensor operations: the hidden layers of the
actor and the critic (same widths, normal units) are stacked along the runs axis and settle
as one batch, every weight of a row lives in one flat tensor stepped by the fused Adam kernel,
and the settling loop is a pure function that ``torch.compile`` can fuse.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch

from .network import DTYPE, Layer
from .optim import BlockAdam, as_schedules
from .rules.map_prop import check_critic, check_settleable
from .teams import accumulate_traces, check_finite


def output_dz(z, out_units, outputs, runs, widths):
    """``d log pi_L / d z^L`` for the actor's rows (the first ``runs``) and the critic's rows of a
    stacked output pre-activation ``z``; the narrower is padded with zeros to the common width."""
    parts = (z[:runs, :, : widths[0]], z[runs:, :, : widths[1]])
    dz = [units.dlogp_dz(value, part) for units, value, part in zip(out_units, outputs, parts)]
    return torch.cat([torch.nn.functional.pad(d, (0, z.shape[-1] - d.shape[-1])) for d in dz])


def row_matmul(x, w):
    """``x w`` for every row, ``(R, 1, n) x (R, n, m)``, as a broadcast product summed over ``n``.

    Compiled, this fuses into the generated loops; for these tiny matrices that is faster than
    a call to ``bmm`` per product. Eagerly it is slower, so the eager path keeps ``bmm``.
    """
    return (x.transpose(1, 2) * w).sum(1, keepdim=True)


def settle_stacked(hidden, mean_first, layers, back, var, rate, out_units, outputs, runs, widths, settle_steps: int,
                   matmul=torch.bmm):
    """Eq. (8) of [MAP], ``settle_steps`` times, on the stacked hidden layers of :class:`PairedTeams`.

    The arithmetic of :func:`companion.rules.energy_gradient`: ``errors`` are ``(h - mu) / var``
    (minus the gradient from below), the feedback is ``dz^{l+1} (W^{l+1})^T`` with the
    transposes ``back`` made once; ``matmul`` multiplies ``(R, 1, n)`` by ``(R, n, m)``. A pure
    function of tensors, so ``torch.compile`` can fuse it.
    """
    above = layers[1:]

    def preact(layer, h):
        return matmul(h, layer.weight) + layer.bias.unsqueeze(1)

    for _ in range(settle_steps):
        zs = [preact(layer, h) for layer, h in zip(above[:-1], hidden[:-1])]
        means = [mean_first] + [layer.units.mean(z) for layer, z in zip(above, zs)]
        errors = [(h - mu) / v for h, mu, v in zip(hidden, means, var)]
        dzs = [e * layer.units.mean_slope(z) for layer, e, z in zip(above, errors[1:], zs)]
        dzs.append(output_dz(preact(layers[-1], hidden[-1]), out_units, outputs, runs, widths))
        hidden = [h - r * (e - matmul(dz, w)) for h, r, e, dz, w in zip(hidden, rate, errors, dzs, back)]
    return hidden


def settled_traces(trace, decay, fresh, state, hidden, layers, var, out_units, outputs, runs, widths):
    """Step 5 of Algorithm 2, after settling: the traces of both teams decay by ``decay`` (per
    row; restarting where ``fresh``) and gain the settled log-probability gradients, the critic's
    divided by ``A - mu_L`` (eq. 68). A pure function of tensors, like :func:`settle_stacked`.
    """
    z_out = layers[-1].preact(hidden[-1])
    dz_out = output_dz(z_out, out_units, outputs, runs, widths)
    residual = outputs[1][..., 0] - out_units[1].mean(z_out[runs:, :, : widths[1]])[..., 0]  # A - mu_L
    weight = torch.cat([torch.ones_like(residual), 1.0 / residual]).unsqueeze(-1)
    grads, below = [], state
    for layer, h, v in zip(layers, hidden, var):
        z = layer.preact(below)
        grads.extend(layer.weight_grads(below, (h - layer.units.mean(z)) / v * layer.units.mean_slope(z) * weight))
        below = h
    grads.extend(layers[-1].weight_grads(below, dz_out * weight))
    return accumulate_traces([trace], [torch.cat([g.flatten(1) for g in grads], 1)], decay, fresh)[0]


def check_pairable(actor, critic):
    """Refuse teams that cannot be fused: both must settle, share input and hidden widths and
    activations, and the critic must end in one normal unit."""
    check_settleable(actor)
    check_settleable(critic)
    check_critic(critic)
    if actor.sizes[:-1] != critic.sizes[:-1] or any(
            a.units.activation != c.units.activation for a, c in zip(actor.layers[:-1], critic.layers[:-1])):
        raise ValueError("actor and critic must share input and hidden widths and activations to be paired, "
                         f"got {actor.sizes} and {critic.sizes}")


def pad_stack(a, c):
    """Stack actor rows over critic rows, padding the last axis of the narrower with zeros."""
    width = max(a.shape[-1], c.shape[-1])
    return torch.cat([torch.nn.functional.pad(x, (0, width - x.shape[-1])) for x in (a, c)])


def stacked_parameters(actor, critic):
    """Both teams' weights and biases, actor rows over critic rows, every row's parameters in one
    flat vector. Returns the ``(2R, P)`` tensor, the layers as views into it (with the actor's
    units) and the columns that hold each layer's ``W^l`` and ``b^l``."""
    stacked = [pad_stack(a, c) for la, lc in zip(actor.layers, critic.layers)
               for a, c in ((la.weight, lc.weight), (la.bias, lc.bias))]
    flat = torch.cat([p.flatten(1) for p in stacked], 1)
    ends = torch.tensor([0] + [p[0].numel() for p in stacked]).cumsum(0).tolist()
    views = [flat[:, start:end].view(p.shape) for p, start, end in zip(stacked, ends[:-1], ends[1:])]
    layers = [Layer(w, b, a.units) for w, b, a in zip(views[::2], views[1::2], actor.layers)]
    return flat, layers, [slice(ends[2 * l], ends[2 * l + 2]) for l in range(len(layers))]


class PairedTeams:
    """Algorithm 2 for an actor and a critic with the same hidden widths, fused for speed.

    Every tensor has ``2R`` rows, the actor's runs first: hidden layers are stacked as they
    are; the two output layers are stacked after padding the narrower one with columns that
    stay zero (their gradient is always zero). All weights and biases of a row live in one
    flat vector, so Adam, the traces and the learning step are a handful of operations on one
    ``(2R, P)`` tensor; the layers are views into it.
    """

    def __init__(self, actor, critic, cfg, compiled: bool = False):
        check_pairable(actor, critic)
        # compiled, the settling loop and the traces run as generated C++ called from a C++
        # wrapper (needs a C++ compiler; about 20 s once per process and network shape)
        if compiled:
            jit = partial(torch.compile, dynamic=False, options={"cpp_wrapper": True})
            self.settle_stacked = jit(partial(settle_stacked, matmul=row_matmul))
            self.settled_traces = jit(settled_traces)
        else:
            self.settle_stacked, self.settled_traces = settle_stacked, settled_traces
        self.actor, self.critic, self.cfg, self.runs = actor, critic, cfg, actor.runs
        self.widths = (actor.sizes[-1], critic.sizes[-1])
        self.out_units = (actor.layers[-1].units, critic.layers[-1].units)
        self.flat, self.layers, columns = stacked_parameters(actor, critic)
        # Adam blocks: every (team, layer) pair, i.e. its rows and the columns of W^l and b^l
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
        """A per-row vector: ``a`` on the actor's rows, ``c`` on the critic's (each a number or one value per run)."""
        return torch.cat([torch.as_tensor(np.broadcast_to(np.asarray(x, dtype=np.float64), (self.runs,)).copy())
                          for x in (a, c)])

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
        self.outputs = (self.out_units[0].from_noise(z_a, noise[0][-1]),
                        self.out_units[1].from_noise(z_c, noise[1][-1]))
        return self.out_units[1].mean(z_c)[:, 0, 0]

    def action(self):
        """The actor's action per run, shape ``(R,)`` (index) or ``(R, n)`` (continuous)."""
        return self.out_units[0].action(self.outputs[0])[:, 0]

    def learn(self, delta, t, mask):
        """Steps 3 and 6 of Algorithm 2 for both teams: ``W^l <- W^l + alpha_l * delta * z^l``, rows in ``mask``."""
        if not mask.any():  # most steps end no episode: skip the products
            return
        rates = [schedule(t) for team in self.schedules for schedule in team]
        self.opt.step([torch.cat([delta, delta]).unsqueeze(1) * self.trace], rates, torch.cat([mask, mask]))

    def _settle(self):
        """Step 4 of Algorithm 2: eq. (8) of [MAP] ``cfg.settle_steps`` times, all hidden layers of both teams."""
        first = self.layers[0]
        mean_first = first.units.mean(first.preact(self.state))  # the state does not move while settling
        back = [layer.weight.transpose(1, 2).contiguous() for layer in self.layers[1:]]
        return self.settle_stacked(list(self.hidden), mean_first, self.layers, back, self.var, self.rate,
                                   self.out_units, self.outputs, self.runs, self.widths, self.cfg.settle_steps)

    def settle_and_trace(self, fresh):
        """Steps 4 and 5 of Algorithm 2 for both teams at once (step 1 where ``fresh``)."""
        self.hidden = self._settle()
        self.trace = self.settled_traces(self.trace, self.decay, torch.cat([fresh, fresh]), self.state, self.hidden,
                                         self.layers, self.var, self.out_units, self.outputs, self.runs, self.widths)

    def check_finite(self, t):
        """Stop if a run's weights are no longer finite (``t``: the environment step, for the message)."""
        check_finite([self.flat], t, self.runs)

    def finish(self):
        """Copy the trained weights back into the actor and critic networks."""
        for team, rows in ((self.actor, slice(0, self.runs)), (self.critic, slice(self.runs, None))):
            for layer, own in zip(self.layers, team.layers):
                width = own.weight.shape[-1]
                own.weight.copy_(layer.weight[rows, :, :width])
                own.bias.copy_(layer.bias[rows, :width])
