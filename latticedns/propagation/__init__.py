"""Exact propagation of piecewise-constant linear spin-diffusion stages.

Solves ``dp/dt = L p + s`` (``L`` real symmetric negative semidefinite sparse, possibly
singular) or the generalized ``M dp/dt = -K p + f`` (``M`` SPD, not lumped) on a stage with
constant operator and source, sampling observables ``C p(t)`` at many times.  Time in seconds,
rates in s^-1.

Methods (``method=`` of `Propagator` / `propagate`):

``"dense"``
    Full eigendecomposition (reference; O(n^3), n <~ 4000).
``"krylov"`` (default)
    Shift-and-invert Lanczos: ~5-40 solves with ``K + sigma M`` per stage, one cached solver
    per operator and shift (`latticedns.propagation.solvers`: PARDISO, dense or SuperLU
    Cholesky, or AMG-preconditioned CG, chosen by ``PropagationOptions.solver``).
``"auto"``
    ``"dense"`` for n <= 1500, ``"krylov"`` above
    (`latticedns.propagation.propagator.auto_method`).

Public API: `propagate`, `Propagator`, `stationary_state`, `PropagationResult`,
`PropagationOptions`, `register_method`, `get_method`, `available_methods`; the solver
registry is `latticedns.propagation.solvers`.
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
