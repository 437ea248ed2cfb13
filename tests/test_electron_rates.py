"""Electron flip-flop rates from the sample (issue 15; docs/theory.md, section 7b)."""

from dataclasses import replace

import numpy as np
import pytest
import scipy.constants as sc
from scipy.integrate import quad
from scipy.linalg import eigvals
from scipy.special import voigt_profile

from latticedns.conditions import ElectronCondition
from latticedns.constants import GAMMA_E, dipolar_constant, number_density_per_nm3
from latticedns.couplings import hyperfine_secular
from latticedns.errors import ConfigError
from latticedns.lattice import Sample, SampleSpec, generate_sample, proton_radical_pairs
from latticedns.lattice.electron_rates import ElectronFlipflops, sample_electron_rates
from latticedns.lattice.electrons import (TEMPOL_A_14N_MT, TEMPOL_G, decorrelation_rates,
                                          draw_offsets, ee_flipflop_coupling, ee_flipflop_rate,
                                          homogeneous_width, mean_flipflop_sum,
                                          reference_flipflop_sums, tempol_epr_sigma)
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.protocol.microwave import MicrowaveCalibration, MicrowaveSetting

SIGMA = float(tempol_epr_sigma(7.05))
GAMMA = float(homogeneous_width(1e-6))


def _two_radicals(vector_nm, first=(5.0, 5.0, 5.0), box_nm=20.0, seed=3):
    spec = SampleSpec.from_dict({"radical_mM": 1.0, "box_nm": box_nm,
                                 "proton_density_per_nm3": 0.001, "seed": seed})
    a = np.array(first)
    return Sample(protons_nm=np.zeros((0, 3)), box_nm=box_nm, spec=spec,
                  radicals_nm=np.stack([a, (a + vector_nm) % box_nm]))


@pytest.fixture(scope="module")
def small():
    sample = generate_sample(SampleSpec.from_dict({"radical_mM": 50, "n_radicals": 16,
                                                   "proton_density_per_nm3": 2.0, "seed": 4}))
    return LatticeModel(sample, LatticeParameters(cutoff_nm=1.2))


def test_two_radicals_give_the_closed_form():
    v = np.array([1.1, -0.7, 1.6])
    sample = _two_radicals(v)
    params = ElectronFlipflops(epr_sigma_MHz=150.0, electron_t2_us=0.7, ee_cutoff_nm=5.0)
    rates = sample_electron_rates(sample, params)
    r = np.linalg.norm(v)
    d = sc.mu_0 / (4 * np.pi) * GAMMA_E ** 2 * sc.hbar / (r * 1e-9) ** 3
    b = d * (1 - 3 * (v[2] / r) ** 2) / 2
    w_k, w_l = draw_offsets(2, 2e6 * np.pi * 150.0, sample.spec.seed)
    delta, gamma = w_k - w_l, 2 / 0.7e-6
    closed = 0.5 * b * b * gamma / (delta ** 2 + gamma ** 2)
    assert rates.w[0] == pytest.approx(closed, rel=1e-12)
    assert rates.sums == pytest.approx([closed, closed], rel=1e-12)
    g = rates.gamma_c(0.3)
    assert g == pytest.approx(1.0 + (1 - 0.09) * closed, rel=1e-12)  # T1e = 1 s
    # minimum image: the same pair seen across the periodic boundary
    far = _two_radicals(-v, first=(0.3, 0.2, 19.9))
    assert sample_electron_rates(far, params).w[0] == pytest.approx(closed, rel=1e-9)


def test_golden_rule_is_the_two_spin_master_equation():
    """The slowest rate of the |ud>, |du> populations under H = w_k S_kz + w_l S_lz + the
    secular dipolar Hamiltonian, with pure dephasing 1/T2e of each spin, is 2 W for
    b^2 << Delta^2 + gamma^2 (the factors of b, the 1/2 and gamma = 2/T2e)."""
    sz = np.diag([0.5, -0.5])
    sp = np.array([[0.0, 1.0], [0.0, 0.0]])
    one = np.eye(2)
    skz, slz = np.kron(sz, one), np.kron(one, sz)
    skp, slp = np.kron(sp, one), np.kron(one, sp)
    t2e = 1e-6
    for r, cos, delta in ((10.0, 0.1, 3e6), (12.0, 0.8, 0.0), (8.0, 0.3, 5e7)):
        d = float(dipolar_constant(GAMMA_E, GAMMA_E, r))
        h = delta / 2 * (skz - slz) + d * (1 - 3 * cos ** 2) * (
            skz @ slz - 0.25 * (skp @ slp.T + skp.T @ slp))
        jumps = [np.sqrt(2 / t2e) * skz, np.sqrt(2 / t2e) * slz]
        eye = np.eye(4)
        liou = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
        for c in jumps:
            liou += np.kron(c, c.conj()) - 0.5 * (np.kron(c.conj().T @ c, eye)
                                                 + np.kron(eye, (c.conj().T @ c).T))
        lam = eigvals(liou)
        b = float(ee_flipflop_coupling(r, cos))
        s = -lam[np.abs(lam) > 1e-9 * np.abs(lam).max()].real
        slowest = s[np.argmin(s)]
        w = float(ee_flipflop_rate(b, delta, homogeneous_width(t2e)))
        small = b * b / (delta ** 2 + (2 / t2e) ** 2)
        assert small < 1e-2
        assert slowest == pytest.approx(2 * w, rel=3 * small)


