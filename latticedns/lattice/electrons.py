"""Electron flip-flop (spectral diffusion) rates of a sample's radicals.

The electron spin state of radical k decorrelates by flip-flops with its neighbours l and
by its own spin-lattice relaxation (``docs/theory.md``, section 7b):

    Gamma_c,k = 1/T1e + (1 - Pbar^2) s sum_{l != k, r_kl <= R} W_kl              (s^-1)

    W_kl = (b_kl^2 / 2) gamma / (Delta_kl^2 + gamma^2)                           (s^-1)
    b_kl = d_ee(r_kl) (1 - 3 cos^2 theta_kl) / 2,  d_ee = (mu0/4pi) gamma_e^2 hbar / r^3
    Delta_kl = omega_k - omega_l,   gamma = 2 / T2e                              (rad/s)

W_kl is the golden-rule rate of the flip-flop |ud> <-> |du> of the two electrons (matrix
element -b_kl/2 of the secular dipolar Hamiltonian, the convention of Eq. 1), whose energy
mismatch Delta_kl is the difference of the two radicals' resonance offsets omega_k, drawn
from the inhomogeneous EPR line (a Gaussian of standard deviation sigma_e), and whose
zero-quantum coherence decays at gamma = 2/T2e (the Lorentzian overlap of two homogeneous
lines of half width 1/T2e).  It is the exact population rate of the dephased two-spin
system for b^2 << Delta^2 + gamma^2; a resonant pair with |b| > gamma/2 exchanges
coherently (S_z ~ cos(b t) e^(-gamma t / 2)), whose noise density at frequencies << |b|
is still that of an exponential correlation at ~ the golden-rule rate, so the formula is
kept there (the nuclear flip-flops it drives are at << |b|).  s is 1 (the absolute
prediction) or the anchor's calibration factor (:func:`anchor_scale`).  R is the e-e
cutoff (default 2 r_MV); pairs are found with the minimum image.

The distribution of sum_l W_kl over the radicals of a random sample is very broad (a
one-sided stable law of index 1/2 for the typical radicals, whose neighbours are off
resonance, plus rare resonant close pairs that carry most of the mean).  A single value
per concentration (the anchor, models without explicit radicals) is therefore one of two
statistics (``statistic``): the median of a seeded random reference sample
(:func:`reference_flipflop_sums`, the typical radical; ~ n^2 at low density) or the
ensemble mean (:func:`mean_flipflop_sum`, mean field; linear in n).

The resonance offsets are drawn from the sample's seed (:func:`draw_offsets`): the same
sample and width give the same offsets, bit for bit.

Units: lengths nm, every frequency inside a formula rad/s, rates s^-1; keys in MHz or us
are converted where they are read (:class:`ElectronFlipflops`).

Examples
--------
Two radicals 2 nm apart along x (theta = 90 degrees), on resonance:

>>> import numpy as np
>>> b = ee_flipflop_coupling(2.0, 0.0)
>>> round(float(b) / (2 * np.pi * 1e6), 3)          # b / 2pi in MHz
3.253
>>> w = ee_flipflop_rate(b, 0.0, homogeneous_width(1e-6))
>>> bool(np.isclose(w, b * b / (2 * homogeneous_width(1e-6))))
True
"""

from functools import lru_cache

import numpy as np
from scipy import constants as _sc
from scipy.spatial import cKDTree
from scipy.special import voigt_profile

from .._args import check_finite, check_polarization, check_positive, is_real
from ..constants import GAMMA_E, dipolar_constant
from ..errors import ConfigError
from ._placement import random_sequential_addition

__all__ = [
    "TEMPOL_G", "TEMPOL_A_14N_MT",
    "ee_flipflop_coupling", "ee_flipflop_rate", "homogeneous_width", "tempol_epr_sigma",
    "draw_offsets", "radical_pairs", "flipflop_sums", "decorrelation_rates",
    "mean_flipflop_sum", "reference_flipflop_sums", "anchor_scale",
    "STATISTICS", "REFERENCE_RADICALS", "CUTOFF_RMV",
]

#: Statistics of sum_l W_kl that stand for a concentration (anchor, models without radicals).
STATISTICS = ("median", "mean")
#: Radicals of the seeded reference sample of :func:`reference_flipflop_sums`.
REFERENCE_RADICALS = 20000
#: Default e-e cutoff in units of the radius of mean volume r_MV = (3 / (4 pi n))^(1/3):
#: 8 neighbours on average within it; below half the box for >= 16 radicals.
CUTOFF_RMV = 2.0

