"""The ``"krylov"`` method: shift-and-invert Lanczos with cached shifted solvers.

``p(t) = exp(tA) p0 + t phi_1(tA) M^{-1} f`` on one stage, ``A = -M^{-1} K``, from Lanczos
runs on ``B = (K + sigma M)^{-1} M`` (`latticedns.propagation._si_lanczos`).

Work per stage (fewest solves first)
------------------------------------
* Without a source: one run from ``p0``.
* With a source and ``p0 = 0``: one source run from ``(K + sigma M)^{-1} f``.
* With both: the source run also monitors the stationary state ``p_ss = K^{-1} f`` (when
  ``K`` is nonsingular) and stops on whichever converges first.  If ``p_ss`` came first
  (long stages: the source term needs the whole time range, ``p_ss`` only the slow end),
  the stage is ``p(t) = p_ss + exp(tA) (p0 - p_ss)``: one more run from ``p0 - p_ss``.
  Otherwise (short stages) one run from ``p0`` is added to the source term.

Shifts and solvers
------------------
Each stage asks for ``sigma = shift_factor / t_ref`` rounded to a power of two
(:func:`choose_shift`, :func:`reference_time`).  Solvers (`latticedns.propagation.solvers`)
are cached per shift in the operator cache (shared with `Propagator.with_source`, copied by `Propagator.fork`), and
in an optional pool shared by the propagators of other runs on the same operator.  A
cached solver whose shift is within a factor
:data:`REUSE_RATIO` of the wanted one is reused.  Otherwise a new one is built when its
set-up (in solves, `Solver.setup_in_solves`, a deterministic estimate) costs less than the
solves a mismatched shift adds (:data:`EXTRA_SOLVES_PER_DECADE`: a shift too large costs
~90 solves per decade, one too small ~15); else the closest is reused.  ``t_ref`` is the
geometric mean of the first output time and the stage end: the README detection (1024
reads 10 s apart) takes 43 solves there against 78 at ``2 / t_end``.

A plan (`Propagator.plan`: the reference times of the stages to come on this operator)
lets the first build choose the whole set of shifts at once, minimizing set-ups plus
mismatch solves over the plan (exhaustively over the stages' wanted shifts): a 10 s gate
and a 10^4 s detection on one expensive factor then share the detection's shift (the gate
pays ~20 solves for a shift too small by 1.5 decades, instead of the detection paying
~135 for one too large).  With ``solver="auto"`` the backend is chosen for the expected
number of solves (:data:`STAGE_SOLVES` per stage from a nonzero state, :data:`SOURCE_SOLVES`
for a source from zero; `latticedns.propagation.solvers.choose_solver`): at 1e5 protons a
PARDISO factor (~75 s) pays for itself over a schedule's ~90 solves, not for the ~6 of a
build-up from zero, which AMG does in ~10 s.

If ``K`` annihilates the constant vector, the exactly known conserved total ``ones @ M @
p(t) = ones @ M @ p0 + t ones @ f`` is restored by a rank-one correction along ``ones`` (an
exact null vector), so conservation holds to rounding rather than to ``rtol``.

Inexact solves (``"amg"``) run at the relative residual ``PropagationOptions.inner_tol``
(default ``1e-2 rtol``, at most 1e-8): the Lanczos relation is then perturbed by that much
per step, far below the a posteriori test's ``rtol`` (tested against direct solves).
"""

from __future__ import annotations

import contextlib
import itertools
import math

import numpy as np
import scipy.sparse as sp

from ._problem import Problem
from ._si_lanczos import LanczosRun, si_lanczos, si_lanczos_together
from .methods import MethodOutput
from .result import PropagationOptions
from ..resources import single_threaded_openblas
from .solvers import make_solver

__all__ = ["KrylovMethod", "choose_shift", "reference_time", "extra_solves", "REUSE_RATIO",
           "EXTRA_SOLVES_PER_DECADE", "STAGE_SOLVES", "SOURCE_SOLVES",
           "LOCKSTEP_BLOCK_COST"]

#: A cached solver is reused when its shift is within this factor of the stage's own.
REUSE_RATIO = 8.0

