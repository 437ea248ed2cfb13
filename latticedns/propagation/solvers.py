"""Linear solvers for the shifted operator ``A = K + sigma M``: a registry chosen by size.

Every propagation step of the ``"krylov"`` method is a solve with ``A`` (SPD for any
``sigma > 0``).  A solver is built once per ``(operator, sigma)`` and reused for every solve;
the registry behind one contract lets ``"auto"`` pick the cheapest that fits:

``"pardiso"``
    MKL PARDISO sparse Cholesky (``pypardiso``, optional extra ``latticedns[fast]``,
    x86_64 only), METIS ordering, both cores.  Measured on the README sample (4967 protons,
    1.5 nm, 5.3e5 nonzeros): analysis 0.08 s, factorization 0.17 s, one solve 7 ms; 1e4
    protons 0.16 + 0.6 s, 27 ms; 1e5 protons 2.4 + 75 s, 0.25 s, 3.4 GB (idle machine).
``"dense"``
    LAPACK Cholesky of the dense matrix (scipy): 1.2 s and 21 ms per solve on the README
    sample, 9.5 s and 87 ms at 1e4; memory ``8 n^2`` bytes.  The pure-scipy choice up to
    :data:`DENSE_MAX` unknowns (sparse factors of these operators fill in to nearly dense).
``"splu"``
    SuperLU (``scipy.sparse.linalg.splu``) in symmetric mode, ordered by nested dissection
    read off a spatial (Morton) index order; the pure-scipy choice above ``DENSE_MAX``.
``"amg"``
    Conjugate gradients preconditioned by classical (Ruge-Stuben, second coarsening pass)
    algebraic multigrid (``pyamg``, optional extra): O(nnz) memory, set-up well under a
    second at 1e5, 10-17 iterations per solve.  Inexact: each solve stops at a relative
    preconditioned residual ``tol`` (see :class:`AMGSolver`), so the Krylov method treats it
    as inexact (``Solver.exact`` is False).

``"auto"`` (:func:`choose_solver`): among the installed backends whose memory fits (PARDISO's
own symbolic analysis estimates its factor), the one with the least estimated set-up plus
expected solves (deterministic operation counts, `Solver.estimated_seconds`); SuperLU when
nothing else fits.  Missing optional packages fall back silently.  Every solver counts its
solves and set-up time.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> A = sp.diags([-np.ones(9), 2.5 * np.ones(10), -np.ones(9)], [-1, 0, 1], format="csr")
>>> s = make_solver(A, "dense")
>>> bool(np.allclose(A @ s.solve(np.ones(10)), 1.0)), s.n_solves
(True, 1)
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["Solver", "SOLVERS", "DENSE_MAX", "make_solver", "choose_solver",
           "available_solvers", "memory_budget_bytes", "nested_dissection_from_order"]

#: Largest order the pure-scipy ``"auto"`` factorizes densely (8 n^2 bytes = 0.29 GB).
DENSE_MAX = 6000

#: Solver names accepted by :func:`make_solver` (``"auto"`` resolved by :func:`choose_solver`).
SOLVERS = ("auto", "pardiso", "dense", "splu", "amg")


def memory_budget_bytes() -> int:
    """Memory a run may use: 80 % of the machine's available memory (``/proc/meminfo``)."""
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in fh}
        avail = info.get("MemAvailable", info.get("MemTotal"))
    except (OSError, ValueError, IndexError):
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(0.8 * avail)


