"""Lattice + exact propagator: agreement with dense, invariants, stationary state (issue 3)."""

import numpy as np
import pytest

from latticedns.conditions import ElectronCondition
from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.propagation import Propagator, stationary_state

P_OFF = 0.99926
MW_ON = ElectronCondition(pbar=0.5, dnp_rate_per_s=0.05, dnp_target=0.9)
MW_OFF = ElectronCondition(pbar=P_OFF)


@pytest.fixture(scope="module")
def model():
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": 2000, "proton_density_per_nm3": 7.48, "seed": 11}))
    return LatticeModel(sample, LatticeParameters(hyperfine_cutoff_nm=2.5, t1_bulk_s=np.inf))


def _schedule(model, method, rtol=1e-10):
    """640 s microwaves on, 10 s off, then 64 outputs 10 s apart (microwaves off)."""
    C = model.observable_weights(P_OFF, 200.0)
    on = Propagator(*model.operator(MW_ON), method=method, rtol=rtol)
    off = Propagator(*model.operator(MW_OFF), method=method, rtol=rtol)
    r1 = on.sample(np.zeros(model.n), np.linspace(64, 640, 10), C)
    r2 = off.sample(r1.p_final, [10.0], C)
    p = r2.p_final.copy()
    p[model.visible(P_OFF)] = 0.0  # selective saturation between stages
    r3 = off.sample(p, 10.0 * np.arange(1, 65), C)
    return np.concatenate([r1.signals, r2.signals, r3.signals]), [r1, r2, r3]


def test_krylov_agrees_with_dense_over_three_stages(model):
    fast, runs = _schedule(model, "krylov", rtol=1e-8)
    ref, _ = _schedule(model, "dense")
    scale = np.abs(ref).max(axis=0)
    assert np.max(np.abs(fast - ref) / scale) < 1e-6
    assert all(r.success for r in runs)
    # the hidden protons overshoot the visible after the selective saturation
    assert ref[-64, 1] > ref[-64, 0] and ref[-1, 0] > ref[-60, 0] > 0.006


def test_polarization_stays_within_bounds(model):
    _, runs = _schedule(model, "krylov", rtol=1e-8)
    for r in runs:
        assert np.all(np.abs(r.p_final) <= 1.0)
        assert np.all(np.abs(r.signals) <= 1.0)


def test_total_polarization_conserved_without_relaxation(model):
    frozen = ElectronCondition(pbar=1.0)  # no electron noise: no Gamma_1, no source
    L, s = model.operator(frozen)
    assert not s.any()
    rng = np.random.default_rng(0)
    p0 = rng.uniform(-1, 1, model.n)
    res = Propagator(L, s, method="krylov", rtol=1e-10).sample(
        p0, [1.0, 100.0, 1e4], np.ones((1, model.n)), states_at=[1e4])
    np.testing.assert_allclose(res.signals[:, 0], p0.sum(), rtol=1e-12)
    assert abs(res.states[0].sum() - p0.sum()) < 1e-12 * np.abs(p0).sum()
    # and spin diffusion equalizes the polarization of well-connected protons
    assert np.std(res.states[0]) < np.std(p0)


def test_stationary_state_solves_the_balance(model):
    L, s = model.operator(MW_ON)
    p_inf = stationary_state(L, s)
    np.testing.assert_allclose(L @ p_inf, -s, atol=1e-9 * np.abs(s).max())
    # polarization ends between the DNP target and the thermal value
    assert np.all(p_inf <= 0.9 + 1e-12) and np.all(p_inf >= 0.0)
    late = Propagator(L, s, method="krylov", rtol=1e-10).sample(np.zeros(model.n), [1e7]).p_final
    np.testing.assert_allclose(late, p_inf, atol=1e-6)
