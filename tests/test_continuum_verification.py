"""Verification of the radial finite elements: spectra, convergence, steady state, conservation.

Time evolution uses dense generalized eigen-decompositions (scipy.linalg.eigh(K, M)),
independent of the package's propagator.
"""

import numpy as np
import pytest
import scipy.linalg as sla
from scipy.integrate import solve_bvp
from scipy.optimize import brentq
from scipy.sparse.linalg import eigsh
from scipy.special import spherical_jn, spherical_yn
from skfem import Functional, asm

from latticedns.conditions import ElectronCondition
from latticedns.continuum import (ContinuumModel, ContinuumParameters, assemble_load,
                                  assemble_mass, assemble_reaction, assemble_stiffness,
                                  graded_vertices, quadrature_radii, radial_basis)

R_IN, R_OUT = 0.3, 1.9940229906516405  # r_MV at 50 mM


def shell_wavenumbers(a, b, count):
    """First ``count`` positive roots k of j1(k a) y1(k b) - j1(k b) y1(k a) = 0 (1/nm)."""
    g = lambda k: (spherical_jn(1, k * a) * spherical_yn(1, k * b)  # noqa: E731
                   - spherical_jn(1, k * b) * spherical_yn(1, k * a))
    ks = np.linspace(1e-3, 40.0, 40001)
    v = g(ks)
    roots = [brentq(g, ks[i], ks[i + 1], xtol=1e-15, rtol=1e-15)
             for i in np.flatnonzero(np.sign(v[:-1]) != np.sign(v[1:]))]
    return np.array(roots[:count])


@pytest.mark.parametrize("element, n_el", [("P1", 600), ("P2", 60)])
def test_constant_d_spectrum_matches_spherical_shell(element, n_el):
    d = 0.7  # nm^2/s
    basis = radial_basis(graded_vertices(R_IN, R_OUT, h_max_nm=(R_OUT - R_IN) / n_el), element)
    K, M = assemble_stiffness(basis, d), assemble_mass(basis)
    # shift-invert about -1: K + M is SPD although K has the uniform null vector
    lam = np.sort(eigsh(K.tocsc(), k=6, M=M.tocsc(), sigma=-1.0, which="LM",
                        return_eigenvectors=False))
    assert abs(lam[0]) < 1e-10 * lam[1]  # the conserved (uniform) mode
    exact = d * shell_wavenumbers(R_IN, R_OUT, 5) ** 2
    rel = np.abs(lam[1:6] / exact - 1)
    assert rel.max() < 1e-4, rel


def manufactured_error(element, m, graded=False):
    """Weighted L2 error of the steady problem -r^-2 (r^2 D p')' + c p = f on the mesh of
    refinement m (16 m uniform elements, or graded 8:1 toward r_in), and its mean size."""
    L = R_OUT - R_IN
    s = np.pi / L
    exact = lambda r: np.cos(s * (r - R_IN)) + 0.5  # noqa: E731  p' = 0 at both ends
    D = lambda r: 1.0 + r**2  # noqa: E731
    c = lambda r: 1.0 + 1.0 / r  # noqa: E731

    def f(r):
        dp = -s * np.sin(s * (r - R_IN))
        d2p = -s * s * np.cos(s * (r - R_IN))
        return -((2.0 * D(r) / r + 2.0 * r) * dp + D(r) * d2p) + c(r) * exact(r)

    h = L / (16 * m)
    v = graded_vertices(R_IN, R_OUT, h_max_nm=2 * h, h_inner_nm=h / 4, growth=1 + 0.4 / m) \
        if graded else graded_vertices(R_IN, R_OUT, h_max_nm=h)
    basis = radial_basis(v, element)
    r = quadrature_radii(basis)
    A = assemble_stiffness(basis, D(r)) + assemble_reaction(basis, c(r))
    ph = sla.solve(A.toarray(), assemble_load(basis, f(r)), assume_a="pos")

    err = Functional(lambda w: w.x[0] ** 2 * (w["ph"] - exact(w.x[0])) ** 2)
    return np.sqrt(asm(err, basis, ph=basis.interpolate(ph))), L / (len(v) - 1)


@pytest.mark.parametrize("element, expected", [("P1", 2.0), ("P2", 3.0)])
@pytest.mark.parametrize("graded", [False, True])
def test_manufactured_solution_convergence_order(element, expected, graded):
    errs, hs = zip(*[manufactured_error(element, m, graded) for m in (1, 2, 4, 8)])
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert order == pytest.approx(expected, abs=0.1), (order, errs)


