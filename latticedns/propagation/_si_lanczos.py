"""Shift-and-invert Lanczos in the M-inner product with a posteriori error control.

For ``A = -M^{-1} K`` and a shift ``sigma > 0`` the operator ``B = (K + sigma M)^{-1} M`` is
M-self-adjoint with eigenvalues ``mu = 1 / (lambda + sigma)`` in ``(0, 1/sigma]``.  Lanczos on
``B`` from ``v1 = b / ||b||_M`` gives ``B V_m ~ V_m T_m`` and the rational approximation

    F(A) b  ~  ||b||_M  V_m  F(sigma - T_m^{-1}) e1

(van den Eshof & Hochbruck 2006).  Its error is nearly independent of the stiffness of ``K``.
Each step costs one solve with ``K + sigma M``; the basis is kept (full re-orthogonalization,
so there are no ghost eigenvalues).  The approximation is evaluated at every step for all
output times at once (a ``m x m`` eigendecomposition plus a ``k x m x len(times)`` product);
iteration stops when two successive changes of every observable (relative to its largest
magnitude over the times) and of the monitored states (in the M-norm) are below ``rtol``
(states that decayed below ``sqrt(eps) ||b||_M`` are resolved to ``rtol sqrt(eps) ||b||_M``
absolutely; observables below 1e-6 of the largest one likewise).

Source runs (``kind="src"``, ``b = (K + sigma M)^{-1} f``) may also monitor the stationary
state ``K^{-1} f = (I + sigma K^{-1} M) b``, whose function of ``mu`` is ``1 / (1 - sigma mu)``:
with ``stationary=True`` the run stops at whichever converges first, the source term at every
time or the stationary state (``KrylovRun.stationary``), and the caller then propagates
``p0 - p_ss`` instead (one Krylov space less when the stage is long: ~6 solves for the
stationary state of a 10^4 s detection against ~24 for the source term at 1024 times).

Inexact solves (an iterative inner solver of relative residual ``tol``) perturb the Lanczos
relation by ``tol`` per step; their effect on the result is bounded by the same a posteriori
test as long as ``tol`` is far below ``rtol`` (the caller ties it to ``1e-2 rtol``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["KrylovRun", "LanczosRun", "si_lanczos", "si_lanczos_together"]


@dataclass(frozen=True)
class KrylovRun:
    """Result of one shift-and-invert Lanczos run.

    Attributes
    ----------
    signals : ndarray, shape (len(times), k)
        ``C F_t(A) b`` for each output time (None if the run stopped on the stationary state).
    coef : ndarray, shape (m, len(times))
        Coefficients in the basis: ``F_t(A) b ~ basis @ coef[:, i]``.
    basis : ndarray, shape (n, m)
        M-orthonormal Krylov basis (``coef`` already includes the factor ``||b||_M``).
    n_solves : int
    converged : bool
    error_estimate : float
        Last relative change (max over observables and the monitored states).
    stationary : ndarray, shape (n,), or None
        ``K^{-1} f`` when a source run stopped on it (``stationary=True``), else None.
    """

    signals: np.ndarray | None
    coef: np.ndarray | None
    basis: np.ndarray
    n_solves: int
    converged: bool
    error_estimate: float
    stationary: np.ndarray | None = None


def _ritz(T: np.ndarray, sigma: float):
    mu, Q = np.linalg.eigh(T)
    mu = np.maximum(mu, 1e-300)
    a = np.minimum(sigma - 1.0 / mu, 0.0)  # A is negative semidefinite
    return mu, a, Q


def _coefficients(mu, a, Q, times: np.ndarray, kind: str) -> np.ndarray:
    """``F_t(sigma - T^{-1}) e1`` for all times; shape (m, len(times))."""
    if kind == "exp":
        F = np.exp(np.multiply.outer(a, times))
    else:  # "src": h_t(a) (sigma - a) = h_t(a) / mu
        ta = np.multiply.outer(a, times)
        safe = np.where(a == 0.0, 1.0, a)
        h = np.where((a == 0.0)[:, None], np.broadcast_to(times, ta.shape), np.expm1(ta) / safe[:, None])
        F = h / mu[:, None]
    return Q @ (F * Q[0, :][:, None])


def _relative_change(new, old, beta0, floor=0.0):
    """Largest M-norm change of the columns of ``new`` vs ``old`` (coefficients), relative."""
    change = np.linalg.norm(new[:-1] - old, axis=0) + np.abs(new[-1])
    ref = np.maximum(np.linalg.norm(new, axis=0), max(1.5e-8 * beta0, floor))
    return float((change / ref).max())


def _grow(arr: np.ndarray, cols: int) -> np.ndarray:
    out = np.empty((arr.shape[0], cols), dtype=arr.dtype, order="F")
    out[:, : arr.shape[1]] = arr
    return out


class LanczosRun:
    """One shift-and-invert Lanczos recurrence, advanced one step per solve.

    The caller solves ``(K + sigma M) w = pending`` (:attr:`pending`) and hands ``w`` to
    :meth:`absorb` until :attr:`done`; :func:`si_lanczos` does that for one run and
    :func:`si_lanczos_together` for several runs in lockstep (their solves as one block).
    Parameters are those of :func:`si_lanczos`, without ``solve``.
    """

    def __init__(self, mass, b, sigma, times, C, kind, *, rtol, m_max, m_min=3,
                 state_from=None, stationary=False, part_of=None):
        n = b.shape[0]
        self.s0 = len(times) - 1 if state_from is None else state_from
        self.identity = mass is None
        self.mass = (lambda v: v) if self.identity else mass
        self.sigma, self.times, self.C, self.kind = sigma, times, C, kind
        self.rtol, self.m_max, self.m_min, self.stationary = rtol, m_max, m_min, stationary
        self.n = n
        cap = min(max(16, m_min + 2), m_max + 1)
        self.V = np.empty((n, cap), order="F")
        self.MV = self.V if self.identity else np.empty((n, cap), order="F")
        k = C.shape[0]
        self.CV = np.empty((k, m_max + 1))
        self.H = np.zeros((m_max + 1, m_max + 1))
        scale = float(np.abs(b).max())  # scaled norm: no underflow for tiny states
        Mb = self.mass(b / scale)
        beta0 = float(np.sqrt(max((b / scale) @ Mb, 0.0)))
        self.V[:, 0] = b / (scale * beta0)
        if not self.identity:
            self.MV[:, 0] = Mb / beta0
        self.beta0 = beta0 * scale
        self.prev = (None, None, None)  # signals, final states, stationary coefficients
        self.diffs, self.diffs_inf = [], []
        self.sig = self.coef = self.inf = None
        self.amp0, self.state0 = (np.zeros(k), 0.0) if part_of is None else \
            (np.asarray(part_of[0], float), float(part_of[1]))
        self.m = 0
        self.done = self.converged = self.on_stationary = False

    @property
    def pending(self) -> np.ndarray:
        """The vector whose solve the next step needs, ``M v_j``."""
        return self.MV[:, self.m]

    def absorb(self, w: np.ndarray) -> None:
        """One Lanczos step from ``w = (K + sigma M)^{-1} M v_j`` (overwritten)."""
        j, V, MV, H, mass = self.m, self.V, self.MV, self.H, self.mass
        self.CV[:, j] = self.C @ V[:, j]
        wnorm0 = float(np.sqrt(max(w @ mass(w), 0.0)))
        for _ in range(2):  # full re-orthogonalization, twice is enough
            c = MV[:, : j + 1].T @ w
            w -= V[:, : j + 1] @ c
            H[: j + 1, j] += c
        Mw = mass(w)
        beta = float(np.sqrt(max(w @ Mw, 0.0)))
        m = self.m = j + 1
        T = np.triu(H[:m, :m])
        T = T + np.triu(T, 1).T
        mu, a, Q = _ritz(T, self.sigma)
        coef = self.coef = self.beta0 * _coefficients(mu, a, Q, self.times, self.kind)
        sig = self.sig = (self.CV[:, :m] @ coef).T
        fin = coef[:, self.s0:]
        inf = None
        if self.stationary:
            inf = self.inf = self.beta0 * (
                Q @ (Q[0, :] / np.maximum(1.0 - self.sigma * mu, 1e-300)))[:, None]
        prev_sig, prev_fin, prev_inf = self.prev
        if prev_sig is not None:
            k = sig.shape[1]
            amp = np.maximum(np.abs(sig).max(axis=0), self.amp0) if k else np.zeros(0)
            floor = 1e-6 * amp.max(initial=0.0) + 1e-300
            d_sig = (np.abs(sig - prev_sig).max(axis=0) / np.maximum(amp, floor)).max(initial=0.0)
            # relative to the state, floored at sqrt(eps) ||b||_M: a state that decayed below
            # that is resolved absolutely (rounding noise ~ eps ||b|| would otherwise stall)
            self.diffs.append(max(d_sig, _relative_change(fin, prev_fin, self.beta0, self.state0)))
            if self.stationary:
                c_inf = self.CV[:, :m] @ inf[:, 0]
                c_old = self.CV[:, : m - 1] @ prev_inf[:, 0]
                d_c = (np.abs(c_inf - c_old) / np.maximum(np.abs(c_inf), floor)).max(initial=0.0)
                self.diffs_inf.append(max(d_c, _relative_change(inf, prev_inf, self.beta0,
                                                                self.state0)))
        self.prev = (sig, fin, inf)
        invariant = beta <= 1e-13 * max(wnorm0, 1e-300) or m == self.n
        ready = m >= self.m_min and len(self.diffs) >= 2
        if invariant or (ready and max(self.diffs[-2:]) <= self.rtol):
            self.done = self.converged = True
        elif self.stationary and ready and max(self.diffs_inf[-2:]) <= self.rtol:
            self.done = self.converged = self.on_stationary = True
        elif m >= self.m_max:
            self.done = True
        else:
            if m + 1 > V.shape[1]:
                self.V = V = _grow(V, 2 * V.shape[1])
                self.MV = V if self.identity else _grow(MV, 2 * MV.shape[1])
            H[m, j] = beta
            V[:, m] = w / beta
            if not self.identity:
                self.MV[:, m] = Mw / beta

    def result(self) -> KrylovRun:
        """The run so far as a `KrylovRun`."""
        basis = self.V[:, : self.m]
        if self.on_stationary:
            return KrylovRun(signals=None, coef=None, basis=basis, n_solves=self.m,
                             converged=True, error_estimate=float(self.diffs_inf[-1]),
                             stationary=basis @ self.inf[:, 0])
        err = self.diffs[-1] if self.diffs else 0.0
        return KrylovRun(signals=self.sig, coef=self.coef, basis=basis, n_solves=self.m,
                         converged=self.converged, error_estimate=float(err))


def si_lanczos(solve: Callable[[np.ndarray], np.ndarray],
               mass: Callable[[np.ndarray], np.ndarray] | None,
               b: np.ndarray, sigma: float, times: np.ndarray, C, kind: str, *, rtol: float,
               m_max: int, m_min: int = 3, state_from: int | None = None,
               stationary: bool = False, part_of=None) -> KrylovRun:
    """Approximate ``F_t(A) b`` for all ``t`` in ``times`` by shift-and-invert Lanczos.

    Parameters
    ----------
    solve : callable
        ``solve(y) = (K + sigma M)^{-1} y`` for y of shape (n,) (and (n, k) for
        :func:`si_lanczos_together`).
    mass : callable or None
        ``mass(v) = M v``; None for the identity (the basis is then stored once, not twice).
    b : ndarray, shape (n,)
        Starting vector (nonzero).
    sigma : float
        Shift (s^-1), > 0.
    times : ndarray, shape (nt,)
        Times (s), the last one is the stage end whose state is monitored.
    C : ndarray or sparse, shape (k, n)
        Observables monitored for convergence (k may be 0).
    kind : {"exp", "src"}
        ``"exp"``: ``F_t(a) = exp(t a)``.  ``"src"``: ``F_t(a) = (exp(t a) - 1)/a * (sigma - a)``,
        so that with ``b = (K + sigma M)^{-1} f`` the result is ``t phi_1(tA) M^{-1} f``.
    rtol : float
        Relative tolerance of the a posteriori control.
    m_max : int
        Maximum Krylov dimension.
    m_min : int
        Minimum Krylov dimension.
    state_from : int, optional
        Index into ``times`` from which full states are wanted (monitored in the M-norm);
        default: only the last time.
    stationary : bool
        With ``kind="src"`` (K nonsingular): also monitor ``K^{-1} f`` and stop as soon as
        either it or the source term has converged (module docstring).
    part_of : tuple (ndarray of shape (k,), float), optional
        Magnitudes of the stage's total observables and state that this run is one part of
        (e.g. ``|C p0|`` and ``||p0||_M``): changes are judged relative to the larger of
        these and the run's own magnitudes, so a small part is not resolved beyond what the
        sum needs.
    """
    run = LanczosRun(mass, b, sigma, times, C, kind, rtol=rtol, m_max=m_max, m_min=m_min,
                     state_from=state_from, stationary=stationary, part_of=part_of)
    while not run.done:
        run.absorb(solve(run.pending))
    return run.result()


def si_lanczos_together(solve: Callable[[np.ndarray], np.ndarray],
                        runs: list[LanczosRun]) -> list[KrylovRun]:
    """Advance independent runs on one shifted operator in lockstep: each step solves the
    pending vectors of the unfinished runs as one ``(n, k)`` block (a direct factor streams
    once for all columns: a 2-column PARDISO solve costs what one column does, measured),
    and every run stops on its own test.  Each run's result is what :func:`si_lanczos` gives
    it alone, up to the rounding of a block solve."""
    while True:
        active = [run for run in runs if not run.done]
        if not active:
            return [run.result() for run in runs]
        if len(active) == 1:
            active[0].absorb(solve(active[0].pending))
            continue
        W = solve(np.column_stack([run.pending for run in active]))
        for run, w in zip(active, W.T):
            run.absorb(np.array(w))
