"""A layered network of stochastic units, batched over independent runs.

Every tensor has a leading runs axis ``R``: weights are ``(R, n_in, n_out)``, biases ``(R, n_out)``
and layer values ``(R, B, n)``. Ten independent runs are therefore one batched computation,
each run with its own weights. Layer ``l`` draws ``H^l ~ pi_l(H^{l-1}, .; W^l)`` with
``H^0 = S`` and ``H^L = A`` (Sec. 2 of [MAP]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .checks import integer, real

DTYPE = torch.float64


@dataclass
class Layer:
    weight: torch.Tensor  # (R, n_in, n_out)
    bias: torch.Tensor  # (R, n_out)
    units: object

    def preact(self, x):
        """``z = x W + b`` for input ``x`` of shape ``(R, B, n_in)``."""
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)

    def weight_grads(self, x, dz):
        """Batch mean of the per-sample gradients ``(x^T dz, dz)`` given ``dz = d(.)/dz``."""
        batch = x.shape[1]
        return torch.bmm(x.transpose(1, 2), dz) / batch, dz.mean(1)

    def input_grad(self, dz):
        """Gradient with respect to the layer's input: ``dz W^T``."""
        return torch.bmm(dz, self.weight.transpose(1, 2))


@dataclass
class Network:
    layers: list

    @property
    def runs(self) -> int:
        """The number of runs ``R`` (the leading axis of every tensor)."""
        return self.layers[0].weight.shape[0]

    @property
    def sizes(self) -> list:
        """Layer widths from the input to the output."""
        return [self.layers[0].weight.shape[1]] + [layer.weight.shape[2] for layer in self.layers]

    def parameters(self) -> list:
        """``[W^1, b^1, W^2, b^2, ...]``, the order every gradient list follows."""
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def check_state(self, state):
        """``state`` (a tensor or numpy array of numbers) as a finite tensor ``(runs, batch, n_in)``
        of the weights' dtype."""
        kind = getattr(state, "dtype", None)
        if not isinstance(state, (torch.Tensor, np.ndarray)) or kind in (torch.bool, np.bool_) or (
                isinstance(state, np.ndarray) and state.dtype.kind not in "iuf"):
            raise ValueError(f"state must be a tensor or numpy array of numbers, got {type(state).__name__} {kind}")
        state = torch.as_tensor(state, dtype=self.layers[0].weight.dtype)
        if state.dim() != 3 or state.shape[0] != self.runs or state.shape[2] != self.sizes[0]:
            raise ValueError(
                f"state must have shape (runs={self.runs}, batch, {self.sizes[0]}), got {tuple(state.shape)}"
            )
        if not torch.isfinite(state).all():
            raise ValueError("state must be finite, got NaN or infinite entries")
        return state


def run_seeds(seed: int, runs: int) -> list:
    """One independent integer seed per run, derived from ``seed`` (run ``r`` never depends on ``runs``)."""
    children = np.random.SeedSequence(seed).spawn(runs)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in children]


def init_network(sizes, units, runs: int, seed: int, bias_range: float = 0.0, dtype=DTYPE) -> Network:
    """Weights uniform in ``+-sqrt(6 / (fan_in + fan_out))``, biases uniform in ``+-bias_range``.

    ``sizes`` lists the layer widths from the input to the output, ``units`` the unit family of
    each of the ``len(sizes) - 1`` layers. Run ``r`` is initialised from its own seed.
    """
    given = sizes
    try:
        sizes = [integer("sizes", n) for n in given]
    except (TypeError, ValueError):
        sizes = []
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two positive integers, got {given!r}")
    if (not isinstance(units, (list, tuple)) or len(units) != len(sizes) - 1
            or not all(hasattr(u, "from_noise") for u in units)):
        raise ValueError(f"units must give one unit family per layer ({len(sizes) - 1}), got {units!r}")
    runs, seed = integer("runs", runs), integer("seed", seed, 0)
    bias_range = real("bias_range", bias_range, 0.0)
    gens = [torch.Generator().manual_seed(s) for s in run_seeds(seed, runs)]
    layers = []
    for n_in, n_out, unit in zip(sizes[:-1], sizes[1:], units):
        bound = (6.0 / (n_in + n_out)) ** 0.5
        w = torch.stack([(torch.rand(n_in, n_out, generator=g, dtype=dtype) * 2 - 1) * bound for g in gens])
        b = torch.stack([(torch.rand(n_out, generator=g, dtype=dtype) * 2 - 1) * bias_range for g in gens])
        layers.append(Layer(w, b, unit))
    return Network(layers)


