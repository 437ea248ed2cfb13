"""Electron-polarization-dependent nuclear flip-flop and relaxation rates.

Small pure functions implementing Eqs. 4, 6-11 of Chessari, Cousin, Jannin and Stern,
Phys. Rev. B 107, 224429 (2023).  Every rate argument and result is an *angular*
frequency in rad/s (equivalently s^-1 for rates); polarizations are dimensionless in
[-1, 1].  All functions broadcast over numpy arrays and never return NaN for valid
input (``gamma_2 > 0``), including ``delta = 0``, ``pbar = 0`` and ``pbar = +-1``.

Examples
--------
>>> from latticedns.rates import flipflop_rate
>>> w = flipflop_rate(d12=1e3, delta=2e5, pbar=0.5, gamma_c=2e6, gamma_2=6.9e4)
>>> round(float(w), 3)
2.48
"""

import numpy as np

from ._args import check_finite, check_polarization, check_positive

__all__ = [
    "LIMITS",
    "MAX_SPLITTING_FACTOR",
    "drive_spectrum",
    "lorentzian",
    "flipflop_rate",
    "flipflop_rate_exact",
    "flipflop_rate_slow",
    "flipflop_rate_fast",
    "paramagnetic_relaxation_rate",
    "zero_quantum_rate_from_neighbours",
    "total_gamma2",
]


#: Largest ``splitting_factor`` accepted (the paper's conventions are 0.5 and 1; far beyond,
#: ``splitting_factor * A_z`` overflows).
MAX_SPLITTING_FACTOR = 1e3


def _one_minus_p2(pbar):
    # (1 - P)(1 + P) keeps full relative precision as P -> 1.
    return (1.0 - pbar) * (1.0 + pbar)


def drive_spectrum(omega, delta, pbar, gamma_c):
    """Spectrum of the electron-noise drive ``f(t)``, Eq. 4.

    ``F(w) = 2 Gc (1-P^2) Delta^2 / ([w^2 - (1-P^2) Delta^2]^2 + w^2 Gc^2)``;
    ``(1/2pi) * integral F dw = 1`` for ``|P| < 1`` (a delta at w = 0 when ``P = 1``).

    Parameters
    ----------
    omega : array_like
        Angular frequency in rad/s.
    delta : array_like
        Hyperfine difference ``A_z1 - A_z2`` in rad/s.
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_c : array_like
        Electron decorrelation rate ``1/tau_c`` in s^-1 (> 0).

    Returns
    -------
    ndarray
        F in s (spectral density per rad/s).
    """
    b2 = _one_minus_p2(np.asarray(pbar, float)) * np.asarray(delta, float) ** 2
    w2 = np.asarray(omega, float) ** 2
    return 2.0 * gamma_c * b2 / ((w2 - b2) ** 2 + w2 * np.asarray(gamma_c, float) ** 2)


def lorentzian(omega, delta, pbar, gamma_2):
    """Excitation Lorentzian ``S(w - Delta P) = 2 G2 / ((w + Delta P)^2 + G2^2)``, Eq. 8.

    Parameters
    ----------
    omega, delta : array_like
        Angular frequency and hyperfine difference in rad/s.
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_2 : array_like
        Zero-quantum decay rate in s^-1 (HWHM in rad/s, > 0).

    Returns
    -------
    ndarray
        S in s; ``(1/2pi) * integral S dw = 1``.
    """
    x = np.asarray(omega, float) + np.asarray(delta, float) * np.asarray(pbar, float)
    g2 = np.asarray(gamma_2, float)
    return 2.0 * g2 / (x * x + g2 * g2)


def _checked(d12, delta, pbar, gamma_c, gamma_2, gamma_c_positive=False):
    return (
        check_finite("d12", d12),
        check_finite("delta", delta),
        check_polarization("pbar", pbar),
        check_positive("gamma_c", gamma_c, allow_zero=not gamma_c_positive),
        check_positive("gamma_2", gamma_2),
    )


def flipflop_rate_exact(d12, delta, pbar, gamma_c, gamma_2):
    """Exact flip-flop rate, closed form of the overlap integral, Eq. 9 (no checks).

    ``W = (D12^2/2) [Gc (1-P^2) D^2 + G2 (Gb^2 + D^2)] /
    ([(1 - 2P^2) D^2 + G2 Gb]^2 + D^2 P^2 (G2 + Gb)^2)`` with ``Gb = Gc + G2``.
    Arguments as in :func:`flipflop_rate`; result in s^-1.
    """
    d2 = delta * delta
    p2 = pbar * pbar
    gb = gamma_c + gamma_2
    num = gamma_c * _one_minus_p2(pbar) * d2 + gamma_2 * (gb * gb + d2)
    den = ((1.0 - 2.0 * p2) * d2 + gamma_2 * gb) ** 2 + d2 * p2 * (gamma_2 + gb) ** 2
    return 0.5 * d12 * d12 * num / den


def flipflop_rate_slow(d12, delta, pbar, gamma_c, gamma_2):
    """Slow-motion (long tau_c) limit ``W = W(+) + W(-)``, Eq. 10 (no checks).

    ``W(+-) = (D12^2/4) G / ((Delta P +- Delta sqrt(1-P^2))^2 + G^2)`` with
    ``G = G2 + Gc/2``.  Arguments as in :func:`flipflop_rate`; result in s^-1.
    """
    g = gamma_2 + 0.5 * gamma_c
    centre = delta * pbar
    split = np.abs(delta) * np.sqrt(_one_minus_p2(pbar))
    lor = lambda x: g / (x * x + g * g)  # noqa: E731
    return 0.25 * d12 * d12 * (lor(centre + split) + lor(centre - split))


