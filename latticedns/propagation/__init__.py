"""Exact propagation of piecewise-constant linear spin-diffusion stages.

Solves ``dp/dt = L p + s`` (``L`` real symmetric negative semidefinite sparse, possibly
singular) or the generalized ``M dp/dt = -K p + f`` (``M`` SPD, not lumped) on a stage with
constant operator and source, sampling observables ``C p(t)`` at many times.  Time in seconds,
rates in s^-1.

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
