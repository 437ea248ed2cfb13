"""Public entry points: `Propagator`, `propagate` and `stationary_state`.

Reuse (what is optimal)
-----------------------
A `Propagator` owns a cache of everything that depends only on the operator ``(L, M)``: the
solvers of ``K + sigma M`` (``"krylov"``, one per shift, each stage reusing one when that is
cheaper than a new one) or the eigendecomposition (``"dense"``); stages that only change the
source share it through `Propagator.with_source`.

* Many outputs within one stage: call `Propagator.sample` once with all output times.  One
  Krylov basis serves every time (the basis dimension grows only logarithmically with the
  time range), which is far cheaper than stepping.
* Tiny steps with a diagonal operation between them (small-angle pulses ``p *= d``): call
  `Propagator.advance` per step.  Each step builds a fresh Krylov basis from the new state
  with the cached factorization (~10-20 solves, no factorization).  Exact but ~N times the
  solves of one `sample` call; use `sample` whenever the pulse effect can be applied to the
  observables afterwards instead (e.g. a pulse that only reads out, or a pulse series that
  is a small perturbation to be modelled analytically).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._krylov_method import reference_time
from ._problem import Problem, as_observables, make_problem
from .methods import get_method
from .result import PropagationOptions, PropagationResult
from .solvers import make_solver

__all__ = ["Propagator", "propagate", "stationary_state", "auto_method", "reference_time",
           "AUTO_DENSE_MAX_N"]

#: ``method="auto"`` threshold (number of states): ``"dense"`` up to it, ``"krylov"`` above.
AUTO_DENSE_MAX_N = 1500


def auto_method(n: int, has_mass: bool = False) -> str:
    """The method ``method="auto"`` picks for ``n`` states: ``"dense"`` or ``"krylov"``.

    ``"dense"`` up to :data:`AUTO_DENSE_MAX_N` states without a mass matrix (the lattice);
    a finite-element model (``has_mass``) always gets ``"krylov"``: its graded mesh spreads
    the eigenvalues over up to 13 decades (5e-3 to 4e10 s^-1 at 118 mW), and a dense
    eigendecomposition resolves the slow ones only to ``eps lambda_max`` (measured: a 640 s build-up 3x too large on the continuum's
    4x refined mesh), while shift-and-invert resolves them to rtol.
    """
    return "dense" if n <= AUTO_DENSE_MAX_N and not has_mass else "krylov"


def _check_times(times, t_end):
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError("times must be a non-empty 1-D array of output times (s)")
    if not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError("times must be finite, >= 0 and sorted")
    te = float(t[-1]) if t_end is None else max(float(t_end), float(t[-1]))
    return t, te


class Propagator:
    """Exact propagator for one stage operator ``dp/dt = L p + s`` (or ``M p' = -K p + f``).

    Parameters
    ----------
    L : sparse matrix, shape (n, n)
        Symmetric negative semidefinite operator (s^-1); ``-K`` when ``M`` is given.
    s : ndarray, shape (n,), optional
        Source (polarization s^-1); ``f`` when ``M`` is given.
    M : sparse matrix, shape (n, n), optional
        SPD mass matrix (not lumped).
    method : str
        A registered method (`available_methods`): ``"krylov"`` (default), ``"dense"``, or
        ``"auto"`` (chosen from ``n`` by `auto_method`).
    options : PropagationOptions, optional
        Overrides; keyword arguments (``rtol=...``) are merged into it.
    pool : (dict, hashable), optional
        A dict shared by several propagators and the key of this operator in it: solvers
        of this operator already built by another propagator for the same shift are taken
        from it instead of being built again.  Which shift a stage uses depends only on
        this propagator's own history (`fork`), so results do not depend on what the
        others did.
    """

    def __init__(self, L, s=None, M=None, *, method: str = "krylov",
                 options: PropagationOptions | None = None, pool: tuple | None = None,
                 _problem: Problem | None = None, _cache: dict | None = None, **kwargs):
        base = options if options is not None else PropagationOptions()
        if kwargs:
            base = PropagationOptions(**{**base.__dict__, **kwargs})
        self.options = base
        self.problem = _problem if _problem is not None else make_problem(L, s, M)
        if method == "auto":
            method = auto_method(self.problem.n, self.problem.M is not None)
        self.method_name = method
        self._cache = {} if _cache is None else _cache
        if pool is not None:
            self._cache["pool"] = pool
        self._method = get_method(method)(self.problem, self.options, self._cache)

    @property
    def n(self) -> int:
        """Number of states."""
        return self.problem.n

    def with_source(self, s) -> "Propagator":
        """A propagator for the same operator with source ``s`` (shares factorizations)."""
        pb = self.problem
        f = np.asarray(s, dtype=float).reshape(-1)
        if f.shape != (pb.n,):
            raise ValueError(f"s must have shape ({pb.n},)")
        new = Problem(K=pb.K, f=f, M=pb.M, conserved=pb.conserved)
        return Propagator(None, method=self.method_name, options=self.options, _problem=new,
                          _cache=self._cache)

    def plan(self, t_refs) -> "Propagator":
        """Announce the stages this operator will propagate; returns self.

        ``t_refs`` (s): for each stage, in order, its `reference_time` (the geometric mean
        of its first positive output time and its end; a single step of length dt: dt).  The ``"krylov"`` method
        then chooses, when it builds its first solver, the set of shifts that costs least
        over all of them (a shift slightly too small for a short stage is cheaper than a
        second factorization), and, for ``solver="auto"``, the backend for their expected
        number of solves.  Only the first call before any propagation has an effect.
        """
        t = np.asarray(t_refs, dtype=float).ravel()
        if t.size == 0 or not np.all(np.isfinite(t) & (t > 0)):
            raise ValueError("t_refs must be positive finite times (s)")
        self._cache.setdefault("plan", tuple(t))
        return self

    def fork(self) -> "Propagator":
        """A propagator sharing every solver built so far, whose later choices are its own.

        The two share the operator's cached solvers, eigendecompositions and pool; solvers
        that either builds afterwards are not seen by the other (except through the pool),
        so each one's choices depend only on the stages it ran itself.
        """
        cache = {k: dict(v) if isinstance(v, dict) else v for k, v in self._cache.items()}
        return Propagator(None, method=self.method_name, options=self.options,
                          _problem=self.problem, _cache=cache)

    def sample(self, p0, times, C=None, *, t_end=None, states_at=None,
               final_state: bool = True) -> PropagationResult:
        """Propagate ``p0`` over one stage and sample observables.

        Parameters
        ----------
        p0 : ndarray, shape (n,)
            State at the stage start (t = 0).
        times : array_like, shape (nt,)
            Sorted output times (s), ``>= 0``.
        C : ndarray or sparse, shape (k, n), optional
            Observables (rows: averaging/indicator vectors).
        t_end : float, optional
            Stage end (s) if beyond ``times[-1]``.
        states_at : array_like, shape (ns,), optional
            Times (s) at which full states are returned (``result.states``, shape (ns, n)).
        final_state : bool
            If False, ``result.p_final`` may be None: methods that need extra work for the
            stage-end state (``supports_final_state_skip``) skip it.
        """
        n = self.n
        p0 = np.asarray(p0, dtype=float).reshape(-1)
        if p0.shape != (n,):
            raise ValueError(f"p0 must have shape ({n},), got {p0.shape}")
        t, te = _check_times(times, t_end)
        sa = np.zeros(0) if states_at is None else np.atleast_1d(np.asarray(states_at, float))
        if sa.size and (np.any(sa < 0) or np.any(sa > te)):
            raise ValueError("states_at must lie within [0, t_end]")
        Cm = as_observables(C, n)
        if not final_state and getattr(self._method, "supports_final_state_skip", False):
            out = self._method.evolve(p0, t, te, Cm, sa, final_state=False)
        else:
            out = self._method.evolve(p0, t, te, Cm, sa)
        status = 0 if out.converged else 1
        msg = "success" if status == 0 else (
            f"Krylov dimension limit m_max={self.options.m_max} reached; "
            f"estimated relative error {out.error_estimate:.2e} > rtol={self.options.rtol:.1e}")
        return PropagationResult(t=t, signals=out.signals, p_final=out.p_final, t_end=te,
                                 states=out.states, status=status, message=msg,
                                 method=self.method_name, n_factorizations=out.n_factorizations,
                                 n_solves=out.n_solves, n_matvec=out.n_matvec,
                                 krylov_dim=out.krylov_dim, error_estimate=out.error_estimate,
                                 solver=out.solver, source_mode=out.source_mode)

    def advance(self, p, dt: float) -> np.ndarray:
        """State after ``dt`` seconds starting from ``p`` (shape (n,)); reuses the cache."""
        return self.sample(p, [float(dt)]).p_final

    def stationary_state(self) -> np.ndarray:
        """Solution of ``L p = -s`` (``K p = f``); see `stationary_state`."""
        return stationary_state(None, None, _problem=self.problem)


def propagate(L, s, p0, times, observables=None, *, M=None, method: str = "krylov",
              rtol: float = 1e-8, t_end=None, states_at=None, final_state: bool = True,
              **options) -> PropagationResult:
    """Propagate ``dp/dt = L p + s`` (or ``M p' = -K p + f`` with ``L = -K``) over one stage.

    Parameters
    ----------
    L : sparse matrix, shape (n, n)
        Symmetric negative semidefinite (s^-1); may be exactly singular.
    s : ndarray, shape (n,) or None
        Constant source over the stage.
    p0 : ndarray, shape (n,)
        State at t = 0.
    times : array_like, shape (nt,)
        Sorted output times (s) >= 0.
    observables : ndarray or sparse, shape (k, n), optional
        ``C``; the result holds ``C p(t)`` with shape (nt, k).
    M : sparse matrix, shape (n, n), optional
        SPD mass matrix (generalized form).
    method : str
        Registered method name (``"krylov"`` default, ``"dense"`` reference) or ``"auto"``
        (`auto_method`).
    rtol : float
        Relative accuracy target.
    t_end : float, optional
        Stage end if beyond ``times[-1]``; ``result.p_final`` is ``p(t_end)``.
    states_at : array_like, optional
        Times (s) at which full states are returned.
    final_state : bool
        See `Propagator.sample`.
    **options
        Further `PropagationOptions` fields (``shift``, ``m_max``, ``solver`` ...).
    """
    prop = Propagator(L, s, M, method=method, rtol=rtol, **options)
    return prop.sample(p0, times, observables, t_end=t_end, states_at=states_at,
                       final_state=final_state)


def stationary_state(L, s, M=None, *, _problem: Problem | None = None) -> np.ndarray:
    """Stationary state ``p`` with ``L p = -s`` (``M`` does not enter; accepted for symmetry).

    Raises
    ------
    ValueError
        If ``L`` is singular (e.g. zero row sums: no relaxation), where the stationary state
        is not unique or does not exist, or numerically singular (estimated condition > 1e13).
    """
    pb = _problem if _problem is not None else make_problem(L, s, M)
    if pb.conserved is not None:
        raise ValueError("L is singular (rows sum to zero: total polarization is conserved); "
                         "the stationary state is undefined")
    K = sp.csr_matrix(pb.K)
    fac = make_solver(K, "auto", direct=True)
    p = fac.solve(pb.f)
    # condition estimate: a few power steps on K^{-1} (K SPD) against the row-sum norm of K
    rng = np.random.default_rng(0)
    v = rng.standard_normal(pb.n)
    for _ in range(8):
        v = fac.solve(v / np.linalg.norm(v))
    inv_norm = np.linalg.norm(v)
    knorm = abs(K).sum(axis=1).max()
    if not np.isfinite(inv_norm) or inv_norm * knorm > 1e13 or not np.all(np.isfinite(p)):
        raise ValueError(f"L is numerically singular (condition estimate {inv_norm * knorm:.2e}); "
                         "the stationary state is undefined")
    p = p + fac.solve(pb.f - K @ p)  # one step of iterative refinement
    return p
