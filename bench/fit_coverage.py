"""Coverage of the fit's 95 % intervals on the bundled runs (issue 12's acceptance).

Synthetic data are made by the simulator itself at known parameters, noise is added
(20 realizations, seeded), and every realization is fitted with profile-likelihood
intervals; the study counts how often each interval covers the truth (17-20 of 20 is
what a calibrated 95 % interval gives with probability 0.98).

Cases (both with the continuum model at the default physics, the bundled runs' full
detections, every 8th read):

``off``  ``runs/hypres-mw-off.toml``, positive and negative curves in arbitrary units with
         one shared free gain (x250), noise 0.02 % polarization: tau_c (at Pbar = 0.5) and
         T1_bulk; truth 0.5 us and 3600 s.
``on``   ``runs/hypres-mw-on.toml``, the six detection powers fitted globally, polarization
         in % with sigma 0.02 %: tau_c and the DNP rate; truth 0.5 us and 0.004 s^-1.
``lattice``  the ``off`` case with the lattice (README sample, seeds 1-4 averaged) for one
         realization: recovery within the intervals (a lattice fit takes minutes).

Run:  python bench/fit_coverage.py [off] [on] [lattice] [--realizations 20]
"""

import argparse
import os
import tempfile
import time

import numpy as np

from latticedns.fit import Objective, fit, parse_fit_document
from latticedns.tomlfile import dump_toml, read_toml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIGMA = 2e-4  # polarization fraction (0.02 %)
GAIN = 250.0

CASES = {
    "off": dict(run="hypres-mw-off.toml", model="continuum", curves=("positive", "negative"),
                truth={"microwave.tau_c_us": 0.5, "physics.t1_bulk_s": 3600.0},
                initial={"microwave.tau_c_us": 1.0, "physics.t1_bulk_s": 2000.0},
                bounds={"microwave.tau_c_us": [0.05, 10.0],
                        "physics.t1_bulk_s": [300.0, 30000.0]},
                unit="arbitrary"),
    "on": dict(run="hypres-mw-on.toml", model="continuum",
               curves=("0 mW", "10 mW", "30 mW", "60 mW", "90 mW", "118 mW"),
               truth={"microwave.tau_c_us": 0.5, "microwave.dnp_rate_per_s": 0.004},
               initial={"microwave.tau_c_us": 0.3, "microwave.dnp_rate_per_s": 0.01},
               bounds={"microwave.tau_c_us": [0.05, 5.0],
                       "microwave.dnp_rate_per_s": [1e-4, 0.1]},
               unit="percent"),
}
CASES["lattice"] = dict(CASES["off"], model="lattice", seeds=[1, 2, 3, 4])


def write_csv(path, t, columns, unit, sigma=None):
    names = list(columns)
    head = ["time"] + [x for n in names for x in ((n, f"{n}_sigma") if sigma else (n,))]
    with open(path, "w") as fh:
        fh.write(f"# signal_unit = {unit}\n# time_unit = s\n" + ",".join(head) + "\n")
        for k in range(t.size):
            row = [t[k]] + [x for n in names for x in
                            ((columns[n][k], sigma) if sigma else (columns[n][k],))]
            fh.write(",".join(f"{v:.10g}" for v in row) + "\n")


def fit_document(case, run_path, data):
    keys = list(case["truth"])
    fdoc = {"fit": {"run": run_path, "model": case["model"], "profiles": True},
            "parameter": [{"key": k, "initial": case["initial"][k], "bounds": case["bounds"][k],
                           "scale": "log"} for k in keys],
            "curve": [{"data": data, "column": c, "variant": c} for c in case["curves"]]}
    if "seeds" in case:
        fdoc["fit"]["seeds"] = case["seeds"]
    if case["unit"] == "arbitrary":
        for c in fdoc["curve"]:
            c["scale_group"] = "gain"
    return fdoc


def study(name, realizations):
    case = CASES[name]
    keys = list(case["truth"])
    with tempfile.TemporaryDirectory() as tmp:
        doc, _ = read_toml(os.path.join(ROOT, "runs", case["run"]), "run file")
        doc["run"]["sample"] = os.path.join(ROOT, "geometries",
                                            os.path.basename(doc["run"]["sample"]))
        run_path = os.path.join(tmp, case["run"])
        with open(run_path, "w") as fh:
            fh.write(dump_toml(doc))
        det = next(s for s in doc["stage"] if s["type"] == "detect")
        t = det["interval_s"] * np.arange(det["n_pulses"])[::8]
        data = os.path.join(tmp, "data.csv")
        write_csv(data, t, {c: 0 * t for c in case["curves"]}, "fraction")
        with Objective(parse_fit_document(fit_document(case, run_path, data), tmp)) as obj:
            truth = obj.model_curves([np.log10(case["truth"][k]) for k in keys])
        covered, widths, times, evals, red = np.zeros(len(keys), int), [], [], [], []
        for k in range(realizations):
            rng = np.random.default_rng([2026, k])
            noisy = {c: m + rng.normal(0, SIGMA, t.size) for c, m in zip(case["curves"], truth)}
            if case["unit"] == "arbitrary":
                write_csv(data, t, {c: GAIN * v for c, v in noisy.items()}, "arbitrary")
            else:
                write_csv(data, t, {c: 100 * v for c, v in noisy.items()}, "percent",
                          sigma=100 * SIGMA)
            tick = time.perf_counter()
            res = fit(parse_fit_document(fit_document(case, run_path, data), tmp))
            times.append(time.perf_counter() - tick)
            evals.append(res.n_evaluations)
            # with sigmas: reduced chi^2; without (arbitrary units): the noise estimated from
            # the residuals, in units of the true sigma (both ~1 when the model is right)
            red.append(res.reduced_chi2 if res.sigma_given
                       else np.sqrt(res.reduced_chi2) / GAIN / SIGMA)
            hit = [p.lower95 <= case["truth"][p.key] <= p.upper95 for p in res.parameters]
            covered += hit
            widths.append([p.upper95 / p.lower95 for p in res.parameters])
            print(f"  {name} {k:2d}: " + ", ".join(
                f"{p.key} {p.value:.4g} [{p.lower95:.4g}, {p.upper95:.4g}]{'' if h else ' MISS'}"
                for p, h in zip(res.parameters, hit))
                + f"; goodness {red[-1]:.3f}; {res.n_evaluations} evaluations,"
                  f" {times[-1]:.1f} s", flush=True)
    widths = np.array(widths)
    print(f"{name}: {realizations} realizations; covered " + ", ".join(
        f"{k} {n}/{realizations} (interval upper/lower median {w:.3f})"
        for k, n, w in zip(keys, covered, np.median(widths, axis=0)))
        + f"; per fit median {np.median(times):.1f} s, {int(np.median(evals))} evaluations; "
          f"goodness (reduced chi^2, or estimated/true noise) median {np.median(red):.3f}",
        flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=["off", "on"], choices=sorted(CASES))
    ap.add_argument("--realizations", type=int, default=20)
    args = ap.parse_args()
    for name in args.cases:
        study(name, 1 if name == "lattice" else args.realizations)


if __name__ == "__main__":
    main()
