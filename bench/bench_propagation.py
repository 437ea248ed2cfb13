"""Benchmark of latticedns.propagation on a HypRes-length schedule (real lattice samples).

Schedule (50 mM radicals, 7.48 protons/nm^3, seed 1): 640 s microwaves on (source, from
p = 0), 10 s gate (microwaves off), then a detect stage (off) sampled at 1024 outputs 10 s
apart; observables = visible and hidden means (``LatticeModel.observable_weights``).  Prints
one JSON line per run: build and propagation wall time, peak RSS, work counters per stage and,
unless ``--no-ref``, the largest relative error of both observables against a reference run
(``--ref-method``, default dense for n <= 3000 else krylov at rtol 1e-10).

Usage::

    python bench/bench_propagation.py --protons 10000 100000 --method lanczos [--rtol 1e-6]
    python bench/bench_propagation.py --protons 10000 --method auto --no-ref
    python bench/bench_propagation.py --synthetic --protons 10000 --method krylov  # bench/synthetic
    python bench/bench_propagation.py --protons 100000 --method krylov --solver pcg --ref-solver direct

``--solver`` selects how ``"krylov"`` solves with ``K + sigma I`` (``PropagationOptions.solver``);
the JSON line then also holds the factor nonzeros (``factor_nnz``, of the preconditioner for
pcg), the factorization wall time and, for pcg, inner iterations per solve.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from latticedns.propagation import Propagator  # noqa: E402

T_POL, T_GATE, N_OUT, DT_OUT = 640.0, 10.0, 1024, 10.0
P_OFF = 0.99926


def peak_rss_gb() -> float:
    """Peak resident memory of this process (GB; Linux reports ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def lattice_problem(n: int, seed: int = 1):
    """((L_on, s_on), (L_off, s_off), C) for a real lattice sample with ``n`` protons."""
    from latticedns.conditions import ElectronCondition
    from latticedns.lattice import SampleSpec, generate_sample
    from latticedns.lattice.model import LatticeModel

    s = generate_sample(SampleSpec.from_dict({"radical_mM": 50, "n_protons": n,
                                              "proton_density_per_nm3": 7.48, "seed": seed}))
    m = LatticeModel(s)
    on = m.operator(ElectronCondition(pbar=0.5, dnp_rate_per_s=0.05, dnp_target=0.9))
    off = m.operator(ElectronCondition(pbar=P_OFF))
    return on, off, m.observable_weights(P_OFF, 200.0)


def synthetic_problem(n: int, seed: int = 1):
    """Same triple for the synthetic sample of bench/synthetic.py."""
    from synthetic import make_sample

    S = make_sample(n, seed=seed)
    return (S.L, S.s), (S.L, np.zeros(n)), S.observables()


def _factor_info(props):
    """Factor nonzeros, factorization time (s) and pcg iterations from the propagators' caches."""
    out = dict(factor_nnz=[], factor_s=[])
    for p in props:
        for key, fac in p._cache.items():
            if isinstance(key, tuple) and key[0] in ("factor", "pcg"):
                out["factor_nnz"].append(int(getattr(fac, "nnz", -1)))
                out["factor_s"].append(round(p._factor_s, 3))
                pcg = getattr(fac, "pcg", None)
                if pcg is not None:
                    out.setdefault("pcg_iters", []).append(pcg.iterations)
                    out.setdefault("pcg_iters_per_solve", []).append(
                        round(pcg.iterations / max(pcg.n_solves, 1), 1))
                    out.setdefault("pcg_max_iters", []).append(pcg.max_iterations)
    return out


def _timed_factor(prop):
    """Record the wall time of the (lazy) factorization in ``prop._factor_s``."""
    prop._factor_s = 0.0
    m = prop._method
    if not hasattr(m, "factor"):
        return
    orig = m.factor

    def factor(sigma):
        t0 = time.perf_counter()
        out = orig(sigma)
        if out[1]:
            prop._factor_s += time.perf_counter() - t0
        return out

    m.factor = factor


def run_schedule(on, off, C, method="krylov", **opts):
    """Run the schedule; returns (signals of shape (1024, k), info dict)."""
    n = C.shape[1]
    t0 = time.perf_counter()
    pol = Propagator(*on, method=method, **opts)
    det = Propagator(*off, method=method, **opts)
    _timed_factor(pol)
    _timed_factor(det)
    r1 = pol.sample(np.zeros(n), [T_POL])
    r2 = det.sample(r1.p_final, [T_GATE])
    r3 = det.sample(r2.p_final, DT_OUT * np.arange(1, N_OUT + 1), C, final_state=False)
    wall = time.perf_counter() - t0
    rs = (r1, r2, r3)
    return r3.signals, dict(method=pol.method_name, solver=pol.options.solver,
                            wall_s=round(wall, 3),
                            matvec=[r.n_matvec for r in rs], solves=[r.n_solves for r in rs],
                            factorizations=sum(r.n_factorizations for r in rs),
                            dims=[r.krylov_dim for r in rs], success=all(r.success for r in rs),
                            **_factor_info((pol, det)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protons", type=int, nargs="+", default=[10000])
    ap.add_argument("--method", default="auto")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--no-ref", action="store_true")
    ap.add_argument("--ref-method", default=None)
    ap.add_argument("--ref-rtol", type=float, default=1e-10)
    ap.add_argument("--solver", default=None, help="PropagationOptions.solver (krylov)")
    ap.add_argument("--ref-solver", default=None, help="solver of the krylov reference")
    ap.add_argument("--pcg-keep", type=int, default=None)
    ap.add_argument("--pcg-tol", type=float, default=None)
    a = ap.parse_args(argv)
    for n in a.protons:
        t0 = time.perf_counter()
        on, off, C = (synthetic_problem if a.synthetic else lattice_problem)(n, a.seed)
        build = time.perf_counter() - t0
        extra = {k: v for k, v in dict(solver=a.solver, pcg_keep=a.pcg_keep,
                                             pcg_tol=a.pcg_tol).items() if v is not None}
        sig, info = run_schedule(on, off, C, a.method, rtol=a.rtol, backend=a.backend, **extra)
        line = dict(protons=n, sample="synthetic" if a.synthetic else "lattice",
                    nnz=int(on[0].nnz), build_s=round(build, 3), rtol=a.rtol, **info,
                    peak_rss_gb=round(peak_rss_gb(), 3))
        if not a.no_ref:
            rm = a.ref_method or ("dense" if n <= 3000 else "krylov")
            ropt = dict(solver=a.ref_solver) if a.ref_solver and rm == "krylov" else {}
            ref, rinfo = run_schedule(on, off, C, rm, rtol=a.ref_rtol, backend=a.backend, **ropt)
            err = np.abs(sig - ref).max(axis=0) / np.abs(ref).max(axis=0)
            line.update(ref_method=rm, ref_wall_s=rinfo["wall_s"], err=[float(e) for e in err],
                        peak_rss_gb_with_ref=round(peak_rss_gb(), 3))
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
