"""The Voigt (Gaussian) flip-flop line against Eq. 9 and an independent frequency integral."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import voigt_profile

from latticedns.errors import ConfigError
from latticedns.lineshape import flipflop_rate_lineshape, flipflop_rate_voigt, gaussian_sigma
from latticedns.rates import drive_spectrum, flipflop_rate_exact


def _random_arguments(rng, n):
    d12 = rng.uniform(1e2, 1e4, n)
    delta = 10 ** rng.uniform(1, 8, n) * rng.choice([-1, 1], n)
    pbar = rng.uniform(-1, 1, n)
    pbar[:50], pbar[50:100], pbar[100:150] = 1.0, 0.0, -1.0
    gamma_c = 10 ** rng.uniform(2, 9, n)
    # critically damped drive (degenerate decay rates)
    gamma_c[150:200] = 2 * np.abs(delta[150:200]) * np.sqrt(1 - pbar[150:200] ** 2) + 1.0
    return d12, delta, pbar, gamma_c


def test_lorentzian_limit_is_eq9():
    """sigma -> 0 reproduces the closed form Eq. 9 (Lorentzian line Gamma_2 = gamma_l)."""
    rng = np.random.default_rng(3)
    d12, delta, pbar, gamma_c = _random_arguments(rng, 20_000)
    gamma_l = 10 ** rng.uniform(1, 6, 20_000)
    w9 = flipflop_rate_exact(d12, delta, pbar, gamma_c, gamma_l)
    wv = flipflop_rate_voigt(d12, delta, pbar, gamma_c, gamma_l, 1e-9 * gamma_l)
    assert np.max(np.abs(wv / w9 - 1)) < 1e-9


def _overlap_integral(d12, delta, pbar, gamma_c, gamma_l, sigma):
    """(D12^2/4) (1/2pi) int F(w) S(w) dw with S = 2 pi Voigt(w + Pbar Delta)."""
    b = np.sqrt((1 - pbar) * (1 + pbar)) * abs(delta)
    centre = -pbar * delta
    def f(w):
        return drive_spectrum(w, delta, pbar, gamma_c) * voigt_profile(w + pbar * delta, sigma, gamma_l)
    width = max(b, gamma_c, sigma, gamma_l, abs(centre))
    points = sorted({-b, b, centre, 0.0})
    edges = [-200 * width] + points + [200 * width]
    total = sum(quad(f, lo, hi, limit=400, epsabs=0, epsrel=1e-10)[0]
                for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo)
    # beyond +-200 widths F falls as w^-4 and S as w^-2: the tails are negligible
    return 0.25 * d12**2 * total


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("pbar", [0.0, 0.5, 0.9, 0.9993])
@pytest.mark.parametrize("delta", [3e4, 3e5, 3e6])
@pytest.mark.parametrize("gamma_c", [1e4, 2e6])
def test_gaussian_matches_frequency_domain_overlap(pbar, delta, gamma_c):
    """The time-domain closed form equals the overlap of Eq. 4 with a Voigt line."""
    sigma, gamma_l = gaussian_sigma(6.9e4), 50.0
    w = flipflop_rate_voigt(1e4, delta, pbar, gamma_c, gamma_l, sigma)
    ref = _overlap_integral(1e4, delta, pbar, gamma_c, gamma_l, sigma)
    assert w == pytest.approx(ref, rel=2e-6)


def test_frozen_electron_is_a_voigt_line():
    """Pbar = 1: W = (D12^2/4) 2 pi V(Delta; sigma, gamma_l)."""
    delta = np.array([0.0, 1e4, 1e5, 3e5])
    sigma, gamma_l = 5e4, 3e2
    w = flipflop_rate_voigt(2e3, delta, 1.0, 2e6, gamma_l, sigma)
    ref = 0.25 * 2e3**2 * 2 * np.pi * voigt_profile(delta, sigma, gamma_l)
    np.testing.assert_allclose(w, ref, rtol=1e-10)


def test_gaussian_wings_fall_below_lorentzian_and_rates_are_physical():
    rng = np.random.default_rng(5)
    d12, delta, pbar, gamma_c = _random_arguments(rng, 5000)
    hwhm = 2 * np.pi * 11e3
    wg = flipflop_rate_lineshape(d12, delta, pbar, gamma_c, 0.0, hwhm, "gaussian")
    assert np.all(np.isfinite(wg)) and np.all(wg >= 0)
    # even in delta and in pbar
    np.testing.assert_allclose(wg, flipflop_rate_lineshape(d12, -delta, -pbar, gamma_c, 0.0, hwhm,
                                                           "gaussian"), rtol=1e-9, atol=0)
    # far off resonance with a frozen electron the Gaussian wing is far below the Lorentzian
    far = flipflop_rate_lineshape(1e4, 10 * hwhm, 1.0, 2e6, 0.0, hwhm, "gaussian")
    lor = flipflop_rate_lineshape(1e4, 10 * hwhm, 1.0, 2e6, 0.0, hwhm, "lorentzian")
    assert far < 1e-10 * lor


def test_lorentzian_choice_is_eq9_and_bad_names_refused():
    w = flipflop_rate_lineshape(1e3, 2e5, 0.5, 2e6, 10.0, 6.9e4, "lorentzian")
    assert w == flipflop_rate_exact(1e3, 2e5, 0.5, 2e6, 6.9e4 + 10.0)
    with pytest.raises(ValueError, match="lineshape"):
        flipflop_rate_lineshape(1e3, 2e5, 0.5, 2e6, 10.0, 6.9e4, "cauchy")
    with pytest.raises(ConfigError, match="hwhm"):
        flipflop_rate_lineshape(1e3, 2e5, 0.5, 2e6, 10.0, 0.0, "gaussian")
