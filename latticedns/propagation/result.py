"""Result and option types of the propagation layer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._factor import BACKENDS

__all__ = ["PropagationResult", "PropagationOptions", "SOLVERS"]

SOLVERS = ("direct", "pcg", "auto")


@dataclass(frozen=True)
class PropagationOptions:
    """Options shared by the propagation methods (validated on construction).

    Parameters
    ----------
    rtol : float
        Target relative accuracy of the observables (relative to each observable's largest
        magnitude over the output times) and of the final state (M-norm).  In (0, 0.1].
    shift : float or None
        Shift ``sigma`` (s^-1) of the shift-and-invert Krylov method; None picks
        ``shift_factor / t_ref`` rounded to a power of two (so nearby choices share one
        factorization), where ``t_ref`` is the stage length of the first call.
    shift_factor : float
        See ``shift``.  Measured optimum for spin-diffusion matrices ~ 2 (few solves, flat).
    m_max : int
        Maximum Krylov dimension (basis memory is ``8 n m_max`` bytes, twice with M).
    backend : {"auto", "scipy", "cholespy", "dense"}
        Factorization backend (see `latticedns.propagation._factor`; "auto" is dense up to
        6000 unknowns).
    solver : {"direct", "pcg", "auto"}
        How the ``"krylov"`` method solves ``(K + sigma M) x = b``.  ``"direct"``: one sparse
        factorization of ``K + sigma M``.  ``"pcg"``: preconditioned CG whose preconditioner
        is the factorization of a sparsified operator ``K_short + sigma M`` (each row keeps its
        ``pcg_keep`` largest pair rates; see `latticedns.propagation._pcg`): less fill and a
        cheaper factorization, but ~20-30 preconditioner solves per solve; inner iterations
        are counted in ``n_matvec``.  ``"auto"``: ``"pcg"`` for ``n >=``
        `latticedns.propagation._krylov_method.AUTO_PCG_MIN_N` states without a mass matrix,
        ``"direct"`` otherwise.  Default ``"direct"``: measured on real lattice schedules
        (bench/bench_propagation.py, rtol 1e-6) pcg takes 23 s vs 7.9 s at 1e4 states and
        477 s vs ~500 s at 1e5 (but 5.4 GB instead of > 18 GB with the scipy backend).
    pcg_keep : int
        Pair rates kept per row by the ``"pcg"`` preconditioner (>= 1; measured optimum ~5).
    pcg_tol : float or None
        Relative tolerance of the inner CG (preconditioned residual norm); None:
        ``min(1e-10, 1e-4 * rtol)``.  Looser inner solves make the Lanczos stagnate.
    """

    rtol: float = 1e-8
    shift: float | None = None
    shift_factor: float = 2.0
    m_max: int = 400
    backend: str = "auto"
    solver: str = "direct"
    pcg_keep: int = 5
    pcg_tol: float | None = None

    def __post_init__(self):
        if not (0.0 < self.rtol <= 0.1):
            raise ValueError(f"rtol must be in (0, 0.1], got {self.rtol}")
        if self.shift is not None and not (np.isfinite(self.shift) and self.shift > 0):
            raise ValueError(f"shift must be a finite positive rate (s^-1), got {self.shift}")
        if not (np.isfinite(self.shift_factor) and self.shift_factor > 0):
            raise ValueError(f"shift_factor must be > 0, got {self.shift_factor}")
        if int(self.m_max) != self.m_max or self.m_max < 4:
            raise ValueError(f"m_max must be an integer >= 4, got {self.m_max}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if isinstance(self.pcg_keep, bool) or int(self.pcg_keep) != self.pcg_keep or self.pcg_keep < 1:
            raise ValueError(f"pcg_keep must be an integer >= 1, got {self.pcg_keep}")
        if self.pcg_tol is not None and not (0.0 < self.pcg_tol < 1.0):
            raise ValueError(f"pcg_tol must be in (0, 1), got {self.pcg_tol}")

    @property
    def inner_tol(self) -> float:
        """Relative tolerance of the inner PCG solves (``pcg_tol`` or its rtol-tied default)."""
        return float(self.pcg_tol) if self.pcg_tol is not None else min(1e-10, 1e-4 * self.rtol)


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
        Work counters of this call (factorizations reused from a cache are not counted).
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
    extra: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True if ``status == 0``."""
        return self.status == 0
