"""Constants, polarizations and dipolar couplings: reference values and orientation averages."""

import numpy as np
import pytest

from latticedns.constants import (
    GAMMA_E,
    GAMMA_H,
    boltzmann_polarization,
    dipolar_constant,
    larmor_angular,
    number_density_per_nm3,
)
from latticedns.couplings import (
    AVERAGINGS,
    averaged_flipflop_coupling,
    averaged_hyperfine_pseudosecular_sq,
    averaged_hyperfine_secular,
    flipflop_coupling,
    hyperfine_pseudosecular_sq,
    hyperfine_secular,
    pair_geometry,
)


def test_boltzmann_polarizations_of_the_paper():
    assert round(float(boltzmann_polarization(GAMMA_E, 7.05, 1.2)), 5) == 0.99926
    assert round(float(boltzmann_polarization(GAMMA_H, 7.05, 1.2)), 4) == 0.0060
    # High-temperature limit: P = hbar gamma B / (2 kB T).
    p = boltzmann_polarization(GAMMA_H, 1.0, 300.0)
    assert p == pytest.approx(1.0545718e-34 * GAMMA_H / (2 * 1.380649e-23 * 300), rel=1e-6)


def test_larmor_frequencies():
    assert larmor_angular(GAMMA_H, 7.05) / (2 * np.pi) == pytest.approx(300.17e6, rel=1e-4)
    assert larmor_angular(GAMMA_E, 7.05) / (2 * np.pi) == pytest.approx(197.57e9, rel=1e-3)


def test_dipolar_constants_and_concentration():
    # Proton pair at 0.1 nm: 120.1 kHz (textbook value 120 kHz / r^3 with r in Angstrom).
    assert dipolar_constant(GAMMA_H, GAMMA_H, 0.1) / (2 * np.pi) == pytest.approx(120.1e3, rel=1e-3)
    assert number_density_per_nm3(50.0) == pytest.approx(0.0301, abs=5e-5)


def _gauss_average(f, n=64):
    """Isotropic average of f(cos theta) by Gauss-Legendre quadrature."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * np.sum(w * f(x))


def test_orientation_averages_match_couplings():
    r = 0.8
    d_hh = dipolar_constant(GAMMA_H, GAMMA_H, r)
    d_eh = dipolar_constant(GAMMA_E, GAMMA_H, r)
    rms_d12 = np.sqrt(_gauss_average(lambda c: flipflop_coupling(r, c) ** 2))
    assert averaged_flipflop_coupling(r) == pytest.approx(rms_d12, rel=1e-12)
    assert rms_d12 == pytest.approx(d_hh / np.sqrt(5), rel=1e-12)
    rms_az = np.sqrt(_gauss_average(lambda c: hyperfine_secular(r, c) ** 2))
    assert averaged_hyperfine_secular(r) == pytest.approx(rms_az, rel=1e-12)
    # mean |3c^2 - 1| has kinks at c^2 = 1/3: integrate piecewise.
    c0 = 1 / np.sqrt(3)
    x, w = np.polynomial.legendre.leggauss(40)
    mean_abs = sum(0.5 * (b - a) / 2 * np.sum(w * np.abs(hyperfine_secular(r, (b - a) / 2 * x + (b + a) / 2)))
                   for a, b in [(-1, -c0), (-c0, c0), (c0, 1)])
    assert averaged_hyperfine_secular(r, "mean_abs") == pytest.approx(mean_abs, rel=1e-12)
    apm = _gauss_average(lambda c: hyperfine_pseudosecular_sq(r, c))
    assert averaged_hyperfine_pseudosecular_sq(r) == pytest.approx(apm, rel=1e-12)
    assert averaged_hyperfine_secular(r, "none") == pytest.approx(d_eh)
    assert set(AVERAGINGS) == {"rms", "mean_abs", "none", "max"}


def test_couplings_from_vectors():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(1000, 3))
    r, c = pair_geometry(v)
    np.testing.assert_allclose(r, np.linalg.norm(v, axis=1))
    np.testing.assert_allclose(c, v[:, 2] / r)
    # magic angle: no secular coupling, maximal pseudo-secular at 45 degrees
    assert abs(hyperfine_secular(1.0, 1 / np.sqrt(3))) < 1e-9 * dipolar_constant(GAMMA_E, GAMMA_H, 1.0)
    d = dipolar_constant(GAMMA_E, GAMMA_H, 1.0)
    assert hyperfine_pseudosecular_sq(1.0, np.sqrt(0.5)) == pytest.approx(2.25 * d * d / 4)
    assert flipflop_coupling(1.0, 1.0) == pytest.approx(-dipolar_constant(GAMMA_H, GAMMA_H, 1.0))


def test_bad_coupling_arguments():
    with pytest.raises(ValueError, match="r_nm"):
        flipflop_coupling(-1.0, 0.5)
    with pytest.raises(ValueError, match="temperature_K"):
        boltzmann_polarization(GAMMA_H, 7.0, 0.0)
    with pytest.raises(ValueError, match="averaging"):
        averaged_hyperfine_secular(1.0, "cubic")
    with pytest.raises(ValueError, match="concentration_mM"):
        number_density_per_nm3(-5)
