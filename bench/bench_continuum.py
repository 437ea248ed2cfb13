"""Cost and accuracy of the continuum model on a HypRes schedule (dense exact propagation).

Schedule (one "run"): from thermal proton polarization, 640 s of microwaves (positive
DNP), 10 s without microwaves, selective saturation of the visible DOFs (Boltzmann
electron polarization, 200 kHz), then 1024 outputs 10 s apart under the detection
condition (negative DNP at a microwave power; pbar = 0.99926 at zero power).  A power
series repeats the detection for 20 powers.  Time evolution: dense
``scipy.linalg.eigh(-A, M)`` once per condition, then exact exponentials of the
eigenvalues (independent of the package's propagator; ``--protocol`` times the package path).

Run:  python bench/bench_continuum.py [--study] [--protocol]
Prints JSON lines: timings of ``system()`` and of the propagation on the default mesh;
with ``--study``, the error of the visible/hidden means of a 20-power series against a
fine reference mesh for a set of meshes (how the default mesh was chosen); with
``--protocol``, the same work through the package (``run_protocol``, the exact
propagator, discrete 0.1 degree pulses): ``runs/hypres-mw-off.toml`` (positive variant)
and ``runs/hypres-mw-on.toml`` with 20 detection powers from 0 to 118 mW, both with
``model = "continuum"``.
"""

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.linalg as sla  # noqa: E402

from latticedns.conditions import ElectronCondition  # noqa: E402
from latticedns.continuum import ContinuumModel, ContinuumParameters  # noqa: E402

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runs")

P_BOLTZMANN = 0.99926
DNP_RATE = 0.2  # s^-1 at r0 = 0.9 nm (illustrative)
PREP = ElectronCondition(pbar=0.5, dnp_rate_per_s=DNP_RATE, dnp_target=0.7)
DARK = ElectronCondition(pbar=P_BOLTZMANN)


def power_series(n_powers=20):
    """Detection conditions from zero power (Boltzmann, no DNP) to full power."""
    x = np.linspace(0.0, 1.0, n_powers)
    return [ElectronCondition(pbar=float(P_BOLTZMANN - (P_BOLTZMANN - 0.5) * xi),
                              dnp_rate_per_s=float(DNP_RATE * xi), dnp_target=-0.7)
            for xi in x]


