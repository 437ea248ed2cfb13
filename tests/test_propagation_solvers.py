"""The solver registry behind the Krylov method, and the engine's reuse of solves.

Every installed backend must give the dense method's observables on a real lattice schedule
(three stages, DNP source, selective saturation) within rtol; the choice of ``"auto"`` and
the fallbacks without the optional packages are checked by hiding them.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from latticedns.conditions import ElectronCondition
from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.propagation import Propagator
from latticedns.propagation import solvers as solvers_mod
from latticedns.propagation.solvers import available_solvers, choose_solver, make_solver

P_OFF = 0.99926
MW_ON = ElectronCondition(pbar=0.5, dnp_rate_per_s=0.05, dnp_target=0.9)
MW_OFF = ElectronCondition(pbar=P_OFF)
INSTALLED = available_solvers()


@pytest.fixture(scope="module")
def model():
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": 2000, "proton_density_per_nm3": 7.48, "seed": 11}))
    return LatticeModel(sample, LatticeParameters(cutoff_nm=1.2, hyperfine_cutoff_nm=2.5))


@pytest.fixture(scope="module")
def shifted(model):
    L, _ = model.operator(MW_OFF)
    return sp.csr_matrix(-L + 2.0**-7 * sp.identity(model.n))


def _schedule(model, method, rtol, **options):
    """640 s microwaves on, 10 s gate, selective saturation, 128 outputs 10 s apart."""
    C = model.observable_weights(P_OFF, 200.0)
    on = Propagator(*model.operator(MW_ON), method=method, rtol=rtol, **options)
    off = Propagator(*model.operator(MW_OFF), method=method, rtol=rtol, **options)
    r1 = on.sample(np.zeros(model.n), np.linspace(64, 640, 10), C)
    r2 = off.sample(r1.p_final, [10.0], C)
    p = np.where(model.visible(P_OFF), 0.0, r2.p_final)
    r3 = off.sample(p, 10.0 * np.arange(1, 129), C)
    return np.concatenate([r1.signals, r2.signals, r3.signals]), (r1, r2, r3)


@pytest.fixture(scope="module")
def reference(model):
    return _schedule(model, "dense", 1e-10)[0]


def _relerr(a, ref):
    return float(np.max(np.abs(a - ref) / np.abs(ref).max(axis=0)))


@pytest.mark.parametrize("name", INSTALLED)
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_every_installed_solver_meets_rtol_against_dense(model, reference, name, rtol):
    got, runs = _schedule(model, "krylov", rtol, solver=name)
    assert all(r.success and r.solver == name for r in runs)
    assert _relerr(got, reference) < 3 * rtol  # the a posteriori test is a change estimate


@pytest.mark.parametrize("name", INSTALLED)
def test_solves_match_a_dense_solve(shifted, name):
    rng = np.random.default_rng(3)
    B = rng.standard_normal((shifted.shape[0], 3))
    exact = np.linalg.solve(shifted.toarray(), B)
    s = make_solver(shifted, name, tol=1e-12)
    X = s.solve(B)
    x0 = s.solve(B[:, 0])
    # cond(A) ~ 1e8 here: a backward-stable solve is accurate to ~cond * eps forward
    tol = 1e-7 if s.exact else 1e-6  # AMG stops at a preconditioned residual of 1e-12
    assert np.max(np.abs(X - exact)) <= tol * np.max(np.abs(exact))
    np.testing.assert_allclose(x0, X[:, 0], rtol=0, atol=tol * np.max(np.abs(exact)))
    if s.exact:  # and backward stable: residual at rounding level
        scale = abs(shifted).sum(axis=1).max() * np.abs(X).max()
        assert np.abs(shifted @ X - B).max() <= 1e-13 * scale
    assert s.n_solves == 4 and s.setup_s > 0 and s.memory_bytes > 0
    assert s.exact == (name != "amg")
    assert s.setup_in_solves() == make_solver(shifted, name).setup_in_solves()  # deterministic


@pytest.mark.parametrize("name", [n for n in INSTALLED if n != "amg"])
def test_direct_solvers_refuse_a_singular_matrix(name):
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive definite|singular"):
        make_solver(A, name)


def test_unknown_solver_is_refused(shifted):
    with pytest.raises(ValueError, match="solver must be one of"):
        make_solver(shifted, "cholmod")
    with pytest.raises(ValueError, match="solver must be one of"):
        Propagator(shifted, solver="cholmod")


def test_auto_choice_and_fallbacks(shifted, monkeypatch):
    first = choose_solver(shifted)
    assert first.name == ("pardiso" if "pardiso" in INSTALLED else "dense")
    # without the optional packages: dense up to DENSE_MAX, SuperLU above
    monkeypatch.setattr(solvers_mod, "available_solvers", lambda: ["dense", "splu"])
    assert choose_solver(shifted).name == "dense"
    monkeypatch.setattr(solvers_mod, "DENSE_MAX", 100)
    assert choose_solver(shifted).name == "splu"
    if "amg" not in INSTALLED:
        return
    monkeypatch.setattr(solvers_mod, "available_solvers", lambda: ["dense", "splu", "amg"])
    assert choose_solver(shifted).name == "amg"
    monkeypatch.setattr(solvers_mod, "DENSE_MAX", 6000)  # dense only while 8 n^2 fits
    assert choose_solver(shifted, budget_bytes=4 * 8 * shifted.shape[0] ** 2).name == "dense"
    assert choose_solver(shifted, budget_bytes=8 * shifted.shape[0] ** 2).name == "amg"
    assert choose_solver(shifted, 8 * shifted.shape[0] ** 2, direct=True).name == "splu"


@pytest.mark.skipif("pardiso" not in INSTALLED or "amg" not in INSTALLED,
                    reason="needs pypardiso and pyamg")
def test_auto_takes_amg_when_the_factor_would_not_fit(shifted, monkeypatch):
    monkeypatch.setattr(solvers_mod, "DENSE_MAX", 100)
    s = solvers_mod.PardisoSolver(shifted)
    assert s.memory_bytes > 0 and s.factor_nnz > shifted.shape[0]
    assert choose_solver(shifted, budget_bytes=2 * s.memory_bytes).name == "amg"
    assert choose_solver(shifted, budget_bytes=8 * s.memory_bytes).name == "pardiso"


def test_long_stage_is_propagated_around_its_stationary_state(model):
    """With a solver whose 2-column solves cost nearly 2 (SuperLU), a long stage runs the
    stationary state and then one run from ``p0 - p_ss``; a short one, source and state."""
    L, s = model.operator(MW_OFF)
    C = model.observable_weights(P_OFF, 200.0)
    p0 = np.where(model.visible(P_OFF), 0.0, 0.7)
    t = 10.0 * np.arange(1, 1025)
    long = Propagator(L, s, rtol=1e-8, solver="splu").sample(p0, t, C)
    short = Propagator(L, s, rtol=1e-8, solver="splu").sample(p0, [10.0], C)
    dense = Propagator(L, s, method="dense")
    assert long.source_mode == "stationary" and short.source_mode == "source"
    assert _relerr(long.signals, dense.sample(p0, t, C).signals) < 1e-7
    assert _relerr(short.signals, dense.sample(p0, [10.0], C).signals) < 1e-7
    # from p0 = 0 only the source run is needed
    zero = Propagator(L, s, solver="splu").sample(np.zeros(model.n), t, C)
    assert zero.source_mode == "source"


@pytest.mark.parametrize("solver", INSTALLED)
def test_cheap_block_solves_run_source_and_state_in_lockstep(model, shifted, solver):
    """Where two columns cost little more than one (`Solver.block_cost`: the dense factor),
    the source run and the run from p0 go in lockstep, one block solve per step, in fewer
    steps than the sequential modes' solves; elsewhere they run one after the other.
    Either way the result is the dense method's within rtol."""
    from latticedns.propagation._krylov_method import LOCKSTEP_BLOCK_COST
    lockstep = make_solver(shifted, solver, build=False).block_cost(2) <= LOCKSTEP_BLOCK_COST
    L, s = model.operator(MW_OFF)
    C = model.observable_weights(P_OFF, 200.0)
    p0 = np.where(model.visible(P_OFF), 0.0, 0.7)
    dense = Propagator(L, s, method="dense")
    for t in (10.0 * np.arange(1, 1025), np.array([10.0])):
        res = Propagator(L, s, rtol=1e-8, solver=solver).sample(p0, t, C)
        seq = Propagator(L, s, rtol=1e-8, solver="splu").sample(p0, t, C)
        if lockstep:
            assert res.source_mode == "lockstep"
            assert res.n_solves <= 2 * res.krylov_dim + 1  # columns: at most two per step
            assert res.krylov_dim < seq.n_solves  # steps (block solves) fewer than sequential
        else:
            assert res.source_mode in ("stationary", "source")
        ref = dense.sample(p0, t, C)
        assert _relerr(res.signals, ref.signals) < 1e-7
        assert _relerr(res.p_final, ref.p_final) < 1e-7
    assert (solver == "dense") <= lockstep  # the dense factor always qualifies


