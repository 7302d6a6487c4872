"""Single-step tasks (contextual bandits), batched over runs."""
from __future__ import annotations

import torch

from .checks import integer
from .network import DTYPE


class Multiplexer:
    """The k-bit multiplexer: ``k`` address bits select one of ``2**k`` data bits (Sec. 5.1 of [MAP]).

    States are drawn uniformly from ``{-1, +1}^(k + 2**k)``; the address is read from the first
    ``k`` entries (most significant first). The agent's action (0 or 1, meaning -1 or +1) earns
    +1 if it equals the selected data bit and -1 otherwise.
    """

    def __init__(self, k: int):
        self.k = k = integer("k (address bits)", k, 1, 6)
        self.n_inputs = k + 2**k
        self.n_actions = 2

    def sample(self, runs: int, batch: int, generator=None):
        """States of shape ``(runs, batch, k + 2**k)`` with entries -1 or +1."""
        runs, batch = integer("runs", runs), integer("batch", batch)
        bits = torch.randint(0, 2, (runs, batch, self.n_inputs), generator=generator)
        return (2 * bits - 1).to(DTYPE)

    def target(self, state):
        """The selected data bit, in {0, 1}."""
        bits = (state > 0).long()
        powers = 2 ** torch.arange(self.k - 1, -1, -1)
        address = (bits[..., : self.k] * powers).sum(-1)
        return bits[..., self.k :].gather(-1, address.unsqueeze(-1)).squeeze(-1)

    def reward(self, state, action):
        """+1 where ``action`` (0/1) equals the target, -1 elsewhere; shape ``(R, B)``."""
        return torch.where(action.long() == self.target(state), 1.0, -1.0).to(DTYPE)


class Regression:
    """Scalar regression (Sec. 5.2 of [MAP]): ``y = relu(relu(x W0) W1)`` with ``x ~ N(0, I_n)``.

    ``W0`` (``n x n``) and ``W1`` (``n x 1``) have standard normal entries, drawn once from
    ``seed`` and fixed. The action is a real number; the reward is ``-(A - y)^2``.
    """

    def __init__(self, n_inputs: int = 8, seed: int = 0):
        n_inputs, seed = integer("n_inputs", n_inputs), integer("seed", seed, 0)
        gen = torch.Generator().manual_seed(seed)
        self.w0 = torch.randn(n_inputs, n_inputs, generator=gen, dtype=DTYPE)
        self.w1 = torch.randn(n_inputs, 1, generator=gen, dtype=DTYPE)
        self.n_inputs, self.n_actions = n_inputs, 1

    def sample(self, runs: int, batch: int, generator=None):
        """Standard normal inputs of shape ``(runs, batch, n)``."""
        runs, batch = integer("runs", runs), integer("batch", batch)
        return torch.randn(runs, batch, self.n_inputs, generator=generator, dtype=DTYPE)

    def target(self, state):
        """``y``, shape ``(R, B)``."""
        return torch.relu(torch.relu(state @ self.w0) @ self.w1)[..., 0]

    def reward(self, state, action):
        """``-(A - y)^2`` for the real action ``A`` (shape ``(R, B, 1)``)."""
        return -((action[..., 0] - self.target(state)) ** 2)
