"""The continuum model's contract: system, coefficients, observables and validation."""

import os

import numpy as np
import pytest
import scipy.linalg as sla
from scipy.optimize import brentq

from latticedns.conditions import ElectronCondition
from latticedns.continuum import ContinuumModel, ContinuumParameters, graded_vertices
from latticedns.continuum.mesh import element_size_nm
from latticedns.couplings import averaged_hyperfine_pseudosecular_sq, averaged_hyperfine_secular
from latticedns.diffusion import DiffusionConditions, diffusion_coefficient
from latticedns.errors import ConfigError
from latticedns.rates import paramagnetic_relaxation_rate
from latticedns.system import LinearSystem

P_E = 0.99926


@pytest.fixture(scope="module")
def model():
    return ContinuumModel()


def shell_mean(f_antiderivative_r2, lo, hi):
    """int_lo^hi r^2 f dr / int_lo^hi r^2 dr from the antiderivative of r^2 f."""
    return (f_antiderivative_r2(hi) - f_antiderivative_r2(lo)) / ((hi**3 - lo**3) / 3)


def test_system_is_symmetric_dissipative_and_cached(model):
    cond = ElectronCondition(pbar=0.5, tau_c_us=0.5, dnp_rate_per_s=0.2, dnp_target=0.7)
    sysm = model.system(cond)
    assert isinstance(sysm, LinearSystem) and model.system(cond) is sysm
    A, M = sysm.operator.toarray(), sysm.mass.toarray()
    assert A.shape == M.shape == (model.n, model.n) and sysm.source.shape == (model.n,)
    assert np.abs(A - A.T).max() == 0 and np.abs(M - M.T).max() == 0
    assert np.linalg.eigvalsh(A).max() < 0  # relaxation: negative definite
    assert np.linalg.eigvalsh(M).min() > 0
    other = model.system(ElectronCondition(pbar=P_E))
    assert np.array_equal(other.operator.indptr, sysm.operator.indptr)
    assert np.array_equal(other.operator.indices, sysm.operator.indices)


def test_coefficients_come_from_the_core_functions(model):
    cond = ElectronCondition(pbar=0.3, tau_c_us=1.0, dnp_rate_per_s=0.5)
    r = np.linspace(0.3, 2.0, 7)
    dc = DiffusionConditions(tau_c_us=1.0, lineshape=model.params.lineshape)
    np.testing.assert_array_equal(model.diffusion(cond, r), diffusion_coefficient(r, 0.3, dc))
    g1 = paramagnetic_relaxation_rate(averaged_hyperfine_pseudosecular_sq(r), 0.3, 1e6, dc.omega_0)
    np.testing.assert_array_equal(model.relaxation(cond, r), 2 * g1 + 1.0 / model.params.t1_bulk_s)
    np.testing.assert_allclose(model.dnp_rates(cond, r), 0.5 * (0.9 / r) ** 6, rtol=1e-15)
    # tau_c is taken from the condition (0.5 us by default, not 1 us)
    assert not np.allclose(model.diffusion(ElectronCondition(pbar=0.3), r),
                           diffusion_coefficient(r, 0.3, dc))


def test_eq6_correlation_time_follows_the_condition(model):
    """Eq. 6 at 1/T1e (the default calibration) in R(r) and in the line width of D(r)."""
    r = np.linspace(0.3, 2.0, 7)
    cond = ElectronCondition(pbar=0.5, tau_c_us=0.5, relaxation_tau_c_us=1e6)  # T1e = 1 s
    dc = DiffusionConditions(tau_c_us=0.5, relaxation_tau_c_us=1e6,
                             lineshape=model.params.lineshape)
    assert dc.gamma_c_relaxation == 1.0 and dc.gamma_c == 2e6
    g1 = paramagnetic_relaxation_rate(averaged_hyperfine_pseudosecular_sq(r), 0.5, 1.0, dc.omega_0)
    np.testing.assert_array_equal(model.relaxation(cond, r), 2 * g1 + 1.0 / model.params.t1_bulk_s)
    np.testing.assert_array_equal(model.diffusion(cond, r), diffusion_coefficient(r, 0.5, dc))
    # the flip-flop Gamma_c in Eq. 6 (the paper) relaxes ~1e6 times faster
    paper = model.relaxation(ElectronCondition(pbar=0.5, tau_c_us=0.5), r) - 1.0 / model.params.t1_bulk_s
    w2 = dc.omega_0 ** 2
    np.testing.assert_allclose(paper / (2 * g1), 2e6 * (1 + w2) / (4e12 + w2), rtol=1e-12)
    with pytest.raises(ConfigError, match="relaxation_tau_c_us"):
        DiffusionConditions(relaxation_tau_c_us=0.0)


