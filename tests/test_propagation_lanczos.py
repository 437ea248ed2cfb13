"""Tests of the matvec-only ``"lanczos"`` propagation method and of ``method="auto"``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from latticedns.conditions import ElectronCondition
from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.propagation import Propagator, available_methods, propagate
from latticedns.propagation.propagator import AUTO_DENSE_MAX_N, auto_method

P_OFF = 0.99926
MW_ON = ElectronCondition(pbar=0.5, dnp_rate_per_s=0.05, dnp_target=0.9)
MW_OFF = ElectronCondition(pbar=P_OFF)


def relerr(a, b):
    """Largest error relative to each column's largest magnitude in the reference ``b``."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return float((np.abs(a - b).max(axis=0) / np.abs(b).max(axis=0)).max())


@pytest.fixture(scope="module")
def model():
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": 1500, "proton_density_per_nm3": 7.48, "seed": 3}))
    # the methods are tested on the paper's physics (Lorentzian line, 1.0 nm cutoff), as tuned
    return LatticeModel(sample, LatticeParameters(hyperfine_cutoff_nm=2.5, t1_bulk_s=np.inf,
                                                  lineshape="lorentzian", cutoff_nm=1.0))


@pytest.fixture(scope="module")
def dense_props(model):
    """Dense propagators (cached eigendecompositions) for microwaves on and off."""
    return (Propagator(*model.operator(MW_ON), method="dense"),
            Propagator(*model.operator(MW_OFF), method="dense"))


def _schedule(model, on, off):
    """40 s microwaves on (from 0), 4 s off, then 8 outputs 2 s apart (off)."""
    C = model.observable_weights(P_OFF, 200.0)
    r1 = on.sample(np.zeros(model.n), [10.0, 40.0], C)
    r2 = off.sample(r1.p_final, [4.0], C)
    r3 = off.sample(r2.p_final, 2.0 * np.arange(1, 9), C, final_state=False)
    return np.concatenate([r1.signals, r2.signals, r3.signals]), [r1, r2, r3]


def test_registered_and_auto_choice():
    assert "lanczos" in available_methods()
    assert auto_method(AUTO_DENSE_MAX_N) == "dense"
    assert auto_method(10_000) == "krylov"
    assert auto_method(10**6) == "krylov"  # never "lanczos" (fails on stiff lattices)
    assert auto_method(10**6, has_mass=True) == "krylov"
    assert Propagator(sp.diags(-np.ones(5)), method="auto").method_name == "dense"


def test_mass_matrix_refused():
    with pytest.raises(ValueError, match="mass matrix"):
        Propagator(-sp.eye(4), M=sp.eye(4), method="lanczos")


def test_three_stage_schedule_matches_dense(model, dense_props):
    ref, _ = _schedule(model, *dense_props)
    on = Propagator(*model.operator(MW_ON), method="lanczos", rtol=1e-8)
    off = Propagator(*model.operator(MW_OFF), method="lanczos", rtol=1e-8)
    got, runs = _schedule(model, on, off)
    assert all(r.success for r in runs)
    assert runs[2].p_final is None and runs[0].n_matvec > 0 and runs[0].n_solves == 0
    assert relerr(got, ref) < 1e-6


def test_states_and_final_state_match_dense(model, dense_props):
    on_d, _ = dense_props
    p0 = np.random.default_rng(1).uniform(-0.5, 0.5, model.n)
    t = np.array([0.5, 5.0, 20.0])
    ref = on_d.sample(p0, t, states_at=[1.0, 10.0], t_end=30.0)
    got = Propagator(*model.operator(MW_ON), method="lanczos", rtol=1e-8).sample(
        p0, t, states_at=[1.0, 10.0], t_end=30.0)
    for a, b in zip([*got.states, got.p_final], [*ref.states, ref.p_final]):
        assert np.linalg.norm(a - b) < 1e-6 * np.linalg.norm(b)


def test_singular_operator_conserves_total(model):
    L, s = model.operator(ElectronCondition(pbar=1.0))  # no relaxation: L singular
    assert not s.any()
    p0 = np.random.default_rng(2).uniform(-1, 1, model.n) + 0.2
    C = np.vstack([model.observable_weights(P_OFF, 200.0), np.ones(model.n)])
    t = np.array([1.0, 100.0, 1e4])
    # a loose rtol keeps the test fast: the total is restored exactly whatever the accuracy
    res = propagate(L, None, p0, t, C, method="lanczos", rtol=1e-3, states_at=[100.0])
    ref = propagate(L, None, p0, t, C, method="dense")
    assert relerr(res.signals, ref.signals) < 1e-2
    total = p0.sum()
    assert np.all(np.abs(res.signals[:, 2] - total) <= 1e-12 * np.abs(p0).sum())
    for p in (res.p_final, res.states[0]):
        assert abs(p.sum() - total) <= 1e-12 * np.abs(p0).sum()


def test_singular_with_source_total_grows_linearly(model):
    L, _ = model.operator(ElectronCondition(pbar=1.0))
    s = np.where(model.visible(P_OFF), 0.0, 0.01)
    p0 = np.zeros(model.n)
    t = np.array([0.0, 0.1, 2.0])
    res = propagate(L, s, p0, t, np.ones((1, model.n)), method="lanczos", rtol=1e-6)
    np.testing.assert_allclose(res.signals[:, 0], t * s.sum(), rtol=1e-12, atol=1e-12)
    assert abs(res.p_final.sum() - 2.0 * s.sum()) <= 1e-12 * 2.0 * s.sum()


def test_diagonal_system_closed_form():
    rng = np.random.default_rng(1)
    k = 10.0 ** rng.uniform(-3, 2, size=200)
    pinf = rng.uniform(-1, 1, size=200)
    p0 = rng.uniform(-1, 1, size=200)
    t = np.array([0.0, 1e-3, 0.1, 1.0, 100.0])
    C = rng.uniform(0, 1, size=(2, 200))
    res = propagate(sp.diags(-k), k * pinf, p0, t, C, method="lanczos", rtol=1e-10,
                    states_at=t[1:4])
    exact = np.exp(-np.outer(t, k)) * (p0 - pinf) + pinf
    assert res.success
    assert relerr(res.signals, exact @ C.T) < 1e-8
    np.testing.assert_allclose(res.p_final, exact[-1], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(res.states, exact[1:4], rtol=1e-7, atol=1e-8)


def test_two_state_and_zero_time():
    L = sp.csr_matrix(np.array([[-3.5, 3.0], [3.0, -3.0]]))
    s = np.array([0.7, 0.0])
    p0 = np.array([1.0, -2.0])
    res = propagate(L, s, p0, [0.0, 0.3, 40.0], np.eye(2), method="lanczos", rtol=1e-10)
    ref = propagate(L, s, p0, [0.0, 0.3, 40.0], np.eye(2), method="dense")
    assert relerr(res.signals, ref.signals) < 1e-9
    np.testing.assert_allclose(res.p_final, ref.p_final, rtol=1e-9)
    res0 = propagate(L, s, p0, [0.0], method="lanczos")
    np.testing.assert_array_equal(res0.p_final, p0)
