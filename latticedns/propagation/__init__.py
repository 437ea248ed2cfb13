"""Exact propagation of piecewise-constant linear spin-diffusion stages.

Solves ``dp/dt = L p + s`` (``L`` real symmetric negative semidefinite sparse, possibly
singular) or the generalized ``M dp/dt = -K p + f`` (``M`` SPD, not lumped) on a stage with
constant operator and source, sampling observables ``C p(t)`` at many times.  Time in seconds,
rates in s^-1.

Methods (``method=`` of `Propagator` / `propagate`):

``"dense"``
    Full eigendecomposition (reference; O(n^3), n <~ 4000).
``"krylov"`` (default)
    Shift-and-invert Lanczos: ~15-40 solves with ``K + sigma M`` per stage, cheap repeated
    `Propagator.advance` steps.  ``PropagationOptions.solver`` chooses the solves:
    ``"direct"`` (default) caches one sparse factorization per operator, which dominates and
    grows superlinearly (seconds at 1e4 states, minutes at 1e5, infeasible at 1e6);
    ``"pcg"`` caches the factorization of a sparsified operator and runs preconditioned CG
    (~20-30 inner iterations per solve, less fill; measured slower at 1e4 and not faster at
    1e5 on real lattice schedules, see `latticedns.propagation._pcg`).
``"lanczos"``
    Matvec-only (polynomial) Lanczos with the observables projected on the fly, no
    factorization, O(n) memory; opt-in only.  Its number of matvecs grows like
    ``sqrt(||L|| t)``: > 2.6e4 per long stage on real lattices already at 1e4 states (rates
    up to ~5e5 s^-1), so it is far slower than ``"krylov"`` wherever the factorization fits.
    No mass matrix.
``"auto"``
    ``"dense"`` for n <= 1500, ``"krylov"`` above
    (`latticedns.propagation.propagator.auto_method`); never ``"lanczos"``.

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
