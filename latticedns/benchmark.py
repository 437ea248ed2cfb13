"""The benchmark schedule behind ``latticedns bench``: size a job before running it.

A DNP-juice sample (50 mM, 7.48 protons/nm^3) of N protons; schedule: 640 s microwaves on
(Pbar = 0.5 with the DNP source), 10 s microwaves off, selective saturation, then 1024
outputs 10 s apart (microwaves off).  The error is the largest difference of the visible
and hidden means over all outputs, relative to their largest magnitude, against the dense
method (N <= 4000) or a run with a 100x tighter tolerance.
"""

import resource
import time

import numpy as np

from .conditions import ElectronCondition
from .lattice import SampleSpec, generate_sample
from .lattice.model import LatticeModel, LatticeParameters
from .propagation import Propagator
from .propagation.propagator import auto_method

__all__ = ["benchmark_schedule", "run_benchmark"]

P_OFF = 0.99926
MW_ON = ElectronCondition(pbar=0.5, dnp_rate_per_s=1.0, dnp_target=0.8)
MW_OFF = ElectronCondition(pbar=P_OFF)


def benchmark_schedule(model, method, rtol):
    """Run the schedule; returns (signals (1035, 2), counters dict)."""
    C = model.observable_weights(P_OFF, 200.0)
    on = Propagator(*model.operator(MW_ON), method=method, rtol=rtol)
    off = Propagator(*model.operator(MW_OFF), method=method, rtol=rtol)
    r1 = on.sample(np.zeros(model.n), np.linspace(64.0, 640.0, 10), C)
    r2 = off.sample(r1.p_final, [10.0], C)
    p = np.where(model.visible(P_OFF), 0.0, r2.p_final)
    r3 = off.sample(p, 10.0 * np.arange(1, 1025), C)
    runs = (r1, r2, r3)
    counters = {key: int(sum(getattr(r, key) for r in runs))
                for key in ("n_factorizations", "n_solves", "n_matvec")}
    counters["success"] = all(r.success for r in runs)
    return np.concatenate([r.signals for r in runs]), counters


def _peak_memory_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_benchmark(n_protons, cutoff_nm=1.0, method="auto", rtol=1e-6, seed=1, reference=True):
    """Build and propagate the benchmark; returns a dict of timings, memory and error.

    Parameters
    ----------
    n_protons : int
        Sample size (>= 500).
    cutoff_nm : float
        Flip-flop cutoff in nm.
    method : str
        Propagation method ("auto", "krylov", "dense", ...).
    rtol : float
        Relative tolerance of the propagation.
    seed : int
        Sample seed.
    reference : bool
        Also compute the reference and the relative error.
    """
    tick = time.perf_counter()
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50.0, "proton_density_per_nm3": 7.48, "n_protons": int(n_protons), "seed": seed}))
    params = LatticeParameters(cutoff_nm=cutoff_nm, hyperfine_cutoff_nm=min(3.0, 0.49 * sample.box_nm))
    model = LatticeModel(sample, params)
    model.operator(MW_ON)
    model.operator(MW_OFF)
    build = time.perf_counter() - tick
    tick = time.perf_counter()
    if method == "auto":
        method = auto_method(model.n)
    signals, counters = benchmark_schedule(model, method, rtol)
    propagate_s = time.perf_counter() - tick
    out = {"protons": model.n, "pairs": len(model.geometry.i), "cutoff_nm": cutoff_nm,
           "method": method, "rtol": rtol, "build_s": round(build, 3),
           "propagate_s": round(propagate_s, 3), "peak_memory_GB": round(_peak_memory_gb(), 3),
           **counters}
    if reference:
        ref_method, ref_rtol = ("dense", rtol) if model.n <= 4000 else (method, rtol / 100)
        ref, _ = benchmark_schedule(model, ref_method, ref_rtol)
        scale = np.abs(ref).max(axis=0)
        out["reference"] = f"{ref_method} rtol={ref_rtol:g}"
        out["relative_error"] = float(f"{np.max(np.abs(signals - ref) / scale):.3g}")
        out["peak_memory_GB"] = round(_peak_memory_gb(), 3)
    return out
