"""Table, scaling exponents and figure of the concentration section of docs/reproduction.md.

Reads the store of runs/concentration-sweep.toml (both electron models, `microwave.tau_c_model`
= "flipflop" and "sample") and, optionally, a size-check store (same protocol at one
concentration with another `run.n_radicals`), and prints per concentration and model: the
hidden pool at the start of detection, the visible peak (%) and its time, and the hidden
pool's half-drain time during detection (the time at which the hidden mean falls to half its
value at the first detection point), mean +- standard error over seeds; then the log-log
exponent of the half-drain time against concentration for each model.

    latticedns campaign run runs/concentration-sweep.toml -o concentration.h5 --workers 1
    python docs/scripts/concentration_table.py concentration.h5 [--size size.h5]
        [--tauc tauc.h5] [--figure docs/figures/concentration.png]

(size.h5, tauc.h5: the size and tau_c checks of docs/reproduction.md; their campaign files
are given there.)
"""

import argparse

import numpy as np

from latticedns.campaign import open_store

MODELS = ("flipflop", "sample")
THERMAL = 0.60  # % at 7.05 T and 1.2 K


def half_time(t, y):
    """First time at which y falls to half of y[0] (linear interpolation); nan if never."""
    target = 0.5 * y[0]
    below = np.nonzero(y <= target)[0]
    if len(below) == 0:
        return np.nan
    i = below[0]
    t0, t1, y0, y1 = t[i - 1], t[i], y[i - 1], y[i]
    return t0 + (target - y0) * (t1 - t0) / (y1 - y0)


def per_run(store, **values):
    """Per-seed observables of one point: dict of arrays over seeds."""
    (tv, vis), = store.curves("radical_mM", name="visible", **values).values()
    (th, hid), = store.curves("radical_mM", name="hidden", **values).values()
    peak = vis.max(axis=1) * 100
    at_end = vis.argmax(axis=1) == vis.shape[1] - 1
    return {
        "hidden0": hid[:, 0] * 100,
        "peak": peak,
        "peak_min": tv[vis.argmax(axis=1)] / 60,
        "overshoot": (peak > THERMAL) & ~at_end,
        "half_min": np.array([half_time(th, y) for y in hid]) / 60,
    }


def mean_se(x):
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan, 0
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
    return x.mean(), se, len(x)


def fit_exponent(c, m, se):
    """Weighted log-log fit t = a c^p; returns p and its standard error (covariance scaled
    by the reduced chi^2 when that exceeds 1)."""
    x, y, s = np.log(c), np.log(m), se / m
    w = 1 / s**2
    A = np.vstack([x, np.ones_like(x)]).T
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    p = cov @ (A.T @ (w * y))
    chi2 = np.sum(w * (y - A @ p) ** 2) / max(len(x) - 2, 1)
    return p[0], np.sqrt(cov[0, 0] * max(chi2, 1.0)), chi2


def collect(store):
    concs = sorted({pt["sample.radical_mM"] for pt in store.points})
    rows = {}
    for model in MODELS:
        for c in concs:
            try:
                rows[model, c] = per_run(store, radical_mM=c, tau_c_model=model,
                                         variant="positive")
            except Exception:  # point not (yet) finished
                pass
    return concs, rows


