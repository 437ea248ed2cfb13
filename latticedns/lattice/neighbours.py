"""Neighbour pair lists in a periodic cubic box (minimum image).

Units: lengths in nm.  B0 is along z, so ``cos_theta = z / r`` of the pair vector.

All functions use ``scipy.spatial.cKDTree(boxsize=L)``; cutoffs must be < L/2 so that
the minimum image is unique (each pair appears once, with one vector).  Pair lists are
sorted lexicographically by (first index, second index), so they are deterministic and
ready for CSR assembly.  Index arrays are int32 when the point counts fit, else int64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from latticedns.errors import ConfigError
from latticedns.lattice.sample import Sample

__all__ = ["PairList", "ProtonRadicalPairList", "proton_pairs", "proton_radical_pairs",
           "nearest_radical_distance"]


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _check_cutoff(sample: Sample, cutoff_nm: object) -> float:
    L = sample.box_nm
    if isinstance(cutoff_nm, bool) or not isinstance(cutoff_nm, (int, float, np.floating, np.integer)) \
            or not np.isfinite(cutoff_nm) or not 0 < cutoff_nm < L / 2:
        raise ConfigError("cutoff_nm", f"must be in (0, {L / 2:.6g}) nm (half the box edge "
                          f"{L:.6g} nm, minimum image), got {cutoff_nm!r}")
    return float(cutoff_nm)


def _geometry(vec: np.ndarray, box_nm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wrap (P,3) difference vectors to the minimum image; return vec, |vec|, cos(theta)."""
    vec -= box_nm * np.rint(vec / box_nm)
    dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))
    cos = np.zeros_like(dist)
    np.divide(vec[:, 2], dist, out=cos, where=dist > 0)
    return vec, dist, cos


def _sorted(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """Permutation sorting pairs by (first, second)."""
    return np.argsort(first.astype(np.int64) * n_second + second, kind="stable")


@dataclass(frozen=True, eq=False)
class PairList:
    """Proton-proton pairs within a cutoff, i < j, each pair once.

    Attributes
    ----------
    i, j : (P,) int32 or int64
        Proton indices, i < j, sorted by (i, j).
    vectors_nm : (P, 3) float64
        Minimum-image vector from proton i to proton j, nm.
    distances_nm : (P,) float64
        |vectors_nm|, nm, all <= cutoff_nm.
    cos_theta : (P,) float64
        z-component / distance (angle to B0 = z); 0 for a zero-length vector.
    cutoff_nm : float
        The cutoff, nm (< box/2).
    n_points : int
        Number of protons N (the index range).
    """

    i: np.ndarray
    j: np.ndarray
    vectors_nm: np.ndarray
    distances_nm: np.ndarray
    cos_theta: np.ndarray
    cutoff_nm: float
    n_points: int

    def __len__(self) -> int:
        return len(self.i)


@dataclass(frozen=True, eq=False)
class ProtonRadicalPairList:
    """Proton-radical pairs within a cutoff.

    Attributes
    ----------
    proton, radical : (P,) int32 or int64
        Indices into ``sample.protons_nm`` / ``sample.radicals_nm``, sorted by (proton, radical).
    vectors_nm : (P, 3) float64
        Minimum-image vector from the radical to the proton, nm.
    distances_nm : (P,) float64
        |vectors_nm|, nm, all <= cutoff_nm.
    cos_theta : (P,) float64
        z-component / distance (angle to B0 = z).
    cutoff_nm : float
        The cutoff, nm (< box/2).
    """

    proton: np.ndarray
    radical: np.ndarray
    vectors_nm: np.ndarray
    distances_nm: np.ndarray
    cos_theta: np.ndarray
    cutoff_nm: float

    def __len__(self) -> int:
        return len(self.proton)


def proton_pairs(sample: Sample, cutoff_nm: float) -> PairList:
    """All proton pairs with minimum-image distance <= cutoff_nm.

    Parameters
    ----------
    sample : Sample
    cutoff_nm : float
        Cutoff distance, nm, in (0, box/2).

    Returns
    -------
    PairList
        P pairs, i < j, sorted; vectors from i to j in nm.

    Raises
    ------
    ConfigError
        ``cutoff_nm`` outside (0, box/2).
    """
    rc = _check_cutoff(sample, cutoff_nm)
    x, L, n = sample.protons_nm, sample.box_nm, sample.n_protons
    pairs = cKDTree(x, boxsize=L).query_pairs(rc, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    del pairs
    order = _sorted(i, j, n)
    dt = _index_dtype(n)
    i, j = i[order].astype(dt), j[order].astype(dt)
    vec, dist, cos = _geometry(x[j] - x[i], L)
    return PairList(i, j, vec, dist, cos, rc, n)


def proton_radical_pairs(sample: Sample, cutoff_nm: float) -> ProtonRadicalPairList:
    """All (proton, radical) pairs with minimum-image distance <= cutoff_nm.

    Parameters
    ----------
    sample : Sample
    cutoff_nm : float
        Cutoff distance, nm, in (0, box/2).

    Returns
    -------
    ProtonRadicalPairList
        Sorted by (proton, radical); vectors from radical to proton in nm.

    Raises
    ------
    ConfigError
        ``cutoff_nm`` outside (0, box/2).
    """
    rc = _check_cutoff(sample, cutoff_nm)
    x, y, L = sample.protons_nm, sample.radicals_nm, sample.box_nm
    m = cKDTree(x, boxsize=L).sparse_distance_matrix(cKDTree(y, boxsize=L), rc,
                                                     output_type="ndarray")
    p, r = m["i"], m["j"]
    del m
    order = _sorted(p, r, max(sample.n_radicals, 1))
    dt = _index_dtype(max(sample.n_protons, sample.n_radicals))
    p, r = p[order].astype(dt), r[order].astype(dt)
    vec, dist, cos = _geometry(x[p] - y[r], L)
    return ProtonRadicalPairList(p, r, vec, dist, cos, rc)


def nearest_radical_distance(sample: Sample, return_index: bool = False):
    """Minimum-image distance from each proton to its nearest radical.

    Parameters
    ----------
    sample : Sample
        Must contain at least one radical.
    return_index : bool
        Also return the index of that radical.

    Returns
    -------
    distances_nm : (N,) float64
        nm.
    index : (N,) int64
        Only if return_index.
    """
    if sample.n_radicals == 0:
        raise ConfigError("sample.radicals_nm", "the sample has no radical")
    d, idx = cKDTree(sample.radicals_nm, boxsize=sample.box_nm).query(sample.protons_nm, k=1)
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    return (d, np.asarray(idx, dtype=np.int64).reshape(-1)) if return_index else d
