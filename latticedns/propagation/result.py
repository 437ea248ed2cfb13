"""Result and option types of the propagation layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .solvers import SOLVERS

__all__ = ["PropagationResult", "PropagationOptions"]


@dataclass(frozen=True)
class PropagationOptions:
    """Options shared by the propagation methods (validated on construction).

    Parameters
    ----------
    rtol : float
        Target relative accuracy of the observables (relative to each observable's largest
        magnitude over the output times) and of the final state (M-norm).  In (0, 0.1].
    shift : float or None
        Fixed shift ``sigma`` (s^-1) of the shift-and-invert Krylov method for every stage;
        None: each stage asks for ``shift_factor / t_end`` rounded to a power of two and
        reuses a cached solver when that is cheaper (`latticedns.propagation._krylov_method`).
    shift_factor : float
        See ``shift``.  Measured on the lattice schedules: flat between 1 and 8 (37-39
        solves for a 10^4 s detection at 1e4 protons).
    m_max : int
        Maximum Krylov dimension (basis memory is ``8 n m_max`` bytes, twice with M).
    solver : {"auto", "pardiso", "dense", "splu", "amg"}
        Linear solver for ``(K + sigma M) x = b`` (`latticedns.propagation.solvers`):
        ``"auto"`` picks by size, installed packages and the factor's estimated memory.
    inner_tol : float or None
        Relative residual of inexact (``"amg"``) solves; None: ``min(1e-8, 1e-2 * rtol)`` (measured
        on a lattice schedule: the same error and outer solves as 1e-4 rtol, 23 % fewer inner
        iterations).
    """

    rtol: float = 1e-8
    shift: float | None = None
    shift_factor: float = 2.0
    m_max: int = 400
    solver: str = "auto"
    inner_tol: float | None = None

    def __post_init__(self):
        if not (0.0 < self.rtol <= 0.1):
            raise ValueError(f"rtol must be in (0, 0.1], got {self.rtol}")
        if self.shift is not None and not (np.isfinite(self.shift) and self.shift > 0):
            raise ValueError(f"shift must be a finite positive rate (s^-1), got {self.shift}")
        if not (np.isfinite(self.shift_factor) and self.shift_factor > 0):
            raise ValueError(f"shift_factor must be > 0, got {self.shift_factor}")
        if int(self.m_max) != self.m_max or self.m_max < 4:
            raise ValueError(f"m_max must be an integer >= 4, got {self.m_max}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.inner_tol is not None and not (0.0 < self.inner_tol < 1.0):
            raise ValueError(f"inner_tol must be in (0, 1), got {self.inner_tol}")
        if self.inner_tol is None:
            object.__setattr__(self, "inner_tol", min(1e-8, 1e-2 * self.rtol))


@dataclass(frozen=True)
class PropagationResult:
    """Outcome of one propagation (like scipy's ``OdeResult``).

    Attributes
    ----------
    t : ndarray, shape (nt,)
        Output times (s) from the stage start.
    signals : ndarray, shape (nt, k)
        Observables ``C p(t)``.
    p_final : ndarray, shape (n,), or None
        State at ``t_end`` (None only if ``final_state=False`` was passed and the method
        skipped it).
    t_end : float
        Stage end (s): ``max(times[-1], t_end argument)``.
    states : ndarray, shape (ns, n) or None
        Full states at ``states_at`` (if requested).
    status : int
        0 success, 1 Krylov dimension limit reached before ``rtol`` was met (results still
        returned, with ``error_estimate`` telling how far off).
    message : str
    method : str
    n_factorizations, n_solves, n_matvec, krylov_dim : int
        Work counters of this call (solvers reused from a cache are not counted as
        factorizations; ``n_matvec`` counts inner iterations of iterative solvers).
    solver : str
        Linear solver that ran (``"krylov"``), e.g. ``"pardiso"``; "" for ``"dense"``.
    source_mode : str or None
        How a source was propagated (``"krylov"``): ``"stationary"`` (around ``K^{-1} f``),
        ``"source"`` (its own Krylov run), or None (no source).
    error_estimate : float
        A posteriori relative error estimate (0 for the dense method).
    """

    t: np.ndarray
    signals: np.ndarray
    p_final: np.ndarray | None
    t_end: float
    states: np.ndarray | None = None
    status: int = 0
    message: str = "success"
    method: str = ""
    n_factorizations: int = 0
    n_solves: int = 0
    n_matvec: int = 0
    krylov_dim: int = 0
    error_estimate: float = 0.0
    solver: str = ""
    source_mode: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True if ``status == 0``."""
        return self.status == 0