class Solver:
    """A reusable solver for one SPD matrix ``A`` (the contract of every backend).

    Attributes
    ----------
    name : str
        Backend name (a key of :data:`SOLVERS`).
    n : int
        Order of ``A``.
    exact : bool
        True for direct factorizations (solves accurate to rounding); False for iterative
        solvers, whose relative residual is ``tol``.
    tol : float
        Relative residual of an inexact solve (0 for direct solvers).
    setup_s : float
        Wall seconds spent building the solver (factorization or multigrid hierarchy).
    solve_s : float
        Wall seconds spent in solves so far.
    n_solves : int
        Right-hand sides solved so far (a block of k columns counts k).
    n_iterations : int
        Inner iterations so far (iterative solvers; 0 for direct ones).
    memory_bytes : int
        Memory held by the factor or hierarchy (estimate).
    """

    name = ""
    exact = True

    def __init__(self, A, tol=None):
        self.n = A.shape[0]
        self.nnz = A.nnz
        self.tol = 0.0
        self.setup_s = self.solve_s = 0.0
        self.n_solves = self.n_iterations = 0
        self.memory_bytes = 0
        self.built = False

    def estimated_seconds(self) -> tuple[float, float]:
        """Deterministic ``(set-up, one solve)`` estimates in seconds on this machine kind.

        From operation counts at measured rates (42 GF/s for factorizations, 28 GB/s of
        streamed factor or matrix; 2 cores): never a timing of this run, so every choice
        made on them, and the results, are the same whatever the load.
        """
        n = float(self.n)
        return n ** 3 / 3 / 42e9, 8 * n * n / 28e9  # dense Cholesky

    def setup_in_solves(self) -> float:
        """The set-up cost in units of one solve (`estimated_seconds`)."""
        setup, solve = self.estimated_seconds()
        return setup / solve

    def build(self, A=None):
        """Do the numerical set-up (factorization, hierarchy), optionally for another matrix
        ``A`` of the same sparsity pattern (a new shift); a no-op when already built."""
        if self.built:
            return self
        tick = time.perf_counter()
        self._build(A)
        self.setup_s += time.perf_counter() - tick
        self.built = True
        return self

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A^{-1} b`` for ``b`` of shape (n,) or (n, k) (float64)."""
        if not self.built:
            raise RuntimeError("solver not built: call build() first")
        b = np.asarray(b, dtype=np.float64)
        tick = time.perf_counter()
        x = self._solve(b)
        self.solve_s += time.perf_counter() - tick
        self.n_solves += 1 if b.ndim == 1 else b.shape[1]
        return x

    @property
    def seconds_per_solve(self) -> float:
        """Mean wall seconds per right-hand side so far (nan before the first solve)."""
        return self.solve_s / self.n_solves if self.n_solves else float("nan")

    def _solve(self, b):  # pragma: no cover - each backend overrides it
        raise NotImplementedError


class DenseSolver(Solver):
    """LAPACK Cholesky of the dense matrix."""

    name = "dense"

    def __init__(self, A, tol=None):
        super().__init__(A)
        self._A = A
        self.memory_bytes = 8 * self.n * self.n

    def _build(self, A):
        A = self._A if A is None else A
        self._A = None
        try:
            self._c = sla.cho_factor(A.toarray(), lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"matrix is not positive definite: {exc}") from exc

    def _solve(self, b):
        return sla.cho_solve(self._c, b, check_finite=False)


def nested_dissection_from_order(A: sp.csr_matrix, leaf: int = 64, max_sep_frac: float = 0.25):
    """Nested-dissection permutation of a spatially ordered sparse matrix, or None.

    Recursively halves an index range; the separator is the set of first-half indices with a
    neighbour in the second half.  Returns None if a top-level separator exceeds
    ``max_sep_frac`` of its range (the index order is then not spatial).

    Parameters
    ----------
    A : scipy.sparse.csr_matrix, shape (n, n)
        Structurally symmetric matrix.
    leaf : int
        Ranges at most this long are not split.
    max_sep_frac : float
        Give-up threshold for the top-level separator.

    Returns
    -------
    ndarray of int, shape (n,), or None
    """
    A = sp.csr_matrix(A)
    n = A.shape[0]
    pattern = sp.csr_matrix((np.ones(A.nnz, dtype=np.int8), A.indices, A.indptr), shape=A.shape)
    out: list[np.ndarray] = []
    stack: list[tuple[np.ndarray, bool]] = [(np.arange(n), False)]
    in_b = np.zeros(n, dtype=bool)
    while stack:  # iterative post-order: children first, separator last
        idx, expanded = stack.pop()
        if expanded or len(idx) <= leaf:
            out.append(idx)
            continue
        mid = len(idx) // 2
        a, b = idx[:mid], idx[mid:]
        in_b[b] = True
        sub = pattern[a]
        hit = np.asarray(sp.csr_matrix((in_b[sub.indices].astype(np.int8), sub.indices, sub.indptr),
                                       shape=sub.shape).sum(axis=1)).ravel() > 0
        in_b[b] = False
        sep = a[hit]
        if len(idx) == n and len(sep) > max_sep_frac * n:
            return None
        stack.append((sep, True))
        stack.append((b, False))
        stack.append((a[~hit], False))
    return np.concatenate(out)


class SuperLUSolver(Solver):
    """SuperLU in symmetric mode (no pivoting), nested dissection from a spatial order."""

    name = "splu"

    def __init__(self, A, tol=None):
        super().__init__(A)
        self._A = A
        self.memory_bytes = 12 * 40 * A.nnz  # estimate until built (fill ~40x here)

    def estimated_seconds(self):
        """See `Solver.estimated_seconds` (measured 9.9 s and 44 ms at 1e4, 1.5 nm)."""
        n = float(self.n)
        return 9.9 * (n / 1e4) ** 2, 0.044 * (n / 1e4) ** 1.5

    def _build(self, A):
        A = self._A if A is None else A
        self._A = None
        perm = nested_dissection_from_order(A) if self.n > 2000 else None
        opts = dict(diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
        try:
            if perm is None:
                self._lu = spla.splu(sp.csc_matrix(A), permc_spec="MMD_AT_PLUS_A", **opts)
            else:
                self._lu = spla.splu(sp.csc_matrix(A[perm][:, perm]), permc_spec="NATURAL", **opts)
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            raise ValueError(f"matrix is singular: {exc}") from exc
        self._perm = perm
        if perm is not None:
            self._inv = np.empty_like(perm)
            self._inv[perm] = np.arange(len(perm))
        self.memory_bytes = 12 * (self._lu.L.nnz + self._lu.U.nnz)

    def _solve(self, b):
        if self._perm is None:
            return self._lu.solve(b)
        return self._lu.solve(np.ascontiguousarray(b[self._perm]))[self._inv]


def _pardiso_module():
    """``pypardiso`` if it loads MKL here, else None (checked once per process).

    pypardiso searches the whole environment for ``mkl_rt`` in every ``PyPardisoSolver()``
    (0.16 s each, measured) unless ``PYPARDISO_MKL_RT`` names it: the path found by the
    first successful load is put there for the later ones.  ``MKL_CBWR`` defaults to
    ``AUTO`` before MKL loads: with it (and ``iparm(34)``, see `PardisoSolver`) PARDISO's
    results are reproducible bit for bit, whatever the load and the number of threads
    (without it, two factorizations of one matrix differed in the last bits when another
    process loaded the machine: measured).
    """
    global _PARDISO
    if _PARDISO is None:
        try:
            import pypardiso  # optional: latticedns[fast], x86_64 only
            os.environ.setdefault("MKL_CBWR", "AUTO")
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
        pypardiso = _pardiso_module()
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


def _pyamg_module():
    try:
        import pyamg  # optional: latticedns[fast]
    except Exception:  # noqa: BLE001
        return None
    return pyamg


class AMGSolver(Solver):
    """CG preconditioned by a classical AMG V-cycle (pyamg Ruge-Stuben, second pass, one
    forward / backward Gauss-Seidel sweep).

    Each solve stops when the preconditioned residual ``||P r||`` falls below ``tol``
    times ``||P b||`` (``criteria="MrMr"``, a stand-in for the energy norm of the error that
    does not depend on the condition number, ~1e9 here).  Measured on the lattice operators:
    12-17 iterations at 1e-10 for 1e4 and 1e5 protons (1.5 nm).
    """

    name = "amg"
    exact = False

    def __init__(self, A, tol=1e-10):
        super().__init__(A)
        if _pyamg_module() is None:
            raise ImportError("pyamg is not installed: pip install 'latticedns[fast]'")
        self._A = sp.csr_matrix(A, dtype=np.float64)
        self.tol = 1e-10 if tol is None else float(tol)
        self.failures = 0
        self.memory_bytes = 3 * 12 * A.nnz  # operator complexity ~1.85, plus transfers

    def estimated_seconds(self):
        """See `Solver.estimated_seconds`: ~15 CG iterations of ~25 matrix passes (measured
        1.4-3 s per solve at 1e5 unknowns, 1.5 nm); a hierarchy costs a third of a solve."""
        solve = 15 * 25 * 12.0 * self.nnz / 28e9
        return 0.3 * solve, solve

    def _build(self, A):
        pyamg = _pyamg_module()
        if A is not None:
            self._A = sp.csr_matrix(A, dtype=np.float64)
        # one forward Gauss-Seidel sweep before and one backward sweep after the coarse
        # correction: a symmetric V-cycle (a valid CG preconditioner) with half the sweeps of
        # pyamg's default symmetric/symmetric (measured at 1e5: 1.4 s per solve at 1e-8
        # against 2.3 s, 11-12 iterations either way)
        self._ml = pyamg.ruge_stuben_solver(self._A, CF=("RS", {"second_pass": True}),
                                            presmoother=("gauss_seidel", {"sweep": "forward"}),
                                            postsmoother=("gauss_seidel", {"sweep": "backward"}))
        self._M = self._ml.aspreconditioner(cycle="V")
        self._cg = pyamg.krylov.cg
        self.memory_bytes = int(sum(12 * lv.A.nnz + 8 * lv.A.shape[0] for lv in self._ml.levels)
                                + 12 * sum(lv.P.nnz for lv in self._ml.levels[:-1]))

    def _one(self, b):
        res = []
        x, info = self._cg(self._A, b, tol=self.tol, criteria="MrMr", M=self._M,
                           maxiter=500, residuals=res)
        self.n_iterations += max(len(res) - 1, 0)
        self.failures += int(info != 0)
        return x

    def _solve(self, b):
        if b.ndim == 1:
            return self._one(b)
        return np.column_stack([self._one(b[:, k]) for k in range(b.shape[1])])


_BACKENDS = {"pardiso": PardisoSolver, "dense": DenseSolver, "splu": SuperLUSolver,
             "amg": AMGSolver}


def available_solvers() -> list[str]:
    """Solver names whose packages are importable here (always ``dense`` and ``splu``)."""
    out = ["dense", "splu"]
    if _pardiso_module() is not None:
        out.insert(0, "pardiso")
    if _pyamg_module() is not None:
        out.append("amg")
    return out


def choose_solver(A, budget_bytes: int | None = None, direct: bool = False,
                  expected_solves: float = 45.0, tol: float = 1e-10) -> Solver:
    """The ``"auto"`` solver for ``A``, not yet built (call ``.build()``).

    Candidates are the installed backends whose memory fits a quarter of ``budget_bytes``
    (default :func:`memory_budget_bytes`; a schedule holds several solvers): PARDISO (its
    symbolic analysis, 0.08 s at 5e3 unknowns and 2.4 s at 1e5, gives the factor's memory
    and flop count), dense Cholesky (up to :data:`DENSE_MAX` unknowns), AMG, SuperLU (only
    without the others).  The one with the least ``set-up + expected_solves x solve``
    (`Solver.estimated_seconds`) wins.  ``direct=True`` excludes the inexact ``"amg"``.
    """
    budget = memory_budget_bytes() if budget_bytes is None else int(budget_bytes)
    n = A.shape[0]
    names = [s for s in available_solvers() if not (direct and s == "amg")]
    candidates = []
    if "pardiso" in names:
        candidates.append(PardisoSolver(A))
    if n <= DENSE_MAX:
        candidates.append(DenseSolver(A))
    if "amg" in names:
        candidates.append(AMGSolver(A, tol=tol))
    fitting = [c for c in candidates if c.memory_bytes <= budget / 4]
    if not fitting:
        return SuperLUSolver(A)

    def cost(c):
        setup, solve = c.estimated_seconds()
        return setup + expected_solves * solve

    return min(fitting, key=cost)


def make_solver(A, name: str = "auto", *, tol: float = 1e-10, budget_bytes: int | None = None,
                direct: bool = False, expected_solves: float = 45.0, build: bool = True) -> Solver:
    """The solver ``name`` for the SPD matrix ``A`` (shape (n, n)).

    Parameters
    ----------
    A : sparse matrix, shape (n, n)
        Symmetric positive definite (``K + sigma M``).
    name : {"auto", "pardiso", "dense", "splu", "amg"}
        Backend; ``"auto"``: :func:`choose_solver`.  An optional backend that is not
        installed raises ImportError (``"auto"`` never does).
    tol : float
        Relative residual of iterative solves (``"amg"``).
    budget_bytes : int, optional
        Memory budget for ``"auto"``.
    direct : bool
        ``"auto"`` only: never the inexact ``"amg"``.
    expected_solves : float
        ``"auto"`` only: how many solves the solver is expected to serve.
    build : bool
        Do the numerical set-up now; False returns the solver unbuilt, whose
        `Solver.estimated_seconds` is available (PARDISO has run its analysis), for
        ``solver.build(A2)`` with ``A`` or another matrix of the same pattern.

    Raises
    ------
    ValueError
        Unknown name, or ``A`` is not positive definite (when built).
    """
    if name not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {name!r}")
    A = sp.csr_matrix(A, dtype=np.float64)
    if name == "auto":
        solver = choose_solver(A, budget_bytes, direct, expected_solves, tol)
    else:
        solver = _BACKENDS[name](A, tol=tol)
    return solver.build() if build else solver
