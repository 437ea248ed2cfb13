"""The continuum's visible/hidden boundary: equal hidden volume with the lattice criterion.

The lattice hides a proton at (r, theta) from a radical when its own shift
``|A_z(r, theta)| |Pbar| / 2`` exceeds ``pi 1e3 bandwidth_kHz`` rad/s
(:meth:`latticedns.lattice.model.LatticeModel.visible`).  The references below apply that
criterion with :func:`latticedns.couplings.hyperfine_secular` directly, by quadrature
over orientations (r solved numerically per orientation) and by Monte Carlo.
"""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from latticedns.conditions import ElectronCondition
from latticedns.continuum import (ContinuumModel, ContinuumParameters, boundary_radius_nm,
                                  equal_volume_radius_nm, hidden_volume_scale_nm3,
                                  mean_excess)
from latticedns.couplings import AVERAGINGS, hyperfine_secular
from latticedns.diffusion import hidden_radius_nm

P_E = 0.99926
R_IN, R_OUT = 0.3, 1.9940229906516405  # r_MV at 50 mM


def lattice_hidden(r, c, pbar, bandwidth_kHz):
    """The lattice's criterion (LatticeModel.visible, negated) for one radical."""
    return np.abs(0.5 * pbar * hyperfine_secular(r, c)) > np.pi * 1e3 * bandwidth_kHz


def hidden_volume_quadrature(pbar, bandwidth_kHz, r_in, r_out):
    """Volume (nm^3) of {r_in <= r <= r_out: hidden}, integrated over cos(theta)."""
    half_width = np.pi * 1e3 * bandwidth_kHz

    def excess(r, c):  # > 0 where hidden; decreasing in r
        return np.abs(0.5 * pbar * hyperfine_secular(r, c)) - half_width

    def top(c):  # outer radius of the hidden interval along cos(theta) = c
        if excess(r_in, c) <= 0:
            return r_in
        if excess(r_out, c) > 0:
            return r_out
        return brentq(lambda r: excess(r, c), r_in, r_out, xtol=1e-15, rtol=1e-15)

    def slab(c):
        return (top(c) ** 3 - r_in**3) / 3.0

    # kinks: the magic angle and where the hidden interval reaches r_in or r_out
    magic = 1.0 / np.sqrt(3.0)
    kinks = {magic}
    for radius in (r_in, r_out):
        for lo, hi in ((0.0, magic), (magic, 1.0)):
            g = lambda c: excess(radius, c)  # noqa: E731
            if g(lo) * g(hi) < 0:
                kinks.add(brentq(g, lo, hi, xtol=1e-15, rtol=1e-15))
    edges = sorted(kinks | {0.0, 1.0})
    total = sum(quad(slab, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:]))
    return 4.0 * np.pi * total  # dOmega = 2 pi d(cos theta), symmetric in +-c


@pytest.mark.parametrize("pbar, bandwidth_kHz, r_in", [
    (P_E, 200.0, 0.3),     # the thermal boundary (default mesh vertex)
    (0.5, 200.0, 0.3),     # full microwave power
    (-0.8, 200.0, 0.3),    # sign does not matter
    (P_E, 200.0, 0.15),
    (P_E, 20.0, 0.3),      # narrow band: the hidden region reaches r_out (clipped)
    (P_E, 5.0, 0.3),
    (0.1, 200.0, 0.3),     # hidden only within ~35 deg of B0
])
def test_equal_volume_radius_reproduces_the_lattice_hidden_volume(pbar, bandwidth_kHz, r_in):
    rb = boundary_radius_nm(pbar, bandwidth_kHz, "equal_volume", r_in, R_OUT)
    continuum = 4.0 * np.pi / 3.0 * (rb**3 - r_in**3)
    lattice = hidden_volume_quadrature(pbar, bandwidth_kHz, r_in, R_OUT)
    assert lattice > 0
    assert continuum == pytest.approx(lattice, rel=1e-9, abs=0)


def test_no_hidden_protons_gives_the_inner_radius():
    # at Pbar = 0.01 every orientation's hidden radius is below r_in = 0.3 nm
    assert hidden_volume_quadrature(0.01, 200.0, R_IN, R_OUT) == 0.0
    assert boundary_radius_nm(0.01, 200.0, "equal_volume", R_IN, R_OUT) == R_IN
    assert boundary_radius_nm(0.0, 200.0, "equal_volume", R_IN, R_OUT) == R_IN
    assert boundary_radius_nm(0.0, 200.0, "rms", R_IN, R_OUT) == 0.0


