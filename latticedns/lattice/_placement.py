"""Vectorized point placement in a periodic cubic box (internal).

Units: lengths in nm.  All functions take and return positions in ``[0, L)^3``.

* :func:`uniform_points` - uniform random points.
* :func:`random_sequential_addition` - hard-core random sequential addition (RSA) in
  batches: candidates are drawn in bulk, screened against the already accepted points
  with periodic ``cKDTree`` queries (one tree per accepted batch, never rebuilt), and
  conflicts inside a batch are resolved exactly as if the candidates had been added one
  by one in order (:func:`sequential_accept`).  The result is therefore the RSA of the
  candidate stream, not a thinned (Matern-type) process.
* :func:`morton_order` - permutation sorting points along a Z-order curve.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from latticedns.errors import ConfigError

__all__ = ["uniform_points", "random_sequential_addition", "sequential_accept", "near_centres",
           "morton_order", "MAX_RSA_ROUNDS", "MAX_CANDIDATES_PER_POINT"]

#: bound on the number of candidate batches drawn by the RSA
MAX_RSA_ROUNDS = 200
#: bound on candidates drawn per requested point (total, over all batches)
MAX_CANDIDATES_PER_POINT = 200


def uniform_points(rng: np.random.Generator, n: int, box_nm: float) -> np.ndarray:
    """(n, 3) float64 uniform random points in [0, box_nm)^3, nm."""
    p = rng.random((n, 3)) * box_nm
    p[p >= box_nm] = 0.0  # guard against rounding up to L (periodic image of 0)
    return p


def near_centres(tree: cKDTree, centres_nm: np.ndarray, radius_nm: float) -> np.ndarray:
    """(n,) bool: which of the tree's n points lie within radius_nm (<=) of any centre.

    Ball queries *from* the (few) centres into the tree of (many) points: much cheaper
    than a nearest-centre query per point.  The Python loop runs over centres only.
    """
    mask = np.zeros(tree.n, dtype=bool)
    if len(centres_nm) == 0 or radius_nm <= 0:
        return mask
    hits = tree.query_ball_point(centres_nm, radius_nm)
    hits = [np.asarray(h, dtype=np.intp) for h in hits if len(h)]
    if hits:
        mask[np.concatenate(hits)] = True
    return mask


def sequential_accept(n: int, pairs: np.ndarray, rejected: np.ndarray | None = None) -> np.ndarray:
    """Which of n ordered candidates survive one-by-one hard-core addition.

    Candidate j is accepted iff it is not pre-rejected and no *accepted* candidate i < j
    conflicts with it.  Resolved in a few vectorized sweeps (each sweep decides at least
    the lowest undecided candidate; in practice conflict chains are short).

    Parameters
    ----------
    n : int
        Number of candidates.
    pairs : (P, 2) int array
        Conflicting pairs (any order within a row).
    rejected : (n,) bool, optional
        Candidates rejected beforehand (they block nobody).

    Returns
    -------
    (n,) bool
        Acceptance mask.
    """
    state = np.zeros(n, dtype=np.int8)  # 0 undecided, 1 accepted, -1 rejected
    if rejected is not None:
        state[rejected] = -1
    a = np.minimum(pairs[:, 0], pairs[:, 1])
    b = np.maximum(pairs[:, 0], pairs[:, 1])
    keep = (state[a] == 0) & (state[b] == 0)
    a, b = a[keep], b[keep]
    while True:
        blocked = np.zeros(n, dtype=bool)
        blocked[b[state[a] >= 0]] = True  # an earlier partner not (yet) rejected
        state[(state == 0) & ~blocked] = 1
        kill = b[state[a] == 1]
        state[kill[state[kill] == 0]] = -1
        if len(a) == 0 or not np.any(state == 0):
            return state == 1
        keep = (state[a] >= 0) & (state[b] == 0)  # pairs that can still matter
        a, b = a[keep], b[keep]


def random_sequential_addition(
    rng: np.random.Generator,
    n_target: int,
    box_nm: float,
    min_dist_nm: float,
    obstacles_nm: np.ndarray | None = None,
    obstacle_radius_nm: float = 0.0,
    key: str = "min_dist",
) -> np.ndarray:
    """Place exactly n_target points with pairwise minimum-image distance >= min_dist_nm.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_target : int
        Number of points to place.
    box_nm : float
        Periodic cubic box edge L, nm.
    min_dist_nm : float
        Hard-core distance, nm (0: no mutual exclusion); must be < L/2.
    obstacles_nm : (K, 3) float, optional
        Centres of forbidden spheres (e.g. radicals), nm, in [0, L)^3.
    obstacle_radius_nm : float
        Radius of the forbidden spheres, nm (points must be >= this far from every
        obstacle); must be < L/2.
    key : str
        Dotted config key named in the ConfigError if placement fails.

    Returns
    -------
    (n_target, 3) float64
        Positions in [0, L)^3, nm, in order of acceptance.

    Raises
    ------
    ConfigError
        If more than MAX_RSA_ROUNDS batches or MAX_CANDIDATES_PER_POINT * n_target
        candidates are needed (box too crowded).
    """
    chunks: list[np.ndarray] = []
    trees: list[cKDTree] = []
    count, drawn, rounds = 0, 0, 0
    acceptance = 1.0
    budget = MAX_CANDIDATES_PER_POINT * n_target + 10_000
    use_obstacles = obstacles_nm is not None and len(obstacles_nm) > 0 and obstacle_radius_nm > 0
    while count < n_target:
        if rounds >= MAX_RSA_ROUNDS or drawn >= budget:
            raise ConfigError(key, f"could not place {n_target} points in a {box_nm:.4g} nm box "
                              f"after {drawn} candidates in {rounds} batches ({count} placed): "
                              "the box is too crowded; reduce the distance or concentration")
        need = n_target - count
        m = min(int(need / acceptance * 1.05) + 64, budget - drawn)
        cand = uniform_points(rng, m, box_nm)
        drawn += m
        rounds += 1
        bad = np.zeros(m, dtype=bool)
        if use_obstacles or min_dist_nm > 0:
            ctree = cKDTree(cand, boxsize=box_nm, balanced_tree=False)
        if use_obstacles:
            bad |= near_centres(ctree, obstacles_nm, obstacle_radius_nm)
        if min_dist_nm > 0:
            for t in trees:
                live = np.flatnonzero(~bad)
                d, _ = t.query(cand[live], k=1, distance_upper_bound=min_dist_nm)
                bad[live[np.isfinite(d)]] = True  # finite <=> a point closer than min_dist
            pairs = ctree.query_pairs(min_dist_nm, output_type="ndarray")  # distance <= min
            ok = sequential_accept(m, pairs, bad)
        else:
            ok = ~bad
        cand = cand[ok][:need]
        if len(cand) < need:
            acceptance = max(len(cand) / m, 1e-3)
        if len(cand):
            chunks.append(cand)
            count += len(cand)
            if min_dist_nm > 0 and count < n_target:
                trees.append(cKDTree(cand, boxsize=box_nm, balanced_tree=False))
    return np.concatenate(chunks) if chunks else np.empty((0, 3))


_MASKS = (
    (32, 0x1F00000000FFFF),
    (16, 0x1F0000FF0000FF),
    (8, 0x100F00F00F00F00F),
    (4, 0x10C30C30C30C30C3),
    (2, 0x1249249249249249),
)


def _spread_bits(x: np.ndarray) -> np.ndarray:
    """Insert two zero bits between each of the low 21 bits of uint64 x."""
    x = x & np.uint64(0x1FFFFF)
    for shift, mask in _MASKS:
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def morton_order(points_nm: np.ndarray, box_nm: float) -> np.ndarray:
    """Permutation sorting points along a Morton (Z-order) curve.

    Coordinates are quantized to 2^21 cells per box edge (cell ~ L * 5e-7 nm) and the
    bits interleaved into a 63-bit key; ties (same cell) keep their input order
    (stable sort), so the result is deterministic.  Neighbours in space are mostly
    neighbours in index, which keeps pair lists (and hence sparse operators built from
    them) near the diagonal and cache-friendly.

    Parameters
    ----------
    points_nm : (N, 3) float
        Positions in [0, box_nm)^3, nm.
    box_nm : float
        Box edge, nm.

    Returns
    -------
    (N,) int64
        Permutation indices.
    """
    q = np.floor(points_nm * ((1 << 21) / box_nm))
    q = np.clip(q, 0, (1 << 21) - 1).astype(np.uint64)
    key = _spread_bits(q[:, 0]) | (_spread_bits(q[:, 1]) << np.uint64(1)) \
        | (_spread_bits(q[:, 2]) << np.uint64(2))
    return np.argsort(key, kind="stable")