def test_steady_state_without_dnp_is_thermal(model):
    p_th = model.params.proton_thermal
    sysm = model.system(ElectronCondition(pbar=0.5))
    p = sla.solve(sysm.operator.toarray(), -sysm.source)
    # a dense solve is accurate to ~eps cond(A): the 2e-5 nm boundary elements make the
    # operator stiff (cond ~1e11), so 2e-10 rather than 1e-14
    np.testing.assert_allclose(p, p_th, rtol=1e-8)
    sysm = model.system(ElectronCondition(pbar=0.5, dnp_rate_per_s=1e3, dnp_target=-0.7))
    p = sla.solve(sysm.operator.toarray(), -sysm.source)
    assert p.min() > -0.7 - 1e-12 and p[np.argmin(model.nodes_nm)] < -0.69


def test_visible_boundary_radius_and_node(model):
    # default: equal hidden volume with the lattice (tests/test_continuum_boundary.py)
    rb = model.visible_radius_nm(P_E, 200.0)
    assert rb == pytest.approx(0.67285, abs=1e-5)
    v = model.vertices_nm[np.argmin(np.abs(model.vertices_nm - rb))]
    assert abs(v - rb) < 2e-8  # the vertex is placed for the exact thermal 0.9992600565
    assert model.boundary_radius_nm(P_E, 200.0) == v  # ...and P_E = 0.99926 snaps onto it
    exact = model.params.electron_thermal
    assert model.boundary_radius_nm(exact) == model.visible_radius_nm(exact) == v
    assert model.visible_radius_nm(0.0, 200.0) == model.params.r_in_nm  # nothing hidden
    assert np.all(np.isnan(model.observable_weights(0.0, 200.0)[1]))
    assert model.saturation_mask(0.0, 200.0).all()  # every DOF visible
    extra = ContinuumModel(ContinuumParameters(boundary_pbars=(0.5,)))
    assert np.any(np.isclose(extra.nodes_nm, extra.visible_radius_nm(0.5, 200.0), atol=1e-14))
    # boundary_averaging = "rms": where the rms-averaged shift |A_z| P / 2 equals 100 kHz
    rms = ContinuumModel(ContinuumParameters(boundary_averaging="rms"))
    f = lambda r: averaged_hyperfine_secular(r) * P_E / 2 - 2 * np.pi * 100e3  # noqa: E731
    rb = brentq(f, 0.3, 2.0, xtol=1e-14)
    assert rms.visible_radius_nm(P_E, 200.0) == pytest.approx(rb, rel=1e-12)
    assert rb == pytest.approx(0.707, abs=1e-3)
    assert rms.boundary_radius_nm(P_E, 200.0) == rms.vertices_nm[
        np.argmin(np.abs(rms.vertices_nm - rb))]
    assert rms.visible_radius_nm(0.0, 200.0) == 0.0


def test_boundary_averaging_from_a_run_file():
    from latticedns.experiment import parameters_of, parse_run_document
    geom = os.path.join(os.path.dirname(__file__), "..", "geometries", "dnp-juice-50mM.toml")
    doc = {"run": {"model": "continuum", "sample": os.path.abspath(geom)},
           "physics": {"boundary_averaging": "mean_abs"},
           "stage": [{"type": "delay", "duration_s": 1.0}]}
    spec, = parse_run_document(doc)
    assert spec.physics.boundary_averaging == "mean_abs" and spec.physics.averaging == "rms"
    assert parameters_of(spec)["physics"]["boundary_averaging"] == "mean_abs"
    del doc["physics"]
    spec, = parse_run_document(doc)
    assert parameters_of(spec)["physics"]["boundary_averaging"] == "equal_volume"
    doc["physics"] = {"boundary_averaging": "median"}
    with pytest.raises(ConfigError) as info:
        parse_run_document(doc)
    assert info.value.key == "physics.boundary_averaging"


