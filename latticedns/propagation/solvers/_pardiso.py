"""MKL PARDISO sparse Cholesky through the optional ``pypardiso`` (imported lazily).

pypardiso finds and loads MKL's runtime library; the solver calls MKL's documented
``pardiso`` routine itself (through ctypes, with the argument types declared here) so that
one PARDISO handle can hold several factors of one sparsity pattern (``maxfct``/``mnum``):
every operator and shift of a sample share that pattern, and the symbolic analysis then
runs once per pattern instead of once per factor.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

from ...resources import single_threaded_openblas
from ._base import Solver

__all__ = ["PardisoSolver", "pardiso_module", "MAX_FACTORS"]

#: Factors one PARDISO handle (one analysis) holds at a time; more open another handle.
MAX_FACTORS = 16

#: Factorization flops per ``nnz(L)^2 / n`` (`PardisoSolver.estimated_seconds`).
FLOP_RATIO = 1.4


def pardiso_module():
    """``pypardiso`` if it loads MKL here, else None (checked once per process).

    pypardiso searches the whole environment for ``mkl_rt`` in every ``PyPardisoSolver()``
    (0.16-0.3 s each, measured), including one it builds when imported, unless
    ``PYPARDISO_MKL_RT`` names it: the ``mkl`` wheel's library in ``sys.prefix/lib`` is
    named there before the import (one directory listing), else the path of the first
    successful load is put there.  ``MKL_CBWR`` defaults to ``AUTO`` before MKL loads: with
    it (and ``iparm(34)``, see `PardisoSolver`) PARDISO's results are reproducible bit for
    bit, whatever the load and the number of threads (without it, two factorizations of one
    matrix differed in the last bits when another process loaded the machine: measured).
    """
    global _PARDISO
    if _PARDISO is None:
        os.environ.setdefault("MKL_CBWR", "AUTO")
        # MKL's OpenMP threads spin for 200 ms after each call by default and take the
        # cores from numpy's BLAS between solves (Lanczos steps 0.35 -> 0.12 s in the README
        # microwave-on job with 1 ms, measured); read when MKL's OpenMP runtime loads
        os.environ.setdefault("KMP_BLOCKTIME", "1")
        wheel = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), key=len)
        named = bool(wheel) and "PYPARDISO_MKL_RT" not in os.environ
        if named:  # before the import: pypardiso builds a default solver when imported
            os.environ["PYPARDISO_MKL_RT"] = wheel[0]
        try:
            try:
                import pypardiso  # optional: latticedns[fast], x86_64 only
            except OSError:  # the wheel's library does not load here: let pypardiso search
                if not named:
                    raise
                del os.environ["PYPARDISO_MKL_RT"]
                import pypardiso
            probe = pypardiso.PyPardisoSolver()  # loads mkl_rt; fails where MKL is missing
            os.environ.setdefault("PYPARDISO_MKL_RT", probe.libmkl._name)
            _declare(probe.libmkl)
            _PARDISO = (pypardiso, probe.libmkl)
        except Exception:  # noqa: BLE001 - any failure to load means "not available"
            _PARDISO = False
    return _PARDISO[0] if _PARDISO else None


_PARDISO = None
_FAMILIES = {}  # sha1 of an upper-triangle pattern -> [_Family, ...] (the last 8 patterns)
_I32 = ctypes.POINTER(ctypes.c_int32)
_F64 = ctypes.POINTER(ctypes.c_double)


def _declare(lib):
    """Argument types of MKL's ``pardiso(pt, maxfct, mnum, mtype, phase, n, a, ia, ja, perm,
    nrhs, iparm, msglvl, b, x, error)`` (all by pointer, 32-bit integers)."""
    lib.pardiso.argtypes = [ctypes.POINTER(ctypes.c_int64)] + [_I32] * 5 + [_F64, _I32, _I32,
                                                                           _I32, _I32, _I32,
                                                                           _I32, _F64, _F64,
                                                                           _I32]
    lib.pardiso.restype = None


class _Family:
    """One PARDISO handle for one upper-triangle pattern: analysed once (phase 11, METIS),
    holding up to :data:`MAX_FACTORS` numerical factors in its ``mnum`` slots."""

    def __init__(self, indptr, indices, data):
        lib = _PARDISO[1]
        self._pardiso = lib.pardiso
        self.n = len(indptr) - 1
        self.pt = np.zeros(64, dtype=np.int64)
        self.ia = (indptr + 1).astype(np.int32)  # PARDISO's 1-based CSR, once per pattern
        self.ja = (indices + 1).astype(np.int32)
        iparm = self.iparm = np.zeros(64, dtype=np.int32)
        iparm[0] = 1    # use the values below, defaults elsewhere
        iparm[1] = 2    # METIS nested dissection (measured fastest here)
        iparm[17] = -1  # report the factor's nonzeros (iparm(18))
        # Two-level factorization: factors 10-20 % and single solves 1.5-2x faster (measured
        # at 5e3-1e4).  It is silently off when PARDISO is given or asked for its ordering
        # (iparm(5) != 0), so the ordering stays PARDISO's own, computed once per handle.
        iparm[23] = 1
        iparm[33] = max(int(lib.mkl_get_max_threads()), 1)  # CNR: reproducible bits
        self.perm = np.zeros(self.n, dtype=np.int32)  # unused with iparm(5) = 0
        self.free = list(range(MAX_FACTORS, 0, -1))
        self.call(11, 1, data, np.zeros((self.n, 1), order="F"))
        # iparm(15..17): peak analysis, permanent, factorization+solve memory in KB
        self.memory_bytes = 1024 * int(max(iparm[14], iparm[15] + iparm[16]))
        self.factor_nnz = int(iparm[17])

    def call(self, phase, mnum, data, b):
        """One PARDISO call on slot ``mnum``; ``b`` is ``(n, k)`` Fortran-ordered float64."""
        x = np.zeros_like(b, order="F")
        error = ctypes.c_int32(0)
        i32 = ctypes.c_int32
        self._pardiso(self.pt.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
                      ctypes.byref(i32(MAX_FACTORS)), ctypes.byref(i32(mnum)),
                      ctypes.byref(i32(2)), ctypes.byref(i32(phase)), ctypes.byref(i32(self.n)),
                      data.ctypes.data_as(_F64), self.ia.ctypes.data_as(_I32),
                      self.ja.ctypes.data_as(_I32), self.perm.ctypes.data_as(_I32),
                      ctypes.byref(i32(b.shape[1])), self.iparm.ctypes.data_as(_I32),
                      ctypes.byref(i32(0)), b.ctypes.data_as(_F64), x.ctypes.data_as(_F64),
                      ctypes.byref(error))
        if error.value != 0:
            raise RuntimeError(f"PARDISO error {error.value} in phase {phase}")
        return x

    def release(self, mnum, data):
        """Free slot ``mnum``'s factor (phase 0) and return the slot."""
        self.call(0, mnum, data, np.zeros((self.n, 1), order="F"))
        self.free.append(mnum)

    def __del__(self):
        try:
            self.call(-1, 1, np.zeros(1), np.zeros((self.n, 1), order="F"))
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _family(upper):
    """A family of ``upper``'s pattern with a free slot (analysed now if there is none)."""
    key = hashlib.sha1(upper.indptr.tobytes() + upper.indices.tobytes()).digest()
    families = _FAMILIES.setdefault(key, [])
    for fam in families:
        if fam.free:
            return fam
    fam = _Family(upper.indptr, upper.indices, upper.data)
    families.append(fam)
    while len(_FAMILIES) > 8:  # live solvers keep their family; the index forgets it
        _FAMILIES.pop(next(iter(_FAMILIES)))
    return fam


