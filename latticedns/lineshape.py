"""Flip-flop rate with a Lorentzian or Gaussian (Voigt) zero-quantum line.

Eq. 9 of Chessari et al. (2023) is the overlap of the electron-noise drive spectrum F
(Eq. 4) with a *Lorentzian* flip-flop line (Eq. 8).  In the time domain it reads

    W = (D12^2 / 2) Re int_0^inf C(t) exp(-i Pbar Delta t) g(t) dt,

with C(t) the correlation function whose spectrum is F (that of a damped oscillator of
frequency b = sqrt(1 - Pbar^2) |Delta| and damping Gamma_c, C(0) = 1, C'(0) = 0) and
g(t) = exp(-Gamma_2 t) the decay of the zero-quantum coherence.  Written with the two
decay rates lambda_1,2 of C (roots of lambda^2 - Gamma_c lambda + b^2 = 0),

    int C h = J(a + lambda_2) - lambda_2 [J(a + lambda_1) - J(a + lambda_2)] / (lambda_1 - lambda_2),

``a = Gamma_L + i Pbar Delta`` and J(z) = int_0^inf exp(-z t) n(t) dt for the non-Lorentzian
part n(t) of g.  With n = 1 (J = 1/z) this is Eq. 9 exactly.  For a dipolar-broadened
line in a rigid solid the decay is Gaussian, n(t) = exp(-sigma^2 t^2 / 2), whose
spectrum has Gaussian instead of Lorentzian wings; then
J(z) = sqrt(pi/2)/sigma erfcx(z / (sigma sqrt 2)) (a Voigt line: Lorentzian width Gamma_L
from the paramagnetic Gamma_1 of both nuclei, Gaussian width sigma from the nuclear
dipolar couplings).  See ``docs/theory.md``, section 4b.

Every rate argument and result is an angular frequency in rad/s (s^-1 for rates).

Examples
--------
A Gaussian line of the same half width suppresses a flip-flop far off resonance:

>>> from latticedns.lineshape import flipflop_rate_lineshape
>>> args = dict(d12=1e4, delta=2e6, pbar=0.9993, gamma_c=2e6, gamma_l=0.0, hwhm=6.9e4)
>>> w_l = flipflop_rate_lineshape(lineshape="lorentzian", **args)
>>> w_g = flipflop_rate_lineshape(lineshape="gaussian", **args)
>>> bool(w_g < 0.1 * w_l)
True
"""

import numpy as np
from scipy.special import wofz

from ._args import check_choice, check_finite, check_polarization, check_positive
from .rates import flipflop_rate_exact

__all__ = ["LINESHAPES", "check_lineshape", "gaussian_sigma", "flipflop_rate_voigt",
           "flipflop_rate_lineshape"]

#: Zero-quantum line shapes accepted by :func:`flipflop_rate_lineshape`.
LINESHAPES = ("lorentzian", "gaussian")

_SQRT2 = np.sqrt(2.0)
_SQRT_PI_2 = np.sqrt(np.pi / 2.0)
_SQRT_PI = np.sqrt(np.pi)
#: Relative closeness of the two decay rates below which the divided difference is
#: replaced by the derivative at their midpoint (error ~ 1e-10, cancellation ~ 1e-11).
_DEGENERATE = 1e-5
#: |z / (sigma sqrt 2)| above which J'(z) uses its asymptotic series (no cancellation).
_ASYMPTOTIC = 1e3


def check_lineshape(lineshape):
    """Return ``lineshape`` if it is one of :data:`LINESHAPES`, else raise ``ConfigError``."""
    return check_choice("lineshape", lineshape, LINESHAPES)


def gaussian_sigma(hwhm):
    """Standard deviation (rad/s) of the Gaussian with half width at half maximum ``hwhm``."""
    return np.asarray(hwhm, float) / np.sqrt(2.0 * np.log(2.0))


def _j(z, sigma):
    # int_0^inf exp(-z t - sigma^2 t^2 / 2) dt for Re z >= 0; erfcx(u) = wofz(i u).
    return _SQRT_PI_2 / sigma * wofz(1j * z / (sigma * _SQRT2))