def sample(net: Network, state, generator=None, noise=None, checked: bool = False) -> list:
    """Sample every layer in turn: returns ``[H^0 = S, H^1, ..., H^L = A]``.

    ``noise`` (one standard-noise tensor per layer, see ``Units.from_noise``) replaces the
    generator's draws, so the same noise can drive a batched and a separate computation.
    ``checked`` says that the caller has already checked ``state`` (a training loop checks its
    observations where they come in, not at every sample).
    """
    values = [state if checked else net.check_state(state)]
    for l, layer in enumerate(net.layers):
        z = layer.preact(values[-1])
        u = layer.units.noise(z, generator) if noise is None else noise[l]
        values.append(layer.units.from_noise(z, u))
    return values


def sample_exploring_some(net: Network, state, explore, generator=None, checked: bool = False) -> list:
    """Like :func:`sample`, but each hidden unit explores only with probability ``explore``.

    Our reading of the variance reduction of Thomas (2011) used as a baseline by [MAP]: a
    hidden unit that does not explore outputs its mean, so its REINFORCE update
    ``(h - mu) / sigma^2 * ...`` is exactly zero on that step; the output layer always samples.
    ``explore`` is a number or one probability per run; ``checked`` as in :func:`sample`, for
    ``state`` and ``explore``.
    """
    if not checked:
        state, explore = net.check_state(state), check_explore(explore, net.runs)
    probs = torch.as_tensor(explore, dtype=DTYPE)
    if probs.dim():
        probs = probs.view(-1, 1, 1)
    values = [state]
    for layer in net.layers[:-1]:
        z = layer.preact(values[-1])
        u = layer.units.noise(z, generator) * (torch.rand(z.shape, generator=generator, dtype=z.dtype) < probs)
        values.append(layer.units.from_noise(z, u))
    out = net.layers[-1]
    values.append(out.units.sample(out.preact(values[-1]), generator))
    return values


def check_explore(explore, runs: int):
    """``explore``, a probability in ``(0, 1]`` or one per run, as a float64 tensor (``()`` or ``(runs,)``)."""
    probs = torch.as_tensor(real("explore", explore, 0.0, 1.0, open_low=True) if np.ndim(explore) == 0 else explore,
                            dtype=DTYPE)
    if probs.dim() > 1 or (probs.dim() == 1 and len(probs) != runs) or not ((probs > 0) & (probs <= 1)).all():
        raise ValueError("explore (probability that a hidden unit explores) must lie in (0, 1], as a number or one "
                         f"per run ({runs}), got {explore!r}")
    return probs


def sample_deterministic_hidden(net: Network, state, generator=None, checked: bool = False) -> list:
    """Hidden layers output their means (an ordinary ANN); only the output layer samples (``checked`` as in
    :func:`sample`)."""
    values = [state if checked else net.check_state(state)]
    for layer in net.layers[:-1]:
        values.append(layer.units.mean(layer.preact(values[-1])))
    out = net.layers[-1]
    values.append(out.units.sample(out.preact(values[-1]), generator))
    return values


def action_probs(net: Network, state, samples: int = 1, generator=None, hidden_means: bool = False):
    """``Pr(A = a | S)`` of a network with a softmax output, shape ``(R, B, n_actions)``.

    The output's probabilities given the hidden values, averaged over ``samples`` draws of the
    hidden layers (a team's policy); ``hidden_means`` sets every hidden unit to its mean instead,
    which is exact for an ordinary network (the backprop actor).
    """
    samples = integer("samples", samples)
    draw, n = (sample_deterministic_hidden, 1) if hidden_means else (sample, samples)
    out = net.layers[-1]
    return sum(out.units.probs(out.preact(draw(net, state, generator)[-2])) for _ in range(n)) / n
