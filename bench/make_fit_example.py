"""Write the synthetic data of the bundled fit example (``runs/fit-hypres-mw-off.toml``).

The microwave-off HypRes runs of ``runs/hypres-mw-off.toml`` in the continuum model at the
default physics (tau_c = 0.5 us at Pbar = 0.5, T1_bulk = 3600 s), every 8th of the 1024
detection reads, with Gaussian noise of 0.01 % polarization (seed 2026), into
``runs/data/hypres-mw-off-synthetic.csv`` (polarization in %, with its sigma).  It stands
in for a measured series: replace it by your own file in the same format
(``docs/fitting.md``).

Run:  python bench/make_fit_example.py
"""

import os

import numpy as np

from latticedns.experiment import execute_runs, parse_run_document
from latticedns.tomlfile import read_toml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SIGMA_PERCENT = 0.01


def main():
    runs = os.path.join(ROOT, "runs")
    doc, _ = read_toml(os.path.join(runs, "hypres-mw-off.toml"), "run file")
    doc["run"].update(model="continuum", rtol=1e-8)
    curves = {}
    for _, rec in execute_runs(parse_run_document(doc, runs)):
        r = rec.result
        det = r.stage == r.stage.max()
        curves[rec.name] = (r.t_s[det] - r.t_s[det][0], r.visible[det])
    rng = np.random.default_rng(2026)
    t = curves["positive"][0][::8]
    out = os.path.join(runs, "data", "hypres-mw-off-synthetic.csv")
    with open(out, "w") as fh:
        fh.write("# Synthetic microwave-off HypRes (bench/make_fit_example.py): the continuum\n"
                 "# model at tau_c = 0.5 us, T1_bulk = 3600 s, noise 0.01 % (seed 2026)\n"
                 "# signal_unit = percent\n# time_unit = s\n"
                 "time,positive,positive_sigma,negative,negative_sigma\n")
        noisy = {k: 100 * v[::8] + rng.normal(0.0, SIGMA_PERCENT, t.size)
                 for k, (_, v) in curves.items()}
        for i, ti in enumerate(t):
            fh.write(f"{ti:g},{noisy['positive'][i]:.6f},{SIGMA_PERCENT},"
                     f"{noisy['negative'][i]:.6f},{SIGMA_PERCENT}\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
