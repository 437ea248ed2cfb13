"""The benchmark schedule behind ``latticedns bench``: size a job before running it.

A DNP-juice sample (50 mM, 7.48 protons/nm^3) of N protons with the default physics
(`LatticeParameters` defaults: Gaussian line, 1.5 nm flip-flop cutoff; the default
`MicrowaveCalibration`: tau_c(Pbar), Eq. 6 at T1e, k_DNP 0.004 s^-1).  Schedule: 640 s at
118 mW (Pbar = 0.5, DNP source), 10 s microwaves off, selective saturation of the visible
protons, then 1024 outputs 10 s apart (microwaves off).  The error is the largest
difference of the visible and hidden means over all outputs, relative to their largest
magnitude, against the dense method (N <= 4000) or a run with a 100x tighter tolerance.

Peak memory is the largest resident set size sampled every 20 ms during each phase
(build, run, reference), so the phases are reported separately.  Loading the optional
solver libraries (MKL) is part of the build phase, not of the propagation.
"""

import threading
import time

import numpy as np

from .lattice import SampleSpec, generate_sample
from .lattice.model import LatticeModel, LatticeParameters
from .propagation import Propagator
from .propagation.propagator import auto_method, reference_time
from .propagation.solvers import available_solvers
from .protocol.microwave import MicrowaveCalibration, MicrowaveSetting

__all__ = ["benchmark_sample", "benchmark_schedule", "run_benchmark", "compare_bdf",
           "PeakMemory"]

CALIBRATION = MicrowaveCalibration()
MW_ON = CALIBRATION.condition(MicrowaveSetting(power_mW=118.0))
MW_OFF = CALIBRATION.condition(MicrowaveSetting(power_mW=0.0))
P_OFF = MW_OFF.pbar
ON_TIMES = np.linspace(64.0, 640.0, 10)
DETECT_TIMES = 10.0 * np.arange(1, 1025)


class PeakMemory:
    """Context manager: the peak resident set size (GB) of this process while it is open."""

    def __init__(self, interval_s=0.02):
        self.interval_s, self.peak_GB = interval_s, 0.0
        self._stop = threading.Event()

    @staticmethod
    def rss_GB():
        """Current resident set size in GB (``/proc/self/statm``)."""
        import os

        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3

    def _watch(self):
        while not self._stop.wait(self.interval_s):
            self.peak_GB = max(self.peak_GB, self.rss_GB())

    def __enter__(self):
        self.peak_GB = self.rss_GB()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_GB = max(self.peak_GB, self.rss_GB())


def benchmark_sample(n_protons, cutoff_nm=1.5, seed=1):
    """``(SampleSpec, LatticeParameters)`` of the benchmark (box from ``n_protons``)."""
    spec = SampleSpec.from_dict({"radical_mM": 50.0, "proton_density_per_nm3": 7.48,
                                 "n_protons": int(n_protons), "seed": seed})
    hyperfine = min(3.0, 0.49 * spec.box_edge_nm)
    return spec, LatticeParameters(cutoff_nm=cutoff_nm, hyperfine_cutoff_nm=hyperfine)


def benchmark_schedule(model, method, rtol, solver="auto", progress=None):
    """Run the schedule; returns (signals (1035, 2), counters dict).

    ``progress(stage_name, seconds_so_far)`` is called as each stage starts.
    """
    tick = time.perf_counter()
    def report(name):
        if progress is not None:
            progress(name, time.perf_counter() - tick)

    C = model.observable_weights(P_OFF, 200.0)
    on = Propagator(*model.operator(MW_ON), method=method, rtol=rtol, solver=solver)
    off = Propagator(*model.operator(MW_OFF), method=method, rtol=rtol, solver=solver)
    on.plan([reference_time(ON_TIMES[0], ON_TIMES[-1])])
    off.plan([10.0, reference_time(DETECT_TIMES[0], DETECT_TIMES[-1])])  # gate, detection
    report("microwaves on (640 s)")
    r1 = on.sample(np.zeros(model.n), ON_TIMES, C)
    report("gate (10 s)")
    r2 = off.sample(r1.p_final, [10.0], C)
    p = np.where(model.visible(P_OFF), 0.0, r2.p_final)
    report("detection (1024 x 10 s)")
    r3 = off.sample(p, DETECT_TIMES, C)
    runs = (r1, r2, r3)
    counters = {key: int(sum(getattr(r, key) for r in runs))
                for key in ("n_factorizations", "n_solves", "n_matvec")}
    counters["solver"] = ",".join(dict.fromkeys(r.solver for r in runs if r.solver)) or method
    counters["source_modes"] = [r.source_mode for r in runs]
    counters["success"] = all(r.success for r in runs)
    return np.concatenate([r.signals for r in runs]), counters


def _relative_error(signals, ref):
    return float(f"{np.max(np.abs(signals - ref) / np.abs(ref).max(axis=0)):.3g}")