#: Principal g values of TEMPOL (4-hydroxy-TEMPO, "TANOL") in a glass, from its 15N powder
#: spectra (g_x, g_y, g_z = 2.0096, 2.0062, 2.0022, +-0.0004).
TEMPOL_G = (2.0096, 2.0062, 2.0022)
#: Principal 14N hyperfine couplings of TEMPOL in mT: the 15N values (1.00, 1.00, 4.89 mT)
#: of the same measurement times |gamma(14N) / gamma(15N)| = 0.71290.
TEMPOL_A_14N_MT = tuple(a * 0.71290 for a in (1.00, 1.00, 4.89))
_MU_B_OVER_HBAR = _sc.physical_constants["Bohr magneton"][0] / _sc.hbar  # rad s^-1 T^-1
#: Stream of the offsets' random numbers, next to the sample's seed (independent of the
#: stream that placed the spins).
_OFFSET_STREAM = 0x7E3901


def ee_flipflop_coupling(r_nm, cos_theta):
    """e-e flip-flop coupling ``b = d_ee (1 - 3 cos^2 theta) / 2`` in rad/s.

    The secular dipolar term -(d_ee/4)(1 - 3 cos^2 theta)(S_k+ S_l- + S_k- S_l+) has the
    matrix element -b/2 between |ud> and |du> (the Eq. 1 convention of the nuclear D12).

    Parameters
    ----------
    r_nm : array_like
        Distance between the two electrons in nm (> 0).
    cos_theta : array_like
        Cosine of the angle between the inter-electron vector and B0.

    Returns
    -------
    ndarray
        b in rad/s (2 pi x 3.25 MHz at 2 nm, theta = 90 degrees).
    """
    c = check_finite("cos_theta", cos_theta)
    return dipolar_constant(GAMMA_E, GAMMA_E, r_nm) * (1.0 - 3.0 * c * c) / 2.0


def homogeneous_width(t2e_s):
    """Decay rate ``gamma = 2 / T2e`` (s^-1) of the e-e zero-quantum coherence.

    |ud><du| decays at the sum of the two electrons' transverse rates, 1/T2e each.
    """
    return 2.0 / check_positive("t2e_s", t2e_s)


def ee_flipflop_rate(b, delta, gamma):
    """Golden-rule flip-flop rate of one electron pair, ``W = (b^2/2) gamma / (Delta^2 + gamma^2)``.

    2 pi |b/2|^2 L(Delta), L the normalized Lorentzian of half width gamma: the overlap of
    the two electrons' homogeneous lines (half width 1/T2e each) at their offset
    difference.  Exact (to relative order b^2 / (Delta^2 + gamma^2)) for the population
    exchange of the dephased pair (tested against its master equation).

    Parameters
    ----------
    b : array_like
        Flip-flop coupling in rad/s (:func:`ee_flipflop_coupling`).
    delta : array_like
        Difference of the two resonance offsets in rad/s.
    gamma : array_like
        Zero-quantum decay rate in s^-1 (> 0; :func:`homogeneous_width`).

    Returns
    -------
    ndarray
        W in s^-1: the rate of |ud> -> |du> (and of the reverse).
    """
    b = check_finite("b", b)
    d = check_finite("delta", delta)
    g = check_positive("gamma", gamma)
    return 0.5 * b * b * g / (d * d + g * g)


def tempol_epr_sigma(b0_T):
    """Standard deviation (rad/s) of TEMPOL's EPR powder line at field ``b0_T``.

    First-order powder frequencies omega = (mu_B B0 / hbar) sum_i g_i n_i^2 + m_I A(n),
    A(n)^2 = sum_i A_i^2 n_i^2, over isotropic orientations n and m_I in {-1, 0, 1}:

        sigma^2 = (2/45) sum_{i<j} (g_i - g_j)^2 (mu_B B0 / hbar)^2 + (2/3) (sum_i A_i^2) / 3

    (the two parts are uncorrelated since <m_I> = 0).  With :data:`TEMPOL_G` and
    :data:`TEMPOL_A_14N_MT`: 2 pi x 194.7 MHz at 7.05 T (FWHM of the equal-variance
    Gaussian 459 MHz); the g part scales with B0, the 14N part does not.
    """
    b0 = check_positive("b0_T", b0_T)
    g = np.array(TEMPOL_G)
    var_g = 2.0 / 45.0 * sum((g[a] - g[c]) ** 2 for a in range(3) for c in range(a + 1, 3))
    a = GAMMA_E * 1e-3 * np.array(TEMPOL_A_14N_MT)  # rad/s
    return np.sqrt(var_g * (_MU_B_OVER_HBAR * b0) ** 2 + 2.0 / 9.0 * np.sum(a * a))