def test_steady_state_matches_solve_bvp():
    # short T1 and strong DNP: p falls from -0.65 at r_in to -0.001 at r_MV
    params = ContinuumParameters(mesh_refinement=2.0, element="P2", t1_bulk_s=0.1)
    model = ContinuumModel(params)
    cond = ElectronCondition(pbar=0.5, dnp_rate_per_s=1.0, dnp_target=-0.7)
    sysm = model.system(cond)
    p_fe = sla.solve(sysm.operator.toarray(), -sysm.source)
    p_th = params.proton_thermal

    def rhs(r, y):  # y = (p, q = r^2 D p')
        p, q = y
        rate = model.relaxation(cond, r) + model.dnp_rates(cond, r)
        g = model.relaxation(cond, r) * p_th + model.dnp_rates(cond, r) * cond.dnp_target
        return np.vstack([q / (r * r * model.diffusion(cond, r)), r * r * (rate * p - g)])

    bc = lambda ya, yb: np.array([ya[1], yb[1]])  # noqa: E731  no flux at both radii
    span = params.r_out_nm - params.r_in_nm
    r0 = params.r_in_nm + span * (np.geomspace(1.0, 31.0, 401) - 1.0) / 30.0
    sol = solve_bvp(rhs, bc, r0, np.zeros((2, r0.size)), tol=1e-10, max_nodes=200000)
    assert sol.success, sol.message
    ref = sol.sol(model.nodes_nm)[0]
    scale = np.abs(ref).max()
    assert scale > 0.6 and abs(ref[np.argmax(model.nodes_nm)]) < 0.01  # a steep profile
    assert np.abs(p_fe - ref).max() < 1e-6 * scale, np.abs(p_fe - ref).max() / scale


def dense_modes(system, conserved=False):
    """lambda >= 0 and M-orthonormal V of -A V = M V diag(lambda).

    With ``conserved`` (no relaxation, no source: A 1 = 0 exactly), the uniform mode is
    deflated exactly: eigh returns it with an eigenvalue ~eps * lambda_max instead of 0
    and an eigenvector off by ~eps * |A| / lambda_1 (~1e-11 here), which would leak
    that much of the total polarization.
    """
    lam, V = sla.eigh(-system.operator.toarray(), system.mass.toarray())
    if conserved:
        M = system.mass
        ones = np.ones(V.shape[0])
        v0 = ones / np.sqrt(ones @ M @ ones)
        assert abs(lam[0]) < 1e-12 * lam.max()
        lam[0], V[:, 0] = 0.0, v0
        V[:, 1:] -= np.outer(v0, v0 @ M @ V[:, 1:])
    return lam, V


def evolve(system, lam, V, p0, t):
    """Exact p(t) of M dp/dt = A p + s from p0 (eigen-coordinates y = V^T M p)."""
    y0 = V.T @ (system.mass @ p0)
    ys = V.T @ system.source
    decay = np.exp(-lam * t)
    phi = np.where(lam * t > 1e-12, -np.expm1(-lam * t) / np.where(lam > 0, lam, 1.0), t)
    return V @ (decay * y0 + phi * ys)


def test_total_polarization_conserved_without_relaxation_or_sources():
    # Lorentzian line: with the Gaussian one the core at Pbar = 1 stays frozen for > 1e6 s
    model = ContinuumModel(ContinuumParameters(mesh_refinement=0.5, t1_bulk_s=np.inf,
                                               lineshape="lorentzian"))
    sysm = model.system(ElectronCondition(pbar=1.0))  # 1 - P^2 = 0: no Gamma_1
    assert np.all(sysm.source == 0)
    ones = np.ones(model.n)
    # ones @ M is the r^2 measure: exact on polynomials (int r^2 * r dr)
    r = model.nodes_nm
    exact = (R_OUT**4 - R_IN**4) / 4
    assert ones @ (sysm.mass @ r) == pytest.approx(exact, rel=1e-13)
    lam, V = dense_modes(sysm, conserved=True)
    p0 = np.where(r < 0.8, 0.7, 0.0)
    total0 = ones @ sysm.mass @ p0
    for t in (0.1, 10.0, 1e3, 1e6):
        p = evolve(sysm, lam, V, p0, t)
        assert abs(ones @ sysm.mass @ p - total0) < 1e-12 * abs(total0), t
    # ...and it does relax: the profile is flat at long times
    assert np.ptp(evolve(sysm, lam, V, p0, 1e6)) < 1e-9


def test_exact_evolution_matches_expm():
    model = ContinuumModel(ContinuumParameters(mesh_refinement=0.2, lineshape="lorentzian",
                                               h_boundary_nm=0.02))  # not stiff: expm
    sysm = model.system(ElectronCondition(pbar=0.5, dnp_rate_per_s=0.1, dnp_target=0.7))
    lam, V = dense_modes(sysm)
    assert lam.min() > 0  # relaxation makes A negative definite
    Minv_A = sla.solve(sysm.mass.toarray(), sysm.operator.toarray())
    Minv_s = sla.solve(sysm.mass.toarray(), sysm.source)
    t = 5.0
    p_th = model.params.proton_thermal
    p0 = np.full(model.n, p_th)
    aug = np.zeros((model.n + 1, model.n + 1))  # exact affine flow via expm
    aug[:-1, :-1], aug[:-1, -1] = Minv_A * t, Minv_s * t
    ref = (sla.expm(aug) @ np.append(p0, 1.0))[:-1]
    assert np.allclose(evolve(sysm, lam, V, p0, t), ref, rtol=1e-9, atol=1e-12 * p_th)
