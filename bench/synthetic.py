"""Synthetic spin-diffusion test matrices resembling a DNP sample (bench and tests only).

Random protons in a periodic cube (density ~7 nm^-3), 50 mM "radicals" (0.0301 nm^-3),
flip-flop pair rates ``W_ij = c (1 - 3 cos^2 theta)^2 / r^6`` within a 1 nm cutoff clipped to
[1e-3, 1e5] s^-1, a diffusion barrier (rates scaled down) for protons within ``barrier_nm`` of a
radical, paramagnetic relaxation ``R_i = min(r_max, r_max (d0 / d)^6)`` summed over radicals,
and an optional DNP source ``s_i = R_i * p_target`` (polarization relaxes towards ``p_target``
near the radicals).  The generator is deterministic given ``seed`` and never loops in Python
over protons.  Points are sorted along a Morton (Z-order) curve by default, which roughly
halves the cost of a sparse matvec at 1e6 protons (memory-bandwidth bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

__all__ = ["SyntheticSample", "morton_order", "make_sample"]


@dataclass(frozen=True)
class SyntheticSample:
    """A synthetic spin-diffusion problem ``dp/dt = L p + s``.

    Attributes
    ----------
    L : scipy.sparse.csr_matrix, shape (n, n)
        Symmetric negative semidefinite rate matrix (s^-1).
    s : ndarray, shape (n,)
        Source (s^-1, polarization units); zeros if ``source=False``.
    positions : ndarray, shape (n, 3)
        Proton positions (nm) in ``[0, box_nm)^3``.
    radicals : ndarray, shape (m, 3)
        Radical positions (nm).
    visible : ndarray of bool, shape (n,)
        Protons farther than ``barrier_nm`` from every radical.
    box_nm : float
        Edge of the periodic cube (nm).
    """

    L: sp.csr_matrix
    s: np.ndarray
    positions: np.ndarray
    radicals: np.ndarray
    visible: np.ndarray
    box_nm: float

    @property
    def n(self) -> int:
        """Number of protons."""
        return self.L.shape[0]

    def observables(self) -> sp.csr_matrix:
        """Averaging matrix, shape (2, n): row 0 = visible mean, row 1 = hidden mean."""
        rows = []
        for mask in (self.visible, ~self.visible):
            w = mask / max(int(mask.sum()), 1)
            rows.append(w)
        return sp.csr_matrix(np.vstack(rows))


def morton_order(points: np.ndarray, box: float, bits: int = 10) -> np.ndarray:
    """Permutation sorting ``points`` (shape (n, 3), nm) along a 3-D Morton curve."""
    q = np.clip((points / box * (1 << bits)).astype(np.uint64), 0, (1 << bits) - 1)
    code = np.zeros(len(points), dtype=np.uint64)
    for b in range(bits):
        for ax in range(3):
            code |= ((q[:, ax] >> np.uint64(b)) & np.uint64(1)) << np.uint64(3 * b + ax)
    return np.argsort(code, kind="stable")


def _pair_rates(pts, box, cutoff, coupling, rng):
    tree = cKDTree(pts, boxsize=box)
    pairs = tree.query_pairs(cutoff, output_type="ndarray")
    d = pts[pairs[:, 1]] - pts[pairs[:, 0]]
    d -= box * np.round(d / box)
    r2 = np.einsum("ij,ij->i", d, d)
    cos2 = d[:, 2] ** 2 / r2
    w = coupling * (1.0 - 3.0 * cos2) ** 2 / r2**3
    w *= rng.lognormal(0.0, 0.5, size=len(w))  # linewidth / overlap spread
    return pairs, w


def make_sample(n: int, *, seed: int = 0, density: float = 7.0, radical_density: float = 0.0301,
                cutoff: float = 1.0, coupling: float = 0.01, barrier_nm: float = 1.0,
                barrier_factor: float = 1e-3, relax_max: float = 1e3, relax_d0: float = 0.3,
                relaxation: bool = True, source: bool = True, p_target: float = 1.0,
                morton: bool = True) -> SyntheticSample:
    """Build a synthetic sample with ``n`` protons.

    Parameters
    ----------
    n : int
        Number of protons.
    seed : int
        Seed for ``numpy.random.default_rng``.
    density, radical_density : float
        Number densities (nm^-3) of protons and radicals (0.0301 nm^-3 = 50 mM).
    cutoff : float
        Pair cutoff (nm).
    coupling : float
        ``c`` in ``W = c (1 - 3 cos^2)^2 / r^6`` (nm^6 s^-1); rates are clipped to [1e-3, 1e5].
    barrier_nm, barrier_factor : float
        Pairs touching a proton within ``barrier_nm`` of a radical are scaled by ``barrier_factor``.
    relax_max, relax_d0 : float
        Paramagnetic relaxation ``R = min(relax_max, relax_max * sum (relax_d0 / d)^6)`` (s^-1).
    relaxation : bool
        If False, no relaxation: rows of L sum to zero (L singular, polarization conserved).
    source : bool
        If True, ``s = R * p_target`` (requires ``relaxation``); else ``s = 0``.
    morton : bool
        Sort protons along a Morton curve before building L.
    """
    rng = np.random.default_rng(seed)
    box = (n / density) ** (1.0 / 3.0)
    pts = rng.random((n, 3)) * box
    if morton:
        pts = pts[morton_order(pts, box)]
    n_rad = max(1, int(round(radical_density * box**3)))
    rads = rng.random((n_rad, 3)) * box

    pairs, w = _pair_rates(pts, box, cutoff, coupling, rng)
    rtree = cKDTree(rads, boxsize=box)
    dmin, _ = rtree.query(pts)
    near = dmin < barrier_nm
    w = np.where(near[pairs[:, 0]] | near[pairs[:, 1]], w * barrier_factor, w)
    w = np.clip(w, 1e-3, 1e5)

    ptree = cKDTree(pts, boxsize=box)
    dm = rtree.sparse_distance_matrix(ptree, max_distance=min(4.0, box / 2), output_type="coo_matrix")
    dist = np.maximum(dm.data, 0.05)
    relax = np.bincount(dm.col, weights=relax_max * (relax_d0 / dist) ** 6, minlength=n)
    relax = np.minimum(relax, relax_max) if relaxation else np.zeros(n)

    i, j = pairs[:, 0], pairs[:, 1]
    off = sp.coo_matrix((np.r_[w, w], (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    diag = -np.asarray(off.sum(axis=1)).ravel() - relax
    L = (off + sp.diags(diag)).tocsr()
    L.sort_indices()
    s = relax * p_target if (source and relaxation) else np.zeros(n)
    return SyntheticSample(L=L, s=s, positions=pts, radicals=rads, visible=~near, box_nm=box)
