"""Radial meshes of the Wigner-Seitz sphere, graded toward the radical and the boundaries.

The domain is the shell ``r_in <= r <= r_out`` (nm) around one radical.  Element sizes
follow a target size h(r) (:func:`element_size_nm`) that grows geometrically away from
``r_in`` (steep relaxation and DNP profiles near the radical) and away from each
visible/hidden boundary on both sides (the jump a selective saturation leaves there relaxes
through a layer ``sqrt(D t)`` that is ~1e-4 nm thick at the first records), up to a
largest size.  The boundaries are vertices.

Examples
--------
>>> from latticedns.continuum.mesh import graded_vertices, radial_basis
>>> v = graded_vertices(0.3, 2.0, h_max_nm=0.425)
>>> [round(float(x), 3) for x in v]
[0.3, 0.725, 1.15, 1.575, 2.0]
>>> int(radial_basis(v, "P2").N)  # 5 vertices + 4 mid-points
9
"""

import numpy as np
from skfem import Basis, ElementLineP1, ElementLineP2, MeshLine

from ..errors import ConfigError

__all__ = ["ELEMENTS", "element_size_nm", "lipschitz_envelope", "graded_vertices", "radial_basis",
           "default_intorder"]

#: Finite elements available for the radial model: name -> (skfem element class, degree).
ELEMENTS = {"P1": (ElementLineP1, 1), "P2": (ElementLineP2, 2)}


def element_size_nm(r_nm, r_in_nm, h_inner_nm, h_max_nm, growth, boundaries_nm=(),
                    h_boundary_nm=None, size_cap=None):
    """The mesh's target element size h(r) in nm (vectorized over ``r_nm``).

    ``h(r) = min(h_max, h_inner + (growth - 1) (r - r_in), h_b + (growth - 1) |r - b| for
    every boundary b, cap(r))``: sizes grow linearly with the distance from ``r_in`` and from
    each boundary, so consecutive elements grow by the factor ``growth`` (a geometric
    grading toward the radical and toward each visible/hidden boundary, on both sides), up
    to ``h_max``; ``size_cap = (r, h)`` (nm, interpolated linearly) is a further limit, e.g.
    where a coefficient varies fast (:func:`lipschitz_envelope` keeps its grading gentle).
    """
    r = np.asarray(r_nm, dtype=float)
    slope = float(growth) - 1.0
    h = np.minimum(h_max_nm, h_inner_nm + slope * (r - r_in_nm))
    for b in boundaries_nm:
        h = np.minimum(h, h_boundary_nm + slope * np.abs(r - b))
    if size_cap is not None:
        h = np.minimum(h, np.interp(r, *size_cap))
    return h


def lipschitz_envelope(r_nm, h_nm, slope):
    """The largest ``g <= h`` on the grid ``r_nm`` with ``|g(r) - g(r')| <= slope |r - r'|``,
    ``g(r) = min_j (h_j + slope |r - r_j|)``: a size limit that grows no faster than a
    geometric grading allows (O(len(r)^2) memory: meant for ~1e3 points)."""
    r = np.asarray(r_nm, dtype=float)
    h = np.asarray(h_nm, dtype=float)
    return np.min(h[None, :] + slope * np.abs(r[:, None] - r[None, :]), axis=1)


def graded_vertices(r_in_nm, r_out_nm, *, h_max_nm, h_inner_nm=None, growth=1.25,
                    boundaries_nm=(), h_boundary_nm=None, size_cap=None):
    """Vertices of a radial mesh whose element sizes follow :func:`element_size_nm`.

    Parameters
    ----------
    r_in_nm, r_out_nm : float
        Inner and outer radius in nm (``0 < r_in < r_out``).
    h_max_nm : float
        Largest element size in nm.
    h_inner_nm : float, optional
        Element size at ``r_in`` in nm (default ``h_max_nm``).
    growth : float
        Size ratio of neighbouring elements in the graded zones (>= 1).
    boundaries_nm : sequence of float
        Radii in nm that become vertices, with elements of ``h_boundary_nm`` on both sides
        (those outside the open interval ``(r_in, r_out)`` are ignored).
    h_boundary_nm : float, optional
        Element size at the boundaries in nm (default ``h_inner_nm``).
    size_cap : tuple of two arrays, optional
        ``(r, h)`` in nm: a further limit on the element size (:func:`element_size_nm`).

    Returns
    -------
    ndarray
        Strictly increasing vertex radii in nm, from ``r_in`` to ``r_out``.  Between two
        consecutive special radii (``r_in``, the boundaries, ``r_out``) the vertices are
        equidistant in ``s(r) = int dr / h(r)``, with the integer number of elements
        nearest to ``s`` (at least one), so each element is within a few per cent of h(r).
        Scaling every size by ``1/m`` and ``growth - 1`` by ``1/m`` refines the mesh about
        ``m`` times everywhere (``ContinuumParameters.mesh_refinement``).

    Examples
    --------
    >>> v = graded_vertices(0.3, 2.0, h_max_nm=0.425)
    >>> [round(float(x), 3) for x in v]
    [0.3, 0.725, 1.15, 1.575, 2.0]
    >>> w = graded_vertices(0.3, 2.0, h_max_nm=0.1, growth=1.2, boundaries_nm=[0.7],
    ...                     h_boundary_nm=1e-4)
    >>> bool(np.isclose(w, 0.7).any()), round(float(np.diff(w).min() / 1e-4), 1)
    (True, 1.1)
    """
    h_inner = h_max_nm if h_inner_nm is None else h_inner_nm
    h_b = h_inner if h_boundary_nm is None else h_boundary_nm
    inside = sorted({float(b) for b in boundaries_nm if r_in_nm < b < r_out_nm})
    size = (r_in_nm, h_inner, h_max_nm, growth, inside, h_b, size_cap)
    knots = [float(r_in_nm)] + inside + [float(r_out_nm)]
    out = [np.array([knots[0]])]
    for a, b in zip(knots[:-1], knots[1:]):
        # auxiliary grid: geometric toward both ends (where h may be tiny), plus uniform
        hmin = float(min(element_size_nm([a, b], *size)))
        d = np.geomspace(min(hmin, b - a) / 8.0, b - a, 400)
        aux = np.unique(np.concatenate([a + d, b - d, np.linspace(a, b, 400)]))
        aux = aux[(aux >= a) & (aux <= b)]
        inv = 1.0 / element_size_nm(aux, *size)
        s = np.concatenate([[0.0], np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(aux))])
        m = max(1, int(round(s[-1])))
        v = np.interp(np.linspace(0.0, s[-1], m + 1), s, aux)
        v[0], v[-1] = a, b
        out.append(v[1:])
    v = np.concatenate(out)
    if np.any(np.diff(v) <= 0):  # pragma: no cover - not reachable by construction
        raise ConfigError("mesh", "the element sizes produced an invalid mesh")
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