def test_rate_limits_and_offset_average():
    assert ee_flipflop_rate(1e5, 0.0, GAMMA) == pytest.approx(1e10 / (2 * GAMMA), rel=1e-15)
    far = ee_flipflop_rate(1e6, 1e9, GAMMA)  # Lorentzian wing ~ gamma / Delta^2
    assert far == pytest.approx(0.5e12 * GAMMA / 1e18, rel=1e-5)
    assert ee_flipflop_rate(-3e5, 2e6, GAMMA) == ee_flipflop_rate(3e5, -2e6, GAMMA)
    # average over the two offsets (Delta ~ N(0, 2 sigma^2)): pi V(0; sqrt 2 sigma, gamma)
    s2 = np.sqrt(2) * SIGMA
    for gamma in (GAMMA, 0.3 * SIGMA):
        # x = gamma tan(phi) takes the Lorentzian into d phi
        avg = quad(lambda f: np.exp(-(gamma * np.tan(f)) ** 2 / (2 * s2 * s2))
                   / (np.sqrt(2 * np.pi) * s2), -np.pi / 2, np.pi / 2, limit=400)[0]
        assert avg == pytest.approx(np.pi * voigt_profile(0.0, s2, gamma), rel=1e-7)


def test_tempol_line_width():
    assert tempol_epr_sigma(7.05) / (2e6 * np.pi) == pytest.approx(194.73, abs=0.01)
    # Monte Carlo of the first-order powder pattern (isotropic n, m_I in {-1, 0, 1})
    rng = np.random.default_rng(0)
    n = rng.standard_normal((400_000, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    mu_b = sc.physical_constants["Bohr magneton"][0] / sc.hbar
    a = GAMMA_E * 1e-3 * np.array(TEMPOL_A_14N_MT)
    w = (n ** 2 @ np.array(TEMPOL_G)) * mu_b * 7.05 \
        + rng.integers(-1, 2, len(n)) * np.sqrt(n ** 2 @ a ** 2)
    assert w.std() == pytest.approx(tempol_epr_sigma(7.05), rel=4e-3)
    # the g part scales with the field, the 14N part does not
    hf2 = 2 / 9 * np.sum(a * a)
    g2 = lambda b0: tempol_epr_sigma(b0) ** 2 - hf2  # noqa: E731
    assert g2(14.1) / g2(7.05) == pytest.approx(4.0, rel=1e-12)


def test_offsets_are_seeded():
    a = draw_offsets(50, 1.0, 7)
    assert np.array_equal(a, draw_offsets(50, 1.0, 7))
    assert not np.array_equal(a, draw_offsets(50, 1.0, 8))
    assert np.array_equal(draw_offsets(50, 3.0, 7), 3.0 * a)
    assert abs(draw_offsets(100_000, 1.0, 1).std() - 1) < 0.01


def test_mean_field_is_linear_and_independent_of_t2e():
    n = number_density_per_nm3(50)
    m = mean_flipflop_sum(n, 0.6, SIGMA, GAMMA)
    assert mean_flipflop_sum(2 * n, 0.6, SIGMA, GAMMA) == pytest.approx(2 * m, rel=1e-14)
    # gamma << sigma: the offset average is the Gaussian's density at 0, whatever T2e
    d = float(dipolar_constant(GAMMA_E, GAMMA_E, 0.6))
    narrow = n * 4 * np.pi / 3 * d ** 2 * 0.6 ** 3 * np.sqrt(np.pi) / (20 * SIGMA)
    for t2e in (1e-5, 1e-6, 1e-7):
        rel = homogeneous_width(t2e) / SIGMA
        assert mean_flipflop_sum(n, 0.6, SIGMA, homogeneous_width(t2e)) == \
            pytest.approx(narrow, rel=2 * rel)
    # the shell beyond R carries (r_min / R)^3 of the mean
    kept = mean_flipflop_sum(n, 0.6, SIGMA, GAMMA, outer_nm=4.0) / m
    assert kept == pytest.approx(1 - (0.6 / 4.0) ** 3, rel=1e-14)


def test_mean_field_is_the_mean_of_random_samples():
    """With a homogeneous width of the order of the EPR width the distribution of sum W is
    narrow enough for a sample mean to converge: it matches the quadrature."""
    n, sigma, gamma = number_density_per_nm3(50), 2e6 * np.pi * 20.0, 2e8
    sums = reference_flipflop_sums(n, 0.6, sigma, gamma, 6.0, n_radicals=20000)
    expected = mean_flipflop_sum(n, 0.6, sigma, gamma, outer_nm=6.0)
    sem = sums.std() / np.sqrt(len(sums))
    assert abs(sums.mean() - expected) < 4 * sem + 0.02 * expected  # RSA g(r) ~ 1 + O(1 %)


def test_median_scales_as_the_square_of_the_concentration():
    """Off-resonant neighbours, W ~ r^-6: a one-sided stable law of index 1/2 whose scale
    is ~ n^2 (at a cutoff in units of r_MV)."""
    params = ElectronFlipflops(epr_sigma_MHz=SIGMA / (2e6 * np.pi))
    med = [params.reference_flipflop_sum(c) for c in (10, 40)]
    exponent = np.log(med[1] / med[0]) / np.log(4.0)
    assert 1.85 < exponent < 2.05


def test_gamma_c_limits():
    s = np.array([0.0, 1e3, 1e6])
    assert decorrelation_rates(s, 1.0, 2.0) == pytest.approx([0.5, 0.5, 0.5], rel=1e-15)
    assert decorrelation_rates(s, 0.0, 2.0, 3.0) == pytest.approx(0.5 + 3 * s, rel=1e-15)
    assert decorrelation_rates(s, 1 - 1e-9, 2.0)[2] == pytest.approx(0.5 + 2e-3, rel=1e-6)
    # dilute: Gamma_c -> 1/T1e (here 1 s^-1) as the concentration falls
    mean = ElectronFlipflops(epr_sigma_MHz=200.0, ee_cutoff_nm=5.0, statistic="mean")
    g = np.array([mean.reference_gamma_c(0.0, c) - 1.0 for c in (50.0, 5.0, 0.5, 0.05)])
    assert g[0] > 1e4 and np.all(np.diff(g) < 0)
    assert g[1:] == pytest.approx(g[0] * np.array([0.1, 0.01, 0.001]), rel=1e-12)
    median = replace(mean, statistic="median")  # the typical radical: no neighbour at all
    assert median.reference_gamma_c(0.0, 50.0) > 1e3
    assert median.reference_gamma_c(0.0, 0.05) == 1.0


def test_pair_rates_with_one_shared_gamma_c_are_todays(small):
    """Per-radical rates that are all equal give today's pair rates and Eq. 6 (1e-12)."""
    m = small
    for lineshape in ("gaussian", "lorentzian"):
        model = LatticeModel(m.sample, replace(m.params, lineshape=lineshape))
        for pbar in (0.99926, 0.5, 0.0):
            cond = ElectronCondition(pbar=pbar, tau_c_us=0.8)
            shared = np.full(m.sample.n_radicals, cond.gamma_c)
            today = model.pair_rates(cond)
            new = model.pair_rates(cond, gamma_c_radicals=shared)
            assert np.max(np.abs(new - today) / today) <= 1e-12
    cal = MicrowaveCalibration(tau_c_model="sample", relaxation_tau_c="tau_c")
    cond = cal.condition(MicrowaveSetting(60.0))
    m.electron_rates(cond)  # then make every radical's rate the condition's
    key = replace(cond.electrons, scale=1.0)
    rates = m._electrons[key]
    m._electrons[key] = replace(rates, sums=np.full_like(rates.sums, np.median(rates.sums)))
    uniform = replace(cond, electrons=None,
                      tau_c_us=1e6 / float(m.radical_gamma_c(cond)[0]))
    a, b = m.gamma1(cond), m.gamma1(uniform)
    assert np.all(np.abs(a - b) <= 1e-12 * b)
    assert np.max(np.abs(m.pair_rates(cond) / m.pair_rates(uniform) - 1)) <= 1e-12
    m._electrons.clear()


def test_pair_gamma_c_is_the_variance_weighted_geometric_mean(small):
    m = small
    rng = np.random.default_rng(2)
    rates = 10 ** rng.uniform(2, 8, m.sample.n_radicals)
    got = m.pair_gamma_c(rates)
    hf = proton_radical_pairs(m.sample, m.params.hyperfine_cutoff_nm)
    a = np.zeros((m.n, m.sample.n_radicals))
    a[hf.proton, hf.radical] = hyperfine_secular(hf.distances_nm, hf.cos_theta)
    g = m.geometry
    w = (a[g.i] - a[g.j]) ** 2
    has = w.sum(axis=1) > 0
    brute = np.exp((w @ np.log(rates))[has] / w.sum(axis=1)[has])
    assert np.max(np.abs(got[has] / brute - 1)) < 1e-12
    assert np.all(got[~has] == pytest.approx(np.exp(np.log(rates).mean()), rel=1e-12))
    # a radical with a small share of a pair's noise moves its rate by that share only
    i = np.argmax(has)
    shares = w[i] / w[i].sum()
    e = np.argmin(np.where(shares > 0, shares, np.inf))
    bumped = rates.copy()
    bumped[e] *= 1e6
    ratio = m.pair_gamma_c(bumped)[i] / got[i]
    assert np.log(ratio) == pytest.approx(shares[e] * np.log(1e6), rel=1e-9)


def test_sample_model_in_the_lattice(small):
    m = small
    cal = MicrowaveCalibration(tau_c_model="sample")
    on, off = cal.condition(MicrowaveSetting(118.0)), cal.condition(None)
    rates = m.electron_rates(on)
    assert rates.sums is m.electron_rates(off).sums  # one set per parameters, Pbar after
    assert rates.params.scale == on.electrons.scale > 1
    g_on, g_off = m.radical_gamma_c(on), m.radical_gamma_c(off)
    some = rates.sums > 0
    assert some.mean() > 0.9
    ratio = (g_off[some] - 1.0) / (g_on[some] - 1.0)
    assert ratio == pytest.approx((1 - off.pbar ** 2) / (1 - on.pbar ** 2), rel=1e-12)
    w = m.pair_rates(on)
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert m.electron_rates(ElectronCondition(pbar=0.5)) is None


def test_anchor_keeps_the_flipflop_tau_c_and_absolute_is_scale_one():
    flip = MicrowaveCalibration()
    for stat in ("median", "mean"):
        cal = MicrowaveCalibration(tau_c_model="sample", tau_c_statistic=stat)
        for power in (0.0, 10.0, 118.0):
            a, b = cal.condition(MicrowaveSetting(power)), flip.condition(MicrowaveSetting(power))
            assert a.tau_c_us == b.tau_c_us
            assert a.tau_c_us_at_mM(50.0) == pytest.approx(b.tau_c_us, rel=1e-12)
        # the reference radical at the anchor has tau_c,ref
        e = cal.electron_flipflops
        assert e.reference_gamma_c(0.5, 50.0) == pytest.approx(2e6, rel=1e-12)
        absolute = MicrowaveCalibration(tau_c_model="sample", tau_c_scale="absolute",
                                        tau_c_statistic=stat).electron_flipflops
        assert absolute.scale == 1.0 and e.scale != 1.0
    # more radicals, faster flip-flops; without electrons, no concentration dependence
    on = MicrowaveCalibration(tau_c_model="sample").condition(MicrowaveSetting(118.0))
    t = [on.tau_c_us_at_mM(c) for c in (10, 25, 50, 100)]
    assert np.all(np.diff(t) < 0)
    assert flip.condition(MicrowaveSetting(118.0)).tau_c_us_at_mM(10.0) == \
        flip.condition(MicrowaveSetting(118.0)).tau_c_us


@pytest.mark.parametrize("key, value", [("tau_c_scale", "relative"), ("tau_c_statistic", "mode"),
                                        ("tau_c_model", "electrons"), ("electron_t2_us", -1.0),
                                        ("ee_cutoff_nm", 0.0), ("epr_sigma_MHz", float("nan")),
                                        ("tau_c_ref_mM", 0.0), ("ee_min_dist_nm", True)])
def test_bad_keys_are_refused(key, value):
    with pytest.raises(ConfigError) as err:
        MicrowaveCalibration(**{"tau_c_model": "sample", key: value})
    assert err.value.key == key


def test_cutoff_beyond_half_the_box_is_refused(small):
    cond = MicrowaveCalibration(tau_c_model="sample", ee_cutoff_nm=4.5).condition(None)
    with pytest.raises(ConfigError) as err:
        small.pair_rates(cond)
    assert err.value.key == "microwave.ee_cutoff_nm"


def _bundled_doc(microwave, n_radicals=20):
    import os

    from latticedns.tomlfile import read_toml

    runs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs")
    doc, _ = read_toml(os.path.join(runs, "hypres-mw-off.toml"), "run file")
    doc["microwave"].update(microwave)
    doc["run"].update({"profile_times_s": [], "n_radicals": n_radicals})
    doc["variant"] = [v for v in doc["variant"] if v["name"] == "positive"]
    next(st for st in doc["stage"] if st["type"] == "detect")["n_pulses"] = 4
    return doc, runs


def test_run_file_switch():
    """[microwave] tau_c_model = "sample" needs no other change of a run file; the anchor
    keeps the flip-flop tau_c in the stage table, the absolute scale is named by its key."""
    from latticedns.experiment import execute_run, parse_run_document

    doc, runs = _bundled_doc({"tau_c_model": "sample"})
    spec = parse_run_document(doc, runs)[0]
    assert spec.calibration.electron_flipflops.scale == pytest.approx(992, rel=0.01)
    result = execute_run(spec).result
    assert np.all(np.isfinite(result.visible)) and result.visible[-1] > 0
    doc, runs = _bundled_doc({"tau_c_model": "sample", "tau_c_scale": "absolute",
                              "electron_t2_us": 0.5, "epr_sigma_MHz": 100.0})
    cal = parse_run_document(doc, runs)[0].calibration
    assert (cal.electron_flipflops.scale, cal.electron_flipflops.epr_sigma_MHz) == (1.0, 100.0)
    doc, runs = _bundled_doc({"tau_c_model": "sample"}, n_radicals=8)  # 2 r_MV > box / 2
    with pytest.raises(ConfigError) as err:
        execute_run(parse_run_document(doc, runs)[0])
    assert err.value.key == "microwave.ee_cutoff_nm"


def test_the_continuum_follows_the_concentration_with_sample_derived_flipflops():
    """Issue 15 item 3: a model without explicit radicals runs at the reference radical's
    tau_c of its own concentration: the anchor's value at 50 mM, longer at 10 mM (fewer
    neighbours), and the same tau_c for every concentration with the "flipflop" model."""
    from dataclasses import replace

    from latticedns.continuum import ContinuumModel, ContinuumParameters
    from latticedns.continuum.model import at_concentration
    from latticedns.protocol import MicrowaveCalibration
    from latticedns.protocol.microwave import MicrowaveSetting

    cal = MicrowaveCalibration(tau_c_model="sample")
    on = cal.condition(MicrowaveSetting(118.0, 1))
    assert on.electrons is not None
    assert at_concentration(on, 50.0).tau_c_us == pytest.approx(on.tau_c_us, rel=1e-9)
    slow = at_concentration(on, 10.0)
    assert slow.electrons is None and slow.tau_c_us > 5 * on.tau_c_us
    model = ContinuumModel(ContinuumParameters(radical_mM=10.0))
    a, b = model.system(on), model.system(slow)
    assert (a.operator != b.operator).nnz == 0 and np.array_equal(a.source, b.source)
    flat = MicrowaveCalibration().condition(MicrowaveSetting(118.0, 1))
    assert at_concentration(flat, 10.0) is flat
    assert replace(on, electrons=None).tau_c_us_at_mM(10.0) == on.tau_c_us


def test_the_cutoff_rule_in_units_of_r_mv():
    from latticedns.protocol import MicrowaveCalibration

    n = 50e-3 * 6.02214076e23 / 1e24  # 50 mM in nm^-3
    r_mv = (3.0 / (4.0 * np.pi * n)) ** (1.0 / 3.0)
    assert ElectronFlipflops(epr_sigma_MHz=200.0).cutoff_at(n) == pytest.approx(2 * r_mv)
    three = MicrowaveCalibration(tau_c_model="sample", tau_c_scale="absolute",
                                 ee_cutoff_rmv=3.0).electron_flipflops
    assert three.cutoff_at(n) == pytest.approx(3 * r_mv)
    with pytest.raises(ConfigError, match="ee_cutoff_rmv"):
        MicrowaveCalibration(tau_c_model="sample", ee_cutoff_rmv=0.1)