@pytest.mark.parametrize("pbar", [P_E, 0.5, -0.8])  # boundary at a node / inside an element
def test_observable_weights_are_exact_volume_means(model, pbar):
    W = model.observable_weights(pbar, 200.0)
    assert W.shape == (2, model.n)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-13)
    r0, r1, rb = model.nodes_nm.min(), model.nodes_nm.max(), model.boundary_radius_nm(pbar)
    # p = r^2 is interpolated exactly by P2: means of r^2 with weight r^2 (antiderivative r^5/5)
    p = model.nodes_nm**2
    F = lambda r: r**5 / 5  # noqa: E731
    assert W[0] @ p == pytest.approx(shell_mean(F, rb, r1), rel=1e-13)
    assert W[1] @ p == pytest.approx(shell_mean(F, r0, rb), rel=1e-13)


@pytest.mark.parametrize("pbar", [P_E, 0.5])
def test_saturation_keeps_the_hidden_mean(model, pbar):
    mask = model.saturation_mask(pbar, 200.0)
    rb = model.boundary_radius_nm(pbar, 200.0)
    assert mask.dtype == bool and np.all(model.nodes_nm[mask] > rb)
    W = model.observable_weights(pbar, 200.0)
    p = np.random.default_rng(1).uniform(0.2, 0.7, model.n)
    sat = np.where(mask, 0.0, p)
    assert W[1] @ sat == W[1] @ p  # bit for bit: no hidden weight on a saturated DOF
    if pbar == P_E:  # boundary at a node + a 1e-3 nm sliver: the visible region is emptied
        assert abs(W[0] @ sat) < 1e-4 * p.max()
        assert mask.sum() >= np.count_nonzero(model.nodes_nm > rb + 1.1e-3)


def test_radial_profile_weights(model):
    edges = [0.0, 0.5, 1.0, 1.5, 2.5, 3.0]
    W = model.radial_profile_weights(edges)
    assert W.shape == (5, model.n)
    np.testing.assert_allclose(W[:4].sum(axis=1), 1.0, rtol=1e-13)
    assert np.all(np.isnan(W[4]))  # beyond r_MV: empty shell
    r0, r1 = model.nodes_nm.min(), model.nodes_nm.max()
    F = lambda r: r**5 / 5  # noqa: E731
    assert W[0] @ model.nodes_nm**2 == pytest.approx(shell_mean(F, r0, 0.5), rel=1e-13)
    assert W[3] @ model.nodes_nm**2 == pytest.approx(shell_mean(F, 1.5, r1), rel=1e-13)
    with pytest.raises(ConfigError, match="bin_edges_nm"):
        model.radial_profile_weights([1.0, 0.5])


def test_mesh_grading_and_boundaries():
    v = graded_vertices(0.3, 2.0, h_max_nm=0.17)
    assert v.size == 11 and v[0] == 0.3 and v[-1] == 2.0 and np.ptp(np.diff(v)) < 1e-12
    kw = dict(h_max_nm=0.05, h_inner_nm=0.005, growth=1.25, boundaries_nm=[0.7, 5.0],
              h_boundary_nm=1e-5)
    v = graded_vertices(0.3, 2.0, **kw)
    h = np.diff(v)
    b = int(np.flatnonzero(v == 0.7)[0])  # a vertex; 5.0 (outside) ignored
    assert h[b - 1] == pytest.approx(1e-5, rel=0.15) and h[b] == pytest.approx(1e-5, rel=0.15)
    assert h[0] == pytest.approx(0.005, rel=0.15) and h.max() <= 0.05 * 1.05
    assert np.all(h[1:] / h[:-1] < 1.25 * 1.1) and np.all(h[:-1] / h[1:] < 1.25 * 1.1)
    # the sizes follow h(r) (mid-element) within the equidistribution's few per cent
    target = element_size_nm(0.5 * (v[1:] + v[:-1]), 0.3, 0.005, 0.05, 1.25, [0.7], 1e-5)
    assert np.all(np.abs(h / target - 1) < 0.15)
    # refinement m: sizes / m, growth - 1 over m: about m times the elements
    fine = graded_vertices(0.3, 2.0, h_max_nm=0.025, h_inner_nm=0.0025, growth=1.125,
                           boundaries_nm=[0.7], h_boundary_nm=5e-6)
    assert 1.9 < (fine.size - 1) / (v.size - 1) < 2.2 and np.any(fine == 0.7)


