"""Per-sample coupling geometry of the lattice: computed once, reused by every condition.

Multi-electron treatment (``docs/theory.md``, section 6): each proton's secular shift is
the sum over radicals within the hyperfine cutoff, so a pair's static splitting is
``delta_s = sum_e (A_ie - A_je)``; the electrons fluctuate independently with the same
Gamma_c and Pbar, so the variance of the noisy splitting is ``delta_n^2 = sum_e (A_ie - A_je)^2``.
With one radical both reduce to the single-electron Delta.  With per-radical noise rates
(``microwave.tau_c_model = "sample"``, section 7b) a pair's rate is the variance-weighted
geometric mean of its radicals' Gamma_c,e, with weights (A_ie - A_je)^2
(:func:`pair_weighted_log_mean`), computed chunk by chunk from the sparse (proton,
radical) list without storing the (pair, radical) terms.  Units: nm, rad/s.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..couplings import flipflop_coupling, hyperfine_pseudosecular_sq, hyperfine_secular
from .neighbours import nearest_radical_distance, proton_pairs, proton_radical_pairs

__all__ = ["CouplingGeometry", "coupling_geometry", "neighbour_zero_quantum_sums",
           "pair_radical_terms", "pair_weighted_log_mean"]

_CHUNK = 1_000_000
#: Pairs per chunk of the (pair, radical) expansion: ~7 terms per pair at 50 mM, ~50 bytes
#: of temporaries per term (~100 MB per chunk).
_TERM_CHUNK = 1 << 18


@dataclass(frozen=True, eq=False)
class CouplingGeometry:
    """Everything about a sample's couplings that does not depend on the electron condition.

    Attributes
    ----------
    n : int
        Number of protons N.
    i, j : ndarray, shape (P,)
        Proton pairs within ``cutoff_nm`` (i < j).
    d12 : ndarray, shape (P,)
        Flip-flop couplings D12 of the pairs, rad/s (Eq. 1 convention, actual vectors).
    a_z : ndarray, shape (N,)
        Sum of secular hyperfine couplings A_z of each proton over radicals within
        ``hyperfine_cutoff_nm``, rad/s.
    apm_sq : ndarray, shape (N,)
        Sum of A_+ A_- over the same radicals, (rad/s)^2.
    inv_r6 : ndarray, shape (N,)
        Sum of r_ie^-6 over the same radicals, nm^-6 (the DNP profile's shape).
    delta_s : ndarray, shape (P,)
        Static splitting a_z[i] - a_z[j], rad/s.
    delta_n2 : ndarray, shape (P,)
        Noise variance sum_e (A_ie - A_je)^2, (rad/s)^2.
    r_nearest_nm : ndarray, shape (N,)
        Distance to the nearest radical, nm.
    cutoff_nm, hyperfine_cutoff_nm : float
        The cutoffs used, nm.
    """

    n: int
    i: np.ndarray
    j: np.ndarray
    d12: np.ndarray
    a_z: np.ndarray
    apm_sq: np.ndarray
    inv_r6: np.ndarray
    delta_s: np.ndarray
    delta_n2: np.ndarray
    r_nearest_nm: np.ndarray
    cutoff_nm: float
    hyperfine_cutoff_nm: float


def _shared_products(i, j, owner, column, value, n_columns):
    """``sum_e v[i, e] v[j, e]`` over the columns e present in both rows i and j.

    ``(owner, column, value)`` is a sparse list sorted by (owner, column).  Each pair
    expands into row i's entries, whose partners in row j are found by binary search on
    the sorted keys ``owner * n_columns + column``; work O(P k log K), chunked over pairs.
    """
    keys = owner.astype(np.int64) * n_columns + column
    counts = np.bincount(owner, minlength=int(max(i.max(initial=-1), j.max(initial=-1)) + 1))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.zeros(len(i))
    for lo in range(0, len(i), _CHUNK):
        ic, jc = i[lo:lo + _CHUNK], j[lo:lo + _CHUNK]
        rep = counts[ic]
        pair = np.repeat(np.arange(len(ic)), rep)
        first = np.cumsum(rep) - rep
        entry = np.repeat(start[ic], rep) + np.arange(len(pair)) - np.repeat(first, rep)
        want = jc[pair].astype(np.int64) * n_columns + column[entry]
        at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        partner = np.where(keys[at] == want, value[at], 0.0)
        out[lo:lo + _CHUNK] = np.bincount(pair, weights=value[entry] * partner, minlength=len(ic))
    return out


def _row_entries(rows, counts, start):
    """Entries of the sparse rows ``rows``: (local row number, entry index), row by row."""
    rep = counts[rows]
    local = np.repeat(np.arange(len(rows)), rep)
    first = np.cumsum(rep) - rep
    entry = np.repeat(start[rows], rep) + np.arange(len(local)) - np.repeat(first, rep)
    return local, entry


def pair_radical_terms(i, j, owner, column, value, n_columns, chunk=_TERM_CHUNK):
    """The terms ``v[i, e] - v[j, e]`` of every pair over the union of the columns of rows i, j.

    ``(owner, column, value)`` is a sparse list sorted by (owner, column) (e.g. the
    (proton, radical, A_z) entries within the hyperfine cutoff; a missing entry is 0).
    Yields, for each chunk of ``chunk`` pairs starting at pair ``lo``, the tuple
    ``(lo, pair, col, diff)``: ``pair`` the index of the pair within the chunk, ``col``
    the column e and ``diff`` = v[i, e] - v[j, e], each (pair, e) once.  Memory O(chunk k),
    k the entries per row; nothing is kept between chunks.
    """
    i = np.asarray(i)
    j = np.asarray(j)
    n_rows = int(max(i.max(initial=-1), j.max(initial=-1), np.max(owner, initial=-1)) + 1)
    counts = np.bincount(owner, minlength=n_rows)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    keys = owner.astype(np.int64) * n_columns + column
    last = max(len(keys) - 1, 0)
    safe_keys = keys if len(keys) else np.full(1, -1, np.int64)
    safe_values = value if len(value) else np.zeros(1)
    for lo in range(0, len(i), chunk):
        ic, jc = i[lo:lo + chunk], j[lo:lo + chunk]
        found = []
        for row, other in ((ic, jc), (jc, ic)):
            pair, entry = _row_entries(row, counts, start)
            col = column[entry]
            want = other[pair].astype(np.int64) * n_columns + col
            at = np.minimum(np.searchsorted(safe_keys, want), last)
            found.append((pair, entry, col, at, safe_keys[at] == want))
        (p1, e1, c1, at1, hit1), (p2, e2, c2, _, hit2) = found
        d1 = value[e1] - np.where(hit1, safe_values[at1], 0.0)
        only2 = ~hit2  # columns of row j absent from row i: v[i, e] = 0
        yield (lo, np.concatenate([p1, p2[only2]]), np.concatenate([c1, c2[only2]]),
               np.concatenate([d1, -value[e2[only2]]]))


def pair_weighted_log_mean(i, j, owner, column, value, n_columns, log_values, fallback):
    """``sum_e w_pe log_values[e] / sum_e w_pe`` per pair, ``w_pe = (v[i, e] - v[j, e])^2``.

    With ``log_values = ln Gamma_c,e`` its exponential is the variance-weighted geometric
    mean of the radicals' noise rates (``docs/theory.md``, section 7b); pairs without
    weight (no radical, or equal couplings) get ``fallback``.  Exact for equal values:
    every pair then gets that value to a few ulp.

    Parameters
    ----------
    i, j : ndarray, shape (P,)
        Pairs.
    owner, column, value : ndarray
        Sparse (row, column, value) list sorted by (row, column).
    n_columns : int
        Number of columns (radicals).
    log_values : ndarray, shape (n_columns,)
        The per-column quantity averaged.
    fallback : float

    Returns
    -------
    ndarray, shape (P,)
    """
    out = np.full(len(i), float(fallback))
    log_values = np.asarray(log_values, float)
    for lo, pair, col, diff in pair_radical_terms(i, j, owner, column, value, n_columns):
        m = min(_TERM_CHUNK, len(i) - lo)
        w = diff * diff
        den = np.bincount(pair, w, minlength=m)
        num = np.bincount(pair, w * log_values[col], minlength=m)
        has = den > 0
        out[lo:lo + m] = np.where(has, num / np.where(has, den, 1.0), fallback)
    return out


def coupling_geometry(sample, cutoff_nm, hyperfine_cutoff_nm):
    """Compute the :class:`CouplingGeometry` of a sample.

    Parameters
    ----------
    sample : latticedns.lattice.Sample
    cutoff_nm : float
        Proton-proton flip-flop cutoff in nm (< box/2).
    hyperfine_cutoff_nm : float
        Proton-radical cutoff for hyperfine sums and relaxation, nm (< box/2).

    Returns
    -------
    CouplingGeometry
    """
    n = sample.n_protons
    pairs = proton_pairs(sample, cutoff_nm)
    d12 = flipflop_coupling(pairs.distances_nm, pairs.cos_theta)
    hf = proton_radical_pairs(sample, hyperfine_cutoff_nm)
    a = hyperfine_secular(hf.distances_nm, hf.cos_theta)
    a_z = np.bincount(hf.proton, weights=a, minlength=n)
    apm_sq = np.bincount(hf.proton, weights=hyperfine_pseudosecular_sq(hf.distances_nm, hf.cos_theta),
                         minlength=n)
    q = np.bincount(hf.proton, weights=a * a, minlength=n)
    i, j = pairs.i, pairs.j
    shared = _shared_products(i, j, hf.proton, hf.radical, a, max(sample.n_radicals, 1)) if len(a) \
        else np.zeros(len(i))
    delta_n2 = np.maximum(q[i] + q[j] - 2.0 * shared, 0.0)
    return CouplingGeometry(
        n=n, i=i, j=j, d12=d12, a_z=a_z, apm_sq=apm_sq,
        inv_r6=np.bincount(hf.proton, weights=hf.distances_nm ** -6.0, minlength=n), delta_s=a_z[i] - a_z[j],
        delta_n2=delta_n2, r_nearest_nm=nearest_radical_distance(sample),
        cutoff_nm=float(cutoff_nm), hyperfine_cutoff_nm=float(hyperfine_cutoff_nm),
    )


def neighbour_zero_quantum_sums(geometry, rows_per_chunk=20_000):
    """``sum_{k != i, j} (D_ik - D_jk)^2`` for every pair (Eq. 7 without tau_c,n), (rad/s)^2.

    Uses sum_k (D_ik - D_jk)^2 = M2_i + M2_j - 2 D_ij^2 - 2 (D D)_ij with M2_i = sum_k D_ik^2,
    the product computed in row chunks and read off on the pair pattern only.
    """
    g = geometry
    n = g.n
    d = sp.csr_matrix((np.concatenate([g.d12, g.d12]), (np.concatenate([g.i, g.j]),
                       np.concatenate([g.j, g.i]))), shape=(n, n))
    m2 = np.bincount(g.i, g.d12**2, n) + np.bincount(g.j, g.d12**2, n)
    cross = np.empty(len(g.i))
    order = np.argsort(g.i, kind="stable")  # pairs are sorted by i already; keep it general
    i_sorted, j_sorted = g.i[order], g.j[order]
    bounds = np.searchsorted(i_sorted, np.arange(0, n + rows_per_chunk, rows_per_chunk))
    for c, lo in enumerate(range(0, n, rows_per_chunk)):
        sel = slice(bounds[c], bounds[c + 1])
        if sel.start == sel.stop:
            continue
        block = (d[lo:lo + rows_per_chunk] @ d).tocsr()
        block.sort_indices()
        keys = np.repeat(np.arange(block.shape[0], dtype=np.int64), np.diff(block.indptr)) * n \
            + block.indices
        want = (i_sorted[sel].astype(np.int64) - lo) * n + j_sorted[sel]
        at = np.searchsorted(keys, want)
        at_clipped = np.minimum(at, len(keys) - 1)
        hit = (at < len(keys)) & (keys[at_clipped] == want)
        cross[order[sel]] = np.where(hit, block.data[at_clipped], 0.0)
    return np.maximum(m2[g.i] + m2[g.j] - 2.0 * g.d12**2 - 2.0 * cross, 0.0)
