"""Adam with per-run state (gradient ascent) and linear learning-rate schedules."""
from __future__ import annotations

import numpy as np
import torch

from .checks import integer, real


def per_run(x, like):
    """View a per-run vector ``x`` (shape ``(R,)``) so it broadcasts against ``like``."""
    return x.view((-1,) + (1,) * (like.dim() - 1))


def check_adam_settings(betas, eps) -> tuple:
    """``(betas, eps)`` as floats, refusing them out of range: two ``betas`` in ``[0, 1)``, ``eps`` positive."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    return tuple(real("betas", b, 0.0, 1.0, open_high=True) for b in betas), real("eps", eps, 0.0, open_low=True)


class Adam:
    """Adam (Kingma and Ba, 2015) applied in place to tensors with a leading runs axis.

    Every element has its own moment estimates, so each run (row) keeps its own optimiser
    state; every tensor must have the same number of rows. :meth:`step` *adds* the update:
    rules return ascent directions (the REINFORCE update).
    """

    def __init__(self, params, betas=(0.9, 0.999), eps: float = 1e-8):
        betas, eps = check_adam_settings(betas, eps)
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
        m = torch._foreach_add(torch._foreach_mul(self.m, b1), grads, alpha=1 - b1)
        v = torch._foreach_addcmul(torch._foreach_mul(self.v, b2), grads, grads, value=1 - b2)
        m_hat = torch._foreach_div(m, [per_run(c1, p) for p in self.params])
        v_hat = torch._foreach_div(v, [per_run(c2, p) for p in self.params])
        denom = torch._foreach_add(torch._foreach_sqrt(v_hat), self.eps)
        change = torch._foreach_div(torch._foreach_mul(m_hat, [float(lr) for lr in lrs]), denom)
        if mask is None or mask.all():
            self.m, self.v = list(m), list(v)
            torch._foreach_add_(self.params, change)
            return
        for i, p in enumerate(self.params):
            keep = per_run(mask, p)
            self.m[i], self.v[i] = torch.where(keep, m[i], self.m[i]), torch.where(keep, v[i], self.v[i])
            p.copy_(torch.where(keep, p + change[i], p))


class BlockAdam:
    """The same Adam, stepped by a fused kernel, with its own rate per block of rows and columns.

    ``blocks`` gives, for each parameter tensor, ``(rows, columns)`` pairs (row indices and a
    column slice) that tile it; by default one block per tensor. Each block has its own step
    size, and each row of a block keeps its own step count, as separate per-run optimisers
    would. The work is done by PyTorch's fused Adam kernel (``torch._fused_adam_``, what
    ``torch.optim.Adam(fused=True)`` calls), a few times faster than :class:`Adam`'s
    elementwise operations on a CPU; rows left out by the mask are simply not handed to it.
    The kernel steps every tensor of a call on its own, so the (block, row) pieces that share
    a rate go into one call, whichever blocks they belong to.
    """

    def __init__(self, params, blocks=None, betas=(0.9, 0.999), eps: float = 1e-8):
        params = list(params)
        check_adam_settings(betas, eps)
        blocks = blocks or [[(range(p.shape[0]), slice(None))] for p in params]
        self.params, self.betas, self.eps = params, betas, eps
        self.grads = [torch.zeros_like(p) for p in params]
        state = [(p, g, torch.zeros_like(p), torch.zeros_like(p)) for p, g in zip(params, self.grads)]
        pieces = [(tensors, r, cols) for tensors, own in zip(state, blocks) for rows, cols in own for r in rows]
        self.block_sizes = [len(rows) for own in blocks for rows, _ in own]
        self.piece_rows = np.array([r for _, r, _ in pieces], dtype=np.int64)  # the row (run) of every piece
        self.steps = torch.zeros(len(pieces), dtype=params[0].dtype)  # every piece's step count
        # per piece: its (param, grad, m, v) views and its step count, as object arrays to pick groups from
        self.items = [object_array([tensors[k][r, cols] for tensors, r, cols in pieces]) for k in range(4)]
        self.items.append(object_array(list(self.steps)))

    def step(self, grads, lrs, mask=None) -> None:
        """One ascent step of every block with its rate in ``lrs``, for the rows where ``mask`` is set (default: all).

        A block's rate is a number, or one rate per row of the block (a sweep whose runs differ in
        learning rate). Every (block, row) piece that shares a rate steps in one call, so each
        row steps exactly as it would in a batch where every row had its rate.
        """
        if len(lrs) != len(self.block_sizes):
            raise ValueError(f"lrs must have {len(self.block_sizes)} entries (one per block), got {len(lrs)}")
        if mask is not None and not mask.any():
            return
        rates = np.concatenate([np.full(n, lr) if np.ndim(lr) == 0 else lr for lr, n in zip(lrs, self.block_sizes)])
        if rates.shape != self.piece_rows.shape:
            raise ValueError(f"lrs must give each block a rate or one rate per row of the block, got {lrs!r}")
        torch._foreach_copy_(self.grads, list(grads))
        on = np.ones(len(self.piece_rows), dtype=bool) if mask is None else mask.numpy()[self.piece_rows]
        self.steps += torch.from_numpy(on)  # one more step for every piece that steps (+0 leaves the others)
        order, groups = rows_by_rate(rates, on)
        lists = [x[order].tolist() for x in self.items]
        for rate, begin, end in groups:
            self._fused_step([x[begin:end] for x in lists], rate)

    def _fused_step(self, lists, lr) -> None:
        """One fused Adam step of ``lists`` (params, grads, m, v, step counts already counted) at rate ``lr``."""
        params, grads, m, v, steps = lists
        torch._fused_adam_(params, grads, m, v, [], steps, lr=lr, beta1=self.betas[0], beta2=self.betas[1],
                           weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=True)


def object_array(items) -> np.ndarray:
    """``items`` (tensors) as a numpy array of objects, to index with arrays of positions."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def rows_by_rate(rates, on) -> tuple:
    """The pieces that are ``on`` grouped by rate (one rate and flag per piece): their positions
    ``order``, sorted by rate, and ``(rate, begin, end)`` for each rate's stretch of ``order``."""
    keep = np.flatnonzero(on)
    order = keep[np.argsort(rates[keep], kind="stable")]
    ordered = rates[order]
    begins = [0] + (np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist() if len(order) else []
    return order, [(float(ordered[b]), b, e) for b, e in zip(begins, begins[1:] + [len(order)])]


class LinearSchedule:
    """A rate interpolated linearly from ``start`` to ``end`` over ``duration`` steps, then held.

    A step is an environment step of an actor-critic run or an update of a single-step run;
    ``duration = 0`` holds ``end`` from the start. ``start`` and ``end`` are numbers, or one rate
    per run (a sweep): the schedule then gives an array of per-run rates, each computed exactly as
    a number's would be.
    """

    def __init__(self, start, end=None, duration: int = 0):
        end = start if end is None else end
        per_run = np.ndim(start) > 0 or np.ndim(end) > 0
        self.duration = integer("duration", duration, 0)
        if not per_run:  # learning rates
            self.start, self.end = real("start", start, 0.0), real("end", end, 0.0)
            return
        start, end = (np.asarray(x, dtype=np.float64) for x in (start, end))
        if start.ndim > 1 or end.ndim > 1 or (start.ndim and end.ndim and start.shape != end.shape):
            raise ValueError(f"start and end must be numbers or equally long lists of per-run rates, "
                             f"got start={start.tolist()!r}, end={end.tolist()!r}")
        if not (np.isfinite(start).all() and np.isfinite(end).all() and (start >= 0).all() and (end >= 0).all()):
            raise ValueError(f"learning rates must be non-negative and finite, got start={start.tolist()!r}, "
                             f"end={end.tolist()!r}")
        self.start, self.end = np.broadcast_arrays(start, end)

    def __call__(self, t: int):
        """The rate at step ``t`` (an array of per-run rates for a sweep's schedule)."""
        if self.duration == 0:
            return self.end
        frac = min(t / self.duration, 1.0)
        return self.start + (self.end - self.start) * frac


def as_schedules(lrs) -> list:
    """One :class:`LinearSchedule` per layer; a plain number is a constant rate."""
    return [lr if isinstance(lr, LinearSchedule) else LinearSchedule(lr) for lr in lrs]


def check_runs(schedules, runs: int, name: str) -> None:
    """Per-run schedules (a sweep's) must give exactly one rate per run."""
    for i, s in enumerate(schedules):
        if np.ndim(s.start) and len(s.start) != runs:
            raise ValueError(f"{name}[{i}] must be a rate or give one rate per run ({runs}), got {len(s.start)} rates")


def layer_rates(schedules, t: int) -> list:
    """Expand one schedule per layer into one rate per tensor ``[W^1, b^1, W^2, b^2, ...]``."""
    return [rate for s in schedules for rate in [s(t)] * 2]