class PardisoSolver(Solver):
    """MKL PARDISO sparse Cholesky (real SPD, ``mtype=2``), two-level factorization.

    The symbolic analysis (phase 11, METIS nested dissection) reports the factor's memory
    and nonzeros before anything is factorized; it depends only on the sparsity pattern,
    which every operator and shift of a sample share, so it runs once per pattern: the
    solvers of one pattern are slots (``mnum``) of one PARDISO handle (up to
    :data:`MAX_FACTORS`), and the later ones skip the analysis (0.08-0.1 s each on the
    README sample).  :meth:`build` (phase 22) does the numerical factorization, of this
    matrix or of another with the same pattern (another shift).  Solves (phase 33) take
    ``(n,)`` or ``(n, k)`` right-hand sides.  Conditional numerical reproducibility
    (``MKL_CBWR``, ``iparm(34)`` = MKL's thread count) makes the results the same bits run
    after run, whatever the load, for a given number of threads; the two-level
    factorization partitions the work by thread, so 1 and 2 threads give results that
    differ in the last bits (measured: ~1e-16 relative).
    """

    name = "pardiso"
    threaded = True

    def __init__(self, A, tol=None):
        super().__init__(A)
        if pardiso_module() is None:
            raise ImportError("pypardiso (MKL PARDISO) is not installed: "
                              "pip install 'latticedns[fast]' (x86_64 only)")
        tick = time.perf_counter()
        self._upper = _upper(A)
        self._family = _family(self._upper)
        self._slot = None
        fam = self._family
        self.memory_bytes = fam.memory_bytes
        self.factor_nnz = fam.factor_nnz
        # two-level factorization reports no flop count: ~FLOP_RATIO nnz(L)^2 / n (measured
        # 1.35 at 5e3 unknowns, 1.43 at 1e4, with the one-level count on the same pattern)
        self.factor_mflop = FLOP_RATIO * float(fam.factor_nnz) ** 2 / self.n / 1e6
        self.analysis_s = time.perf_counter() - tick
        self.setup_s = self.analysis_s

    def estimated_seconds(self):
        """See `Solver.estimated_seconds`: the factorization's flops (:data:`FLOP_RATIO`
        ``nnz(L)^2 / n``) at 42 GF/s; a solve streams the factor twice (estimates 0.15 s
        and 2.7 ms on the README sample, measured 0.15-0.17 s and 2.6 ms; 0.61 s and 7.8 ms
        at 1e4, measured 0.66-0.77 s and 9-10 ms)."""
        return 1e6 * self.factor_mflop / 42e9, 16.0 * self.factor_nnz / 28e9

    def block_cost(self, k):
        """See `Solver.block_cost`: a single two-level solve already uses both threads, so
        a block gains less (measured at 5e3 / 1e4 / 1e5 unknowns: 2 columns 1.55 / 1.37 /
        1.88 solves)."""
        return 1.0 + 0.6 * (k - 1)

    def _build(self, A):
        if A is not None:  # same pattern, other values
            upper = _upper(A)
            if not (np.array_equal(upper.indptr, self._upper.indptr)
                    and np.array_equal(upper.indices, self._upper.indices)):
                raise ValueError("build(A): A must have the analysed sparsity pattern")
            self._upper = upper
        fam = self._family
        if not fam.free:  # the slots filled since the analysis: take another handle
            fam = self._family = _family(self._upper)
        slot = fam.free.pop()
        try:
            with single_threaded_openblas():  # its idle threads would spin on MKL's cores
                fam.call(22, slot, self._upper.data, np.zeros((self.n, 1), order="F"))
        except RuntimeError as exc:  # e.g. -4, zero pivot (not SPD)
            fam.release(slot, self._upper.data)
            raise ValueError(f"matrix is not positive definite ({exc})") from exc
        self._slot = slot

    def _solve(self, b):
        x = self._family.call(33, self._slot, self._upper.data,
                              np.asfortranarray(b.reshape(self.n, -1)))
        return x.reshape(b.shape)

    def __del__(self):
        if getattr(self, "_slot", None) is not None:
            try:
                self._family.release(self._slot, self._upper.data)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass


def _upper(A):
    """The upper triangle of ``A`` as sorted float64 CSR (PARDISO's symmetric input)."""
    upper = sp.triu(sp.csr_matrix(A, dtype=np.float64), format="csr")
    upper.sort_indices()
    return upper
