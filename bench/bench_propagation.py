"""Benchmark of latticedns.propagation on a HypRes-length schedule (synthetic samples).

Schedule: 640 s polarization (source on, from p = 0), 10 s gate (source off), then a detect
stage (source off) sampled at 1024 outputs 10 s apart.  Reports wall time, peak RSS and the
largest relative error of the visible-proton mean over the 1024 outputs against a reference
(dense eigendecomposition for n <= 3000, else the same method at rtol = 1e-12).

Usage::

    python bench/bench_propagation.py 10000 [100000 ...] [--rtol 1e-6] [--backend auto]
    python bench/bench_propagation.py 10000 --bdf        # also scipy solve_ivp BDF (slow)
    python bench/bench_propagation.py 10000 --steps      # detect stage as 1024 advance() calls
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic import make_sample  # noqa: E402

from latticedns.propagation import Propagator  # noqa: E402

T_POL, T_GATE, N_OUT, DT_OUT = 640.0, 10.0, 1024, 10.0


def peak_rss_gb() -> float:
    """Peak resident memory of this process (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run_schedule(sample, method="krylov", steps=False, **opts):
    """Run the schedule; returns (visible-mean signal of shape (1024,), info dict)."""
    C = sample.observables()[:1]
    pol = Propagator(sample.L, sample.s, method=method, **opts)
    off = pol.with_source(np.zeros(sample.n))
    t0 = time.perf_counter()
    r1 = pol.sample(np.zeros(sample.n), [T_POL])
    r2 = off.sample(r1.p_final, [T_GATE])
    times = DT_OUT * np.arange(1, N_OUT + 1)
    solves = r1.n_solves + r2.n_solves
    if steps:
        p, sig = r2.p_final, []
        for _ in range(N_OUT):
            r = off.sample(p, [DT_OUT], C)
            p = r.p_final
            sig.append(r.signals[0, 0])
            solves += r.n_solves
        sig = np.array(sig)
        dim = None
    else:
        r3 = off.sample(r2.p_final, times, C)
        sig = r3.signals[:, 0]
        solves += r3.n_solves
        dim = (r1.krylov_dim, r2.krylov_dim, r3.krylov_dim)
    wall = time.perf_counter() - t0
    return sig, dict(wall=wall, solves=solves, dims=dim)


def run_bdf(sample, rtol=1e-6):
    """scipy solve_ivp BDF with the sparse Jacobian on the same schedule; (signal, seconds)."""
    from scipy.integrate import solve_ivp

    L, s = sample.L, sample.s
    vis = sample.observables()[:1]
    t0 = time.perf_counter()
    y = np.zeros(sample.n)
    for src, T in ((s, T_POL), (0 * s, T_GATE)):
        r = solve_ivp(lambda t, p, src=src: L @ p + src, (0, T), y, method="BDF", jac=L,
                      rtol=rtol, atol=1e-12)
        y = r.y[:, -1]
    times = DT_OUT * np.arange(1, N_OUT + 1)
    r = solve_ivp(lambda t, p: L @ p, (0, times[-1]), y, method="BDF", jac=L, t_eval=times,
                  rtol=rtol, atol=1e-12)
    return (vis @ r.y)[0], time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bdf", action="store_true")
    ap.add_argument("--steps", action="store_true")
    ap.add_argument("--no-ref", action="store_true")
    a = ap.parse_args(argv)
    for n in a.sizes:
        t0 = time.perf_counter()
        S = make_sample(n, seed=a.seed)
        build = time.perf_counter() - t0
        sig, info = run_schedule(S, rtol=a.rtol, backend=a.backend, steps=a.steps)
        line = (f"n={n} nnz={S.L.nnz} build={build:.2f}s krylov wall={info['wall']:.2f}s "
                f"solves={info['solves']} dims={info['dims']} peakRSS={peak_rss_gb():.2f}GB")
        if not a.no_ref:
            ref_method, ref_opts = ("dense", {}) if n <= 3000 else ("krylov", dict(rtol=1e-12))
            ref, rinfo = run_schedule(S, method=ref_method, backend=a.backend, **ref_opts)
            err = np.abs(sig - ref).max() / np.abs(ref).max()
            line += f" err_vs_{ref_method}={err:.2e} (ref {rinfo['wall']:.1f}s)"
        print(line, flush=True)
        if a.bdf:
            bsig, bt = run_bdf(S, rtol=a.rtol)
            berr = np.abs(bsig - sig).max() / np.abs(sig).max()
            print(f"  BDF rtol={a.rtol}: {bt:.1f}s, diff vs krylov {berr:.2e}, "
                  f"ratio BDF/krylov = {bt / info['wall']:.0f}", flush=True)


if __name__ == "__main__":
    main()
