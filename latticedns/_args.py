"""Argument checks for public functions: one clear ``ConfigError`` naming the argument.

These are the only validation helpers of the physics core; they convert to float
arrays and raise :class:`latticedns.errors.ConfigError` (a ``ValueError``).
"""

import numpy as np

from .errors import ConfigError

__all__ = ["check_positive", "check_polarization", "check_finite", "check_choice", "is_real",
           "check_number"]


def is_real(value):
    """True for a finite int or float (numpy scalars too), not a bool: what a run-file key
    that takes a number may hold (a string, NaN or inf is refused by its caller)."""
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool) and bool(np.isfinite(value))


def check_number(name, value, lo, hi, unit=""):
    """Return ``float(value)`` if it is a real number in ``[lo, hi]``, else raise
    ``ConfigError`` naming the range (for keys whose values outside it overflow or
    underflow the arithmetic, not a judgement of plausibility).

    >>> check_number("tau_c_us", 0.5, 1e-6, 1e9, "us")
    0.5
    """
    if not (is_real(value) and lo <= value <= hi):
        raise ConfigError(name, f"must be a number in [{lo:g}, {hi:g}]{' ' + unit if unit else ''}"
                                f", got {value!r}")
    return float(value)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise ``ConfigError`` listing them.

    Sequences are listed in their order, other collections (sets, dicts) sorted.
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a set or dict
        ok = False
    if not ok:
        shown = list(choices) if isinstance(choices, (list, tuple)) else sorted(choices)
        raise ConfigError(name, f"must be one of {shown}, got {value!r}")
    return value


def check_finite(name, value):
    """Return ``value`` as a float array, refusing NaN or infinite entries."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(name, "must be finite (no NaN or inf)")
    return arr


def check_positive(name, value, allow_zero=False):
    """Return ``value`` as a float array, refusing negative (or zero) entries."""
    arr = check_finite(name, value)
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        bound = ">= 0" if allow_zero else "> 0"
        worst = float(arr[bad].min()) if arr.ndim else float(arr)
        raise ConfigError(name, f"must be {bound}, got {worst:g}")
    return arr


def check_polarization(name, value):
    """Return ``value`` as a float array, refusing entries outside [-1, 1]."""
    arr = check_finite(name, value)
    bad = np.abs(arr) > 1
    if np.any(bad):
        worst = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        raise ConfigError(name, f"must lie in [-1, 1], got {worst:g}")
    return arr
