"""The ``"dense"`` reference method: full (generalized) symmetric eigendecomposition.

``K Q = M Q diag(lam)``, ``Q^T M Q = I`` (``scipy.linalg.eigh``).  Then
``p(t) = Q [exp(-lam t) * (Q^T M p0) + h_t(-lam) * (Q^T f)]`` with ``h_t(a) = (e^{ta}-1)/a``,
valid for singular K.  Cost O(n^3) once per operator (cached), memory 8 n^2 bytes: use for
n <~ 4000.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ._phi import exp_t, h_t
from ._problem import Problem
from .methods import MethodOutput
from .result import PropagationOptions

__all__ = ["DenseMethod", "MAX_DENSE_N"]

MAX_DENSE_N = 20000


class DenseMethod:
    """Dense eigendecomposition propagation (see module docstring and `methods`)."""

    name = "dense"

    def __init__(self, problem: Problem, options: PropagationOptions, cache: dict):
        if problem.n > MAX_DENSE_N:
            raise ValueError(f"dense method limited to n <= {MAX_DENSE_N}, got n = {problem.n}")
        self.problem = problem
        self.options = options
        self.cache = cache

    def eig(self):
        """Cached ``(lam, Q)``; returns (lam, Q, newly_built)."""
        if "eigh" in self.cache:
            return (*self.cache["eigh"], False)
        pb = self.problem
        K = pb.K.toarray()
        if pb.M is None:
            lam, Q = sla.eigh(K)
        else:
            lam, Q = sla.eigh(K, pb.M.toarray())
        # eigenvalues are only accurate to ~eps ||K||: snap the rounding noise of exact zeros
        lam = np.where(np.abs(lam) <= 100 * np.finfo(float).eps * np.abs(lam).max(initial=0.0), 0.0, lam)
        self.cache["eigh"] = (lam, Q)
        return lam, Q, True

    def evolve(self, p0, times, t_end, C, states_at) -> MethodOutput:
        """See `latticedns.propagation.methods`."""
        pb = self.problem
        lam, Q, built = self.eig()
        a = np.minimum(-lam, 0.0)
        grid = np.concatenate([times, states_at, [t_end]])
        coef = exp_t(a, grid) * (Q.T @ pb.mass(p0))[:, None]
        if pb.has_source:
            coef += h_t(a, grid) * (Q.T @ pb.f)[:, None]
        CQ = np.asarray(C @ Q)
        nt = len(times)
        signals = (CQ @ coef[:, :nt]).T
        p_grid = Q @ coef[:, nt:]
        states = p_grid[:, :-1].T.copy() if len(states_at) else None
        return MethodOutput(signals=signals, p_final=p_grid[:, -1].copy(), states=states,
                            n_factorizations=int(built))
