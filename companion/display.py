"""What the chapters show besides figures: stored results, tables and source code.

Shared by the chapters so that each is written once: ``stored`` / ``stored_returns`` load a
registry experiment's stored arrays (``None`` while it is not stored), ``table`` turns rows into
a rounded DataFrame that renders as an HTML table, ``sweep_summary`` the sweeps' best settings
narrow enough for the page, ``sweep_settings`` every setting of the stored sweeps, and
``source`` shows a companion function highlighted, as the site shows any other code.
"""
from __future__ import annotations

import inspect
import math
import textwrap

import pandas as pd
from IPython.display import Markdown

from . import experiments, store


def stored(name: str):
    """The arrays of a stored registry experiment, or ``None`` if it is not stored (or not registered).

    A stored result whose config hash no longer matches the registry raises ``store.StaleResult``:
    it must be regenerated, never shown.
    """
    if name not in experiments.REGISTRY:
        return None
    try:
        return store.load_result(name, experiments.get(name).config_hash())[0]
    except FileNotFoundError:
        return None


def stored_returns(name: str):
    """The stored returns ``(runs, episodes)`` of an experiment, or ``None``."""
    arrays = stored(name)
    return None if arrays is None else arrays["returns"]


def table(rows, index=None, digits: int = 3) -> pd.DataFrame:
    """A DataFrame of ``rows`` (dicts, one per row), numbers rounded to ``digits`` significant digits."""
    if not isinstance(digits, int) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    frame = pd.DataFrame(rows)
    rounded = frame.apply(lambda col: col.map(lambda x: float(f"{x:.{digits}g}")) if col.dtype.kind == "f" else col)
    return rounded.set_index(index) if index is not None else rounded


def significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits in plain notation (130, not 1.3e+02)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    places = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{round(x, places):.{max(places, 0)}f}"


def mean_and_error(row) -> str:
    """A row's average return and its standard error in one cell, to 3 and 2 significant digits."""
    return f"{significant(row['average return'], 3)} ({significant(row['standard error'], 2)})"


def sweep_summary(rows) -> pd.DataFrame:
    """``experiments.sweep_summary_rows`` as a table for the page: the best setting and its
    ``mean_and_error`` in one cell."""
    return pd.DataFrame([{"experiment": r["experiment"], "best setting": f"{r['varied']} {r['best']:.3g}",
                          "at an end": "yes" if r["at an end"] else "no",
                          "average return (se)": mean_and_error(r),
                          "paper (std)": r["paper"],
                          "paper - 2 std": "" if pd.isna(r["paper - 2 std"]) else f"{r['paper - 2 std']:.1f}"}
                         for r in rows], columns=["experiment", "best setting", "at an end", "average return (se)",
                                                  "paper (std)", "paper - 2 std"]).set_index("experiment")


def sweep_settings(rows) -> pd.DataFrame:
    """``experiments.sweep_setting_rows`` as a table for the page: one row per setting, its
    ``mean_and_error`` in one cell (a float column of mixed magnitudes would print every value to
    the decimals of its smallest)."""
    return pd.DataFrame([{"experiment": r["experiment"], "value": f"{r['value']:g}", "varied": r["varied"],
                          "average return (se)": mean_and_error(r)}
                         for r in rows], columns=["experiment", "value", "varied", "average return (se)"]
                        ).set_index(["experiment", "value"])


def source(*objects) -> Markdown:
    """The source of companion functions or classes as one highlighted Python block."""
    if not objects or not all(inspect.isfunction(o) or inspect.isclass(o) or inspect.ismethod(o) for o in objects):
        raise ValueError(f"objects must be functions, methods or classes, got {objects!r}")
    code = "\n\n".join(textwrap.dedent(inspect.getsource(o)).rstrip() for o in objects)
    return Markdown(f"```python\n{code}\n```")