#: Extra solves a decade of shift mismatch costs: (shift too large, shift too small).
#: Measured on the benchmark detection (1e4 protons, 1.5 nm; 50 solves at its own shift):
#: +37 / +108 at 0.6 / 1.2 decades too large, +11 / +10 / +18 at 0.6 / 1.2 / 1.8 too small.
EXTRA_SOLVES_PER_DECADE = (90.0, 15.0)

#: Expected solves of a stage's run from a nonzero state, and of a source run from p0 = 0
#: (measured: 18-50 and 4-6 on the benchmark schedule); only ``solver="auto"`` uses them.
STAGE_SOLVES = 45.0
SOURCE_SOLVES = 8.0

#: A stage with both a source and a nonzero state runs its two Lanczos recurrences in
#: lockstep (one 2-column solve per step) when the solver's `Solver.block_cost` of two
#: columns is at most this many single solves (direct factors: 1.2; SuperLU 1.45, AMG 2).
LOCKSTEP_BLOCK_COST = 1.25


def reference_time(first_s: float, end_s: float) -> float:
    """``t_ref`` (s) of a stage: the geometric mean of its first positive output time and its
    end, where one pole at ``~2 / t_ref`` serves ``exp(-t lambda)`` over the whole range."""
    return float(np.sqrt(first_s * end_s))


