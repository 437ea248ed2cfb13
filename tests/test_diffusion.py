"""The radial D(r, Pbar) of the paper's Fig. 3: radii, limits, ordering and conventions."""

import numpy as np
import pytest

from latticedns import DiffusionConditions, diffusion_coefficient
from latticedns.diffusion import hidden_radius_nm, mean_volume_radius_nm, pair_rate, validity_radius_nm

R = np.logspace(np.log10(0.3), np.log10(5.0), 200)


def test_characteristic_radii():
    assert mean_volume_radius_nm(50.0) == pytest.approx(2.0, abs=0.02)
    assert hidden_radius_nm(100.0) == pytest.approx(0.9, abs=0.02)
    # Gamma_c = 2e6 s^-1 equals the rms |A_z|/2 at 0.48 nm (the paper quotes 0.34 nm,
    # which Gamma_c = |A_z|/(2 pi) in Hz gives; docs/theory.md)
    assert validity_radius_nm(2e6) == pytest.approx(0.481, abs=0.002)
    assert validity_radius_nm(2e6, splitting_factor=1.0) == pytest.approx(0.606, abs=0.002)
    assert validity_radius_nm(2e6 * 2 * np.pi, splitting_factor=1.0) == pytest.approx(0.33, abs=0.01)


def test_diffusion_ordered_by_electron_polarization():
    pbars = np.linspace(0.0, 1.0, 11)
    d = diffusion_coefficient(R[:, None], pbars[None, :])
    assert d.shape == (200, 11)
    outside = (R > 0.56) & (R < 1.5)  # beyond the coherent region, where the gradient matters
    assert np.all(np.diff(d[outside], axis=1) < 0), "D must fall as Pbar rises"
    # quenched near the electron as Pbar -> 1 ...
    assert np.all(d[R < 0.85, -1] / d[R < 0.85, 0] < 0.1)
    # ... but enhanced at Pbar ~ 1/sqrt(2), where the Lorentzian line sits on a drive
    # sideband (Delta*P = Delta*sqrt(1 - P^2)): the paper's "coherent effect in the midrange".
    assert np.argmax(d[0]) == 7


def test_far_field_is_the_bulk_value():
    c = DiffusionConditions()
    d_far = diffusion_coefficient(1e3, np.array([0.0, 0.5, 1.0]))
    d12 = np.sqrt(1 / 5) * 2625.2094984165 / 1.0  # rms D12 at a = 0.66 nm, rad/s
    bulk = d12**2 / (2 * c.gamma2_II) * c.a_nm**2
    np.testing.assert_allclose(d_far, bulk, rtol=1e-6)


def test_microwave_on_off_contrast_at_r_h():
    rh = hidden_radius_nm()
    on, off = diffusion_coefficient(rh, [0.5, 0.9993])
    assert 3 < on / off < 5  # 3.8x with the default conventions (docs/theory.md)
    on, off = diffusion_coefficient(rh, [0.5, 0.9993], gamma2_II_kHz=22e3 / (2 * np.pi) / 1e3,
                                    splitting_factor=1.0)
    assert 15 < on / off < 20  # the paper's reading of A_z and the line width: ~17x


def test_limits_match_fig3b_claims():
    exact = diffusion_coefficient(R, 0.7)
    slow = diffusion_coefficient(R, 0.7, limit="slow")
    fast = diffusion_coefficient(R, 0.7, limit="fast")
    near, far = R <= 0.5, R >= 1.5
    assert np.max(np.abs(slow[near] / exact[near] - 1)) < 0.04
    assert np.max(np.abs(fast[far] / exact[far] - 1)) < 1e-3
    assert np.max(np.abs(fast[near] / exact[near] - 1)) > 0.5  # and not the other way round
    assert np.max(np.abs(slow[far] / exact[far] - 1)) > 0.5


def test_gamma1_is_a_small_correction_here():
    with_g1 = pair_rate(R, 0.5)
    without = pair_rate(R, 0.5, include_gamma1=False)
    assert np.all(with_g1 > 0) and np.max(np.abs(with_g1 / without - 1)) < 1e-3


def test_bad_conditions_are_refused():
    with pytest.raises(ValueError, match="tau_c_us"):
        DiffusionConditions(tau_c_us=-1)
    with pytest.raises(ValueError, match="averaging"):
        diffusion_coefficient(1.0, 0.5, averaging="cubic")
    with pytest.raises(ValueError, match="r_nm"):
        diffusion_coefficient(-1.0, 0.5)
    with pytest.raises(ValueError, match="pbar"):
        diffusion_coefficient(1.0, 1.2)
