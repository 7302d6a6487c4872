"""Adam with per-run state (gradient ascent) and linear learning-rate schedules."""
from __future__ import annotations

import torch


class Adam:
    """Adam (Kingma and Ba, 2015) applied in place to tensors with a leading runs axis.

    Every element has its own moment estimates, so each run keeps its own optimiser state.
    :meth:`step` *adds* the update: rules return ascent directions (the REINFORCE update).
    """

    def __init__(self, params, betas=(0.9, 0.999), eps: float = 1e-8):
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.params = list(params)
        self.betas = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros(self.params[0].shape[0], dtype=self.params[0].dtype)  # steps taken, per run

    def step(self, grads, lrs, mask=None) -> None:
        """One ascent step ``p += lr * m_hat / (sqrt(v_hat) + eps)``; ``lrs`` has one rate per tensor.

        ``mask`` (bool, one entry per run) selects the runs that step; the others keep their
        parameters and optimiser state untouched.
        """
        if len(grads) != len(self.params) or len(lrs) != len(self.params):
            raise ValueError(
                f"grads and lrs must each have {len(self.params)} entries, got {len(grads)} and {len(lrs)}"
            )
        if mask is None:
            self.t += 1
            self._apply(grads, lrs, slice(None))
        elif mask.any():
            self.t[mask] += 1
            self._apply(grads, lrs, mask)

    def _apply(self, grads, lrs, runs) -> None:
        b1, b2 = self.betas
        t = self.t[runs]
        for p, g, m, v, lr in zip(self.params, grads, self.m, self.v, lrs):
            shape = (-1,) + (1,) * (p.dim() - 1)
            c1, c2 = (1 - b1**t).view(shape), (1 - b2**t).view(shape)
            m[runs] = b1 * m[runs] + (1 - b1) * g[runs]
            v[runs] = b2 * v[runs] + (1 - b2) * g[runs] ** 2
            p[runs] += lr * (m[runs] / c1) / ((v[runs] / c2).sqrt() + self.eps)


class LinearSchedule:
    """A rate interpolated linearly from ``start`` to ``end`` over ``steps`` steps, then held."""

    def __init__(self, start: float, end: float | None = None, steps: int = 0):
        end = start if end is None else end
        if start < 0 or end < 0:
            raise ValueError(f"learning rates must be non-negative, got start={start!r}, end={end!r}")
        if steps < 0:
            raise ValueError(f"steps must be non-negative, got {steps!r}")
        self.start, self.end, self.steps = float(start), float(end), int(steps)

    def __call__(self, t: int) -> float:
        if self.steps == 0:
            return self.end
        frac = min(t / self.steps, 1.0)
        return self.start + (self.end - self.start) * frac


def as_schedules(lrs) -> list:
    """One :class:`LinearSchedule` per layer; a plain number is a constant rate."""
    return [lr if isinstance(lr, LinearSchedule) else LinearSchedule(lr) for lr in lrs]


def layer_rates(schedules, t: int) -> list:
    """Expand one schedule per layer into one rate per tensor ``[W^1, b^1, W^2, b^2, ...]``."""
    return [s(t) for s in schedules for _ in range(2)]
