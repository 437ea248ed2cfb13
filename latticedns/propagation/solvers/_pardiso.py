"""MKL PARDISO sparse Cholesky through the optional ``pypardiso`` (imported lazily)."""

from __future__ import annotations

import glob
import hashlib
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

from ._base import Solver

__all__ = ["PardisoSolver", "pardiso_module"]


def pardiso_module():
    """``pypardiso`` if it loads MKL here, else None (checked once per process).

    pypardiso searches the whole environment for ``mkl_rt`` in every ``PyPardisoSolver()``
    (0.16-0.3 s each, measured) unless ``PYPARDISO_MKL_RT`` names it: the ``mkl`` wheel's
    library in ``sys.prefix/lib`` is named there first (one directory listing), else the
    path of the first successful load is put there for the later ones.  ``MKL_CBWR`` defaults to
    ``AUTO`` before MKL loads: with it (and ``iparm(34)``, see `PardisoSolver`) PARDISO's
    results are reproducible bit for bit, whatever the load and the number of threads
    (without it, two factorizations of one matrix differed in the last bits when another
    process loaded the machine: measured).
    """
    global _PARDISO
    if _PARDISO is None:
        os.environ.setdefault("MKL_CBWR", "AUTO")
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
            _PARDISO = pypardiso
        except Exception:  # noqa: BLE001 - any failure to load means "not available"
            _PARDISO = False
    return _PARDISO or None


_PARDISO = None
_ORDERINGS = {}  # sha1 of a CSR pattern -> PARDISO's METIS permutation (PardisoSolver)


class PardisoSolver(Solver):
    """MKL PARDISO sparse Cholesky (real SPD, ``mtype=2``) through ``pypardiso``.

    The symbolic analysis (phase 11, METIS nested dissection) runs first and reports the
    factor's memory and flop count; :meth:`build` (phase 22) does the numerical
    factorization, of this matrix or of another with the same pattern (another shift).
    Solves (phase 33) take ``(n,)`` or ``(n, k)`` right-hand sides.  The METIS ordering
    depends only on the pattern, which every operator and shift of a sample shares: it is
    kept per pattern (the last 8) and handed back to PARDISO (``iparm(5) = 1``), so later
    analyses take 0.025 s instead of 0.098 s on the README sample.  Conditional numerical
    reproducibility (``MKL_CBWR``, ``iparm(34)`` = MKL's thread count) makes the results the
    same bits run after run and for 1 or 2 threads (measured).
    """

    name = "pardiso"

    def __init__(self, A, tol=None):
        super().__init__(A)
        pypardiso = pardiso_module()
        if pypardiso is None:
            raise ImportError("pypardiso (MKL PARDISO) is not installed: "
                              "pip install 'latticedns[fast]' (x86_64 only)")
        tick = time.perf_counter()
        self._upper = sp.triu(sp.csr_matrix(A, dtype=np.float64), format="csr")
        self._upper.sort_indices()
        ps = pypardiso.PyPardisoSolver(mtype=2)
        ps.set_iparm(1, 1)   # use the iparm values below, defaults elsewhere
        ps.set_iparm(2, 2)   # METIS nested dissection (measured fastest here)
        pattern = hashlib.sha1(self._upper.indptr.tobytes()
                               + self._upper.indices.tobytes()).digest()
        if pattern in _ORDERINGS:  # iparm(5) = 1: reuse the ordering of this pattern
            ps.iparm[4], ps.perm = 1, _ORDERINGS[pattern].copy()
        else:                      # iparm(5) = 2: METIS, and return its ordering in perm
            ps.iparm[4], ps.perm = 2, np.zeros(self.n, dtype=np.int32)
        ps.iparm[17] = -1    # report the factor's nonzeros (iparm(18))
        ps.iparm[18] = -1    # and its factorization Mflop (iparm(19))
        ps.iparm[23] = 1     # two-level factorization: solves 2x faster here (5e3-1e4, measured)
        ps.iparm[33] = max(int(ps.libmkl.mkl_get_max_threads()), 1)  # CNR: reproducible bits
        ps.set_phase(11)
        self._ps = ps
        self._call(np.zeros((self.n, 1)))
        # iparm(15..17): peak analysis, permanent, factorization+solve memory in KB
        if pattern not in _ORDERINGS:
            while len(_ORDERINGS) >= 8:
                _ORDERINGS.pop(next(iter(_ORDERINGS)))
            _ORDERINGS[pattern] = ps.perm.copy()
        self.memory_bytes = 1024 * int(max(ps.iparm[14], ps.iparm[15] + ps.iparm[16]))
        self.factor_nnz = int(ps.iparm[17])
        self.factor_mflop = int(ps.iparm[18])
        self.analysis_s = time.perf_counter() - tick
        self.setup_s = self.analysis_s

    def estimated_seconds(self):
        """See `Solver.estimated_seconds`: the factorization's Mflop (PARDISO's analysis) at
        42 GF/s; a solve streams the factor twice (measured set-up / solve: 55 at 5e3
        unknowns, 77 at 1e4, ~350 at 1e5)."""
        return 1e6 * self.factor_mflop / 42e9, 16.0 * self.factor_nnz / 28e9

    def block_cost(self, k):
        """See `Solver.block_cost`: one pass over the factor serves every column (measured
        at 5e3 / 1e4 unknowns: 2 columns 0.98 / 0.96, 4 columns 1.30 / 1.56 solves)."""
        return 1.0 + 0.2 * (k - 1)

    def _call(self, b):
        return self._ps._call_pardiso(self._upper, b)  # the documented advanced-usage call

    def _build(self, A):
        if A is not None:  # same pattern, other values (phase 11 depends on the pattern only)
            upper = sp.triu(sp.csr_matrix(A, dtype=np.float64), format="csr")
            upper.sort_indices()
            if not (np.array_equal(upper.indptr, self._upper.indptr)
                    and np.array_equal(upper.indices, self._upper.indices)):
                raise ValueError("build(A): A must have the analysed sparsity pattern")
            self._upper = upper
        self._ps.set_phase(22)
        try:
            self._call(np.zeros((self.n, 1)))
        except Exception as exc:  # PyPardisoError: e.g. -4, zero pivot (not SPD)
            raise ValueError(f"matrix is not positive definite (PARDISO: {exc})") from exc
        self._ps.set_phase(33)

    def _solve(self, b):
        x = self._call(np.asfortranarray(b.reshape(self.n, -1)))
        return x.reshape(b.shape)

    def __del__(self):
        ps = getattr(self, "_ps", None)
        if ps is not None:
            try:
                ps.free_memory(everything=False)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass
