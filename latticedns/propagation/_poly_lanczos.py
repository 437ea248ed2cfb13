"""Matrix-vector-only (polynomial) Lanczos for ``exp(tL) b`` and ``t phi_1(tL) b``.

For symmetric negative semidefinite ``L`` the three-term recurrence (Paige's variant, no
re-orthogonalization)

    beta_j v_{j+1} = L v_j - alpha_j v_j - beta_{j-1} v_{j-1},    v_1 = b / ||b||

gives the tridiagonal ``T_m`` and ``F(L) b ~ ||b|| V_m F(T_m) e1``.  The basis is never stored:
the first pass (`lanczos_signals`) keeps only ``C V_m`` (k x m) and ``T_m``, evaluates the
projected observables for all times at once through the eigendecomposition of ``T_m``, and
stops when they stop changing; the second pass (`lanczos_states`) regenerates the same vectors
from the stored ``alpha, beta`` and sums ``V_m y`` for the few requested states.

Finite precision: without re-orthogonalization the basis loses orthogonality once Ritz values
converge and ``T_m`` acquires spurious copies ("ghosts") of them.  For matrix functions this
only delays convergence (Druskin & Knizhnerman 1991, Greenbaum 1989); the a posteriori control
below compares successive approximations, so it is unaffected.

Convergence is checked at geometrically spaced dimensions (every ``max(check_every, m/8)``
steps, ``m/4`` beyond 4096: a check costs an ``O(m^2)`` tridiagonal eigendecomposition with
``8 m^2`` bytes of eigenvectors) and declared when the
change since the previous check is below ``rtol`` for every observable (relative to its
largest magnitude over the times, floored as in the shift-and-invert method) and for the
monitored states (coefficient 2-norm, relative to the state, floored at ``sqrt(eps) ||b||``),
and the rightmost Ritz value ``theta_max`` has settled (``|d theta| * t_max`` or
``|d theta / theta|`` below 1e-2): until the slow end of the spectrum is found,
``exp(t theta)`` can underflow at every Ritz value and successive results agree spuriously.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg as sla

from ._phi import exp_t, h_t

import os
_DEBUG = bool(os.environ.get("LATTICEDNS_LANCZOS_DEBUG"))

__all__ = ["PolyLanczosRun", "lanczos_signals", "lanczos_states", "projected_coefficients"]


@dataclass(frozen=True)
class PolyLanczosRun:
    """First-pass result of one polynomial Lanczos run.

    Attributes
    ----------
    beta0 : float
        ``||b||`` (2-norm).
    alpha, beta : ndarray, shapes (m,), (m - 1,)
        The tridiagonal ``T_m`` (``beta[j]`` couples ``v_j`` and ``v_{j+1}``).
    signals : ndarray, shape (len(times), k)
        ``C F_t(L) b`` at every time.
    coef : ndarray, shape (m, ns)
        Coefficients of the monitored states: ``F_t(L) b ~ V_m @ coef[:, i]`` (includes
        ``beta0``).
    n_matvec : int
    converged : bool
    error_estimate : float
        Relative change at the last check.
    """

    beta0: float
    alpha: np.ndarray
    beta: np.ndarray
    signals: np.ndarray
    coef: np.ndarray
    n_matvec: int
    converged: bool
    error_estimate: float

    @property
    def m(self) -> int:
        """Krylov dimension."""
        return len(self.alpha)


def projected_coefficients(alpha: np.ndarray, beta: np.ndarray, times: np.ndarray,
                           kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-form of ``F_t(T) e1`` for all times.

    Returns ``(Q, G, theta_max)`` with ``F_t(T) e1 = Q @ G[:, i]``: ``Q`` the eigenvectors of ``T`` (m, m)
    and ``G = F_t(theta) * Q[0, :]`` (m, len(times)); ``kind`` ``"exp"`` (``exp(t theta)``) or
    ``"src"`` (``h_t(theta) = (exp(t theta) - 1) / theta``).  Ritz values are clipped to
    ``<= 0`` (``L`` is negative semidefinite; positive values are rounding); ``theta_max``
    is the rightmost (slowest) clipped Ritz value.
    """
    m = len(alpha)
    if m == 1:
        theta, Q = alpha.copy(), np.ones((1, 1))
    else:
        try:
            theta, Q = sla.eigh_tridiagonal(alpha, beta, check_finite=False)
        except np.linalg.LinAlgError:  # stevd can fail for large m with ghost clusters
            theta, Q = sla.eigh_tridiagonal(alpha, beta, check_finite=False,
                                            lapack_driver="stemr")
    a = np.minimum(theta, 0.0)
    F = exp_t(a, times) if kind == "exp" else h_t(a, times)
    return Q, F * Q[0, :][:, None], float(a[-1])


def _change(new: np.ndarray, old: np.ndarray, floor: np.ndarray) -> float:
    """Largest change over times of each column, relative to max(|new| over times, floor)."""
    if new.size == 0:
        return 0.0
    scale = np.maximum(np.abs(new).max(axis=0), floor)
    return float((np.abs(new - old).max(axis=0) / scale).max())