def flipflop_rate_fast(d12, delta, pbar, gamma_c, gamma_2):
    """Fast-motion (short tau_c) limit, Eq. 11 (no checks; ``gamma_c > 0``).

    ``W = (D12^2/2) G2* / (Delta^2 P^2 + G2*^2)`` with
    ``G2* = G2 + (1 - P^2) Delta^2 / Gc``.  Result in s^-1.
    """
    g = gamma_2 + _one_minus_p2(pbar) * delta * delta / gamma_c
    return 0.5 * d12 * d12 * g / ((delta * pbar) ** 2 + g * g)


#: Registry of the flip-flop rate expressions selectable by name.
LIMITS = {
    "exact": flipflop_rate_exact,
    "slow": flipflop_rate_slow,
    "fast": flipflop_rate_fast,
}


def flipflop_rate(d12, delta, pbar, gamma_c, gamma_2, limit="exact"):
    """Nuclear flip-flop transition rate W between |ab> and |ba> (Eqs. 9-11).

    Parameters
    ----------
    d12 : array_like
        Flip-flop dipolar coupling D12 in rad/s (Eq. 1 convention; sign irrelevant).
    delta : array_like
        Hyperfine difference ``Delta = A_z1 - A_z2`` in rad/s.
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_c : array_like
        Electron spin-state decorrelation rate ``1/tau_c`` in s^-1 (>= 0; > 0 for
        ``limit="fast"``).
    gamma_2 : array_like
        Zero-quantum decay rate ``Gamma_2 = Gamma_1,1 + Gamma_1,2 + Gamma_2^(II)`` in
        s^-1 (> 0): the HWHM, in rad/s, of the flip-flop line.
    limit : {"exact", "slow", "fast"}
        Eq. 9 (exact), Eq. 10 (slow motion, Gc << |Delta|) or Eq. 11 (fast motion,
        Gc >> |Delta|).

    Returns
    -------
    ndarray
        W in s^-1, the broadcast shape of the inputs; ``W >= 0``, even in ``delta``
        and ``pbar``.

    Raises
    ------
    ValueError
        ``pbar`` outside [-1, 1], negative ``gamma_c``, non-positive ``gamma_2``, an
        unknown ``limit`` or non-finite input (the message names the argument).

    Examples
    --------
    At ``pbar = 1`` the electron is frozen and W is the static Lorentzian overlap:

    >>> import numpy as np
    >>> w = flipflop_rate(2.0, 3.0, 1.0, 5.0, 1.0)
    >>> bool(np.isclose(w, 0.5 * 2.0**2 * 1.0 / (3.0**2 + 1.0**2)))
    True
    """
    try:
        func = LIMITS[limit]
    except KeyError:
        raise ValueError(f"limit: must be one of {sorted(LIMITS)}, got {limit!r}") from None
    args = _checked(d12, delta, pbar, gamma_c, gamma_2, gamma_c_positive=limit == "fast")
    return func(*args)


def paramagnetic_relaxation_rate(apm_sq, pbar, gamma_c, omega_0):
    """Nuclear relaxation rate by the fluctuating pseudo-secular hyperfine field, Eq. 6.

    ``Gamma_1 = (1/2) A_+ A_- (1 - P^2) Gc / (Gc^2 + w0^2)``: the rate of each of the
    Lindblad terms D(I+) and D(I-) of Eq. 5, so that the nuclear polarization relaxes
    at ``1/T1 = 2 Gamma_1``.

    Parameters
    ----------
    apm_sq : array_like
        ``A_+ A_-`` in (rad/s)^2 (see :func:`latticedns.couplings.hyperfine_pseudosecular_sq`).
    pbar : array_like
        Mean electron polarization in [-1, 1].
    gamma_c : array_like
        Electron decorrelation rate in s^-1 (>= 0).
    omega_0 : array_like
        Nuclear Larmor angular frequency in rad/s.

    Returns
    -------
    ndarray
        Gamma_1 in s^-1.
    """
    a = check_positive("apm_sq", apm_sq, allow_zero=True)
    p = check_polarization("pbar", pbar)
    gc = check_positive("gamma_c", gamma_c, allow_zero=True)
    w0 = check_finite("omega_0", omega_0)
    return 0.5 * a * _one_minus_p2(p) * gc / (gc * gc + w0 * w0)


def zero_quantum_rate_from_neighbours(d1k, d2k, tau_cn_s):
    """Zero-quantum decay by the other nuclei, ``sum_k (D1k - D2k)^2 tau_c,n``, Eq. 7.

    Parameters
    ----------
    d1k, d2k : array_like, shape (..., K)
        Flip-flop couplings (rad/s) of nuclei 1 and 2 to their K neighbours k.
    tau_cn_s : float
        Nuclear correlation time in s (> 0).

    Returns
    -------
    ndarray, shape (...)
        Gamma_2^(II) in s^-1.
    """
    tau = check_positive("tau_cn_s", tau_cn_s)
    diff = check_finite("d1k", d1k) - check_finite("d2k", d2k)
    return np.sum(diff * diff, axis=-1) * tau


def total_gamma2(gamma1_1, gamma1_2, gamma2_II):
    """Effective zero-quantum broadening ``Gamma_2 = Gamma_1,1 + Gamma_1,2 + Gamma_2^(II)``.

    All arguments and the result in s^-1 (below Eq. 8).
    """
    return (
        check_positive("gamma1_1", gamma1_1, allow_zero=True)
        + check_positive("gamma1_2", gamma1_2, allow_zero=True)
        + check_positive("gamma2_II", gamma2_II)
    )
