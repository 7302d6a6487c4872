"""Our runs against a paper's reported cell: the difference, its standard error and Welch's t.

Every standard deviation in the book is the sample one over runs (``ddof = 1``), the one the
papers' tables use. A paper reports a cell as mean (std) over ``n`` runs; our cell is ``n_ours``
runs. The difference in units of the paper's std says how far apart one run of each lies; the
standard error of the difference of the two means says whether the means differ beyond chance.
"""
from __future__ import annotations

import math

import numpy as np

from .experiments import REGISTRY, REPORTED, REPORTED_WM

ALPHA = 0.05  # two-sided level of the stricter reading


def _check_cell(name: str, mean, std, n) -> None:
    if not math.isfinite(mean):
        raise ValueError(f"{name} mean must be finite, got {mean!r}")
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"{name} std must be finite and >= 0, got {std!r}")
    if int(n) != n or n < 2:
        raise ValueError(f"{name} n must be an integer >= 2 (runs), got {n!r}")


def welch(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> dict:
    """Welch's t for ``mean_a - mean_b`` from two (mean, std with ddof = 1, runs) cells.

    ``se = sqrt(s_a^2 / n_a + s_b^2 / n_b)``, ``t = difference / se`` and the Welch-Satterthwaite
    degrees of freedom ``se^4 / ((s_a^2 / n_a)^2 / (n_a - 1) + (s_b^2 / n_b)^2 / (n_b - 1))``.
    """
    _check_cell("a", mean_a, std_a, n_a)
    _check_cell("b", mean_b, std_b, n_b)
    va, vb = std_a**2 / n_a, std_b**2 / n_b
    if va + vb == 0:
        raise ValueError("std_a and std_b must not both be 0 (the standard error would be 0)")
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    difference = mean_a - mean_b
    return {"difference": difference, "standard error": se, "t": difference / se, "df": df,
            "p": t_two_sided_p(difference / se, df)}


def t_two_sided_p(t: float, df: float, points: int = 4001) -> float:
    """``Pr(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom: one minus twice the
    density's integral over ``[0, |t|]`` (Simpson's rule; the density is smooth there)."""
    if not math.isfinite(t):
        raise ValueError(f"t must be finite, got {t!r}")
    if not (math.isfinite(df) and df > 0):
        raise ValueError(f"df must be finite and positive, got {df!r}")
    if points < 3 or points % 2 == 0:
        raise ValueError(f"points must be odd and >= 3 (Simpson's rule), got {points!r}")
    s = np.linspace(0.0, abs(t), points)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(s**2 / df))
    weights = np.ones(points)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    half = (s[1] - s[0]) / 3 * float(weights @ density)
    return float(min(1.0, max(0.0, 1 - 2 * half)))


def compare_with_reported(per_run, reported_mean: float, reported_std: float, reported_n: int = 10) -> dict:
    """Our per-run values (one number per run) against a reported mean (std) over ``reported_n`` runs:
    our mean and std (ddof = 1), the difference with its standard error, Welch's t, its degrees of
    freedom and two-sided p, and the difference in units of the reported std."""
    per_run = np.asarray(per_run, dtype=float)
    if per_run.ndim != 1 or per_run.size < 2 or not np.isfinite(per_run).all():
        raise ValueError(f"per_run must be a 1-d array of >= 2 finite values (one per run), got shape "
                         f"{per_run.shape}")
    if not (math.isfinite(reported_std) and reported_std > 0):
        raise ValueError(f"reported_std must be positive, got {reported_std!r}")
    mean, std = float(per_run.mean()), float(per_run.std(ddof=1))
    test = welch(mean, std, per_run.size, reported_mean, reported_std, reported_n)
    return {"ours": mean, "ours std": std, "runs": per_run.size, "paper": reported_mean,
            "paper std": reported_std, **test, "difference / paper std": test["difference"] / reported_std}


def _per_run(name: str, values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"{name} must be a 1-d array of >= 2 finite values (one per run), got shape "
                         f"{values.shape}")
    return values


def compare_runs(per_run_a, per_run_b) -> dict:
    """Two sets of our own runs (one number per run each): both means and stds (ddof = 1) and
    Welch's test of ``mean_a - mean_b`` (difference, standard error, t, df, two-sided p)."""
    a, b = _per_run("per_run_a", per_run_a), _per_run("per_run_b", per_run_b)
    if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:
        raise ValueError("per_run_a and per_run_b must not both be constant (the standard error would be 0)")
    test = welch(float(a.mean()), float(a.std(ddof=1)), a.size, float(b.mean()), float(b.std(ddof=1)), b.size)
    return {"mean a": float(a.mean()), "std a": float(a.std(ddof=1)), "runs a": a.size,
            "mean b": float(b.mean()), "std b": float(b.std(ddof=1)), "runs b": b.size, **test}


def p_text(p: float) -> str:
    """A two-sided p as the tables print it: three significant digits, or "< 0.001"."""
    if not (math.isfinite(p) and 0 <= p <= 1):
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def reading(p: float, difference: float) -> str:
    """The stricter reading of one comparison: the means differ only where ``p < ALPHA``."""
    if p >= ALPHA:
        return "no detectable difference"
    return "ours higher" if difference > 0 else "ours lower"


def reported_cells() -> list:
    """``(paper, method, task, (mean, std), experiment name)`` of every reported cell, with its
    registry entry."""
    cells = []
    for paper, table, figure in (("chung2021map", REPORTED, "Fig 2, Table 1"),
                                 ("chung2022weightmax", REPORTED_WM, "WM Fig 2")):
        for (method, task), cell in table.items():
            names = [e.name for e in REGISTRY.values()
                     if e.paper == paper and e.method == method and e.task == task and e.figure == figure]
            if len(names) != 1:
                raise ValueError(f"reported cell ({method!r}, {task!r}) of {paper} should match one registry "
                                 f"entry, found {names}")
            cells.append((paper, method, task, cell, names[0]))
    return cells


def comparison_rows(load) -> list:
    """One row per reported cell of both papers: our paper-scale runs against it (see
    :func:`compare_with_reported`) and the stricter reading. ``load(name)`` returns a stored
    result's returns ``(runs, episodes)``, or None where it is not stored (the row says so)."""
    rows = []
    for paper, method, task, (mean, std), name in reported_cells():
        returns = load(name)
        row = {"source": paper, "method": method, "task": task, "experiment": name}
        if returns is None:
            rows.append({**row, "reading": "not stored"})
            continue
        test = compare_with_reported(np.asarray(returns).mean(1), mean, std)
        rows.append({**row, **test, "reading": reading(test["p"], test["difference"])})
    return rows