def test_default_mesh_follows_the_diffusion_coefficient():
    """Where D(r) of the Gaussian line falls by decades (0.8-1.1 nm with microwaves off),
    no element spans more than mesh_lnD_step of ln D; the boundary is a vertex with
    h_boundary_nm elements on both sides; mesh_refinement 2 doubles the elements."""
    from latticedns.protocol.microwave import OFF, MicrowaveCalibration
    model = ContinuumModel(ContinuumParameters())
    v = model.vertices_nm
    cond = MicrowaveCalibration().condition(OFF)
    jump = np.abs(np.diff(np.log(model.diffusion(cond, v))))
    assert jump.max() <= 1.05 * model.params.mesh_lnD_step
    rb = model.visible_radius_nm(model.params.electron_thermal)
    b = int(np.argmin(np.abs(v - rb)))
    assert v[b] == rb and np.diff(v)[b] == pytest.approx(2e-5, rel=0.15)
    finer = ContinuumModel(ContinuumParameters(mesh_refinement=2.0))
    assert 1.9 < (finer.vertices_nm.size - 1) / (v.size - 1) < 2.2


@pytest.mark.parametrize("key, value", [
    ("radical_mM", -1.0), ("r_in_nm", 0.0), ("r_in_nm", 2.5), ("a_nm", 0.0),
    ("gamma2_II_kHz", np.nan), ("b0_T", -7.0), ("temperature_K", 0.0), ("t1_bulk_s", 0.0),
    ("dnp_r0_nm", -0.9), ("averaging", "median"), ("boundary_averaging", "median"),
    ("boundary_averaging", "equal_volume_x"), ("limit", "medium"), ("mesh_refinement", 0),
    ("mesh_refinement", np.inf), ("element", "P3"), ("mesh_growth", 0.5),
    ("mesh_growth", np.inf), ("h_max_nm", 0.0), ("h_inner_nm", -1.0), ("h_boundary_nm", np.nan),
    ("mesh_lnD_step", 0.0), ("bandwidth_kHz", 0.0), ("boundary_pbars", (1.5,)),
    ("boundary_pbars", 0.5), ("intorder", 0), ("radical_mM", "50"),
])
def test_bad_parameters_name_the_key(key, value):
    with pytest.raises(ConfigError) as info:
        ContinuumParameters(**{key: value})
    assert info.value.key == key


def test_continuous_pulse_loss_matches_discrete_pulses_on_the_mass_matrix():
    """The continuous pulse model weights the loss by the mass matrix (D M D).

    Measured: 7.5e-7 (0.1 degree) and 3.0e-4 (2 degrees) of the peak over 64 reads; without
    the mass weighting 0.5 % and 56 %.
    """
    from latticedns.protocol import Delay, Detect, Microwave, Saturate, SelectiveSaturate, run_protocol
    model = ContinuumModel(ContinuumParameters())
    for angle, tol in ((0.1, 5e-6), (2.0, 1e-3)):
        stages = [Saturate(), Microwave(640.0, 118.0, 1), Delay(10.0), SelectiveSaturate(200.0),
                  Detect(64, 10.0, angle)]
        a = run_protocol(model, stages, pulse_model="discrete", method="dense")
        b = run_protocol(model, stages, pulse_model="continuous", method="dense")
        det = a.stage == a.stage.max()
        err = np.max(np.abs(a.visible[det] - b.visible[det])) / np.abs(a.visible[det]).max()
        assert err < tol
