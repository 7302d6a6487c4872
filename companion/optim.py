"""Adam with per-run state (gradient ascent) and linear learning-rate schedules."""
from __future__ import annotations

import torch

from .checks import integer, real


class Adam:
    """Adam (Kingma and Ba, 2015) applied in place to tensors with a leading runs axis.

    Every element has its own moment estimates, so each run (row) keeps its own optimiser
    state; every tensor must have the same number of rows. :meth:`step` *adds* the update:
    rules return ascent directions (the REINFORCE update).
    """

    def __init__(self, params, betas=(0.9, 0.999), eps: float = 1e-8):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        betas = tuple(real("betas", b, 0.0, 1.0, open_high=True) for b in betas)
        eps = real("eps", eps, 0.0, open_low=True)
        self.params = list(params)
        if not self.params or not all(isinstance(p, torch.Tensor) and p.dim() >= 1 for p in self.params):
            raise ValueError(f"params must be a non-empty list of tensors with a runs axis, got {self.params!r}")
        rows = {p.shape[0] for p in self.params}
        if len(rows) != 1:
            raise ValueError(f"params must all have the same number of rows (runs), got {sorted(rows)}")
        self.betas = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = torch.zeros(rows.pop(), dtype=self.params[0].dtype)  # steps taken, per row

    def step(self, grads, lrs, mask=None) -> None:
        """One ascent step ``p += lr * m_hat / (sqrt(v_hat) + eps)``; ``lrs`` has one rate per tensor.

        ``mask`` (bool, one entry per row) selects the rows that step; the others keep their
        parameters and optimiser state.
        """
        if len(grads) != len(self.params) or len(lrs) != len(self.params):
            raise ValueError(
                f"grads and lrs must each have {len(self.params)} entries, got {len(grads)} and {len(lrs)}"
            )
        if mask is not None and not mask.any():
            return
        b1, b2 = self.betas
        self.t += 1 if mask is None else mask.to(self.t.dtype)
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        rows = lambda x, p: x.view((-1,) + (1,) * (p.dim() - 1))  # noqa: E731 - a per-row vector against p
        m = torch._foreach_add(torch._foreach_mul(self.m, b1), grads, alpha=1 - b1)
        v = torch._foreach_addcmul(torch._foreach_mul(self.v, b2), grads, grads, value=1 - b2)
        m_hat = torch._foreach_div(m, [rows(c1, p) for p in self.params])
        v_hat = torch._foreach_div(v, [rows(c2, p) for p in self.params])
        denom = torch._foreach_add(torch._foreach_sqrt(v_hat), self.eps)
        change = torch._foreach_div(torch._foreach_mul(m_hat, [float(lr) for lr in lrs]), denom)
        if mask is None or mask.all():
            self.m, self.v = list(m), list(v)
            torch._foreach_add_(self.params, change)
            return
        for i, p in enumerate(self.params):
            keep = rows(mask, p)
            self.m[i], self.v[i] = torch.where(keep, m[i], self.m[i]), torch.where(keep, v[i], self.v[i])
            p.copy_(torch.where(keep, p + change[i], p))


class BlockAdam:
    """The same Adam with one fused kernel per block of rows and columns.

    ``blocks`` gives, for each parameter tensor, ``(rows, columns)`` pairs (row indices and a
    column slice) that tile it; by default one block per tensor. Each block has its own step
    size, and each row of a block keeps its own step count, as separate per-run optimisers
    would. The work is done by PyTorch's fused Adam kernel (``torch._fused_adam_``, what
    ``torch.optim.Adam(fused=True)`` calls), a few times faster than :class:`Adam`'s
    elementwise operations on a CPU; rows left out by the mask are simply not handed to it.
    """

    def __init__(self, params, blocks=None, betas=(0.9, 0.999), eps: float = 1e-8):
        params = list(params)
        Adam(params, betas, eps)  # the same argument checks
        blocks = blocks or [[(range(p.shape[0]), slice(None))] for p in params]
        self.params, self.betas, self.eps = params, betas, eps
        self.grads = [torch.zeros_like(p) for p in params]
        state = [(p, g, torch.zeros_like(p), torch.zeros_like(p)) for p, g in zip(params, self.grads)]
        self.blocks = [
            {"rows": list(rows), "lists": [[x[r, cols] for r in rows] for x in tensors],
             "steps": [torch.zeros((), dtype=params[0].dtype) for _ in rows]}
            for tensors, own in zip(state, blocks) for rows, cols in own
        ]

    def step(self, grads, lrs, mask=None) -> None:
        """One ascent step of every block with its rate in ``lrs``, for the rows where ``mask`` is set (default: all)."""
        if len(lrs) != len(self.blocks):
            raise ValueError(f"lrs must have {len(self.blocks)} entries (one per block), got {len(lrs)}")
        if mask is not None and not mask.any():
            return
        for buffer, grad in zip(self.grads, grads):
            buffer.copy_(grad)
        on = [True] * self.params[0].shape[0] if mask is None else mask.tolist()
        for block, lr in zip(self.blocks, lrs):
            keep = [i for i, r in enumerate(block["rows"]) if on[r]]
            lists = block["lists"] + [block["steps"]]
            if len(keep) < len(block["rows"]):
                lists = [[x[i] for i in keep] for x in lists]
            params, grads, m, v, steps = lists
            torch._foreach_add_(steps, 1.0)
            torch._fused_adam_(params, grads, m, v, [], steps, lr=lr, beta1=self.betas[0], beta2=self.betas[1],
                               weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=True)


class LinearSchedule:
    """A rate interpolated linearly from ``start`` to ``end`` over ``steps`` steps, then held."""

    def __init__(self, start: float, end: float | None = None, steps: int = 0):
        end = start if end is None else end
        self.start, self.end = real("start", start, 0.0), real("end", end, 0.0)  # learning rates
        self.steps = integer("steps", steps, 0)

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
