"""Linear solvers for the shifted operator ``A = K + sigma M``: a registry chosen by size.

Every propagation step of the ``"krylov"`` method is a solve with ``A`` (SPD for any
``sigma > 0``).  A solver is built once per ``(operator, sigma)`` and reused for every solve;
the registry behind one contract lets ``"auto"`` pick the cheapest that fits:

``"pardiso"``
    MKL PARDISO sparse Cholesky (``pypardiso``, optional extra ``latticedns[fast]``,
    x86_64 only), METIS ordering, both cores (`._pardiso`).  Measured on the README sample
    (4967 protons, 1.5 nm, 5.3e5 nonzeros): analysis 0.08 s (0.025 s with a known ordering),
    factorization 0.15-0.19 s, one solve 2.5-5.5 ms; 1e4 protons 0.16 + 0.6 s, 7.6 ms; 1e5
    protons 2.4 + 71-75 s, 0.37 s, 3.4 GB (idle machine, reproducible mode on).
``"dense"``
    (`._direct`) LAPACK Cholesky of the dense matrix (scipy): 1.2 s and 21 ms per solve on the README
    sample, 9.5 s and 87 ms at 1e4; memory ``8 n^2`` bytes.  The pure-scipy choice up to
    :data:`DENSE_MAX` unknowns (sparse factors of these operators fill in to nearly dense).
``"splu"``
    SuperLU (``scipy.sparse.linalg.splu``) in symmetric mode, ordered by nested dissection
    read off a spatial (Morton) index order; the pure-scipy choice above ``DENSE_MAX``.
``"amg"``
    (`._amg`) Conjugate gradients preconditioned by classical (Ruge-Stuben, second coarsening pass)
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

import numpy as np
import scipy.sparse as sp

from ._amg import AMGSolver, pyamg_module
from ...resources import memory_budget_bytes
from ._base import Solver
from ._direct import DenseSolver, SuperLUSolver, nested_dissection_from_order
from ._pardiso import PardisoSolver, pardiso_module

__all__ = ["Solver", "SOLVERS", "DENSE_MAX", "make_solver", "choose_solver",
           "available_solvers", "memory_budget_bytes", "nested_dissection_from_order",
           "DenseSolver", "SuperLUSolver", "PardisoSolver", "AMGSolver"]

#: Largest order the pure-scipy ``"auto"`` factorizes densely (8 n^2 bytes = 0.29 GB).
DENSE_MAX = 6000

#: Solver names accepted by :func:`make_solver` (``"auto"`` resolved by :func:`choose_solver`).
SOLVERS = ("auto", "pardiso", "dense", "splu", "amg")


_BACKENDS = {"pardiso": PardisoSolver, "dense": DenseSolver, "splu": SuperLUSolver,
             "amg": AMGSolver}


def available_solvers() -> list[str]:
    """Solver names whose packages are importable here (always ``dense`` and ``splu``)."""
    out = ["dense", "splu"]
    if pardiso_module() is not None:
        out.insert(0, "pardiso")
    if pyamg_module() is not None:
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
