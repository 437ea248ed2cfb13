"""Exact propagation of piecewise-constant linear spin-diffusion stages.

Solves ``dp/dt = L p + s`` (``L`` real symmetric negative semidefinite sparse, possibly
singular) or the generalized ``M dp/dt = -K p + f`` (``M`` SPD, not lumped) on a stage with
constant operator and source, sampling observables ``C p(t)`` at many times.  Time in seconds,
rates in s^-1.

Methods (``method=`` of `Propagator` / `propagate`):

``"dense"``
    Full eigendecomposition (reference; O(n^3), n <~ 4000).
``"krylov"`` (default)
    Shift-and-invert Lanczos with one cached sparse factorization per operator: ~15-40
    solves per stage, cheap repeated `Propagator.advance` steps; the factorization dominates
    and grows superlinearly (seconds at 1e4 states, minutes at 1e5, infeasible at 1e6).
``"lanczos"``
    Matvec-only (polynomial) Lanczos with the observables projected on the fly, no
    factorization, O(n) memory plus an O(m^2) projected eigenproblem; the number of matvecs
    grows like ``sqrt(||L|| t)`` (1e4 to > 2.6e4 per long stage on real lattices, whose
    rates reach ~5e5 s^-1), so it only wins when the factorization is unaffordable.  No mass matrix.
``"auto"``
    ``"dense"`` for n <= 1500, ``"krylov"`` up to n = 2e5 (and whenever M is given),
    ``"lanczos"`` above (`latticedns.propagation.propagator.auto_method`; on real lattices
    the polynomial method needs far more matvecs than the planning estimate, so the
    crossover sits where the factorization stops being affordable).

Public API: `propagate`, `Propagator`, `stationary_state`, `PropagationResult`,
`PropagationOptions`, `register_method`, `get_method`, `available_methods`.
"""

from .methods import available_methods, get_method, register_method
from .propagator import Propagator, propagate, stationary_state
from .result import PropagationOptions, PropagationResult

__all__ = [
    "propagate",
    "Propagator",
    "stationary_state",
    "PropagationResult",
    "PropagationOptions",
    "register_method",
    "get_method",
    "available_methods",
]
