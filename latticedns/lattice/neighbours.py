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


_CHUNK = 1 << 20  # pairs per chunk: temporaries stay in cache-sized, reused buffers


def _geometry(a: np.ndarray, ia: np.ndarray, b: np.ndarray, ib: np.ndarray,
              box_nm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-image vectors b[ib] - a[ia] (P,3) nm, their lengths (P,) nm and z/length.

    Processed in chunks of 2^20 pairs with preallocated temporaries (fresh memory is
    expensive to fault in at 1e7+ pairs; only the outputs are allocated).
    """
    n = len(ia)
    vec, dist, cos = np.empty((n, 3)), np.empty(n), np.zeros(n)
    a_cols = [np.ascontiguousarray(a[:, k]) for k in range(3)]
    b_cols = [np.ascontiguousarray(b[:, k]) for k in range(3)]
    m = min(n, _CHUNK)
    d, w, r2 = np.empty(m), np.empty(m), np.empty(m)
    inv = 1.0 / box_nm
    for lo in range(0, n, _CHUNK):  # loop over chunks, not pairs
        hi = min(n, lo + _CHUNK)
        c = hi - lo
        dc, wc, r2c = d[:c], w[:c], r2[:c]
        r2c[:] = 0.0
        for k in range(3):
            np.take(b_cols[k], ib[lo:hi], out=dc, mode="clip")
            np.take(a_cols[k], ia[lo:hi], out=wc, mode="clip")
            dc -= wc
            np.multiply(dc, inv, out=wc)
            np.rint(wc, out=wc)
            wc *= box_nm
            dc -= wc
            vec[lo:hi, k] = dc
            np.multiply(dc, dc, out=wc)
            r2c += wc
        np.sqrt(r2c, out=dist[lo:hi])
        np.divide(vec[lo:hi, 2], dist[lo:hi], out=cos[lo:hi], where=dist[lo:hi] > 0)
    return vec, dist, cos


def _sorted_pairs(pairs: np.ndarray, n_second: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Unique (first, second) rows of a (P,2) int array sorted lexicographically.

    Sorts the int64 keys first*n_second+second by value (much faster than an argsort)
    and decodes them straight into the index dtype.
    """
    key = pairs[:, 0].astype(np.int64)
    key *= n_second
    key += pairs[:, 1]
    key.sort()
    first = np.empty(len(key), dtype=dtype)
    second = np.empty(len(key), dtype=dtype)
    np.floor_divide(key, n_second, out=first, casting="unsafe")
    np.remainder(key, n_second, out=second, casting="unsafe")
    return first, second


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
    i, j = _sorted_pairs(pairs, n, _index_dtype(n))
    del pairs
    vec, dist, cos = _geometry(x, i, x, j, L)
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
    p, r = _sorted_pairs(np.stack([m["i"], m["j"]], axis=1), max(sample.n_radicals, 1),
                         _index_dtype(max(sample.n_protons, sample.n_radicals)))
    del m
    vec, dist, cos = _geometry(y, r, x, p, L)
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
