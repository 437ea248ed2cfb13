"""The contract every linear solver of `latticedns.propagation.solvers` implements."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["Solver"]


class Solver:
    """A reusable solver for one SPD matrix ``A`` (the contract of every backend).

    Attributes
    ----------
    name : str
        Backend name (a key of :data:`SOLVERS`).
    n : int
        Order of ``A``.
    exact : bool
        True for direct factorizations (solves accurate to rounding); False for iterative
        solvers, whose relative residual is ``tol``.
    tol : float
        Relative residual of an inexact solve (0 for direct solvers).
    setup_s : float
        Wall seconds spent building the solver (factorization or multigrid hierarchy).
    solve_s : float
        Wall seconds spent in solves so far.
    n_solves : int
        Right-hand sides solved so far (a block of k columns counts k).
    n_iterations : int
        Inner iterations so far (iterative solvers; 0 for direct ones).
    memory_bytes : int
        Memory held by the factor or hierarchy (estimate).
    threaded : bool
        True when a single solve already runs on every core (its callers then keep their
        own BLAS on one thread, `latticedns.resources.single_threaded_openblas`).
    """

    name = ""
    exact = True
    threaded = False

    def __init__(self, A, tol=None):
        self.n = A.shape[0]
        self.nnz = A.nnz
        self.tol = 0.0
        self.setup_s = self.solve_s = 0.0
        self.n_solves = self.n_iterations = 0
        self.memory_bytes = 0
        self.built = False

    def estimated_seconds(self) -> tuple[float, float]:
        """Deterministic ``(set-up, one solve)`` estimates in seconds on this machine kind.

        From operation counts at measured rates (42 GF/s for factorizations, 28 GB/s of
        streamed factor or matrix; 2 cores): never a timing of this run, so every choice
        made on them, and the results, are the same whatever the load.
        """
        n = float(self.n)
        return n ** 3 / 3 / 42e9, 8 * n * n / 28e9  # dense Cholesky

    def block_cost(self, k: int) -> float:
        """Estimated cost of one solve with ``k`` right-hand-side columns, in single solves.

        ``k`` here (each column costs a solve); direct factors that stream the factor once
        for all columns override it (`latticedns.propagation._si_lanczos.si_lanczos_together`
        runs Lanczos recurrences in lockstep where this is well below ``k``).
        """
        return float(k)

    def setup_in_solves(self) -> float:
        """The set-up cost in units of one solve (`estimated_seconds`)."""
        setup, solve = self.estimated_seconds()
        return setup / solve

    def build(self, A=None):
        """Do the numerical set-up (factorization, hierarchy), optionally for another matrix
        ``A`` of the same sparsity pattern (a new shift); a no-op when already built."""
        if self.built:
            return self
        tick = time.perf_counter()
        self._build(A)
        self.setup_s += time.perf_counter() - tick
        self.built = True
        return self

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A^{-1} b`` for ``b`` of shape (n,) or (n, k) (float64)."""
        if not self.built:
            raise RuntimeError("solver not built: call build() first")
        b = np.asarray(b, dtype=np.float64)
        tick = time.perf_counter()
        x = self._solve(b)
        self.solve_s += time.perf_counter() - tick
        self.n_solves += 1 if b.ndim == 1 else b.shape[1]
        return x

    def _solve(self, b):  # pragma: no cover - each backend overrides it
        raise NotImplementedError
