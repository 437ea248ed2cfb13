"""The ``"lanczos"`` method: matvec-only (polynomial) Lanczos, no factorization.

``p(t) = exp(tL) p0 + t phi_1(tL) s`` is evaluated with two polynomial Lanczos runs on ``L``
(one from ``p0``, one from ``s``; see `latticedns.propagation._poly_lanczos`).  The first pass
projects the observables on the fly (memory ``O(n)`` plus ``O(k m)``); if full states are
needed (the stage end, ``states_at``) a second pass regenerates the same basis from the stored
tridiagonal and sums it, doubling the matvecs of that run.  `Propagator.sample` with
``final_state=False`` skips the second pass when no state is requested.

Measured limits (opt-in only; ``method="auto"`` never picks it): the number of matvecs grows
like ``sqrt(||L|| t)`` and hardly with ``n``.  On real lattice operators (rates up to ~5e5
s^-1 from protons 0.15-0.3 nm apart) a HypRes schedule needs ~3e3 matvecs for the 640 s
source stage, ~6e3 for the 10 s gate (plus second passes) and > 2.6e4 for 1024 outputs over
1e4 s already at 1e4 states (minutes, vs ~8 s for ``"krylov"``), and the projected
eigenproblem of such long runs hit LAPACK failures.  Use it only for mildly stiff operators
or where no factorization (of the operator or of a sparsified preconditioner) fits.  If ``L`` annihilates the constant vector, the exactly known
total ``ones @ p(t) = ones @ p0 + t ones @ s`` is restored by a rank-one correction along
``ones`` as in the ``"krylov"`` method.  The generalized form (mass matrix ``M``) is not
supported: use ``"krylov"`` or ``"dense"``.
"""

from __future__ import annotations

import numpy as np

from ._krylov_method import _stack_rows
from ._poly_lanczos import lanczos_signals, lanczos_states
from ._problem import Problem
from .methods import MethodOutput
from .result import PropagationOptions

__all__ = ["LanczosMethod", "LANCZOS_M_MAX"]

#: Default cap on Lanczos steps per run (``PropagationOptions.m_max`` is meant for the
#: shift-and-invert dimension and is far too small here; the larger of the two is used).
LANCZOS_M_MAX = 200_000


class LanczosMethod:
    """Polynomial Lanczos propagation (see module docstring and `methods`)."""

    name = "lanczos"
    #: `evolve` accepts ``final_state=False`` (skips the second pass).
    supports_final_state_skip = True

    def __init__(self, problem: Problem, options: PropagationOptions, cache: dict):
        if problem.M is not None:
            raise ValueError("method 'lanczos' does not support a mass matrix M; "
                             "use method='krylov' or 'dense'")
        self.problem = problem
        self.options = options
        self.cache = cache

    def _matvec(self):
        L = self.cache.get("L")
        if L is None:
            L = -self.problem.K
            L.sort_indices()
            self.cache["L"] = L
        return L.__matmul__

    def evolve(self, p0, times, t_end, C, states_at, *, final_state: bool = True) -> MethodOutput:
        """See `latticedns.propagation.methods`; ``final_state=False`` returns ``p_final=None``
        and skips the second pass if ``states_at`` is empty."""
        pb = self.problem
        n = pb.n
        nt, ns = len(times), len(states_at)
        grid = np.concatenate([times, states_at, [t_end]])
        k = C.shape[0]
        cons = pb.conserved
        Cx = _stack_rows(C, cons) if cons is not None else C
        sig = np.zeros((len(grid), Cx.shape[0]))
        want_states = ns > 0 or final_state
        p_grid = np.zeros((n, ns + 1)) if want_states else None
        if t_end == 0.0:
            sig[:] = np.asarray(Cx @ p0).ravel()[None, :]
            if want_states:
                p_grid[:] = p0[:, None]
            runs = []
        else:
            runs = [(b, kind) for b, kind, on in ((p0, "exp", np.any(p0 != 0.0)),
                                                  (pb.f, "src", pb.has_source)) if on]
        matvec = self._matvec()
        m_max = max(int(self.options.m_max), LANCZOS_M_MAX)
        state_from = nt if want_states else len(grid)  # monitored states: only those wanted
        nmv = dim = 0
        conv, err = True, 0.0
        sig_floor, state_floor = None, 0.0
        for b, kind in runs:
            run = lanczos_signals(matvec, b, grid, Cx, kind, rtol=self.options.rtol, m_max=m_max,
                                  state_from=state_from, sig_floor=sig_floor,
                                  state_floor=state_floor)
            sig += run.signals
            nmv += run.n_matvec
            dim = max(dim, run.m)
            conv &= run.converged
            err = max(err, run.error_estimate)
            # a later run is judged against the magnitude of the total, not only its own
            sig_floor = np.abs(sig).max(axis=0)
            if want_states:
                state_floor = max(state_floor, float(np.linalg.norm(run.coef, axis=0).max()))
                p_grid += lanczos_states(matvec, b, run)
                nmv += run.n_matvec - 1
        if pb.conserved is not None:  # restore the exactly known conserved total
            target = float(np.sum(p0)) + grid * float(np.sum(pb.f))
            delta = (target - sig[:, k]) / n
            sig[:, :k] += delta[:, None] * np.asarray(C @ cons).ravel()[None, :]
            if want_states:
                p_grid += cons[:, None] * delta[None, nt:]
        states = p_grid[:, :-1].T.copy() if ns else None
        p_final = p_grid[:, -1].copy() if final_state else None
        return MethodOutput(signals=sig[:nt, :k], p_final=p_final, states=states,
                            converged=bool(conv), error_estimate=float(err), n_matvec=nmv,
                            krylov_dim=dim)

