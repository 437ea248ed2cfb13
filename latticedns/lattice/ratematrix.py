"""Sparse rate matrix L = W - diag(row sums of W) - diag(R) on a fixed sparsity pattern.

The pattern (CSR structure of a symmetric matrix with its diagonal) depends only on the
pair list, so it is built once per sample; each electron/microwave condition only refills
the ``data`` array, vectorized (no Python loop over protons or pairs).

Examples
--------
>>> import numpy as np
>>> pat = build_pattern(np.array([0, 1]), np.array([1, 2]), 3)
>>> L = assemble(pat, np.array([2.0, 3.0]), np.zeros(3))
>>> L.toarray()
array([[-2.,  2.,  0.],
       [ 2., -5.,  3.],
       [ 0.,  3., -3.]])
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["RatePattern", "build_pattern", "assemble", "pair_values"]


@dataclass(frozen=True, eq=False)
class RatePattern:
    """CSR structure of a symmetric n x n matrix with pairs (i, j) and the full diagonal.

    Attributes
    ----------
    n : int
        Matrix size (number of protons).
    i, j : ndarray, shape (P,)
        Pair indices (i != j), each unordered pair once.
    indptr, indices : ndarray
        CSR structure (sorted column indices within each row).
    pos_ij, pos_ji, pos_diag : ndarray
        Positions in the CSR ``data`` array of entries (i, j), (j, i) and (k, k).
    """

    n: int
    i: np.ndarray
    j: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    pos_ij: np.ndarray
    pos_ji: np.ndarray
    pos_diag: np.ndarray

    @property
    def nnz(self):
        """Number of stored entries, 2 P + n."""
        return len(self.indices)


def build_pattern(i, j, n):
    """Build the :class:`RatePattern` of pairs ``(i, j)`` over ``n`` protons.

    Parameters
    ----------
    i, j : array_like of int, shape (P,)
        Pair indices, i != j, each unordered pair at most once.
    n : int
        Number of protons.

    Returns
    -------
    RatePattern
    """
    i = np.asarray(i)
    j = np.asarray(j)
    p = len(i)
    nnz = 2 * p + n
    itype = np.int32 if nnz < 2**31 - 1 else np.int64
    diag = np.arange(n, dtype=itype)
    rows = np.concatenate([i.astype(itype), j.astype(itype), diag])
    cols = np.concatenate([j.astype(itype), i.astype(itype), diag])
    order = np.lexsort((cols, rows))
    position = np.empty(nnz, dtype=np.int64)
    position[order] = np.arange(nnz)
    indptr = np.zeros(n + 1, dtype=itype)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return RatePattern(
        n=n, i=i, j=j, indptr=indptr, indices=cols[order],
        pos_ij=position[:p], pos_ji=position[p:2 * p], pos_diag=position[2 * p:],
    )


def pair_values(pattern, matrix):
    """Entries ``matrix[i, j]`` for the pattern's pairs, from a CSR matrix on that pattern."""
    return np.asarray(matrix.data)[pattern.pos_ij]


def assemble(pattern, w, relaxation, out=None):
    """Fill ``L = W - diag(sum_j W_ij) - diag(R)`` on the pattern.

    Parameters
    ----------
    pattern : RatePattern
    w : ndarray, shape (P,)
        Pair rates W_ij in s^-1 (>= 0).
    relaxation : ndarray, shape (n,)
        Per-proton loss rate R_i in s^-1 (>= 0): relaxation plus DNP source rate.
    out : scipy.sparse.csr_matrix, optional
        A matrix previously returned for the same pattern: its data are overwritten in
        place (no new allocation).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n, n)
        Symmetric, diagonally dominant, negative semi-definite; row sums equal ``-R``.
    """
    n = pattern.n
    if out is None:
        data = np.empty(pattern.nnz)
        out = sp.csr_matrix((data, pattern.indices, pattern.indptr), shape=(n, n), copy=False)
    data = out.data
    data[pattern.pos_ij] = w
    data[pattern.pos_ji] = w
    rowsum = np.bincount(pattern.i, weights=w, minlength=n) + np.bincount(pattern.j, weights=w, minlength=n)
    data[pattern.pos_diag] = -rowsum - relaxation
    return out