def fmt(m, se, digits=2):
    return f"{m:.{digits}f} +- {se:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--size", help="size-check store (other n_radicals, same protocol)")
    ap.add_argument("--tauc", help="tau_c-check store: the same protocol at one concentration "
                                   "with `microwave.tau_c_us` swept (flipflop model)")
    ap.add_argument("--figure", help="write the figure here (PNG)")
    args = ap.parse_args()

    store = open_store(args.store)
    concs, rows = collect(store)
    print("| model | radical | seeds | hidden at t = 0 | visible peak | peak time | "
          "hidden mean halves in |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for model in MODELS:
        for c in concs:
            if (model, c) not in rows:
                continue
            r = rows[model, c]
            h0, p, hf = (mean_se(r[k]) for k in ("hidden0", "peak", "half_min"))
            pt = mean_se(r["peak_min"][r["overshoot"]])  # over the seeds that overshoot
            summary[model, c] = hf
            n_over = int(r["overshoot"].sum())
            peak_time = (fmt(*pt[:2], 0) + " min") if n_over == len(r["peak"]) else \
                f"none ({n_over}/{len(r['peak'])} overshoot; max at end)" if n_over == 0 else \
                fmt(*pt[:2], 0) + f" min ({n_over}/{len(r['peak'])} overshoot)"
            print(f"| {model} | {c:g} mM | {hf[2]} | {fmt(*h0[:2], 1)} % | {fmt(*p[:2])} % | "
                  f"{peak_time} | {fmt(*hf[:2], 2)} min |")
    print()
    exps = {}
    for model in MODELS:
        pts = [(c, *summary[model, c][:2]) for c in concs if (model, c) in summary]
        if len(pts) < 3:
            continue
        c, m, se = map(np.array, zip(*pts))
        p, dp, chi2 = fit_exponent(c, m, se)
        exps[model] = (p, dp)
        print(f"{model}: half-drain time ~ c^({p:.2f} +- {dp:.2f}) over {c.min():g}-{c.max():g} mM "
              f"(weighted log-log fit, reduced chi^2 {chi2:.1f})")
        # the same with the lowest point left out (the drain at 10 mM is slowest to resolve)
        if len(c) >= 4:
            p2, dp2, _ = fit_exponent(c[1:], m[1:], se[1:])
            print(f"  {c[1]:g}-{c.max():g} mM only: {p2:.2f} +- {dp2:.2f}")
    if len({m for m, _ in summary}) == 2:
        print()
        for c in concs:
            if ("flipflop", c) in summary and ("sample", c) in summary:
                a, b = summary["flipflop", c][0], summary["sample", c][0]
                print(f"{c:g} mM: sample / flipflop half-drain time = {b / a:.2f}")

    size_points = {}
    if args.size:
        size = open_store(args.size)
        (sc,) = {pt["sample.radical_mM"] for pt in size.points}
        n_big = size.run_parameters(size.select()[0])["run"]["n_radicals"]
        print(f"\nsize check at {sc:g} mM: {n_big} radicals against "
              f"{store.run_parameters(store.select()[0])['run']['n_radicals']}")
        for model in MODELS:
            try:
                big = per_run(size, radical_mM=sc, tau_c_model=model, variant="positive")
            except Exception:
                continue
            small = rows[model, sc]
            n = len(big["half_min"])
            seeds = [int(v) for v in size.table["seed"][[list(size.table["run_id"]).index(i)
                                                      for i in size.select(radical_mM=sc,
                                                                           tau_c_model=model)]]]
            for k, label, unit in (("hidden0", "hidden at t = 0", "%"),
                                   ("peak", "visible peak", "%"),
                                   ("half_min", "half-drain", "min")):
                mb, sb, _ = mean_se(big[k])
                ms, ss, _ = mean_se(small[k])
                same = small[k][:n]  # the 20-radical runs with the same seed numbers
                print(f"  {model:8s} {label:16s}: {n_big} rad (seeds {seeds}) "
                      f"{' '.join(f'{v:.3f}' for v in big[k])} {unit} (mean {mb:.3f}); "
                      f"20 rad seeds 1-{n} {' '.join(f'{v:.3f}' for v in same)}, "
                      f"all {len(small[k])} seeds {ms:.3f} +- {ss:.3f}; "
                      f"difference of the means {100 * (mb - ms) / ms:+.1f} % "
                      f"({(mb - ms) / ss:+.1f} s.e.)")
                size_points.setdefault(model, {})[k] = (sc, big[k])

    if args.tauc:
        tc_store = open_store(args.tauc)
        (tc_c,) = {pt["sample.radical_mM"] for pt in tc_store.points}
        taus = sorted({pt["microwave.tau_c_us"] for pt in tc_store.points})
        print(f"\ntau_c check at {tc_c:g} mM (flipflop model):")
        hf = []
        for tau in taus:
            r = per_run(tc_store, radical_mM=tc_c, tau_c_us=tau, variant="positive")
            hf.append(mean_se(r["half_min"])[:2])
            print(f"  tau_c = {tau:g} us: half-drain {fmt(*hf[-1], 2)} min "
                  f"(seeds {' '.join(f'{v:.2f}' for v in r['half_min'])}), "
                  f"visible peak {fmt(*mean_se(r['peak'])[:2])} %")
        m, se = np.array(hf).T
        q, dq, _ = fit_exponent(np.array(taus), m, se)
        print(f"  half-drain ~ tau_c^({q:.2f} +- {dq:.2f}); local exponents "
              + ", ".join(f"{np.log(m[i + 1] / m[i]) / np.log(taus[i + 1] / taus[i]):.2f}"
                          for i in range(len(taus) - 1)))

    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.5, 3.4))
        style = {"flipflop": ("C0", "o", "flipflop: tau_c(Pbar), 0.5 us everywhere"),
                 "sample": ("C3", "s", "sample: e-e flip-flops from the sample")}
        for model in MODELS:
            col, mk, lab = style[model]
            cs = [c for c in concs if (model, c) in rows]
            hf = np.array([mean_se(rows[model, c]["half_min"])[:2] for c in cs])
            pk = np.array([mean_se(rows[model, c]["peak"])[:2] for c in cs])
            if model in exps:
                lab += f"\n  t_1/2 ~ c^({exps[model][0]:.2f} +- {exps[model][1]:.2f})"
            a1.errorbar(cs, hf[:, 0], hf[:, 1], color=col, marker=mk, capsize=3, label=lab)
            a2.errorbar(cs, pk[:, 0], pk[:, 1], color=col, marker=mk, capsize=3)
            if model in size_points:
                sc, v = size_points[model]["half_min"]
                a1.plot([sc * 1.06] * len(v), v, ls="none", marker=mk, mfc="none", color=col,
                        label=f"  {model}, 40 radicals (size check)")
        for a in (a1, a2):
            a.set_xscale("log")
            a.set_xticks(concs)
            a.set_xticklabels([f"{c:g}" for c in concs])
            a.set_xlabel("TEMPOL (mM)")
        a1.set_yscale("log")
        a1.set_yticks([1, 2, 5, 10, 20])
        a1.set_yticklabels(["1", "2", "5", "10", "20"])
        a1.minorticks_off()
        a1.set_ylabel("hidden pool half-drain time (min)")
        a1.legend(fontsize=6.5, loc="lower left")
        a2.axhline(THERMAL, color="k", ls="--", lw=1, label="Boltzmann 0.60 %")
        a2.set_ylabel("visible peak (%)")
        a2.legend(fontsize=7)
        n_seeds = max(len(r["peak"]) for r in rows.values())
        fig.suptitle(f"Microwave-off HypRes (positive), 20 radicals per box, "
                     f"mean +- s.e. over {n_seeds} seeds", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=80)
        print(f"\nwrote {args.figure}")


if __name__ == "__main__":
    main()
