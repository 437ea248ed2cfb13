"""Eqs. 4-11: closed forms against numerical integrals, limits and symmetries."""

import itertools

import numpy as np
import pytest
from scipy import integrate

from latticedns import flipflop_rate
from latticedns.rates import (
    drive_spectrum,
    flipflop_rate_exact,
    flipflop_rate_fast,
    flipflop_rate_slow,
    lorentzian,
    paramagnetic_relaxation_rate,
    total_gamma2,
    zero_quantum_rate_from_neighbours,
)

PBARS = [0.0, 0.3, 0.7, 0.9993, 1 - 1e-9]
DELTAS = [1e2, 1e4, 1e5, 1e7]
GAMMA_CS = [1e4, 1e6, 1e8]
GAMMA_2S = [1e2, 1e4, 1e6]


def _breakpoints(delta, pbar, gamma_c, gamma_2):
    """Points splitting the real line so that each piece is smooth for quad."""
    b = np.sqrt((1 - pbar) * (1 + pbar)) * abs(delta)
    centres = [0.0, b, -b, delta * pbar, -delta * pbar]
    widths = [b * b / gamma_c, gamma_c, gamma_2, b, abs(delta)]
    pts = {c + s * w * 10.0**k for c in centres for w in widths if w > 0
           for k in range(-3, 5) for s in (-1, 1)}
    return np.array(sorted(pts))


def overlap_integral(d12, delta, pbar, gamma_c, gamma_2):
    """(D12^2/4)(1/2pi) * integral S F dw by adaptive quadrature, piece by piece."""
    f = lambda w: lorentzian(w, delta, pbar, gamma_2) * drive_spectrum(w, delta, pbar, gamma_c)  # noqa: E731
    pts = _breakpoints(delta, pbar, gamma_c, gamma_2)
    opts = dict(epsabs=0.0, epsrel=1e-12, limit=200)
    total = integrate.quad(f, -np.inf, pts[0], **opts)[0] + integrate.quad(f, pts[-1], np.inf, **opts)[0]
    total += sum(integrate.quad(f, a, b, **opts)[0] for a, b in zip(pts[:-1], pts[1:]))
    return d12**2 / 4 / (2 * np.pi) * total


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_eq9_equals_overlap_integral_on_grid():
    worst = 0.0
    for pbar, delta, gc, g2 in itertools.product(PBARS, DELTAS, GAMMA_CS, GAMMA_2S):
        closed = flipflop_rate(1.0, delta, pbar, gc, g2)
        numeric = overlap_integral(1.0, delta, pbar, gc, g2)
        worst = max(worst, abs(closed - numeric) / closed)
    assert worst < 1e-8, worst


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_spectra_are_normalized():
    for pbar, gc in itertools.product([0.0, 0.5, 0.9993], [1e4, 1e6]):
        delta = 3e5
        pts = _breakpoints(delta, pbar, gc, 1e3)
        f = lambda w: drive_spectrum(w, delta, pbar, gc)  # noqa: E731
        area = integrate.quad(f, -np.inf, pts[0])[0] + integrate.quad(f, pts[-1], np.inf)[0]
        area += sum(integrate.quad(f, a, b, epsrel=1e-12, limit=200)[0] for a, b in zip(pts[:-1], pts[1:]))
        assert area / (2 * np.pi) == pytest.approx(1.0, rel=1e-7)
    area = integrate.quad(lambda w: lorentzian(w, 1e4, 0.3, 50.0), -np.inf, np.inf, points=None)[0]
    assert area / (2 * np.pi) == pytest.approx(1.0, rel=1e-8)


def test_frozen_electron_gives_static_lorentzian():
    delta = np.logspace(0, 8, 50)[:, None]
    g2 = np.logspace(1, 6, 7)[None, :]
    w = flipflop_rate(3.0, delta, 1.0, 2e6, g2)
    np.testing.assert_allclose(w, 0.5 * 9.0 * g2 / (delta**2 + g2**2), rtol=1e-13)


def test_rate_nonnegative_even_and_finite_everywhere():
    rng = np.random.default_rng(1)
    n = 200_000
    d12 = rng.normal(0, 1e3, n)
    delta = np.concatenate([[0.0] * 10, 10 ** rng.uniform(-2, 9, n - 10)])
    pbar = np.concatenate([[0.0, 1.0, -1.0] * 3 + [1.0], rng.uniform(-1, 1, n - 10)])
    gc = 10 ** rng.uniform(0, 9, n)
    g2 = 10 ** rng.uniform(0, 7, n)
    for limit in ("exact", "slow", "fast"):
        w = flipflop_rate(d12, delta, pbar, gc, g2, limit=limit)
        assert np.all(np.isfinite(w)) and np.all(w >= 0)
        np.testing.assert_array_equal(w, flipflop_rate(d12, -delta, pbar, gc, g2, limit=limit))
        np.testing.assert_allclose(w, flipflop_rate(-d12, delta, -pbar, gc, g2, limit=limit),
                                   rtol=1e-15)
    # Delta = 0: the electron is invisible, W = D12^2 / (2 Gamma_2) whatever Pbar.
    np.testing.assert_allclose(flipflop_rate(2.0, 0.0, [0.0, 0.5, 1.0], 1e6, 4.0), 0.5)


