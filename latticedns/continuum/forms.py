"""Weak forms of the radial diffusion-relaxation equation and their assembly.

Spherical symmetry turns ``dp/dt = r^-2 (r^2 D p')' - c p + g`` (``c = R + k``,
``g = R p_thermal + k p_target``) into the weighted weak form

    int r^2 p_t v dr = - int r^2 D p' v' dr - int r^2 c p v dr + int r^2 g v dr,

whose boundary term ``[r^2 D p' v]`` vanishes for no flux at ``r_in`` and ``r_out``
(natural conditions, nothing to impose).  Every form carries the ``r^2`` weight, so
``ones @ M @ p`` is the integral ``int r^2 p dr`` (the total polarization / 4 pi).

Coefficients are passed as arrays of their values at the quadrature points, shape
``(n_elements, n_quadrature_points)`` (from :func:`quadrature_radii`).

Examples
--------
>>> import numpy as np
>>> from latticedns.continuum.mesh import graded_vertices, radial_basis
>>> from latticedns.continuum.forms import assemble_mass
>>> basis = radial_basis(graded_vertices(1.0, 2.0, h_max_nm=0.3), "P1")
>>> M = assemble_mass(basis)
>>> round(float(np.ones(basis.N) @ M @ np.ones(basis.N)), 12)  # (2^3 - 1^3) / 3
2.333333333333
"""

import numpy as np
from skfem import BilinearForm, LinearForm, asm
from skfem.helpers import dot, grad

__all__ = [
    "stiffness_form",
    "mass_form",
    "reaction_form",
    "load_form",
    "quadrature_radii",
    "assemble_stiffness",
    "assemble_mass",
    "assemble_reaction",
    "assemble_load",
    "shell_weights",
]


@BilinearForm
def stiffness_form(u, v, w):
    """``r^2 D(r) u' v'`` with ``w.coef`` = D in nm^2/s (result in nm^3/s per element)."""
    return w.x[0] ** 2 * w["coef"] * dot(grad(u), grad(v))


@BilinearForm
def mass_form(u, v, w):
    """``r^2 u v`` (nm^2; the mass matrix has units of nm^3)."""
    return w.x[0] ** 2 * u * v


@BilinearForm
def reaction_form(u, v, w):
    """``r^2 c(r) u v`` with ``w.coef`` = c, a rate in s^-1."""
    return w.x[0] ** 2 * w["coef"] * u * v


@LinearForm
def load_form(v, w):
    """``r^2 g(r) v`` with ``w.coef`` = g, in s^-1 (rate times polarization)."""
    return w.x[0] ** 2 * w["coef"] * v


def quadrature_radii(basis):
    """Radii of the quadrature points in nm, shape ``(n_elements, n_quadrature_points)``."""
    return np.asarray(basis.global_coordinates()[0])


def _coef(basis, values):
    shape = (basis.nelems, basis.quadrature[1].size)
    return np.broadcast_to(np.asarray(values, dtype=float), shape).copy()


def assemble_stiffness(basis, diffusion_qp):
    """Stiffness ``K_ij = int r^2 D phi_i' phi_j' dr`` (csr, shape (N, N), nm^3/s).

    Parameters
    ----------
    basis : skfem.CellBasis
    diffusion_qp : array_like, broadcastable to (n_elements, n_quadrature_points)
        D(r) in nm^2/s at the quadrature points (a scalar for a constant D).
    """
    return asm(stiffness_form, basis, coef=_coef(basis, diffusion_qp)).tocsr()


def assemble_mass(basis):
    """Consistent mass ``M_ij = int r^2 phi_i phi_j dr`` (csr, shape (N, N), nm^3; SPD)."""
    return asm(mass_form, basis).tocsr()


def assemble_reaction(basis, rate_qp):
    """Reaction ``C_ij = int r^2 c phi_i phi_j dr`` (csr, shape (N, N), nm^3/s).

    ``rate_qp`` : c(r) in s^-1 at the quadrature points (>= 0 for a dissipative model).
    """
    return asm(reaction_form, basis, coef=_coef(basis, rate_qp)).tocsr()


def assemble_load(basis, source_qp):
    """Load ``f_i = int r^2 g phi_i dr`` (shape (N,), nm^3/s); ``source_qp`` = g in s^-1."""
    return asm(load_form, basis, coef=_coef(basis, source_qp))


def shell_weights(basis, lo_nm, hi_nm, n_points=4):
    """Row giving the volume-weighted mean of the FE interpolant over a shell.

    ``w @ p = int_lo^hi r^2 p_h(r) dr / int_lo^hi r^2 dr`` with ``p_h = sum_j p_j phi_j``,
    integrated exactly (Gauss-Legendre with ``n_points`` points on the part of each
    element inside the shell: exact up to polynomial degree ``2 n_points - 1``, i.e.
    ``r^2 phi`` for P1 and P2).  The shell is clipped to the mesh; ``sum(w) = 1``.

    Parameters
    ----------
    basis : skfem.CellBasis
    lo_nm, hi_nm : float
        Shell radii in nm.
    n_points : int
        Gauss points per element piece (default 4).

    Returns
    -------
    ndarray, shape (N,)
        The weights; all NaN if the clipped shell is empty (undefined mean).
    """
    verts = basis.mesh.p[0][basis.mesh.t]  # (2, n_elements), element end radii
    left, right = verts.min(axis=0), verts.max(axis=0)
    a = np.maximum(left, max(lo_nm, left.min()))
    b = np.minimum(right, min(hi_nm, right.max()))
    keep = b > a
    if not np.any(keep):
        return np.full(basis.N, np.nan)
    a, b = a[keep], b[keep]
    xg, wg = np.polynomial.legendre.leggauss(n_points)
    r = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * xg[None, :]  # (pieces, n_points)
    wt = 0.5 * (b - a)[:, None] * wg[None, :] * r * r
    probes = basis.probes(r.reshape(1, -1)).tocsr()  # (pieces * n_points, N)
    row = np.asarray(probes.T @ wt.ravel()).ravel()
    volume = (b**3 - a**3).sum() / 3.0
    return row / volume
