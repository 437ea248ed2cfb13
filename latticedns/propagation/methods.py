"""Registry of propagation methods and the contract they implement.

A method is a class registered under a name with `register_method`.  Contract:

``cls(problem, options, cache)``
    ``problem`` is a `latticedns.propagation._problem.Problem` (``M p' = -K p + f``), ``options``
    a `PropagationOptions`, ``cache`` a dict owned by the caller that the method may fill with
    anything that depends only on ``(K, M)`` (factorizations, eigendecompositions) so that
    methods for other sources ``f`` on the same operator can reuse it.  Construction must be
    cheap; expensive set-up is done lazily and stored in ``cache``.
``method.evolve(p0, times, t_end, C, states_at) -> MethodOutput``
    ``p0`` shape (n,); ``times`` sorted output times (s) >= 0; ``t_end >= times[-1]`` (s);
    ``C`` observables, shape (k, n); ``states_at`` times (s) of requested full states (may be
    empty).  Returns signals ``C p(t)`` (nt, k), ``p(t_end)`` (n,), states (ns, n) and counters.
    Never calls ``K^{-1}`` (K may be singular).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MethodOutput", "register_method", "get_method", "available_methods"]

_REGISTRY: dict[str, type] = {}


@dataclass(frozen=True)
class MethodOutput:
    """What `evolve` returns (see the module docstring); shapes (nt, k), (n,), (ns, n)."""

    signals: np.ndarray
    p_final: np.ndarray
    states: np.ndarray | None
    converged: bool = True
    error_estimate: float = 0.0
    n_factorizations: int = 0
    n_solves: int = 0
    n_matvec: int = 0
    krylov_dim: int = 0
    source_mode: str | None = None
    solver: str = ""


def register_method(name: str, cls: type) -> None:
    """Register ``cls`` under ``name`` (overwrites an existing entry of that name)."""
    if not isinstance(name, str) or not name:
        raise ValueError("method name must be a non-empty string")
    _REGISTRY[name] = cls


def get_method(name: str) -> type:
    """The method class registered as ``name`` (ValueError listing the choices otherwise)."""
    _ensure_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; available: {sorted(_REGISTRY)}") from None


def available_methods() -> list[str]:
    """Names of the registered methods."""
    _ensure_builtin()
    return sorted(_REGISTRY)


def _ensure_builtin() -> None:
    if "krylov" not in _REGISTRY:
        from ._dense_method import DenseMethod
        from ._krylov_method import KrylovMethod

        _REGISTRY.setdefault("krylov", KrylovMethod)
        _REGISTRY.setdefault("dense", DenseMethod)