def compare_bdf(model, rtol, limit_s, progress=None):
    """The schedule with ``scipy.integrate.solve_ivp(method="BDF")`` and a sparse Jacobian.

    Returns ``(signals or None, seconds, simulated seconds reached)``: None when the time
    limit ``limit_s`` (wall seconds) ran out first.
    """
    from scipy.integrate import solve_ivp

    C = model.observable_weights(P_OFF, 200.0)
    tick = time.perf_counter()
    reached = [0.0]

    class _Limit(Exception):
        pass

    def stage(L, s, p0, t_eval, t0):
        def rhs(t, p):
            if time.perf_counter() - tick > limit_s:
                raise _Limit
            reached[0] = t0 + t
            return L @ p + s
        sol = solve_ivp(rhs, (0.0, float(t_eval[-1])), p0, method="BDF", t_eval=t_eval,
                        jac=L, rtol=rtol, atol=1e-12)
        return sol.y

    out = []
    try:
        L_on, s_on = model.operator(MW_ON)
        L_off, s_off = model.operator(MW_OFF)
        y = stage(L_on, s_on, np.zeros(model.n), ON_TIMES, 0.0)
        out.append(C @ y)
        y = stage(L_off, s_off, y[:, -1], [10.0], 640.0)
        out.append(C @ y)
        if progress:
            progress("BDF detection", time.perf_counter() - tick)
        y = stage(L_off, s_off, np.where(model.visible(P_OFF), 0.0, y[:, -1]), DETECT_TIMES, 650.0)
        out.append(C @ y)
    except _Limit:
        return None, time.perf_counter() - tick, reached[0]
    return np.concatenate(out, axis=1).T, time.perf_counter() - tick, reached[0]


def run_benchmark(n_protons, cutoff_nm=1.5, method="auto", solver="auto", rtol=1e-6, seed=1,
                  reference=True, bdf_limit_s=None, progress=None):
    """Build and propagate the benchmark; returns a dict of the sample, timings, memory, error.

    Parameters
    ----------
    n_protons : int
        Sample size (>= 500).
    cutoff_nm : float
        Flip-flop cutoff in nm (default 1.5, the default physics).
    method : str
        Propagation method ("auto", "krylov", "dense").
    solver : str
        Linear solver of the Krylov method (`latticedns.propagation.solvers`).
    rtol : float
        Relative tolerance of the propagation.
    seed : int
        Sample seed.
    reference : bool
        Also compute the reference and the relative error.
    bdf_limit_s : float, optional
        Also run ``solve_ivp(method="BDF")`` for at most this many wall seconds
        (:func:`compare_bdf`) and report the time ratio.
    progress : callable, optional
        ``progress(message)`` for each step (the CLI prints them to stderr).
    """
    say = progress or (lambda msg: None)
    tick = time.perf_counter()
    with PeakMemory() as mem_build:
        spec, params = benchmark_sample(n_protons, cutoff_nm, seed)
        sample = generate_sample(spec)
        model = LatticeModel(sample, params)
        model.operator(MW_ON)
        L, _ = model.operator(MW_OFF)
        available = available_solvers()  # loads the optional libraries (MKL: ~0.3-1 s cold)
    build = time.perf_counter() - tick
    out = {"protons": model.n, "radicals": len(sample.radicals_nm), "radical_mM": 50.0,
           "box_nm": round(float(sample.box_nm), 3), "cutoff_nm": cutoff_nm,
           "lineshape": params.lineshape, "pairs": len(model.geometry.i), "nnz": int(L.nnz),
           "build_s": round(build, 3), "build_peak_GB": round(mem_build.peak_GB, 3),
           "solvers_installed": available}
    say(f"sample: {model.n} protons, {out['radicals']} radicals (50 mM), box {out['box_nm']} nm, "
        f"{out['pairs']} pairs within {cutoff_nm} nm; built in {build:.1f} s")
    if method == "auto":
        method = auto_method(model.n)
    tick = time.perf_counter()
    with PeakMemory() as mem_run:
        signals, counters = benchmark_schedule(
            model, method, rtol, solver,
            progress=lambda name, s: say(f"run: {name} at {s:.1f} s"))
    propagate_s = time.perf_counter() - tick
    out.update({"method": method, "rtol": rtol, **counters, "propagate_s": round(propagate_s, 3),
                "peak_memory_GB": round(mem_run.peak_GB, 3)})
    say(f"run: {propagate_s:.1f} s, {counters['solver']}, {counters['n_factorizations']} "
        f"factorizations, {counters['n_solves']} solves")
    if reference:
        ref_method, ref_rtol = ("dense", rtol) if model.n <= 4000 else (method, rtol / 100)
        tick = time.perf_counter()
        with PeakMemory() as mem_ref:
            ref, ref_counters = benchmark_schedule(
                model, ref_method, ref_rtol, solver,
                progress=lambda name, s: say(f"reference: {name} at {s:.1f} s"))
        out.update({"reference": f"{ref_method} rtol={ref_rtol:g}",
                    "reference_s": round(time.perf_counter() - tick, 3),
                    "reference_solves": ref_counters["n_solves"],
                    "reference_peak_GB": round(mem_ref.peak_GB, 3),
                    "relative_error": _relative_error(signals, ref)})
    if bdf_limit_s is not None:
        say(f"solve_ivp(BDF), at most {bdf_limit_s:g} s")
        bdf, seconds, reached = compare_bdf(model, rtol, bdf_limit_s,
                                            progress=lambda name, s: say(f"{name} at {s:.1f} s"))
        out["bdf_s"] = round(seconds, 3)
        if bdf is None:
            out["bdf"] = (f"did not finish in {bdf_limit_s:g} s "
                          f"(reached t = {reached:.1f} s of 10890 s)")
            out["bdf_ratio"] = f"> {seconds / propagate_s:.0f}"
        else:
            out["bdf"] = "finished"
            out["bdf_ratio"] = round(seconds / propagate_s, 1)
            out["bdf_relative_error"] = _relative_error(bdf, signals)
    return out