def extra_solves(have: float, want: float) -> float:
    """Extra solves expected when a stage wanting shift ``want`` runs at ``have`` (s^-1)."""
    mismatch = math.log10(have / want)
    if abs(mismatch) <= math.log10(REUSE_RATIO):
        return 0.0
    return EXTRA_SOLVES_PER_DECADE[mismatch < 0] * abs(mismatch)


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

    def solvers(self) -> dict:
        """The operator's cached solvers, ``{sigma: Solver}``."""
        return self.cache.setdefault(("solvers", self.options.solver, self.options.inner_tol), {})

    def _want(self, t_ref: float) -> float:
        if self.options.shift is not None:
            return float(self.options.shift)
        return choose_shift(t_ref, self.options.shift_factor)

    def _matrix(self, sigma: float):
        pb = self.problem
        return pb.K + sigma * (sp.identity(pb.n, format="csr") if pb.M is None else pb.M)

    def _planned_shifts(self, want: float, expected: float):
        """Shifts to build for this operator's announced stages (`Propagator.plan`), and the
        unbuilt first solver: the set minimizing set-ups plus mismatch solves (module doc)."""
        wants = sorted({want, *(self._want(t) for t in self.cache.get("plan", ()))})
        total = expected + STAGE_SOLVES * (len(self.cache.get("plan", ())) - 1)
        first = make_solver(self._matrix(want), self.options.solver, tol=self.options.inner_tol,
                            expected_solves=max(total, expected), build=False)
        setup = first.setup_in_solves()
        best = None
        for r in range(1, len(wants) + 1):
            for subset in itertools.combinations(wants, r):
                cost = r * setup + sum(min(extra_solves(s, w) for s in subset) for w in wants)
                if best is None or cost < best[0] - 1e-9:
                    best = (cost, subset)
        return best[1], first

    def solver_for(self, t_ref: float, expected: float = STAGE_SOLVES):
        """``(sigma, solver, newly_built)`` for a stage of reference time ``t_ref`` (s,
        :func:`reference_time`).  ``expected`` is the stage's expected number of solves (for ``solver="auto"``).
        """
        cached = self.solvers()
        want = stage_want = self._want(t_ref)
        first = None
        pool, key = self.cache.get("pool", ({}, None))
        if "planned" not in self.cache:
            plan_key = (key, "planned", self.cache.get("plan"), want, self.options.solver)
            if cached or "plan" not in self.cache:
                self.cache["planned"] = ((), None)
            elif key is not None and plan_key in pool:  # another run decided the same plan
                self.cache["planned"] = pool[plan_key]
            else:
                shifts, first = self._planned_shifts(want, expected)
                self.cache["planned"] = (shifts, first.name)
                if key is not None:
                    pool[plan_key] = self.cache["planned"]
        planned, backend = self.cache["planned"]
        if planned:
            want = min(planned, key=lambda s: (extra_solves(s, stage_want), s))
        elif cached and want not in cached:
            best = min(cached, key=lambda s: abs(math.log(s / want)))
            if cached[best].setup_in_solves() >= extra_solves(best, want):
                return best, cached[best], False
        if want in cached:
            return want, cached[want], False
        pool_key = (key, want, self.options.solver, self.options.inner_tol)
        if key is not None and pool_key in pool:
            cached[want] = pool[pool_key]
            return want, cached[want], False
        if first is not None:
            solver = first.build(self._matrix(want) if want != stage_want else None)
        else:
            solver = make_solver(self._matrix(want), backend or self.options.solver,
                                 tol=self.options.inner_tol, expected_solves=expected)
        cached[want] = solver
        if key is not None:
            pool[pool_key] = solver
        return want, solver, True

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
            return self._output(sig, p_grid, k, C, p0, grid, True, 0.0, 0, 0, 0, 0, None)
        positive = grid[grid > 0.0]
        moving = bool(np.any(p0 != 0.0))
        expected = (STAGE_SOLVES if moving else 0.0) + (SOURCE_SOLVES if pb.has_source else 0.0)
        sigma, solver, built = self.solver_for(reference_time(positive.min(), t_end), expected)
        opts = self.options
        lanczos = dict(rtol=opts.rtol, m_max=opts.m_max, state_from=len(times))
        it0, solves0 = solver.n_iterations, solver.n_solves
        with single_threaded_openblas() if solver.threaded else contextlib.nullcontext():
            summed, counted, p_ss, mode = self._stage_runs(solver, sigma, p0, grid, Cx, moving,
                                                           lanczos)
        if p_ss is not None:  # p(t) = p_ss + exp(tA) (p0 - p_ss)
            sig += np.asarray(Cx @ p_ss).ravel()[None, :]
            p_grid += p_ss[:, None]
        for run in summed:
            sig += run.signals
            p_grid += run.basis @ run.coef[:, len(times):]
        dim = max((run.n_solves for run in counted), default=0)
        conv = all(run.converged for run in counted)
        err = max((run.error_estimate for run in counted), default=0.0)
        n_solves = solver.n_solves - solves0
        nmv = solver.n_iterations - it0 + (2 * n_solves if pb.M is not None else 0)
        if not solver.exact:
            conv &= getattr(solver, "failures", 0) == 0
        return self._output(sig, p_grid, k, C, p0, grid, conv, err, int(built), n_solves, nmv, dim,
                            mode, solver.name)

    def _stage_runs(self, solver, sigma, p0, grid, Cx, moving, lanczos):
        """The Lanczos runs of one stage (module docstring, "Work per stage").

        Returns ``(summed, counted, p_ss, mode)``: p(t) is ``p_ss`` (None: 0) plus the sum of
        the ``summed`` runs; ``counted`` are every run made (for the work counters and the
        error estimate); ``mode`` is the source mode (None without a source).
        """
        pb = self.problem
        mass = None if pb.M is None else pb.mass

        def exp_run(b):
            return si_lanczos(solver.solve, mass, b, sigma, grid, Cx, "exp", **lanczos)

        if not pb.has_source:
            runs = [exp_run(p0)] if moving else []
            return runs, runs, None, None
        # the source term is one part of p(t): judged against the initial state's size too
        scale = (np.abs(np.asarray(Cx @ p0)).ravel(), float(np.sqrt(max(p0 @ pb.mass(p0), 0.0))))
        b_src = solver.solve(pb.f)
        if moving and solver.block_cost(2) <= LOCKSTEP_BLOCK_COST:
            runs = si_lanczos_together(solver.solve, [
                LanczosRun(mass, b_src, sigma, grid, Cx, "src", part_of=scale, **lanczos),
                LanczosRun(mass, p0, sigma, grid, Cx, "exp", **lanczos)])
            return runs, runs, None, "lockstep"
        src = si_lanczos(solver.solve, mass, b_src, sigma, grid, Cx, "src",
                         stationary=pb.conserved is None and moving, part_of=scale, **lanczos)
        if src.stationary is None:
            runs = [src] + ([exp_run(p0)] if moving else [])
            return runs, runs, None, "source"
        start = p0 - src.stationary
        rest = [exp_run(start)] if np.any(start != 0.0) else []
        return rest, [src] + rest, src.stationary, "stationary"

    def _output(self, sig, p_grid, k, C, p0, grid, conv, err, nfac, nsol, nmv, dim, mode,
                solver=""):
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
                            n_solves=nsol, n_matvec=nmv, krylov_dim=dim, source_mode=mode,
                            solver=solver)
