"""The ``solver="pcg"`` option of the krylov method: sparsified-factor preconditioned CG."""

import numpy as np
import pytest
import scipy.sparse as sp

from latticedns.conditions import ElectronCondition
from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.propagation import PropagationOptions, Propagator
from latticedns.propagation._pcg import PCGSolver, sparsify

P_OFF = 0.99926
MW_ON = ElectronCondition(pbar=0.5, dnp_rate_per_s=0.05, dnp_target=0.9)
MW_OFF = ElectronCondition(pbar=P_OFF)


def _model(n, seed):
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": n, "proton_density_per_nm3": 7.48, "seed": seed}))
    return LatticeModel(sample, LatticeParameters(hyperfine_cutoff_nm=min(3.0, 0.49 * sample.box_nm),
                                                    t1_bulk_s=np.inf, cutoff_nm=1.0,
                                                    lineshape="lorentzian"))  # the methods as tuned


@pytest.fixture(scope="module")
def model():
    return _model(2000, 5)


def _schedule(model, method, **opts):
    """640 s on, 10 s off, selective saturation, 64 outputs 10 s apart (as `latticedns.benchmark`)."""
    C = model.observable_weights(P_OFF, 200.0)
    on = Propagator(*model.operator(MW_ON), method=method, **opts)
    off = Propagator(*model.operator(MW_OFF), method=method, **opts)
    r1 = on.sample(np.zeros(model.n), np.linspace(64, 640, 10), C)
    r2 = off.sample(r1.p_final, [10.0], C)
    p = np.where(model.visible(P_OFF), 0.0, r2.p_final)
    r3 = off.sample(p, 10.0 * np.arange(1, 65), C)
    return np.concatenate([r1.signals, r2.signals, r3.signals]), (r1, r2, r3)


def test_pcg_agrees_with_direct(model):
    # direct vs dense is covered by tests/test_lattice_propagation.py (measured here: pcg
    # vs dense 4.7e-11, direct vs dense 8.5e-11; the dense reference alone takes ~10 s)
    pcg, runs = _schedule(model, "krylov", rtol=1e-10, solver="pcg")
    direct, druns = _schedule(model, "krylov", rtol=1e-10, solver="direct")
    scale = np.abs(direct).max(axis=0)
    assert np.max(np.abs(pcg - direct) / scale) < 1e-8
    assert all(r.success for r in runs)
    # inner iterations are counted as matvecs; the outer solves are the same kind of work
    assert all(r.n_matvec >= 5 * r.n_solves > 0 for r in runs)
    assert all(r.n_matvec == 0 for r in druns)
    assert [r.n_factorizations for r in runs] == [1, 1, 0]  # one per operator, cached


def test_pcg_conserves_the_total_exactly(model):
    L, s = model.operator(ElectronCondition(pbar=1.0))  # no relaxation, no source
    p0 = np.random.default_rng(0).uniform(-1, 1, model.n)
    res = Propagator(L, s, solver="pcg", rtol=1e-8).sample(
        p0, [1.0, 100.0, 1e4], np.ones((1, model.n)), states_at=[1e4])
    np.testing.assert_allclose(res.signals[:, 0], p0.sum(), rtol=1e-12)
    assert abs(res.states[0].sum() - p0.sum()) < 1e-12 * np.abs(p0).sum()


def test_sparsified_preconditioner_is_spd_and_below_the_operator():
    m = _model(600, 7)
    L, _ = m.operator(MW_OFF)
    K = sp.csr_matrix(-L)
    sigma = 2.0 ** -8
    A = (K + sigma * sp.identity(m.n)).toarray()
    Ks = sparsify(K, 3)
    assert Ks.nnz < 0.4 * K.nnz
    P = (Ks + sigma * sp.identity(m.n)).toarray()
    np.testing.assert_allclose(P, P.T, rtol=0, atol=1e-12 * np.abs(P).max())
    assert np.linalg.eigvalsh(P).min() > 0.0
    D = A - P  # Laplacian of the dropped pairs: zero row sums, PSD
    np.testing.assert_allclose(D.sum(axis=1), 0.0, atol=1e-9 * np.abs(A).max())
    # eigenvalues of P^{-1} A (generalized symmetric problem) are >= 1: P <= A
    Lc = np.linalg.cholesky(P)
    Li = np.linalg.inv(Lc)
    ev = np.linalg.eigvalsh(Li @ A @ Li.T)
    assert ev.min() >= 1.0 - 1e-9  # eigvalsh roundoff at condition numbers ~1e5
    assert ev.max() < 1e3


def test_pcg_solver_reaches_its_tolerance():
    m = _model(600, 8)
    K = sp.csr_matrix(-m.operator(MW_OFF)[0])
    A = sp.csr_matrix(K + 2.0 ** -8 * sp.identity(m.n))
    Pm = (sparsify(K, 5) + 2.0 ** -8 * sp.identity(m.n)).toarray()
    pinv = np.linalg.inv(Pm)
    solver = PCGSolver(A, lambda r: pinv @ r, tol=1e-12)
    b = np.random.default_rng(1).standard_normal(m.n)
    x = solver(b)
    xe = np.linalg.solve(A.toarray(), b)
    assert np.linalg.norm(x - xe) <= 1e-9 * np.linalg.norm(xe)
    assert solver.n_solves == 1 and 0 < solver.iterations == solver.max_iterations < 100
    assert solver.failures == 0


@pytest.mark.parametrize("bad", [dict(solver="lu"), dict(solver=None), dict(pcg_keep=0),
                                 dict(pcg_keep=2.5), dict(pcg_tol=0.0), dict(pcg_tol=1.0)])
def test_solver_option_validation(bad):
    with pytest.raises(ValueError):
        PropagationOptions(**bad)


def test_solver_option_defaults():
    o = PropagationOptions()
    assert o.solver == "direct" and o.pcg_keep == 5
    assert o.inner_tol == 1e-12  # tied to rtol = 1e-8
    assert PropagationOptions(rtol=1e-4).inner_tol == 1e-10
    assert PropagationOptions(pcg_tol=1e-9).inner_tol == 1e-9


def test_auto_solver_falls_back_to_direct_with_a_mass_matrix(model):
    L, s = model.operator(MW_OFF)
    prop = Propagator(L, s, M=sp.identity(model.n), solver="auto")
    assert prop._method.solver() == "direct"
