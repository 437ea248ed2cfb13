"""Tests of the sparse SPD factorization backends used by the Krylov propagator."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "bench"))
from synthetic import make_sample  # noqa: E402

from latticedns.propagation._factor import factorize, nested_dissection_from_order  # noqa: E402


@pytest.fixture(scope="module")
def spd():
    S = make_sample(3000, seed=21)
    return sp.csr_matrix(-S.L + 0.01 * sp.identity(S.n))


def test_nested_dissection_is_a_permutation_for_morton_order(spd):
    perm = nested_dissection_from_order(spd)
    assert perm is not None
    np.testing.assert_array_equal(np.sort(perm), np.arange(spd.shape[0]))


def test_nested_dissection_rejects_random_order(spd):
    q = np.random.default_rng(0).permutation(spd.shape[0])
    assert nested_dissection_from_order(spd[q][:, q]) is None


@pytest.mark.parametrize("shuffle", [False, True])
def test_scipy_backend_solves(spd, shuffle):
    A = spd
    if shuffle:  # exercises the minimum-degree fallback
        q = np.random.default_rng(1).permutation(A.shape[0])
        A = sp.csr_matrix(A[q][:, q])
    b = np.random.default_rng(2).standard_normal((A.shape[0], 2))
    fac = factorize(A, backend="scipy")
    x = fac.solve(b)
    assert fac.backend == "scipy"
    np.testing.assert_allclose(A @ x, b, atol=1e-8 * np.abs(b).max())


def test_cholespy_backend_if_installed(spd):
    pytest.importorskip("cholespy")
    b = np.random.default_rng(3).standard_normal(spd.shape[0])
    fac = factorize(spd, backend="cholespy")
    assert fac.backend == "cholespy"
    np.testing.assert_allclose(fac.solve(b), spla.spsolve(sp.csc_matrix(spd), b), rtol=1e-8, atol=1e-12)


def test_singular_matrix_raises():
    with pytest.raises(ValueError, match="singular"):
        factorize(sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]])), backend="scipy")


def test_dense_backend_solves_and_is_the_small_auto_choice(spd):
    b = np.random.default_rng(4).standard_normal((spd.shape[0], 3))
    fac = factorize(spd, backend="auto")  # 3000 unknowns <= DENSE_MAX
    assert fac.backend == "dense"
    np.testing.assert_allclose(spd @ fac.solve(b), b, atol=1e-9 * np.abs(b).max())
    with pytest.raises(ValueError, match="positive definite"):
        factorize(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 1.0]])), backend="dense")