class DenseExact:
    """Exact propagation of ``M dp/dt = A p + s`` by a cached dense eigen-decomposition."""

    def __init__(self, model):
        self.model = model
        self._modes = {}

    def modes(self, condition):
        if condition not in self._modes:
            sysm = self.model.system(condition)
            lam, V = sla.eigh(-sysm.operator.toarray(), sysm.mass.toarray())
            lam[np.abs(lam) < 1e-12 * lam.max()] = 0.0
            self._modes[condition] = (lam, V, V.T @ sysm.source, sysm.mass)
        return self._modes[condition]

    def run(self, condition, p0, times, weights=None):
        """p(t) (or weights @ p(t)) at ``times`` (s, shape (T,)); returns (n or W, T)."""
        lam, V, ys, M = self.modes(condition)
        y0 = V.T @ (M @ p0)
        lt = lam[:, None] * np.asarray(times, float)[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = np.where(lt > 0, -np.expm1(-lt) / lam[:, None], times)
        y = np.exp(-lt) * y0[:, None] + phi * ys[:, None]
        out = V if weights is None else weights @ V
        return out @ y


def hypres(model, prop, detect, n_out=1024, dt=10.0):
    """One HypRes run; returns the (visible, hidden) means, shape (2, n_out)."""
    p = np.full(model.n, model.params.proton_thermal)
    p = prop.run(PREP, p, [640.0])[:, 0]
    p = prop.run(DARK, p, [10.0])[:, 0]
    p = np.where(model.saturation_mask(P_BOLTZMANN, 200.0), 0.0, p)
    w = model.observable_weights(detect.pbar, 200.0)
    return prop.run(detect, p, dt * np.arange(1, n_out + 1), weights=w)


def series(model, conditions):
    prop = DenseExact(model)
    return np.stack([hypres(model, prop, c) for c in conditions])


def timings(params):
    conds = power_series()
    model = ContinuumModel(params)
    t0 = time.perf_counter()
    for c in conds:
        model.system(c)
    t_sys = (time.perf_counter() - t0) / len(conds)
    prop = DenseExact(model)
    t0 = time.perf_counter()
    for c in conds:
        prop.modes(c)
    t_eigh = (time.perf_counter() - t0) / len(conds)
    model = ContinuumModel(params)  # cold caches
    t0 = time.perf_counter()
    hypres(model, DenseExact(model), conds[-1])
    t_one = time.perf_counter() - t0
    model = ContinuumModel(params)
    t0 = time.perf_counter()
    series(model, conds)
    t_series = time.perf_counter() - t0
    return {"n": model.n, "element": params.element, "n_elements": params.n_elements,
            "grading": params.grading, "system_ms": round(1e3 * t_sys, 3),
            "eigh_ms": round(1e3 * t_eigh, 3), "hypres_run_s": round(t_one, 4),
            "power_series_20_s": round(t_series, 3)}


def study():
    conds = power_series()
    ref_params = ContinuumParameters(n_elements=600, element="P2", grading=8.0)
    ref = series(ContinuumModel(ref_params), conds)
    scale = np.abs(ref[:, 0]).max()
    yield {"reference": "P2 x 600, grading 8", "n": ContinuumModel(ref_params).n,
           "max_abs_visible": round(float(scale), 5),
           "visible_first_output": [round(float(v), 5) for v in ref[[0, -1], 0, 0]]}
    for label, other in (("P2 x 1200, grading 30", ref_params.replace(n_elements=1200,
                                                                      grading=30.0)),
                         ("saturation_gap_nm 1e-4", ref_params.replace(saturation_gap_nm=1e-4)),
                         ("saturation_gap_nm 0", ref_params.replace(saturation_gap_nm=0.0))):
        err = np.abs(series(ContinuumModel(other), conds) - ref).max(axis=(0, 2)) / scale
        yield {"reference_vs": label, "max_err_visible_rel": float(f"{err[0]:.3g}"),
               "max_err_hidden_rel": float(f"{err[1]:.3g}")}
    for element in ("P1", "P2"):
        for n_el in (12, 24, 48, 96):
            for grading in (1.0, 8.0, 30.0):
                params = ContinuumParameters(n_elements=n_el, element=element, grading=grading)
                out = series(ContinuumModel(params), conds)
                err = np.abs(out - ref).max(axis=(0, 2)) / scale
                yield {"element": element, "n_elements": n_el, "grading": grading,
                       "n": ContinuumModel(params).n,
                       "max_err_visible_rel": float(f"{err[0]:.3g}"),
                       "max_err_hidden_rel": float(f"{err[1]:.3g}")}


def _continuum_specs(run_file, sets=()):
    """RunSpecs of a bundled run file switched to the continuum model."""
    from latticedns.experiment import parse_run_document
    from latticedns.tomlfile import read_toml

    path = os.path.join(RUNS, run_file)
    doc, _ = read_toml(path, "run file")
    doc["run"]["model"] = "continuum"
    doc["physics"] = {k: v for k, v in doc.get("physics", {}).items()
                      if k not in ("cutoff_nm", "hyperfine_cutoff_nm", "tau_cn_us")}
    if sets:
        doc["variant"] = [{"name": name, "set": dict(changes)} for name, changes in sets]
    return parse_run_document(doc, os.path.dirname(path))


def protocol_timings():
    """Wall time of bundled HypRes schedules through ``run_protocol`` (continuum model)."""
    from latticedns.experiment import build_model
    from latticedns.protocol import run_protocol

    def run(spec, model):
        return run_protocol(model, spec.stages, spec.calibration,
                            bandwidth_kHz=spec.run["bandwidth_kHz"], method=spec.run["method"],
                            rtol=spec.run["rtol"])

    spec = _continuum_specs("hypres-mw-off.toml")[0]
    model, _ = build_model(spec)
    t0 = time.perf_counter()
    result = run(spec, model)
    t_one = time.perf_counter() - t0
    powers = np.linspace(0.0, 118.0, 20)
    specs = _continuum_specs("hypres-mw-on.toml",
                             [(f"{p:.1f} mW", {"stage.detect.power_mW": float(p)})
                              for p in powers])
    model, _ = build_model(specs[0])  # one model: conditions cached across powers
    t0 = time.perf_counter()
    for s in specs:
        run(s, model)
    t_series = time.perf_counter() - t0
    detect = result.stage == result.stage.max()
    return {"protocol": "run_protocol, continuum, default mesh", "n": model.n,
            "hypres_mw_off_run_s": round(t_one, 4),
            "peak_visible_detect": round(float(result.visible[detect].max()), 6),
            "hypres_mw_on_20_powers_s": round(t_series, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", action="store_true", help="mesh convergence study")
    parser.add_argument("--protocol", action="store_true",
                        help="also time bundled schedules through run_protocol")
    args = parser.parse_args()
    print(json.dumps(timings(ContinuumParameters())))
    if args.protocol:
        print(json.dumps(protocol_timings()))
    if args.study:
        for row in study():
            print(json.dumps(row))


if __name__ == "__main__":
    main()
