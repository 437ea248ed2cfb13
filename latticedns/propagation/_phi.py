"""Scalar functions of the (real, non-positive) eigenvalues used by every method.

For the stage solution ``p(t) = exp(tA) p0 + h_t(A) g`` with ``g = M^{-1} f`` and
``h_t(a) = (exp(t a) - 1) / a`` (``= t`` at ``a = 0``), i.e. ``t * phi_1(t a)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["exp_t", "h_t"]


def exp_t(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``exp(t a)``, shape (len(a), len(t)); ``a`` (s^-1) <= 0, ``t`` (s) >= 0."""
    return np.exp(np.multiply.outer(a, t))


def h_t(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(exp(t a) - 1) / a`` with the limit ``t`` at ``a = 0``; shape (len(a), len(t)) in s."""
    a = np.asarray(a, dtype=float)
    t = np.asarray(t, dtype=float)
    ta = np.multiply.outer(a, t)
    safe = np.where(a == 0.0, 1.0, a)
    out = np.expm1(ta) / safe[:, None]
    return np.where((a == 0.0)[:, None], np.broadcast_to(t, ta.shape), out)
