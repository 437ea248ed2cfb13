"""Neighbour pair lists vs brute-force minimum image (lengths in nm)."""

import numpy as np
import pytest

from latticedns.errors import ConfigError
from latticedns.lattice import (Sample, SampleSpec, generate_sample, nearest_radical_distance,
                                proton_pairs, proton_radical_pairs)


@pytest.fixture(scope="module")
def small():
    s = SampleSpec(radical_mM=100, proton_density_per_nm3=7.5, box_nm=4.0,
                   min_dist_radical_radical_nm=0.6, seed=4)
    return generate_sample(s)


def brute(a, b, L):
    """All minimum-image vectors b[j] - a[i], shape (len(a), len(b), 3)."""
    v = b[None, :, :] - a[:, None, :]
    return v - L * np.rint(v / L)


def test_proton_pairs_equal_brute_force(small):
    L, x, rc = small.box_nm, small.protons_nm, 1.3
    pl = proton_pairs(small, rc)
    v = brute(x, x, L)
    d = np.linalg.norm(v, axis=2)
    bi, bj = np.nonzero(np.triu(d <= rc, k=1))  # lexicographic (i, j), i < j
    assert len(pl) == len(bi) > 1000
    assert np.array_equal(pl.i, bi) and np.array_equal(pl.j, bj)
    assert np.allclose(pl.vectors_nm, v[bi, bj], atol=1e-12, rtol=0)
    assert np.allclose(pl.distances_nm, d[bi, bj], atol=1e-12, rtol=0)
    assert np.allclose(pl.cos_theta, v[bi, bj, 2] / d[bi, bj], atol=1e-12, rtol=0)
    assert pl.distances_nm.max() <= rc < L / 2
    assert pl.i.dtype == np.int32 and pl.n_points == small.n_protons
    # the periodic wrap was exercised: raw coordinate differences beyond L/2
    raw = x[pl.j] - x[pl.i]
    assert np.any(np.abs(raw) > L / 2)


def test_wrap_and_angle_by_hand(small):
    L = small.box_nm
    p = np.array([[0.05, 1.0, 0.05], [L - 0.05, 1.0, 0.05], [0.05, 1.0, L - 0.15]])
    smp = Sample(p, np.array([[2.0, 2.0, 2.0]]), L, small.spec)
    pl = proton_pairs(smp, 0.5)
    assert pl.i.tolist() == [0, 0, 1] and pl.j.tolist() == [1, 2, 2]
    assert np.allclose(pl.vectors_nm[0], [-0.1, 0, 0])
    assert np.allclose(pl.vectors_nm[1], [0, 0, -0.2])
    assert pl.cos_theta[0] == pytest.approx(0.0) and pl.cos_theta[1] == pytest.approx(-1.0)
    assert np.allclose(pl.vectors_nm[2], [0.1, 0, -0.2])
    assert pl.distances_nm[2] == pytest.approx(np.hypot(0.1, 0.2))


def test_proton_radical_pairs_equal_brute_force(small):
    L, x, y, rc = small.box_nm, small.protons_nm, small.radicals_nm, 1.9
    pr = proton_radical_pairs(small, rc)
    v = brute(y, x, L)  # radical -> proton, (M, N, 3)
    d = np.linalg.norm(v, axis=2)
    bp, br = np.nonzero(d.T <= rc)  # sorted by (proton, radical)
    assert len(pr) == len(bp) > 100
    assert np.array_equal(pr.proton, bp) and np.array_equal(pr.radical, br)
    assert np.allclose(pr.vectors_nm, v[br, bp], atol=1e-12, rtol=0)
    assert np.allclose(pr.distances_nm, d[br, bp], atol=1e-12, rtol=0)
    assert np.allclose(pr.cos_theta, v[br, bp, 2] / d[br, bp], atol=1e-12, rtol=0)
    assert pr.distances_nm.max() <= rc < L / 2


def test_nearest_radical_distance_brute_force(small):
    v = brute(small.radicals_nm, small.protons_nm, small.box_nm)
    d = np.linalg.norm(v, axis=2)
    got, idx = nearest_radical_distance(small, return_index=True)
    assert got.shape == (small.n_protons,)
    assert np.allclose(got, d.min(axis=0), atol=1e-12, rtol=0)
    assert np.array_equal(idx, d.argmin(axis=0))
    assert got.min() >= small.spec.min_dist_proton_radical_nm


@pytest.mark.parametrize("cutoff", [2.0, 2.5, 0.0, -1.0, float("nan"), "1"])
def test_bad_cutoff_names_the_key(small, cutoff):
    for f in (proton_pairs, proton_radical_pairs):
        with pytest.raises(ConfigError, match=r"\(0, 2\) nm") as e:
            f(small, cutoff)
        assert e.value.key == "cutoff_nm"


def test_pair_counts_and_radial_profile_statistics():
    smp = generate_sample(SampleSpec(radical_mM=50, proton_density_per_nm3=7.5, box_nm=16.0,
                                     seed=9))
    rc, n, V = 1.0, smp.n_protons, smp.volume_nm3
    pl = proton_pairs(smp, rc)
    expect = n * (n - 1) / 2 * 4 / 3 * np.pi * rc**3 / V
    assert len(pl) == pytest.approx(expect, rel=0.01)
    # isotropic: <cos^2 theta> = 1/3
    assert np.mean(pl.cos_theta**2) == pytest.approx(1 / 3, abs=0.005)
    # proton density around radicals flat beyond the exclusion distance
    pr = proton_radical_pairs(smp, 3.0)
    edges = np.arange(0.5, 3.01, 0.5)
    hist, _ = np.histogram(pr.distances_nm, edges)
    ideal = smp.n_radicals * n / V * 4 / 3 * np.pi * np.diff(edges**3)
    assert np.all(np.abs(hist / ideal - 1) < 0.1), hist / ideal
    assert pr.distances_nm.min() >= smp.spec.min_dist_proton_radical_nm