def draw_offsets(n_radicals, sigma, seed):
    """Resonance offsets omega_k (rad/s) of ``n_radicals`` radicals, Gaussian of std ``sigma``.

    Drawn as ``sigma * z_k`` from ``numpy.random.default_rng([seed, stream])`` with a fixed
    stream number: the same seed gives the same z_k for every width.
    """
    z = np.random.default_rng([int(seed), _OFFSET_STREAM]).standard_normal(int(n_radicals))
    return float(sigma) * z


def radical_pairs(radicals_nm, box_nm, cutoff_nm):
    """Radical pairs k < l within ``cutoff_nm`` (minimum image), with distances and cos theta.

    Parameters
    ----------
    radicals_nm : ndarray, shape (M, 3)
        Positions in [0, box_nm), nm.
    box_nm : float
        Periodic box edge, nm.
    cutoff_nm : float
        e-e cutoff, nm, in (0, box/2).

    Returns
    -------
    k, l : ndarray of int64, shape (Q,)
        Sorted by (k, l).
    r_nm, cos_theta : ndarray, shape (Q,)

    Raises
    ------
    ConfigError
        ``microwave.ee_cutoff_nm`` outside (0, box/2).
    """
    L = float(box_nm)
    if not (is_real(cutoff_nm) and 0 < cutoff_nm < L / 2):
        raise ConfigError("microwave.ee_cutoff_nm", f"must be in (0, {L / 2:.4g}) nm (half the "
                          f"box edge, minimum image), got {cutoff_nm!r} (unset: 2 r_MV, which "
                          f"needs >= 16 radicals in the box)")
    x = np.asarray(radicals_nm, float).reshape(-1, 3)
    if len(x) < 2:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0), np.zeros(0)
    p = cKDTree(x, boxsize=L).query_pairs(float(cutoff_nm), output_type="ndarray").astype(np.int64)
    p = p[np.lexsort((p[:, 1], p[:, 0]))]
    v = x[p[:, 1]] - x[p[:, 0]]
    v -= L * np.rint(v / L)
    r = np.sqrt(np.einsum("ij,ij->i", v, v))
    return p[:, 0], p[:, 1], r, v[:, 2] / r


def flipflop_sums(k, l, w, n_radicals):
    """``sum_l W_kl`` of every radical (s^-1, shape (M,)) from the pair list (each pair once)."""
    return np.bincount(k, w, n_radicals) + np.bincount(l, w, n_radicals)


def decorrelation_rates(sums, pbar, t1e_s, scale=1.0):
    """``Gamma_c,k = 1/T1e + (1 - Pbar^2) scale sum_l W_kl`` in s^-1.

    Parameters
    ----------
    sums : array_like
        sum_l W_kl of each radical, s^-1 (>= 0).
    pbar : float
        Mean electron polarization in [-1, 1].
    t1e_s : float
        Electron T1 in s (> 0).
    scale : float
        Factor on the flip-flop part (1: absolute; :func:`anchor_scale`).
    """
    s = check_positive("sums", sums, allow_zero=True)
    p = check_polarization("pbar", pbar)
    return 1.0 / check_positive("t1e_s", t1e_s) + (1.0 - p) * (1.0 + p) * scale * s


