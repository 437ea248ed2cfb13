"""Cost and mesh convergence of the continuum model on the bundled HypRes runs.

Run:  python bench/bench_continuum.py [--study]

Prints JSON lines.  Always: the wall time of ``runs/hypres-mw-off.toml`` (2 runs) and of
``runs/hypres-mw-on.toml`` with 20 detection powers from 0 to 118 mW, both switched to
``model = "continuum"`` on the default mesh (the package path: ``execute_runs``).  With
``--study``: for both run files and both physics settings (the default, and the paper's
Lorentzian line with a constant tau_c), the largest difference of every record's visible
and hidden means between meshes of ``mesh_refinement`` 0.5, 1, 2, 4 and the 4x refined
mesh of each (relative to the observable's largest magnitude in the detection stage), and
the observed order between successive refinements (the finest meshes, 8x, reach the
rounding floor of their stiff operators, ~1e-7 of the build-up's 72 %).  The propagation runs at rtol 1e-11 so
that only the mesh differs.
"""

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from latticedns.experiment import execute_runs, parse_run_document  # noqa: E402
from latticedns.tomlfile import read_toml  # noqa: E402

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runs")
PHYSICS = {"default": ({}, {}),
           "paper": ({"lineshape": "lorentzian"}, {"tau_c_model": "constant"})}


def continuum_specs(run_file, refinement=1.0, physics="default", rtol=None, variants=None):
    """RunSpecs of a bundled run file switched to the continuum model."""
    doc, _ = read_toml(os.path.join(RUNS, run_file), "run file")
    doc["run"]["model"] = "continuum"
    if rtol is not None:
        doc["run"]["rtol"] = rtol
    phys, micro = PHYSICS[physics]
    doc.setdefault("physics", {}).update(mesh_refinement=refinement, **phys)
    doc.setdefault("microwave", {}).update(micro)
    if variants is not None:
        doc["variant"] = [{"name": name, "set": dict(changes)} for name, changes in variants]
    return parse_run_document(doc, RUNS)


def results(specs):
    tick = time.perf_counter()
    out = {rec.name: rec.result for _, rec in execute_runs(specs)}
    return out, time.perf_counter() - tick


def timings():
    _, t_off = results(continuum_specs("hypres-mw-off.toml"))
    powers = np.linspace(0.0, 118.0, 20)
    series = [(f"{p:.1f} mW", {"stage.detect.power_mW": float(p)}) for p in powers]
    res, t_series = results(continuum_specs("hypres-mw-on.toml", variants=series))
    return {"mesh": "default", "hypres_mw_off_2_runs_s": round(t_off, 3),
            "hypres_mw_on_20_powers_s": round(t_series, 3)}


def errors(base, fine):
    """{run: (visible, hidden)} of the largest record difference, relative to each
    observable's largest magnitude in the detection (last) stage of ``fine``."""
    out = {}
    for name, r in base.items():
        f = fine[name]
        det = f.stage == f.stage.max()
        out[name] = tuple(float(np.abs(getattr(r, k) - getattr(f, k)).max()
                                / np.abs(getattr(f, k)[det]).max())
                          for k in ("visible", "hidden"))
    return out


def study():
    for run_file in ("hypres-mw-off.toml", "hypres-mw-on.toml"):
        for physics in PHYSICS:
            runs = {m: results(continuum_specs(run_file, m, physics, rtol=1e-11))[0]
                    for m in (0.5, 1.0, 2.0, 4.0, 8.0)}
            worst = {}
            for m in (0.5, 1.0, 2.0):
                e = errors(runs[m], runs[4 * m])
                worst[m] = [max(v[i] for v in e.values()) for i in (0, 1)]
                row = {"run_file": run_file, "physics": physics, "mesh_refinement": m,
                       "against": 4 * m, "worst_visible": float(f"{worst[m][0]:.3g}"),
                       "worst_hidden": float(f"{worst[m][1]:.3g}")}
                if m > 0.5:
                    row["order_visible"] = round(float(np.log2(worst[m / 2][0] / worst[m][0])), 2)
                    row["order_hidden"] = round(float(np.log2(worst[m / 2][1] / worst[m][1])), 2)
                yield row


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", action="store_true", help="mesh convergence study")
    args = parser.parse_args()
    print(json.dumps(timings()))
    if args.study:
        for row in study():
            print(json.dumps(row))


if __name__ == "__main__":
    main()