def lanczos_signals(matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
                    times: np.ndarray, C, kind: str, *, rtol: float, m_max: int,
                    state_from: int, sig_floor: np.ndarray | None = None,
                    state_floor: float = 0.0, check_every: int = 64) -> PolyLanczosRun:
    """First pass: observables ``C F_t(L) b`` at all ``times`` without storing the basis.

    Parameters
    ----------
    matvec : callable
        ``matvec(v) = L v`` for ``v`` of shape (n,).
    b : ndarray, shape (n,)
        Nonzero start vector.
    times : ndarray, shape (nt,)
        Times (s); columns ``state_from:`` are states whose coefficients are monitored.
    C : ndarray or sparse, shape (k, n)
        Observables.
    kind : {"exp", "src"}
        ``F_t = exp(t .)`` or ``h_t`` (so that ``b = s`` gives ``t phi_1(tL) s``).
    rtol : float
        Relative tolerance of the change between checks.
    m_max : int
        Maximum number of Lanczos steps (matvecs).
    state_from : int
        First column of ``times`` whose state is monitored (``nt - 1`` for the final state).
    sig_floor : ndarray, shape (k,), optional
        Absolute scale floor of each observable (e.g. the magnitude of another contribution
        to the same total).
    state_floor : float
        Absolute floor of the monitored states' 2-norm.
    check_every : int
        Minimum number of steps between checks.
    """
    n = b.shape[0]
    k = C.shape[0]
    beta0 = float(np.linalg.norm(b))
    cap = 256
    CV = np.empty((k, cap))
    alpha = np.empty(cap)
    beta = np.empty(cap)
    v_prev = np.zeros(n)
    v = b / beta0
    b_prev = 0.0
    floor_sig = np.zeros(k) if sig_floor is None else np.asarray(sig_floor, float)
    prev_sig = prev_coef = prev_theta = prev_m = None
    slow_found = False
    t_max = float(np.max(times))
    sig = coef = None
    converged, err = False, np.inf
    next_check = min(8, m_max)
    m = 0
    while True:
        if m == len(alpha):
            alpha, beta = np.resize(alpha, 2 * m), np.resize(beta, 2 * m)
            CV = np.concatenate([CV, np.empty((k, m))], axis=1)
        CV[:, m] = C @ v
        w = matvec(v)
        wnorm = float(np.linalg.norm(w))
        if b_prev:
            w -= b_prev * v_prev
        a = float(v @ w)
        w -= a * v
        alpha[m] = a
        bn = float(np.linalg.norm(w))
        m += 1
        invariant = bn <= 1e-12 * max(wnorm, abs(a), 1e-300)
        if invariant or m >= next_check or m >= m_max:
            try:
                Q, G, theta_max = projected_coefficients(alpha[:m], beta[: m - 1], times, kind)
            except np.linalg.LinAlgError:  # LAPACK gave up (m ~ 2.6e4 with ghost clusters)
                if prev_sig is None:
                    raise
                m, sig, coef = prev_m, prev_sig, prev_coef  # keep the last good approximation
                break
            sig = beta0 * ((CV[:, :m] @ Q) @ G).T
            coef = beta0 * (Q @ G[:, state_from:])
            if prev_sig is not None:
                floor = np.maximum(1e-6 * np.abs(sig).max(initial=0.0), floor_sig) + 1e-300
                d_sig = _change(sig, prev_sig, floor)
                pc = np.zeros_like(coef)
                pc[: prev_coef.shape[0]] = prev_coef
                ref = np.maximum(np.linalg.norm(coef, axis=0), max(state_floor, 1.5e-8 * beta0))
                d_fin = float((np.linalg.norm(coef - pc, axis=0) / ref).max(initial=0.0))
                err = max(d_sig, d_fin)
                # the slow end of the spectrum must have been found: before that, exp(t theta)
                # may underflow at every Ritz value and the change look like zero
                dth = abs(theta_max - prev_theta)
                slow_found = min(dth * t_max, dth / max(abs(theta_max), 1e-300)) <= 1e-2
            prev_sig, prev_coef, prev_theta, prev_m = sig, coef, theta_max, m
            if _DEBUG:
                print(f"  lanczos[{kind}] m={m} err={err:.2e}", flush=True)
            if invariant or (err <= rtol and slow_found):
                converged = True
                break
            if m >= m_max:
                break
            next_check = min(m + max(check_every, m // 8 if m < 4096 else m // 4), m_max)
        beta[m - 1] = bn
        v_prev, v = v, w / bn
        b_prev = bn
    return PolyLanczosRun(beta0=beta0, alpha=alpha[:m].copy(), beta=beta[: m - 1].copy(),
                          signals=sig, coef=coef, n_matvec=m, converged=converged,
                          error_estimate=0.0 if invariant else float(err))


def lanczos_states(matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
                   run: PolyLanczosRun) -> np.ndarray:
    """Second pass: ``V_m @ run.coef`` by regenerating the basis from ``run.alpha, run.beta``.

    Returns an array of shape (n, ns); costs ``m - 1`` matvecs and ``O(n ns)`` memory.
    """
    m = run.m
    coef = run.coef
    v_prev = np.zeros_like(b, dtype=float)
    v = b / run.beta0
    out = np.outer(v, coef[0])
    for j in range(m - 1):
        w = matvec(v)
        if j:
            w -= run.beta[j - 1] * v_prev
        w -= run.alpha[j] * v
        w /= run.beta[j]
        v_prev, v = v, w
        out += np.outer(v, coef[j + 1])
    return out