def mean_flipflop_sum(density_per_nm3, min_dist_nm, sigma, gamma, outer_nm=None):
    """Ensemble mean of ``sum_l W_kl`` (s^-1) for radicals at uniform density (mean field).

    Neighbours uniform beyond the hard core r_min (pair correlation 1) up to R (the cutoff;
    default infinity), isotropic orientations (<(1 - 3 cos^2 theta)^2> / 4 = 1/5) and the
    offsets of both radicals from the Gaussian line (Delta of variance 2 sigma^2, so
    <gamma / (Delta^2 + gamma^2)> = pi V(0; sqrt(2) sigma, gamma), V the normalized Voigt
    profile, ``scipy.special.voigt_profile``):

        M(n) = n (4 pi / 3) D^2 (r_min^-3 - R^-3) (pi / 10) V(0; sqrt(2) sigma, gamma),

    D = d_ee r^3 = (mu0/4pi) gamma_e^2 hbar (rad s^-1 nm^3).  Linear in the density and,
    for gamma << sigma, independent of T2e: (pi/10) V(0) -> sqrt(pi) / (20 sigma).

    Parameters
    ----------
    density_per_nm3 : float
        Radical number density, nm^-3 (>= 0).
    min_dist_nm : float
        Closest radical-radical approach, nm (> 0).
    sigma : float
        Standard deviation of the EPR line, rad/s (> 0).
    gamma : float
        Zero-quantum decay rate 2/T2e, s^-1 (> 0).
    outer_nm : float, optional
        Upper limit R of the radial integral (the e-e cutoff), nm.

    Returns
    -------
    float
        s^-1.
    """
    n = float(check_positive("density_per_nm3", density_per_nm3, allow_zero=True))
    r0 = float(check_positive("min_dist_nm", min_dist_nm))
    check_positive("sigma", sigma)
    check_positive("gamma", gamma)
    inv = r0 ** -3 - (0.0 if outer_nm is None else float(outer_nm) ** -3)
    if inv <= 0:
        return 0.0
    big_d = float(dipolar_constant(GAMMA_E, GAMMA_E, 1.0))  # rad/s at 1 nm = D
    overlap = float(voigt_profile(0.0, np.sqrt(2.0) * float(sigma), float(gamma)))
    return n * 4.0 * np.pi / 3.0 * big_d ** 2 * inv * np.pi / 10.0 * overlap


@lru_cache(maxsize=32)
def _reference_sums(density, min_dist_nm, sigma, gamma, cutoff_nm, n_radicals, seed):
    box = (n_radicals / density) ** (1.0 / 3.0)
    if cutoff_nm >= box / 2:
        raise ConfigError("microwave.ee_cutoff_nm", f"must be < {box / 2:.4g} nm for the "
                          f"reference sample of {n_radicals} radicals, got {cutoff_nm!r}")
    rng = np.random.default_rng([int(seed), _OFFSET_STREAM + 1])
    x = random_sequential_addition(rng, n_radicals, box, min_dist_nm,
                                   key="microwave.ee_min_dist_nm")
    offsets = draw_offsets(n_radicals, sigma, seed)
    k, l, r, c = radical_pairs(x, box, cutoff_nm)
    w = ee_flipflop_rate(ee_flipflop_coupling(r, c), offsets[k] - offsets[l], gamma)
    sums = flipflop_sums(k, l, w, n_radicals)
    sums.setflags(write=False)
    return sums


def reference_flipflop_sums(density_per_nm3, min_dist_nm, sigma, gamma, cutoff_nm,
                            n_radicals=REFERENCE_RADICALS, seed=0):
    """``sum_l W_kl`` (s^-1) of every radical of a seeded random reference sample.

    Radicals placed by random sequential addition with hard core ``min_dist_nm`` in a
    periodic box of ``n_radicals`` at ``density_per_nm3`` (nm^-3), offsets drawn as in
    :func:`draw_offsets` from ``seed``, pairs within ``cutoff_nm``: the same rates as a
    sample's (:func:`sample_electron_rates`), without protons.  Cached (read-only array).
    The median's sampling error at 20000 radicals is ~2 %.
    """
    n = float(check_positive("density_per_nm3", density_per_nm3))
    return _reference_sums(n, float(min_dist_nm), float(sigma), float(gamma), float(cutoff_nm),
                           int(n_radicals), int(seed))


def anchor_scale(tau_c_ref_us, pbar_ref, t1e_s, reference_sum):
    """Factor s making the reference Gamma_c at Pbar_ref equal 1/tau_c,ref.

    ``s = max(1/tau_c,ref - 1/T1e, 0) / ((1 - Pbar_ref^2) reference_sum)`` with
    ``reference_sum`` the chosen statistic of sum_l W_kl at the anchor's concentration
    (s^-1; :meth:`ElectronFlipflops.reference_flipflop_sum`): that statistic of Gamma_c,k
    then follows today's ``"flipflop"`` model exactly (s = 1 is the absolute prediction).
    """
    excess = max(1e6 / tau_c_ref_us - 1.0 / t1e_s, 0.0)
    if reference_sum <= 0:
        raise ConfigError("microwave.tau_c_scale", "the anchor's reference sample has no "
                                                   "flip-flop (raise ee_cutoff_nm or tau_c_ref_mM)")
    return excess / ((1.0 - pbar_ref) * (1.0 + pbar_ref) * reference_sum)