def test_lockstep_runs_match_lone_runs(model):
    """`si_lanczos_together` gives each run what `si_lanczos` gives it alone (to rounding)."""
    from latticedns.propagation._si_lanczos import LanczosRun, si_lanczos, si_lanczos_together
    L, s = model.operator(MW_OFF)
    A = sp.csr_matrix(-L + 0.25 * sp.identity(model.n))
    solver = make_solver(A, "dense")
    C = model.observable_weights(P_OFF, 200.0)
    grid = np.linspace(0.5, 20.0, 40)
    starts = [(solver.solve(s), "src"), (np.where(model.visible(P_OFF), 0.0, 0.7), "exp")]
    opts = dict(rtol=1e-9, m_max=200)
    alone = [si_lanczos(solver.solve, None, b, 0.25, grid, C, kind, **opts) for b, kind in starts]
    together = si_lanczos_together(solver.solve, [
        LanczosRun(None, b, 0.25, grid, C, kind, **opts) for b, kind in starts])
    for a, b in zip(alone, together):
        assert a.n_solves == b.n_solves and a.converged and b.converged
        assert np.allclose(a.signals, b.signals, rtol=1e-12, atol=1e-15 * np.abs(a.signals).max())


def test_pool_shares_solvers_and_forks_keep_their_own_choices(model):
    L, s = model.operator(MW_OFF)
    C = model.observable_weights(P_OFF, 200.0)
    p0 = np.full(model.n, 0.5)
    pool = {}
    a = Propagator(L, s, rtol=1e-8, pool=(pool, "off"))
    b = Propagator(L, s, rtol=1e-8, pool=(pool, "off"))
    ra, rb = a.sample(p0, [10.0], C), b.sample(p0, [10.0], C)
    assert (ra.n_factorizations, rb.n_factorizations) == (1, 0)
    np.testing.assert_array_equal(ra.signals, rb.signals)
    twin = a.fork()
    a.sample(p0, 10.0 * np.arange(1, 1025), C)  # builds a second shift in a only
    assert len(a._method.solvers()) == 2 and len(twin._method.solvers()) == 1
    # the twin takes the pool's solver for that shift instead of building it
    assert twin.sample(p0, 10.0 * np.arange(1, 1025), C).n_factorizations == 0