def test_monte_carlo_lattice_criterion():
    """Uniform points in the shell with the lattice's per-proton test (2e6 points)."""
    rng = np.random.default_rng(6)
    n = 2_000_000
    r = np.cbrt(rng.uniform(R_IN**3, R_OUT**3, n))
    c = rng.uniform(-1.0, 1.0, n)
    frac = lattice_hidden(r, c, P_E, 200.0).mean()
    sigma = np.sqrt(frac * (1 - frac) / n)
    shell = R_OUT**3 - R_IN**3

    def fraction(averaging):
        rb = boundary_radius_nm(P_E, 200.0, averaging, R_IN, R_OUT)
        return (rb**3 - R_IN**3) / shell

    # sigma = 3.7e-3 of frac; measured deviation 0.64 sigma
    assert abs(fraction("equal_volume") - frac) < 4 * sigma
    # the old rms boundary: 17.5 % more hidden volume (factor ratio 1.162, plus r_in)
    assert fraction("rms") / frac == pytest.approx(1.175, abs=0.01)


def test_mean_abs_is_the_limit_without_exclusion_distance():
    assert mean_excess(0.0) == pytest.approx(AVERAGINGS["mean_abs"], rel=1e-15)
    # closed form of <(|3c^2 - 1| - y)_+> against quadrature over c
    for y in (0.0, 0.05, 0.5, 1.0, 1.5, 1.99, 2.5):
        ref = quad(lambda c: max(abs(3 * c * c - 1) - y, 0.0), 0.0, 1.0,
                   points=[1 / np.sqrt(3), np.sqrt(max(1 - y, 0) / 3),
                           np.sqrt(min((1 + y) / 3, 1.0))], epsabs=1e-15)[0]
        assert mean_excess(y) == pytest.approx(ref, abs=1e-13)
    k = hidden_volume_scale_nm3(P_E, 200.0)
    assert k == pytest.approx(0.3950, abs=1e-4)
    mean_abs = boundary_radius_nm(P_E, 200.0, "mean_abs", R_IN, R_OUT)
    assert equal_volume_radius_nm(k, 1e-6, R_OUT) == pytest.approx(mean_abs, rel=1e-12)
    # r_in = 0.3 nm: magic-angle orientations hide nothing, r_b^3 grows by ~r_in^6/(2 sqrt3 K)
    rb = equal_volume_radius_nm(k, R_IN, R_OUT)
    assert rb**3 - mean_abs**3 == pytest.approx(R_IN**6 / (2 * np.sqrt(3) * k), rel=1e-3)
    assert rb == pytest.approx(0.67285, abs=1e-5)


@pytest.mark.parametrize("averaging", sorted(AVERAGINGS))
def test_named_boundary_averagings_match_hidden_radius(averaging):
    for pbar in (P_E, 0.5, -0.3):
        assert boundary_radius_nm(pbar, 200.0, averaging, R_IN, R_OUT) == pytest.approx(
            hidden_radius_nm(200.0 / abs(pbar), averaging), rel=1e-13)


def test_model_uses_boundary_averaging_and_keeps_rms_rates():
    default = ContinuumModel(ContinuumParameters(mesh_refinement=0.3))
    rms = ContinuumModel(ContinuumParameters(mesh_refinement=0.3, boundary_averaging="rms"))
    assert default.params.averaging == rms.params.averaging == "rms"
    assert default.visible_radius_nm(P_E) == pytest.approx(
        equal_volume_radius_nm(hidden_volume_scale_nm3(P_E, 200.0), R_IN, R_OUT), rel=1e-14)
    assert rms.visible_radius_nm(P_E) == pytest.approx(0.70695, abs=1e-5)
    # the boundary convention does not touch the rates
    r = np.linspace(0.4, 1.9, 5)
    cond = ElectronCondition(pbar=0.5)
    np.testing.assert_array_equal(default.diffusion(cond, r), rms.diffusion(cond, r))
    np.testing.assert_array_equal(default.relaxation(cond, r), rms.relaxation(cond, r))