def _dj(z, sigma):
    # dJ/dz = (z J - 1) / sigma^2, or -1/z^2 (1 - 3 sigma^2 / z^2) when |z| >> sigma.
    u = z / (sigma * _SQRT2)
    far = np.abs(u) > _ASYMPTOTIC
    zs = np.where(far, z, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        series = -1.0 / zs**2 * (1.0 - 3.0 * sigma**2 / zs**2)
        direct = (z * _j(z, sigma) - 1.0) / sigma**2
    return np.where(far, series, direct)


def flipflop_rate_voigt(d12, delta, pbar, gamma_c, gamma_l, sigma):
    """Flip-flop rate for a Voigt zero-quantum line (no argument checks).

    Parameters
    ----------
    d12, delta : array_like
        Flip-flop coupling and hyperfine splitting in rad/s.
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_c : array_like
        Electron decorrelation rate in s^-1 (>= 0).
    gamma_l : array_like
        Lorentzian part of the line (HWHM, rad/s, >= 0), e.g. Gamma_1,1 + Gamma_1,2.
    sigma : array_like
        Gaussian standard deviation in rad/s (> 0).

    Returns
    -------
    ndarray
        W in s^-1 (broadcast shape).  Tends to Eq. 9 with ``gamma_2 = gamma_l`` as
        ``sigma -> 0``.
    """
    d12, delta, pbar, gamma_c, gamma_l, sigma = np.broadcast_arrays(
        *(np.asarray(x, float) for x in (d12, delta, pbar, gamma_c, gamma_l, sigma)))
    b2 = (1.0 - pbar) * (1.0 + pbar) * delta * delta
    # Stable roots of lambda^2 - Gc lambda + b^2: the large one by the sum, the small by
    # the product (lambda_1 lambda_2 = b^2), so that lambda_2 ~ b^2/Gc keeps its digits.
    lam1 = 0.5 * (gamma_c + np.sqrt((gamma_c * gamma_c - 4.0 * b2).astype(complex)))
    with np.errstate(invalid="ignore", divide="ignore"):
        lam2 = np.where(lam1 != 0, b2 / np.where(lam1 != 0, lam1, 1.0), 0.0)
    a = gamma_l + 1j * pbar * delta
    z1, z2 = a + lam1, a + lam2
    close = np.abs(z1 - z2) <= _DEGENERATE * (np.abs(z1) + np.abs(z2) + sigma)
    j1, j2 = _j(z1, sigma), _j(z2, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        quotient = (j1 - j2) / np.where(close, 1.0, z1 - z2)
    slope = quotient  # the derivative only where the roots (nearly) coincide: one wofz less
    if np.any(close):
        slope = np.where(close, 0.0, quotient)
        slope[close] = _dj(0.5 * (z1[close] + z2[close]), sigma[close])
    overlap = j2 - lam2 * slope
    return 0.5 * d12 * d12 * overlap.real


def flipflop_rate_lineshape(d12, delta, pbar, gamma_c, gamma_l, hwhm, lineshape="lorentzian"):
    """Flip-flop rate W (s^-1) for a chosen zero-quantum line shape.

    Parameters
    ----------
    d12, delta : array_like
        Flip-flop coupling and hyperfine splitting in rad/s.
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_c : array_like
        Electron decorrelation rate in s^-1 (>= 0).
    gamma_l : array_like
        Lorentzian broadening in s^-1 (>= 0): Gamma_1,1 + Gamma_1,2 (Eq. 6).
    hwhm : array_like
        Nuclear part Gamma_2^(II) of the line: its half width at half maximum in rad/s
        (> 0).
    lineshape : {"lorentzian", "gaussian"}
        ``"lorentzian"``: Eq. 9 with Gamma_2 = gamma_l + hwhm (the paper).
        ``"gaussian"``: a Voigt line, Lorentzian gamma_l convolved with a Gaussian of
        half width ``hwhm`` (sigma = hwhm / sqrt(2 ln 2)).

    Returns
    -------
    ndarray
        W in s^-1, broadcast shape of the inputs.

    Raises
    ------
    ValueError
        Unknown ``lineshape`` or an argument out of range (named in the message).
    """
    check_lineshape(lineshape)
    d12 = check_finite("d12", d12)
    delta = check_finite("delta", delta)
    pbar = check_polarization("pbar", pbar)
    gamma_c = check_positive("gamma_c", gamma_c, allow_zero=True)
    gamma_l = check_positive("gamma_l", gamma_l, allow_zero=True)
    hwhm = check_positive("hwhm", hwhm)
    if lineshape == "lorentzian":
        return flipflop_rate_exact(d12, delta, pbar, gamma_c, gamma_l + hwhm)
    return flipflop_rate_voigt(d12, delta, pbar, gamma_c, gamma_l, gaussian_sigma(hwhm))