def test_solver_reuse_depends_on_the_shift_mismatch(model):
    """A 10 s gate then a 10^4 s detection: the detection's own shift gets its own solver
    when a mismatched one would cost more solves than building one (small n here)."""
    L, s = model.operator(MW_OFF)
    C = model.observable_weights(P_OFF, 200.0)
    p0 = np.full(model.n, 0.5)
    prop = Propagator(L, s, rtol=1e-6, solver="dense")
    prop.sample(p0, [10.0], C)
    det = prop.sample(p0, 10.0 * np.arange(1, 1025), C)
    assert det.n_factorizations == 1
    fixed = Propagator(L, s, rtol=1e-6, solver="dense", shift=0.25)
    fixed.sample(p0, [10.0], C)
    slow = fixed.sample(p0, 10.0 * np.arange(1, 1025), C)
    assert slow.n_factorizations == 0 and slow.n_solves > det.n_solves


def test_a_plan_shares_one_solver_between_a_gate_and_a_detection(model, reference):
    """Told both stages, the operator builds one solver at the detection's shift (the gate
    pays a few solves for a shift too small) instead of two; the results still meet rtol."""
    L, s = model.operator(MW_OFF)
    C = model.observable_weights(P_OFF, 200.0)
    p0 = np.full(model.n, 0.5)
    detect = 10.0 * np.arange(1, 1025)
    dense = Propagator(L, s, method="dense")
    planned = Propagator(L, s, rtol=1e-8, solver="dense").plan([10.0, np.sqrt(10.0 * 10240.0)])
    gate = planned.sample(p0, [10.0], C)
    det = planned.sample(gate.p_final, detect, C)
    assert (gate.n_factorizations, det.n_factorizations) == (1, 0)
    assert list(planned._method.solvers()) == [2.0**-7]
    assert _relerr(det.signals, dense.sample(dense.sample(p0, [10.0]).p_final, detect, C).signals) < 3e-8
    unplanned = Propagator(L, s, rtol=1e-8, solver="dense")
    unplanned.sample(p0, [10.0], C)
    assert unplanned.sample(gate.p_final, detect, C).n_factorizations == 1  # a second solver
    with pytest.raises(ValueError, match="positive finite"):
        Propagator(L, s).plan([])
    with pytest.raises(ValueError, match="positive finite"):
        Propagator(L, s).plan([10.0, -1.0])


