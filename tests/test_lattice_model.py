"""Lattice rate matrix: invariants, single-electron reduction, Eq. 7 sums, condition reuse."""

import numpy as np
import pytest

from latticedns.conditions import ElectronCondition
from latticedns.couplings import flipflop_coupling, hyperfine_secular, pair_geometry
from latticedns.errors import ConfigError
from latticedns.lattice import Sample, SampleSpec, generate_sample
from latticedns.lattice.couplings import neighbour_zero_quantum_sums
from latticedns.lattice.model import LatticeModel, LatticeParameters, effective_splitting
from latticedns.lineshape import flipflop_rate_lineshape

P_OFF = 0.99926


def make_sample(n=3000, mM=50.0, seed=1):
    return generate_sample(SampleSpec.from_dict(
        {"radical_mM": mM, "n_protons": n, "proton_density_per_nm3": 7.0, "seed": seed}))


@pytest.fixture(scope="module")
def model():
    return LatticeModel(make_sample(), LatticeParameters(hyperfine_cutoff_nm=2.5, t1_bulk_s=np.inf))


def test_matrix_symmetric_with_zero_row_sums_before_relaxation(model):
    frozen = ElectronCondition(pbar=1.0)  # no electron noise: Gamma_1 = 0, no sink
    L, s = model.operator(frozen)
    assert abs(L - L.T).max() == 0.0
    off = L - np.diag(L.diagonal())
    assert off.min() >= 0.0  # all W >= 0
    np.testing.assert_allclose(np.asarray(L.sum(axis=1)).ravel(), 0.0, atol=1e-9 * abs(L.diagonal()).max())
    assert np.all(s == 0.0)
    # with relaxation, row sums are exactly -R and s = R p_thermal
    cond = ElectronCondition(pbar=0.5)
    L, s = model.operator(cond)
    r = model.relaxation(cond)
    np.testing.assert_allclose(np.asarray(L.sum(axis=1)).ravel(), -r, rtol=1e-6, atol=1e-9 * abs(L.diagonal()).max())
    np.testing.assert_allclose(s, r * model.params.proton_thermal)
    assert np.all(r >= 0) and np.all(r[model.geometry.r_nearest_nm < 2.0] > 0)


def test_conditions_reuse_pattern_and_cache(model):
    a, _ = model.operator(ElectronCondition(pbar=0.5))
    b, _ = model.operator(ElectronCondition(pbar=P_OFF))
    assert a is model.operator(ElectronCondition(pbar=0.5))[0]
    assert a.indices is b.indices or np.array_equal(a.indices, b.indices)
    # lower electron polarization: faster flip-flops near radicals (microwaves on)
    w_on = model.pair_rates(ElectronCondition(pbar=0.5))
    w_off = model.pair_rates(ElectronCondition(pbar=P_OFF))
    near = model.geometry.r_nearest_nm[model.geometry.i] < 1.0
    assert np.median(w_on[near] / w_off[near]) > 2


@pytest.mark.parametrize("lineshape", ["lorentzian", "gaussian"])
def test_single_radical_reduces_to_eq9(lineshape):
    rng = np.random.default_rng(5)
    protons = rng.uniform(0, 8, size=(400, 3))
    sample = Sample(protons_nm=protons, radicals_nm=np.array([[4.0, 4.0, 4.0]]), box_nm=8.0,
                    spec=make_sample(200).spec)
    m = LatticeModel(sample, LatticeParameters(cutoff_nm=1.2, hyperfine_cutoff_nm=3.9,
                                               lineshape=lineshape))
    cond = ElectronCondition(pbar=0.7, tau_c_us=0.5)
    g = m.geometry
    # direct single-electron evaluation from positions
    r_e, c_e = pair_geometry(protons - 4.0)
    a = np.where(r_e <= 3.9, hyperfine_secular(r_e, c_e), 0.0)
    v = protons[g.j] - protons[g.i]
    v -= 8.0 * np.round(v / 8.0)
    d12 = flipflop_coupling(*pair_geometry(v))
    g1 = m.gamma1(cond)
    w = flipflop_rate_lineshape(d12, 0.5 * (a[g.i] - a[g.j]), 0.7, 2e6, g1[g.i] + g1[g.j],
                                2e3 * np.pi * 11, lineshape)
    np.testing.assert_allclose(m.pair_rates(cond), w, rtol=1e-12)


