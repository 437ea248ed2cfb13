"""Radial meshes of the Wigner-Seitz sphere, graded toward the radical.

The domain is the shell ``r_in <= r <= r_out`` (nm) around one radical.  Element sizes
grow geometrically outward, ``h_k = h_0 q^k`` with ``q = grading^(1/(n_elements - 1))``,
so ``grading`` is the ratio of the outermost to the innermost element size (1: uniform).
Selected radii (the visible/hidden boundaries) are made mesh vertices by moving the
nearest interior vertex onto them, which keeps the number of elements and leaves every
neighbouring element at least half its graded size.

Examples
--------
>>> from latticedns.continuum.mesh import graded_vertices, radial_basis
>>> v = graded_vertices(0.3, 2.0, 4, grading=1.0)
>>> [round(float(x), 3) for x in v]
[0.3, 0.725, 1.15, 1.575, 2.0]
>>> int(radial_basis(v, "P2").N)  # 5 vertices + 4 mid-points
9
"""

import numpy as np
from skfem import Basis, ElementLineP1, ElementLineP2, MeshLine

from ..errors import ConfigError

__all__ = ["ELEMENTS", "graded_vertices", "radial_basis", "default_intorder"]

#: Finite elements available for the radial model: name -> (skfem element class, degree).
ELEMENTS = {"P1": (ElementLineP1, 1), "P2": (ElementLineP2, 2)}


def graded_vertices(r_in_nm, r_out_nm, n_elements, grading=1.0, breakpoints_nm=(),
                    gap_nm=0.0):
    """Vertices of a geometrically graded radial mesh.

    Parameters
    ----------
    r_in_nm, r_out_nm : float
        Inner and outer radius in nm (``0 < r_in < r_out``).
    n_elements : int
        Number of elements (>= 1).
    grading : float
        Ratio of the outermost to the innermost element size (>= 1; 1 = uniform).
    breakpoints_nm : sequence of float
        Radii in nm that must be vertices; those outside the open interval
        ``(r_in, r_out)`` are ignored.
    gap_nm : float
        If > 0, a vertex is also inserted at ``b + gap_nm`` after each breakpoint b
        (unless the next vertex is already that close): a thin element just outside a
        visible/hidden boundary, so that a saturation can zero everything beyond it.

    Returns
    -------
    ndarray, shape (n_elements + 1 + n_inserted,)
        Strictly increasing vertex radii in nm, from ``r_in`` to ``r_out``.

    Raises
    ------
    ConfigError
        ``n_elements`` is too small for two breakpoints to get distinct vertices.
    """
    n = int(n_elements)
    q = grading ** (1.0 / (n - 1)) if n > 1 else 1.0
    h = q ** np.arange(n)
    v = r_in_nm + (r_out_nm - r_in_nm) * np.concatenate([[0.0], np.cumsum(h) / h.sum()])
    v[-1] = r_out_nm
    taken, placed = {}, []
    for b in sorted(set(float(x) for x in breakpoints_nm)):
        if not r_in_nm < b < r_out_nm:
            continue
        placed.append(b)
        if np.any(np.isclose(v, b, rtol=0, atol=1e-12)):
            continue
        i = int(np.clip(np.argmin(np.abs(v - b)), 1, n - 1))
        if i in taken or n < 2:
            raise ConfigError("n_elements", f"{n} elements are too few to place vertices at "
                              f"{taken.get(i)} and {b} nm; use more elements")
        taken[i] = b
        v[i] = b
    if gap_nm > 0:
        extra = [b + gap_nm for b in placed
                 if b + gap_nm < v[np.searchsorted(v, b, side="right")]]
        v = np.sort(np.concatenate([v, extra]))
    if np.any(np.diff(v) <= 0):  # pragma: no cover - not reachable by construction
        raise ConfigError("n_elements", "breakpoints produced an invalid mesh")
    return v


def default_intorder(degree):
    """Gauss quadrature order of the radial forms: ``2 * degree + 4``.

    Integrates the ``r^2``-weighted mass, stiffness and load of constant coefficients
    exactly (polynomial degree ``2 degree + 2``) and leaves two orders of margin for
    the smooth coefficients D(r), R(r), k(r).
    """
    return 2 * int(degree) + 4


def radial_basis(vertices_nm, element="P2", intorder=None):
    """scikit-fem basis on a radial mesh.

    Parameters
    ----------
    vertices_nm : array_like, shape (n_elements + 1,)
        Strictly increasing vertex radii in nm.
    element : {"P1", "P2"}
        Lagrange element of degree 1 or 2.
    intorder : int, optional
        Gauss quadrature order (default :func:`default_intorder`).

    Returns
    -------
    skfem.CellBasis
        Basis whose ``doflocs[0]`` (shape (N,)) are the DOF radii in nm.
    """
    cls, degree = ELEMENTS[element]
    mesh = MeshLine(np.asarray(vertices_nm, dtype=float))
    return Basis(mesh, cls(), intorder=intorder or default_intorder(degree))