def test_fast_limit_converges_for_fast_electron():
    delta = 1e6
    for pbar in PBARS:
        errs = []
        for ratio in (1e2, 1e3, 1e4):
            gc, g2 = ratio * delta, 1e2
            errs.append(abs(flipflop_rate_fast(1, delta, pbar, gc, g2)
                            / flipflop_rate_exact(1, delta, pbar, gc, g2) - 1))
        assert errs[-1] < 1e-7 and errs[1] < 2e-5
        assert errs[2] <= errs[1] <= errs[0] + 1e-16


def test_slow_limit_converges_on_the_drive_sideband():
    """Eq. 10 is the Gamma_c << |Delta| limit where the Lorentzian line overlaps a drive
    sideband (Delta*P = Delta*sqrt(1-P^2), P = 1/sqrt 2); off that resonance it misses the
    non-Lorentzian tails of F (docs/theory.md), so the limit is tested where it holds."""
    delta, pbar = 1e6, 1 / np.sqrt(2)
    errs = []
    for ratio in (1e-1, 1e-2, 1e-3):
        gc = ratio * delta
        g2 = 1e-3 * gc
        errs.append(abs(flipflop_rate_slow(1, delta, pbar, gc, g2)
                        / flipflop_rate_exact(1, delta, pbar, gc, g2) - 1))
    assert errs[0] < 2e-3 and errs[1] < 1e-4 and errs[2] < 1e-4


def test_paramagnetic_relaxation_matches_correlation_function_integral():
    """Eq. 6 with A+A- = B^2/4: the golden-rule rate of a random field (B/2) P(t) I_x."""
    b, pbar, gc, w0 = 3e5, 0.8, 2e6, 1.9e9
    g0 = (b / 2) ** 2 * (1 - pbar**2)  # <dw_x(0) dw_x(0)>, (rad/s)^2
    # J(w0) = integral over all tau of g0 exp(-gc|tau|) cos(w0 tau), with tau = u / gc.
    spectral = 2 / gc * integrate.quad(lambda u: g0 * np.exp(-u), 0, np.inf, weight="cos", wvar=w0 / gc)[0]
    golden_rule = 0.25 * spectral  # |<b|I_x|a>|^2 = 1/4
    assert paramagnetic_relaxation_rate(b**2 / 4, pbar, gc, w0) == pytest.approx(golden_rule, rel=1e-8)
    assert paramagnetic_relaxation_rate(1e10, 1.0, gc, w0) == 0.0


def test_zero_quantum_rate_and_gamma2_sum():
    d1k = np.array([[1e3, 2e3, 0.0]])
    d2k = np.array([[0.0, 2e3, 5e2]])
    assert zero_quantum_rate_from_neighbours(d1k, d2k, 1e-4)[0] == pytest.approx((1e6 + 25e4) * 1e-4)
    assert total_gamma2(1.0, 2.0, 3.0) == 6.0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(pbar=1.5), "pbar"),
        (dict(pbar=-1.01), "pbar"),
        (dict(gamma_c=-1.0), "gamma_c"),
        (dict(gamma_2=0.0), "gamma_2"),
        (dict(gamma_2=-5.0), "gamma_2"),
        (dict(delta=np.nan), "delta"),
        (dict(limit="medium"), "limit"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    args = dict(d12=1.0, delta=1e5, pbar=0.5, gamma_c=1e6, gamma_2=1e4) | kwargs
    with pytest.raises(ValueError, match=name):
        flipflop_rate(**args)


def test_bad_relaxation_arguments():
    with pytest.raises(ValueError, match="apm_sq"):
        paramagnetic_relaxation_rate(-1.0, 0.5, 1e6, 1e9)
    with pytest.raises(ValueError, match="tau_cn_s"):
        zero_quantum_rate_from_neighbours([1.0], [2.0], -1.0)


def test_check_choice_names_the_key_and_the_choices():
    from latticedns._args import check_choice
    from latticedns.errors import ConfigError
    assert check_choice("limit", "exact", ("exact", "slow")) == "exact"
    with pytest.raises(ConfigError, match=r"^limit: must be one of \['exact', 'slow'\], got 'fast'$"):
        check_choice("limit", "fast", ("exact", "slow"))
    with pytest.raises(ConfigError, match=r"one of \['a', 'b'\], got \['a'\]"):
        check_choice("k", ["a"], {"b", "a"})  # unhashable value, a set shown sorted
