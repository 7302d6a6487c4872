"""One figure style for the whole book: seaborn theme, a fixed colour per method.

Figures are drawn for the page: at most ``PAGE_WIDTH`` inches wide (the column of the site
shows about 7 inches at 150 dpi, so fonts keep their size), two panels per row at most, and
the legend below the panels (``legend_below``), never on the data.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

METHOD_COLOURS = {
    "REINFORCE": "#7f7f7f",
    "REINFORCE with Thomas (2011)": "#bcbd22",
    "MAP Propagation": "#1f77b4",
    "MAP Propagation (RL)": "#aec7e8",
    "MAP Propagation (SL)": "#17becf",  # teal: its own curve beside the RL variant and MAP Propagation
    "Weight Max": "#2ca02c",
    "Weight Max with traces": "#98df8a",
    "STE backprop": "#9467bd",
    "Backprop": "#d62728",
    # the faulty controller (chapter 2): plain REINFORCE, its MAP variant, the exact posterior
    "pressed button": "#7f7f7f",
    "MAP button": "#1f77b4",
    "posterior": "#ff7f0e",
}


PAGE_WIDTH = 7.0  # inches: the width of the book's column


def setup_style() -> None:
    """Apply the book's seaborn theme (call once per chapter): 150 dpi, constrained layout."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 150, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "figure.figsize": (PAGE_WIDTH, 3.6), "figure.constrained_layout.use": True,
                         "legend.fontsize": "small", "legend.frameon": False})


def legend_below(fig, ncol: int | None = None):
    """One legend for the whole figure, below its panels: the labels of every axis, each once."""
    entries = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        raise ValueError("fig must have at least one labelled line, got none")
    ncol = ncol or min(len(entries), 4)
    return fig.legend(entries.values(), entries.keys(), loc="outside lower center", ncol=ncol)


def colour(method: str) -> str:
    if method not in METHOD_COLOURS:
        raise ValueError(f"method must be one of {tuple(METHOD_COLOURS)}, got {method!r}")
    return METHOD_COLOURS[method]


def running_average(values, window: int):
    """Mean over the last ``window`` entries along the last axis (shorter at the start)."""
    values = np.asarray(values, dtype=float)
    if window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    csum = np.cumsum(values, axis=-1)
    out = csum.copy()
    out[..., window:] = csum[..., window:] - csum[..., :-window]
    counts = np.minimum(np.arange(1, values.shape[-1] + 1), window)
    return out / counts


def mean_std_band(ax, x, runs, label: str, color=None, **kw):
    """Plot the mean over runs (axis 0) with a shaded band of +-1 standard deviation over runs
    (the sample std, ``ddof = 1``, as in every table of the book)."""
    runs = np.asarray(runs, dtype=float)
    if runs.ndim != 2 or runs.shape[0] < 2:
        raise ValueError(f"runs must have shape (runs >= 2, points), got {runs.shape}")
    mean, std = runs.mean(0), runs.std(0, ddof=1)
    line = ax.plot(x, mean, label=label, color=color, **kw)[0]
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def sensitivity_panel(ax, rows: list, axis: str, method: str, chosen=None, paper=None, label=None,
                      linestyle="-"):
    """One method's sensitivity curve on ``ax``: a sweep's average return against its ``axis``
    (log scale), with +-1 standard error over seeds; ``chosen`` and ``paper`` mark a setting each
    (the protocol's choice and the paper's own setting) on the curve."""
    if not rows:
        raise ValueError(f"rows must hold at least one setting of {method!r}, got none")
    x = np.array([row[axis] for row in rows], dtype=float)
    mean = np.array([row["average return"] for row in rows])
    se = np.array([row["standard error"] for row in rows])
    line = ax.errorbar(x, mean, yerr=se, label=label or method, color=colour(method), marker="o", markersize=3,
                       capsize=2, linestyle=linestyle)
    for value, marker, name in ((chosen, "*", "chosen"), (paper, "D", "paper's setting")):
        if value is not None:
            i = int(np.argmin(np.abs(np.log(x) - np.log(value))))
            ax.plot(x[i], mean[i], marker=marker, markersize=10 if marker == "*" else 6, color="black",
                    linestyle="none", label=name, zorder=3)
    ax.set_xscale("log")
    return line


def sensitivity_figure(curves: dict):
    """The sensitivity figure of a paper (issue 16): one panel per task, two per row, each method's
    average return against the actor's first-layer learning rate, from ``experiments.sensitivity_curves``.
    A panel whose averages are all negative and span more than two decades gets a symmetric log axis."""
    if not curves:
        raise ValueError("curves must hold at least one task with a stored sweep, got none")
    tasks = sorted(curves)
    rows = (len(tasks) + 1) // 2
    fig, axes = plt.subplots(rows, 2 if len(tasks) > 1 else 1, figsize=(PAGE_WIDTH, 2.9 * rows + 0.8), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        for curve in curves[task]:
            sensitivity_panel(ax, curve["rows"], "actor rate", curve["method"], curve["chosen"], curve["paper"],
                              label=curve["label"], linestyle=curve.get("linestyle", "-"))
        means = np.array([row["average return"] for curve in curves[task] for row in curve["rows"]])
        if (means < 0).all() and means.min() / means.max() > 100:  # minus an error over decades: the regression
            ax.set_yscale("symlog", linthresh=10 ** np.floor(np.log10(-means.max())))
        ax.set_title(task)
        ax.set_xlabel("actor learning rate (first layer)")
        ax.set_ylabel("average return")
    for ax in axes.flat[len(tasks):]:
        ax.remove()
    legend_below(fig, ncol=2)
    return fig


def state_trajectories(runs: dict, episodes, goal: float | None = None, height: float = 2.2):
    """The states visited in a few episodes, one panel per episode (one row each), the runs
    overlaid: the form of the MAP Propagation paper's Figure 5.

    ``runs`` maps a label to ``(states, style)``: ``states`` of shape ``(len(episodes), T, 2)``,
    (position, velocity) at each step of each episode, padded with NaN after its end (as the
    companion records them); ``style`` the keyword arguments of the run's line (``color``,
    ``ls``). ``goal`` draws a vertical line at that position. The legend goes below the panels.
    Returns the figure.
    """
    episodes = list(episodes)
    if not runs:
        raise ValueError("runs must hold at least one run, got none")
    if not episodes:
        raise ValueError("episodes must name at least one episode, got none")
    for label, (states, _) in runs.items():
        shape = np.shape(states)
        if len(shape) != 3 or shape[0] != len(episodes) or shape[2] != 2:
            raise ValueError(f"states of {label!r} must have shape ({len(episodes)}, steps, 2), got {shape}")
    fig, axes = plt.subplots(len(episodes), 1, figsize=(PAGE_WIDTH, height * len(episodes) + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    for k, (ax, episode) in enumerate(zip(axes[:, 0], episodes)):
        for label, (states, style) in runs.items():
            path = np.asarray(states[k], dtype=float)
            path = path[np.isfinite(path).all(1)]
            ax.plot(path[:, 0], path[:, 1], lw=1, label=label, **style)
        if goal is not None:
            ax.axvline(goal, color="grey", ls=":", lw=1, label=f"goal (position > {goal:g})")
        ax.set(title=f"episode {episode}", ylabel="velocity")
    axes[-1, 0].set_xlabel("position")
    legend_below(fig, ncol=2)
    return fig
