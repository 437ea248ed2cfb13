"""Can a radial D(r) measured on the lattice make the continuum agree with it?

Run:  python bench/homogenized_d.py [--radicals 20] [--seed 1] [--set KEY=VALUE ...]

On one lattice sample of ``runs/hypres-mw-off.toml`` (positive variant) it measures, at the
microwave-off condition, each proton's radial diffusivity

    D_i = 1/2 sum_j W_ij (r_j - r_i)^2,   r = distance to the nearest radical of i,

averages it over shells of r (arithmetic mean, effective-medium (3D Bruggeman) mean,
geometric mean), and runs the continuum model with each table in place of its one-pair D(r)
during the microwave-off stages. It prints the tables, the spread of the hidden protons'
escape rates sum_j W_ij over visible j, and the detected curves of the lattice, of the
continuum with its own D(r) and of the continuum with each table (`docs/theory.md`, 8.6).
About 10 s for the README sample.
"""

import argparse

import numpy as np
from scipy.optimize import brentq

from crosscheck import detected, spec_of
from latticedns.experiment import build_model
from latticedns.lattice.neighbours import nearest_radical_distance

EDGES_NM = np.concatenate([np.arange(0.3, 1.2, 0.05), np.arange(1.2, 3.01, 0.2)])


def radial_diffusivity(model, sample, condition):
    """Per-proton D_i in nm^2/s, distance to the nearest radical in nm, and the rates W."""
    g = model.geometry
    w = model.pair_rates(condition)
    r, nearest = nearest_radical_distance(sample, return_index=True)

    def distance(protons, radicals):
        d = sample.protons_nm[protons] - sample.radicals_nm[radicals]
        d -= sample.box_nm * np.round(d / sample.box_nm)
        return np.linalg.norm(d, axis=1)

    step_i = distance(g.j, nearest[g.i]) - r[g.i]   # radial step seen from i's radical
    step_j = r[g.j] - distance(g.i, nearest[g.j])
    d = 0.5 * (np.bincount(g.i, w * step_i ** 2, g.n) + np.bincount(g.j, w * step_j ** 2, g.n))
    return d, r, w


def effective_medium(x):
    """3D Bruggeman mean of positive values: mean((x - m) / (x + 2 m)) = 0."""
    x = x[x > 0]
    f = lambda log_m: np.mean((x - np.exp(log_m)) / (x + 2.0 * np.exp(log_m)))
    return float(np.exp(brentq(f, np.log(x.min()), np.log(x.max()))))


def shell_means(d, r):
    which = np.digitize(r, EDGES_NM) - 1
    rows = []
    for b in range(len(EDGES_NM) - 1):
        x = d[which == b]
        if np.sum(x > 0) < 3:
            continue
        rows.append((0.5 * (EDGES_NM[b] + EDGES_NM[b + 1]), x.mean(), effective_medium(x),
                     float(np.exp(np.mean(np.log(x[x > 0]))))))
    return np.array(rows)


def detected_min(model, spec):
    t, v, _, _ = detected(spec, model)
    return t / 60.0, v


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--radicals", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    spec_l = spec_of("lattice", args.seed, args.radicals, args.set)
    spec_c = spec_of("continuum", sets=args.set)
    lattice, sample = build_model(spec_l)
    off = spec_l.calibration.condition(None)
    d, r, w = radial_diffusivity(lattice, sample, off)
    table = shell_means(d, r)
    own = build_model(spec_c)[0].diffusion(off, table[:, 0])
    print(" r (nm)   mean      EMA       geomean   continuum D(r)   (nm^2/s)")
    for row, c in zip(table, own):
        print(f" {row[0]:.3f}  " + "  ".join(f"{x:.2e}" for x in row[1:]) + f"  {c:.2e}")
    vis = lattice.visible(off.pbar)
    g = lattice.geometry
    cross = vis[g.i] != vis[g.j]
    hidden_index = np.where(vis[g.i[cross]], g.j[cross], g.i[cross])
    escape = np.bincount(hidden_index, w[cross], g.n)[~vis]
    q = np.quantile(escape, [0.1, 0.5, 0.9])
    print(f"hidden escape rates sum_j W_ij (j visible): 10/50/90 % quantiles "
          f"{q[0]:.2e} / {q[1]:.2e} / {q[2]:.2e} s^-1 over {int((~vis).sum())} hidden protons")
    curves = {"lattice": detected_min(lattice, spec_l),
              "continuum, its D(r)": detected_min(build_model(spec_c)[0], spec_c)}
    for k, label in ((1, "mean"), (2, "EMA"), (3, "geomean")):
        model = build_model(spec_c)[0]
        own_d = model.diffusion
        tab = table[:, k]
        model.diffusion = lambda c, x, tab=tab, own_d=own_d: (
            np.interp(x, table[:, 0], tab) if c.pbar == off.pbar else own_d(c, x))
        curves[f"continuum, lattice {label}"] = detected_min(model, spec_c)
    for label, (t, v) in curves.items():
        k = int(np.argmax(v))
        print(f"{label:28s} peak {100 * v[k]:.3f} % at {t[k]:5.1f} min; visible at 5 / 30 / 120 "
              f"min {100 * np.interp(5, t, v):.3f} / {100 * np.interp(30, t, v):.3f} / "
              f"{100 * np.interp(120, t, v):.3f} %")


if __name__ == "__main__":
    main()
