"""Sparse symmetric positive definite factorizations with optional fast backends.

Backends (chosen at call time, never at import time):

``"scipy"``
    ``scipy.sparse.linalg.splu`` in symmetric mode (no pivoting).  The fill-reducing ordering
    is a nested dissection read off the *index order* when the matrix is spatially ordered
    (e.g. protons sorted along a Morton curve: contiguous index halves are spatial halves), and
    SuperLU's minimum degree otherwise.
``"cholespy"``
    CHOLMOD via the ``cholespy`` wheel, if installed.
``"dense"``
    LAPACK Cholesky of the dense matrix (``scipy.linalg.cho_factor``).  With flip-flop
    cutoffs of 1.5 nm a few thousand protons are so connected that any sparse factor fills
    in to nearly dense (4967 protons: L + U = 11.9e6 of 24.7e6 entries).  Measured there,
    idle machine, factor / one solve: dense 2.3 s / 29 ms, SuperLU 3.3 s / 17 ms, CHOLMOD
    4.9 s / 10 ms; with the 25-40 solves of a stage the dense factor is the fastest and its
    cost does not depend on the ordering.
``"auto"``
    ``"dense"`` up to :data:`DENSE_MAX` unknowns, else ``"cholespy"`` when importable,
    else ``"scipy"`` (silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.linalg as sla
import scipy.sparse.linalg as spla

__all__ = ["Factor", "factorize", "nested_dissection_from_order", "BACKENDS"]

BACKENDS = ("auto", "scipy", "cholespy", "dense")

#: Largest order factorized densely by ``"auto"`` (8 * DENSE_MAX^2 bytes = 0.29 GB).
DENSE_MAX = 6000


@dataclass(frozen=True)
class Factor:
    """A factorization of an SPD matrix ``A`` (shape (n, n)).

    Attributes
    ----------
    solve : callable
        ``solve(b)`` returns ``A^{-1} b`` for ``b`` of shape (n,) or (n, k).
    backend : str
        Backend actually used.
    nnz : int
        Stored nonzeros of the factor (-1 if unknown).
    """

    solve: Callable[[np.ndarray], np.ndarray]
    backend: str
    nnz: int


def nested_dissection_from_order(A: sp.csr_matrix, leaf: int = 64, max_sep_frac: float = 0.25):
    """Nested-dissection permutation of a spatially ordered sparse matrix, or None.

    Recursively halves an index range; the separator is the set of first-half indices with a
    neighbour in the second half.  Returns None if a top-level separator exceeds
    ``max_sep_frac`` of its range (the index order is then not spatial).

    Parameters
    ----------
    A : scipy.sparse.csr_matrix, shape (n, n)
        Structurally symmetric matrix.
    leaf : int
        Ranges at most this long are not split.
    max_sep_frac : float
        Give-up threshold for the top-level separator.

    Returns
    -------
    ndarray of int, shape (n,), or None
    """
    A = sp.csr_matrix(A)
    n = A.shape[0]
    pattern = sp.csr_matrix((np.ones(A.nnz, dtype=np.int8), A.indices, A.indptr), shape=A.shape)
    out: list[np.ndarray] = []
    stack: list[tuple[np.ndarray, bool]] = [(np.arange(n), False)]
    # iterative post-order: (idx, expanded) -> emit children first, separator last
    in_b = np.zeros(n, dtype=bool)
    while stack:
        idx, expanded = stack.pop()
        if expanded:
            out.append(idx)
            continue
        if len(idx) <= leaf:
            out.append(idx)
            continue
        mid = len(idx) // 2
        a, b = idx[:mid], idx[mid:]
        in_b[b] = True
        sub = pattern[a]
        hit = np.asarray(sp.csr_matrix((in_b[sub.indices].astype(np.int8), sub.indices, sub.indptr),
                                       shape=sub.shape).sum(axis=1)).ravel() > 0
        in_b[b] = False
        sep = a[hit]
        if len(idx) == n and len(sep) > max_sep_frac * n:
            return None
        stack.append((sep, True))
        stack.append((b, False))
        stack.append((a[~hit], False))
    return np.concatenate(out)


def _scipy_factor(A: sp.csr_matrix) -> Factor:
    perm = nested_dissection_from_order(A) if A.shape[0] > 2000 else None
    if perm is None:
        lu = spla.splu(sp.csc_matrix(A), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options=dict(SymmetricMode=True))
        return Factor(solve=lu.solve, backend="scipy", nnz=lu.L.nnz + lu.U.nnz)
    Ap = sp.csc_matrix(A[perm][:, perm])
    lu = spla.splu(Ap, permc_spec="NATURAL", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))

    def solve(b: np.ndarray) -> np.ndarray:
        return lu.solve(np.ascontiguousarray(b[perm]))[inv]

    return Factor(solve=solve, backend="scipy", nnz=lu.L.nnz + lu.U.nnz)


def _dense_factor(A: sp.csr_matrix) -> Factor:
    try:
        c = sla.cho_factor(A.toarray(), lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"matrix is not positive definite: {exc}") from exc

    def solve(b: np.ndarray) -> np.ndarray:
        return sla.cho_solve(c, b, check_finite=False)

    n = A.shape[0]
    return Factor(solve=solve, backend="dense", nnz=n * (n + 1) // 2)


def _cholespy_factor(A: sp.csr_matrix) -> Factor | None:
    try:
        from cholespy import CholeskySolverD, MatrixType  # optional, detected at call time
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None
    C = sp.csr_matrix(A)
    n = C.shape[0]
    chol = CholeskySolverD(n, C.indptr.astype(np.int32), C.indices.astype(np.int32),
                           np.ascontiguousarray(C.data, dtype=np.float64), MatrixType.CSR)

    def solve(b: np.ndarray) -> np.ndarray:
        b = np.ascontiguousarray(b, dtype=np.float64)
        x = np.empty_like(b)
        chol.solve(b, x)
        return x

    return Factor(solve=solve, backend="cholespy", nnz=-1)


def factorize(A, backend: str = "auto") -> Factor:
    """Factorize a sparse symmetric positive definite matrix ``A`` (shape (n, n)).

    Parameters
    ----------
    A : sparse matrix, shape (n, n)
        Symmetric positive definite.
    backend : {"auto", "scipy", "cholespy", "dense"}
        See the module docstring.  ``"cholespy"`` falls back to scipy if unavailable.

    Raises
    ------
    ValueError
        If the matrix is (numerically exactly) singular.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    A = sp.csr_matrix(A, dtype=float)
    if backend == "dense" or (backend == "auto" and A.shape[0] <= DENSE_MAX):
        return _dense_factor(A)
    if backend in ("auto", "cholespy"):
        fac = _cholespy_factor(A)
        if fac is not None:
            return fac
    try:
        return _scipy_factor(A)
    except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
        raise ValueError(f"matrix is singular: {exc}") from exc
