"""Unit families: the stochastic "agents" a network is built from.

Every family maps a pre-activation ``z`` (shape ``(R, B, n)``: runs, batch, units) to a
distribution over the layer's values ``h``. Each family gives

- ``mean(z)``: the expected value of ``h``;
- ``from_noise(z, u)``: a sample built from standard noise ``u`` (so batched and separate
  runs can be fed identical noise), and ``sample(z, generator)``;
- ``log_prob(h, z)``: ``log pi(h | z)`` summed over the units of the layer, shape ``(R, B)``;
- ``dlogp_dz(h, z)``: its gradient with respect to ``z`` in closed form. The gradient with
  respect to the weights and to the layer's input follow by the chain rule
  (:meth:`companion.network.Layer.weight_grads`, :meth:`companion.network.Layer.input_grad`).

Shapes broadcast, so ``h`` and ``z`` may carry extra leading axes (used for enumeration).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .checks import one_of, positive

ACTIVATIONS = ("softplus", "relu", "linear")


class Normal:
    """Normal units: ``h ~ N(f(z), var)`` with ``f`` softplus, ReLU or linear (Sec. 2 of [MAP]).

    The linear case is the normal output unit used for continuous actions, critics and regression.
    """

    def __init__(self, activation: str = "softplus", var: float = 1.0):
        self.activation = one_of("activation", activation, ACTIVATIONS)
        self.var = positive("var", var)

    def __repr__(self) -> str:
        return f"Normal(activation={self.activation!r}, var={self.var})"

    def mean(self, z):
        """``f(z)``, the mean of ``h``."""
        if self.activation == "softplus":
            return F.softplus(z)
        if self.activation == "relu":
            return torch.relu(z)
        return z

    def mean_slope(self, z):
        """``f'(z)``, the derivative of the mean with respect to the pre-activation."""
        if self.activation == "softplus":
            return torch.sigmoid(z)
        if self.activation == "relu":
            return (z > 0).to(z.dtype)
        return torch.ones_like(z)

    def noise(self, z, generator=None):
        """Standard normal noise of the shape of ``z``."""
        return torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)

    def from_noise(self, z, u):
        """``h = f(z) + sqrt(var) * u``."""
        return self.mean(z) + math.sqrt(self.var) * u

    def sample(self, z, generator=None):
        """Draw ``h ~ N(f(z), var)``."""
        return self.from_noise(z, self.noise(z, generator))

    def log_prob(self, h, z):
        """``log pi(h | z)``, summed over the units of the layer."""
        err = h - self.mean(z)
        return (-0.5 * err**2 / self.var).sum(-1) - 0.5 * h.shape[-1] * math.log(2 * math.pi * self.var)

    def dlogp_dz(self, h, z):
        """``d log pi(h | z) / dz = (h - f(z)) f'(z) / var``."""
        if self.activation == "linear":  # f'(z) = 1: skip the multiplication
            return (h - z) / self.var
        return (h - self.mean(z)) / self.var * self.mean_slope(z)

    def dlogp_dh(self, h, z):
        """Gradient of ``log pi(h | z)`` with respect to the unit's own value ``h``."""
        return (self.mean(z) - h) / self.var

    def action(self, h):
        """The value handed to the environment: the real vector itself."""
        return h


class Bernoulli:
    """Bernoulli-logistic units: ``h in {0, 1}``, ``Pr(h = 1) = sigmoid(z)``."""

    def __repr__(self) -> str:
        return "Bernoulli()"

    def mean(self, z):
        """``sigmoid(z)``, the probability that ``h = 1``."""
        return torch.sigmoid(z)

    def noise(self, z, generator=None):
        """Uniform noise in ``[0, 1)`` of the shape of ``z``."""
        return torch.rand(z.shape, generator=generator, dtype=z.dtype, device=z.device)

    def from_noise(self, z, u):
        """``h = 1`` where ``u < sigmoid(z)``."""
        return (u < torch.sigmoid(z)).to(z.dtype)

    def sample(self, z, generator=None):
        """Draw ``h ~ Bernoulli(sigmoid(z))``."""
        return self.from_noise(z, self.noise(z, generator))

    def mean_slope(self, z):
        """``sigmoid'(z)``, the slope of the mean (used by the straight-through estimator)."""
        p = torch.sigmoid(z)
        return p * (1 - p)

    def log_prob(self, h, z):
        """``log pi(h | z)``, summed over the units of the layer."""
        return (h * F.logsigmoid(z) + (1 - h) * F.logsigmoid(-z)).sum(-1)

    def dlogp_dz(self, h, z):
        """``d log pi(h | z) / dz = h - sigmoid(z)``."""
        return h - torch.sigmoid(z)

    def action(self, h):
        """A single Bernoulli output gives the action 0 or 1."""
        if h.shape[-1] != 1:
            raise ValueError(f"a Bernoulli output layer must have 1 unit to give an action, got {h.shape[-1]}")
        return h[..., 0]


class Softmax:
    """One categorical output over ``n`` actions, ``Pr(a) = softmax(z / T)_a``, values one-hot."""

    def __init__(self, temperature: float = 1.0):
        self.temperature = positive("temperature", temperature)

    def __repr__(self) -> str:
        return f"Softmax(temperature={self.temperature})"

    def probs(self, z):
        """The action probabilities ``softmax(z / T)``."""
        return torch.softmax(z / self.temperature, dim=-1)

    mean = probs

    def noise(self, z, generator=None):
        """One uniform number per sample, for inverse-CDF sampling."""
        return torch.rand(z.shape[:-1] + (1,), generator=generator, dtype=z.dtype, device=z.device)

    def from_noise(self, z, u):
        """Inverse-CDF sampling: the first action whose cumulative probability exceeds ``u``."""
        probs = self.probs(z)
        index = (probs.cumsum(-1) < u).sum(-1).clamp(max=probs.shape[-1] - 1)
        return F.one_hot(index, probs.shape[-1]).to(z.dtype)

    def sample(self, z, generator=None):
        """Draw one action, as a one-hot value."""
        return self.from_noise(z, self.noise(z, generator))

    def log_probs(self, z):
        """``log softmax(z / T)``."""
        return torch.log_softmax(z / self.temperature, dim=-1)

    def log_prob(self, h, z):
        """``log pi(h | z)`` of the one-hot value ``h``."""
        return (h * self.log_probs(z)).sum(-1)

    def dlogp_dz(self, h, z):
        """``d log pi(h | z) / dz = (h - softmax(z / T)) / T``."""
        return (h - self.probs(z)) / self.temperature

    def action(self, h):
        """The index of the chosen action."""
        return h.argmax(-1)


class SoftmaxLastZero(Softmax):
    """A softmax over ``n`` actions whose last logit is fixed at 0 ([WM]'s actor output).

    The layer has ``n - 1`` pre-activations (one fewer weight column than actions), values are
    one-hot over all ``n`` actions, and ``dlogp_dz`` is the softmax gradient without the fixed entry.
    """

    def __repr__(self) -> str:
        return f"SoftmaxLastZero(temperature={self.temperature})"

    @staticmethod
    def _full(z):
        return torch.cat([z, torch.zeros_like(z[..., :1])], -1)

    def probs(self, z):
        """The probabilities over all ``n`` actions, the last logit fixed at 0."""
        return super().probs(self._full(z))

    mean = probs

    def log_probs(self, z):
        """``log softmax`` over all ``n`` actions."""
        return super().log_probs(self._full(z))

    def dlogp_dz(self, h, z):
        """The softmax gradient without the fixed entry."""
        return super().dlogp_dz(h, z)[..., :-1]

