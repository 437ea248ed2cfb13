"""Normalization of the two problem forms into one generalized form.

Both ``dp/dt = L p + s`` and ``M dp/dt = -K p + f`` are stored as the generalized form with
``K = -L``, ``f = s`` and ``M = None`` (identity) in the first case.  ``A = -M^{-1} K`` is the
generator; it is self-adjoint and negative semidefinite in the M-inner product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "make_problem", "as_observables"]


@dataclass(frozen=True, eq=False)
class Problem:
    """Generalized linear problem ``M dp/dt = -K p + f``.

    Attributes
    ----------
    K : scipy.sparse.csr_matrix, shape (n, n)
        Symmetric positive semidefinite stiffness (s^-1 when ``M`` is None).
    f : ndarray, shape (n,)
        Source (polarization s^-1, times M).
    M : scipy.sparse.csr_matrix or None, shape (n, n)
        Symmetric positive definite mass matrix; None means identity.
    conserved : ndarray, shape (n,) or None
        ``ones(n)`` when ``K @ ones == 0`` (to rounding): ``ones @ M @ p`` then obeys
        ``d/dt (ones @ M @ p) = ones @ f`` exactly, and the Krylov methods enforce it.
    """

    K: sp.csr_matrix
    f: np.ndarray
    M: sp.csr_matrix | None
    conserved: np.ndarray | None

    @property
    def n(self) -> int:
        """Number of states."""
        return self.K.shape[0]

    def mass(self, v: np.ndarray) -> np.ndarray:
        """``M @ v`` (v of shape (n,) or (n, k))."""
        return v if self.M is None else self.M @ v

    @property
    def has_source(self) -> bool:
        """True if ``f`` is not identically zero."""
        return bool(np.any(self.f != 0.0))

    def conserved_total(self, p: np.ndarray) -> float:
        """``ones @ M @ p``: the conserved total (only meaningful if ``conserved`` is set)."""
        return float(np.sum(self.mass(p)))


def _check_symmetric(A: sp.csr_matrix, name: str) -> None:
    d = A - A.T
    scale = abs(A).max() if A.nnz else 0.0
    if d.nnz and abs(d).max() > 1e-12 * max(scale, 1e-300):
        raise ValueError(f"{name} must be symmetric (max |{name} - {name}^T| = {abs(d).max():.3g})")


def make_problem(L, s=None, M=None, *, check: bool = True) -> Problem:
    """Build a `Problem` from ``L`` (the ``dp/dt = L p + s`` operator, or ``-K`` when M is given).

    Parameters
    ----------
    L : sparse matrix or ndarray, shape (n, n)
        Symmetric negative semidefinite operator (s^-1).  With ``M`` given, ``L = -K``.
    s : ndarray, shape (n,), optional
        Source; with ``M`` given, the right-hand side ``f`` of ``M p' = -K p + f``.
    M : sparse matrix or ndarray, shape (n, n), optional
        Symmetric positive definite mass matrix.
    check : bool
        Validate symmetry and shapes.
    """
    K = sp.csr_matrix(-sp.csr_matrix(L, dtype=float))
    n = K.shape[0]
    if K.shape != (n, n):
        raise ValueError(f"L must be square, got shape {K.shape}")
    f = np.zeros(n) if s is None else np.asarray(s, dtype=float).reshape(-1)
    if f.shape != (n,):
        raise ValueError(f"s must have shape ({n},), got {np.shape(s)}")
    Mc = None
    if M is not None:
        Mc = sp.csr_matrix(M, dtype=float)
        if Mc.shape != (n, n):
            raise ValueError(f"M must have shape ({n}, {n}), got {Mc.shape}")
    if check:
        _check_symmetric(K, "L")
        if Mc is not None:
            _check_symmetric(Mc, "M")
    ones = np.ones(n)
    scale = abs(K).sum(axis=1).max() if K.nnz else 0.0
    conserved = ones if np.abs(K @ ones).max(initial=0.0) <= 1e-13 * max(scale, 1e-300) else None
    return Problem(K=K, f=f, M=Mc, conserved=conserved)


def as_observables(C, n: int):
    """Validate an observable matrix; returns a 2-D array/sparse matrix of shape (k, n)."""
    if C is None:
        return sp.csr_matrix((0, n))
    if sp.issparse(C):
        C = sp.csr_matrix(C, dtype=float)
    else:
        C = np.atleast_2d(np.asarray(C, dtype=float))
    if C.shape[1] != n:
        raise ValueError(f"observables must have shape (k, {n}), got {C.shape}")
    return C
