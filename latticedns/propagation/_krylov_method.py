"""The ``"krylov"`` method: shift-and-invert Lanczos with one cached factorization.

``p(t) = exp(tA) p0 + t phi_1(tA) M^{-1} f`` is evaluated with two Lanczos runs on
``B = (K + sigma M)^{-1} M`` (one from ``p0``, one from ``(K + sigma M)^{-1} f``), sharing one
factorization of ``K + sigma M`` (SPD for any sigma > 0 even when K is singular).  If ``K``
annihilates the constant vector, the exactly known conserved total ``ones @ M @ p(t) =
ones @ M @ p0 + t ones @ f`` is restored by a rank-one correction along ``ones`` (which is an
exact null vector), so conservation holds to rounding rather than to ``rtol``.

Solves with ``K + sigma M`` use either its sparse factorization (``solver="direct"``) or
preconditioned CG with the factorization of a sparsified operator (``solver="pcg"``, see
`latticedns.propagation._pcg`); either is cached per ``(sigma, backend, solver)`` in the
operator cache.  ``solver="auto"`` picks pcg for ``n >= AUTO_PCG_MIN_N`` without a mass matrix.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ._factor import factorize
from ._pcg import PCGSolver, sparsify
from ._problem import Problem
from ._si_lanczos import si_lanczos
from .methods import MethodOutput
from .result import PropagationOptions

__all__ = ["KrylovMethod", "choose_shift", "AUTO_PCG_MIN_N"]

#: ``solver="auto"`` uses pcg from this many states on (mass matrix: always direct).
#: Measured (bench/bench_propagation.py, HypRes schedule, scipy backend, rtol 1e-6): 1e4
#: states direct 7.9 s vs pcg 23 s; 1e5 pcg 477 s, 5.4 GB peak vs direct ~500 s and > 18 GB
#: (SuperLU; killed at 24 GB): same time, ~4x less memory.
AUTO_PCG_MIN_N = 100_000


def choose_shift(t_ref: float, factor: float) -> float:
    """Shift ``sigma`` (s^-1) ~ ``factor / t_ref`` rounded to a power of two."""
    return float(2.0 ** round(math.log2(factor / t_ref)))


def _stack_rows(C, row: np.ndarray):
    if sp.issparse(C):
        return sp.vstack([C, sp.csr_matrix(row[None, :])]).tocsr()
    return np.vstack([C, row[None, :]])


class KrylovMethod:
    """Shift-and-invert Lanczos propagation (see module docstring and `methods`)."""

    name = "krylov"

    def __init__(self, problem: Problem, options: PropagationOptions, cache: dict):
        self.problem = problem
        self.options = options
        self.cache = cache

    def shift(self, t_ref: float) -> float:
        """The shift used for a stage of length ``t_ref`` (s); fixed after the first call."""
        if self.options.shift is not None:
            return float(self.options.shift)
        if "sigma" not in self.cache:
            self.cache["sigma"] = choose_shift(t_ref, self.options.shift_factor)
        return self.cache["sigma"]

    def solver(self) -> str:
        """``"direct"`` or ``"pcg"`` (``options.solver`` with ``"auto"`` resolved)."""
        s = self.options.solver
        if s == "auto":
            s = "pcg" if self.problem.M is None and self.problem.n >= AUTO_PCG_MIN_N else "direct"
        return s

    def factor(self, sigma: float):
        """Cached solver for ``K + sigma M``; returns (object with ``.solve``, newly_built).

        ``"direct"``: a `latticedns.propagation._factor.Factor`.  ``"pcg"``: a `_PCG` whose
        ``.pcg`` is the `PCGSolver` (its counters accumulate over the operator's lifetime) and
        ``.nnz`` the preconditioner factor's nonzeros.
        """
        solver = self.solver()
        opts = self.options
        key = ("factor", sigma, opts.backend) if solver == "direct" else \
            ("pcg", sigma, opts.backend, int(opts.pcg_keep), opts.inner_tol)
        if key in self.cache:
            return self.cache[key], False
        pb = self.problem
        n = pb.n
        Mm = sp.identity(n, format="csr") if pb.M is None else pb.M
        A = sp.csr_matrix(pb.K + sigma * Mm)
        if solver == "direct":
            fac = factorize(A, backend=opts.backend)
        else:
            pre = factorize(sparsify(pb.K, int(opts.pcg_keep)) + sigma * Mm, backend=opts.backend)
            fac = _PCG(PCGSolver(A, pre.solve, tol=opts.inner_tol), pre.nnz)
        self.cache[key] = fac
        return fac, True

    def evolve(self, p0, times, t_end, C, states_at) -> MethodOutput:
        """See `latticedns.propagation.methods`."""
        pb = self.problem
        n = pb.n
        grid = np.concatenate([times, states_at, [t_end]])
        k = C.shape[0]
        cons = pb.conserved
        Cx = _stack_rows(C, pb.mass(cons)) if cons is not None else C
        sig = np.zeros((len(grid), Cx.shape[0]))
        p_grid = np.zeros((n, len(states_at) + 1))
        if t_end == 0.0:
            p_grid[:] = p0[:, None]
            sig[:] = np.asarray(Cx @ p0).ravel()[None, :]
            return self._output(sig, p_grid, k, C, p0, grid, True, 0.0, 0, 0, 0, 0)
        sigma = self.shift(t_end)
        fac, built = self.factor(sigma)
        it0 = fac.pcg.iterations if isinstance(fac, _PCG) else 0
        n_solves = dim = 0
        conv, err = True, 0.0
        runs = []
        if np.any(p0 != 0.0):
            runs.append((p0, "exp"))
        if pb.has_source:
            runs.append((fac.solve(pb.f), "src"))
            n_solves += 1
        for b, kind in runs:
            run = si_lanczos(fac.solve, pb.mass, b, sigma, grid, Cx, kind,
                             rtol=self.options.rtol, m_max=self.options.m_max,
                             state_from=len(times))
            sig += run.signals
            p_grid += run.basis @ run.coef[:, len(times):]
            n_solves += run.n_solves
            dim = max(dim, run.coef.shape[0])
            conv &= run.converged
            err = max(err, run.error_estimate)
        nmv = 2 * n_solves if pb.M is not None else 0
        if isinstance(fac, _PCG):
            nmv += fac.pcg.iterations - it0
            conv &= fac.pcg.failures == 0
        return self._output(sig, p_grid, k, C, p0, grid, conv, err, int(built), n_solves, nmv, dim)

    def _output(self, sig, p_grid, k, C, p0, grid, conv, err, nfac, nsol, nmv, dim) -> MethodOutput:
        pb = self.problem
        if pb.conserved is not None:  # restore the exactly known conserved total
            ones = pb.conserved
            target = pb.conserved_total(p0) + grid * float(np.sum(pb.f))
            delta = (target - sig[:, k]) / pb.conserved_total(ones)
            sig[:, :k] += delta[:, None] * np.asarray(C @ ones).ravel()[None, :]
            p_grid += ones[:, None] * delta[None, len(grid) - p_grid.shape[1]:]
        nt = len(grid) - p_grid.shape[1]
        states = p_grid[:, :-1].T.copy() if p_grid.shape[1] > 1 else None
        return MethodOutput(signals=sig[:nt, :k], p_final=p_grid[:, -1].copy(), states=states,
                            converged=bool(conv), error_estimate=float(err), n_factorizations=nfac,
                            n_solves=nsol, n_matvec=nmv, krylov_dim=dim)


class _PCG:
    """A `PCGSolver` dressed as a factor: ``solve``, ``nnz`` (of the preconditioner's factor)."""

    backend = "pcg"

    def __init__(self, pcg: PCGSolver, nnz: int):
        self.pcg = pcg
        self.solve = pcg
        self.nnz = nnz
