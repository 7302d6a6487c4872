"""Argument checks shared by the companion's public functions: each raises a one-line
``ValueError`` naming the argument, the value and what was expected; numpy scalars are accepted."""
from __future__ import annotations

import math
import numbers


def integer(name: str, value, low: int = 1, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (``high=None``: no upper bound); bools are refused."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        span = f"from {low} to {high:,}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def real(name: str, value, low: float = -math.inf, high: float = math.inf, open_low: bool = False,
         open_high: bool = False) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high`` (each end open or closed)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        if math.isinf(high):
            span = "" if math.isinf(low) else f" {'above' if open_low else 'at least'} {low:g}"
        elif math.isinf(low):
            span = f" {'below' if open_high else 'at most'} {high:g}"
        else:
            span = f" in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise ValueError(f"{name} must be a finite number{span}, got {value!r}")
    return float(value)


def positive(name: str, value) -> float:
    """A finite number above 0 (a variance, a temperature)."""
    try:
        return real(name, value, 0.0, open_low=True)
    except ValueError:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}") from None


def one_of(name: str, value, allowed) -> object:
    """``value`` if it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value