def test_effective_splitting_limits():
    d, p = effective_splitting(np.array([3.0, 0.0]), np.array([9.0, 0.0]), 0.6)
    np.testing.assert_allclose(d, [3.0, 0.0])
    np.testing.assert_allclose(p, [0.6, 0.0])
    # two equal electrons on opposite sides: no static splitting, but noise remains
    d, p = effective_splitting(np.array([0.0]), np.array([2.0]), 0.6)
    assert d[0] == pytest.approx(np.sqrt(0.64 * 2.0)) and p[0] == 0.0


def test_neighbour_zero_quantum_sums_against_brute_force():
    m = LatticeModel(make_sample(600), LatticeParameters(cutoff_nm=1.0, hyperfine_cutoff_nm=2.0))
    g = m.geometry
    dense = np.zeros((g.n, g.n))
    dense[g.i, g.j] = g.d12
    dense[g.j, g.i] = g.d12
    diff = dense[g.i] - dense[g.j]
    diff[np.arange(len(g.i)), g.i] = 0.0  # k != i, j
    diff[np.arange(len(g.i)), g.j] = 0.0
    np.testing.assert_allclose(neighbour_zero_quantum_sums(g, rows_per_chunk=97),
                               np.sum(diff**2, axis=1), rtol=1e-9)
    m7 = LatticeModel(m.sample, LatticeParameters(cutoff_nm=1.0, hyperfine_cutoff_nm=2.0, tau_cn_us=10.0))
    assert np.all(m7.pair_rates(ElectronCondition(pbar=0.5)) > 0)


def test_visible_fraction_and_shift(model):
    vis = model.visible(P_OFF)
    r = model.geometry.r_nearest_nm
    assert 0.9 < vis.mean() < 0.99
    assert np.all(vis[r > 1.5])  # far protons are all visible
    # hidden volume per radical, |A_z P / 2| > 2 pi 100 kHz: (4 pi / 3) <|3c^2 - 1|> K with
    # K = d_eH(1 nm) P / (2 * 2 pi 100 kHz) nm^3, minus the 0.3 nm exclusion sphere
    k = 79066.0 * P_OFF / 2 / 1e5
    hidden_per_radical = 4 * np.pi / 3 * (4 / (3 * np.sqrt(3)) * k - 0.3**3)
    expected = hidden_per_radical * model.sample.radical_density_per_nm3
    assert 1 - vis.mean() == pytest.approx(expected, rel=0.2)
    assert np.array_equal(model.visible(0.0), np.ones(model.n, bool))  # no shift at Pbar = 0


def test_cutoffs_larger_than_half_box_refused():
    with pytest.raises(ConfigError, match="hyperfine_cutoff_nm"):
        LatticeModel(make_sample(500), LatticeParameters(hyperfine_cutoff_nm=3.0))
    with pytest.raises(ConfigError, match="gamma2_II_kHz"):
        LatticeParameters(gamma2_II_kHz=-1)


def test_radial_profile_weights_average_shells(model):
    edges = np.array([0.3, 0.6, 1.0, 2.0])
    w = model.radial_profile_weights(edges)
    r = model.geometry.r_nearest_nm
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    p = r.copy()  # a profile equal to the distance: each row gives the shell's mean distance
    for b in range(3):
        inside = (r >= edges[b]) & (r < edges[b + 1])
        assert w[b] @ p == pytest.approx(r[inside].mean())
    assert np.all(np.isnan(model.radial_profile_weights([10.0, 11.0])))  # empty shell


def test_pair_rates_in_threads_are_the_same_bits(monkeypatch):
    """The Voigt rates are evaluated in chunks on the run's threads: any number of chunks
    gives the same array bit for bit (campaign workers set OMP_NUM_THREADS=1)."""
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": 6000, "proton_density_per_nm3": 7.48, "seed": 4}))
    model = LatticeModel(sample, LatticeParameters(cutoff_nm=1.5))
    cond = ElectronCondition(pbar=0.5, tau_c_us=0.5)
    assert len(model.geometry.i) > 2e5  # two chunks of >= 1e5 pairs
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = model.pair_rates(cond)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    two = model.pair_rates(cond)
    np.testing.assert_array_equal(one, two)