@pytest.mark.skipif("amg" not in INSTALLED, reason="needs pyamg")
def test_auto_weighs_set_up_against_the_expected_solves(shifted, monkeypatch):
    """A costly factor with cheap solves against a cheap hierarchy with costly solves:
    AMG for a few solves, the factor for many (estimates replaced by round numbers)."""
    monkeypatch.setattr(solvers_mod, "available_solvers", lambda: ["dense", "splu", "amg"])
    monkeypatch.setattr(solvers_mod.DenseSolver, "estimated_seconds", lambda self: (100.0, 0.01))
    monkeypatch.setattr(solvers_mod.AMGSolver, "estimated_seconds", lambda self: (0.1, 1.0))
    assert choose_solver(shifted, expected_solves=5).name == "amg"
    assert choose_solver(shifted, expected_solves=500).name == "dense"
    solver = make_solver(shifted, expected_solves=5, build=False)
    assert not solver.built
    with pytest.raises(RuntimeError, match="not built"):
        solver.solve(np.ones(shifted.shape[0]))


@pytest.mark.skipif("pardiso" not in INSTALLED, reason="needs pypardiso")
def test_pardiso_factors_of_one_pattern_share_one_analysis(shifted):
    """Solvers of one sparsity pattern are slots of one PARDISO handle (one analysis); more
    than MAX_FACTORS live factors open a second handle, freed slots are reused, and every
    factor solves its own matrix."""
    from latticedns.propagation.solvers import _pardiso
    n = shifted.shape[0]
    eye = sp.identity(n, format="csr")
    count = _pardiso.MAX_FACTORS + 2
    solvers = [make_solver(shifted + 0.1 * k * eye, "pardiso") for k in range(count)]
    families = {id(s._family) for s in solvers}
    assert len(families) == 2
    b = np.random.default_rng(3).standard_normal(n)
    for k, s in enumerate(solvers):
        x = s.solve(b)
        assert np.linalg.norm((shifted + 0.1 * k * eye) @ x - b) < 1e-10 * np.linalg.norm(b)
    first = solvers[0]._family
    free_before = len(first.free)
    del solvers[:3]
    assert len(first.free) == free_before + 3
    again = make_solver(shifted + 5.0 * eye, "pardiso")
    assert again._family is first and len(first.free) == free_before + 2
    assert np.linalg.norm((shifted + 5.0 * eye) @ again.solve(b) - b) < 1e-10 * np.linalg.norm(b)
