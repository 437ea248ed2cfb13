"""The continuum's transport closures against a lattice ensemble at the default physics.

Run:  python bench/faithful_continuum.py [--seeds 5] [--radicals 81] [--cache DIR]
             [--channel-seeds 2 3 4 5] [--set physics.KEY=VALUE ...]
      python bench/faithful_continuum.py --lattice-only ...   (fill the cache only)
      python bench/faithful_continuum.py --same-sample 80 1   (the lattice on the channel
                                                               model's own sample, 1 min)

For ``--seeds`` lattice samples of ``--radicals`` radicals each (81 radicals ~ 20,100
protons; 5 x 81 ~ 1.0e5 protons in all) it runs the positive variant of
``runs/hypres-mw-off.toml`` and the six powers of ``runs/hypres-mw-on.toml`` (a shared
preparation), and caches each seed's detected curves as JSON in ``--cache`` (default
``/tmp/faithful_continuum``; ~5 min per seed on one core for the microwave-off run, ~2 min for
the series).  It then runs both runs on the continuum with ``physics.transport = "pair"``
(the one-pair D(r)) and ``"channels"`` (the escape-channel model, ``docs/theory.md`` 8.8) and
prints, per model:

* microwave off: the visible peak (% polarization) and its time (min), and the largest
  difference of the detected visible curve from the lattice mean, in % of its peak;
* microwave on: the rise rate (v(25 ms) - v(0)) / 25 ms (%/s) per power, and its relative
  difference from the lattice mean;

with the lattice's seed scatter (standard deviation of the seeds; the standard error of the
mean is that / sqrt(seeds)); with ``--channel-seeds`` also the channel model on other samples
of its near zone and the mean over them.  ``--same-sample M SEED`` instead runs the lattice on
the sample of M radicals that the channel model with ``channel_seed = SEED`` draws, and both
models on it (``docs/theory.md`` 8.8).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from latticedns.experiment import build_model, execute_runs, parse_run_document, set_dotted
from latticedns.experiment import protocol_options
from latticedns.protocol import run_protocol
from latticedns.tomlfile import read_toml

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runs")
POWERS_MW = (0.0, 10.0, 30.0, 60.0, 90.0, 118.0)


def _specs(name, model, seed=1, n_radicals=20, sets=(), positive_only=False):
    doc, _ = read_toml(os.path.join(RUNS, name), "run file")
    doc["run"].update(model=model, seed=seed, n_radicals=n_radicals)
    doc["run"]["profile_times_s"] = []
    for key, value in sets:
        set_dotted(doc, key, value)
    if positive_only:
        doc["variant"] = [{"name": "positive", "set": {"stage.prepare.dnp_sign": 1}}]
    return parse_run_document(doc, RUNS)


def _detected(result):
    det = result.stage == result.stage.max()
    t = result.t_s[det]
    return t - t[0], result.visible[det], result.hidden[det]


def run_off(model_kind, seed=1, n_radicals=20, sets=()):
    """Detection times (s), visible and hidden means of the microwave-off run, and n."""
    spec = _specs("hypres-mw-off.toml", model_kind, seed, n_radicals, sets, True)[0]
    model = build_model(spec)[0]
    r = run_protocol(model, spec.stages, spec.calibration, **protocol_options(spec.run))
    t, v, h = _detected(r)
    return t, v, h, model.n


def run_on(model_kind, seed=1, n_radicals=20, sets=()):
    """Per power: (times, visible) of the detection of the microwave-on series."""
    specs = _specs("hypres-mw-on.toml", model_kind, seed, n_radicals, sets)
    out = [None] * len(specs)
    for index, record in execute_runs(specs):
        t, v, _ = _detected(record.result)
        out[index] = (t, v)
    return out


def rise_rate(t, v):
    """(v(t_1) - v(t_0)) / (t_1 - t_0), the first read interval, in 1/s."""
    return float((v[1] - v[0]) / (t[1] - t[0]))


def lattice_seed(seed, n_radicals, cache):
    """The cached (or computed) lattice curves of one seed."""
    path = os.path.join(cache, f"lattice_r{n_radicals}_s{seed}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    t0 = time.perf_counter()
    t, v, h, n = run_off("lattice", seed, n_radicals)
    t1 = time.perf_counter()
    on = run_on("lattice", seed, n_radicals)
    t2 = time.perf_counter()
    data = {"seed": seed, "n_protons": int(n), "off_t_s": t.tolist(), "off_visible": v.tolist(),
            "off_hidden": h.tolist(), "on_t_s": on[0][0].tolist(),
            "on_visible": [x[1].tolist() for x in on], "off_wall_s": t1 - t0,
            "on_wall_s": t2 - t1}
    os.makedirs(cache, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)
    print(f"lattice seed {seed}: {n} protons, off {t1 - t0:.0f} s, on {t2 - t1:.0f} s",
          flush=True)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--radicals", type=int, default=81)
    parser.add_argument("--cache", default="/tmp/faithful_continuum")
    parser.add_argument("--lattice-only", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted run-file key of the continuum runs")
    parser.add_argument("--same-sample", type=int, nargs=2, metavar=("RADICALS", "SEED"),
                        help="compare with the lattice on the channel model's own sample")
    parser.add_argument("--channel-seeds", type=int, nargs="*", default=[],
                        help="extra channel seeds (the model's own sampling scatter)")
    args = parser.parse_args(argv)
    seeds = [] if args.same_sample else [lattice_seed(s, args.radicals, args.cache)
                                         for s in range(1, args.seeds + 1)]
    if args.lattice_only:
        return
    sets = [tuple(item.split("=", 1)) for item in args.set]
    sets = [(k, _value(v)) for k, v in sets]
    if args.same_sample:
        same_sample(*args.same_sample, sets)
        return
    curves = compare(seeds, [("pair", [("physics.transport", "pair")] + sets),
                             ("channels", [("physics.transport", "channels")] + sets)]
                     + [(f"channels, seed {s}", [("physics.transport", "channels"),
                                                 ("physics.channel_seed", s)] + sets)
                        for s in args.channel_seeds])
    own = [v for label, v in curves.items() if label.startswith("channels")]
    if len(own) > 1:
        _mean_of_seeds(seeds, own)


def _mean_of_seeds(seeds, own):
    """The comparison line of the mean over the channel seeds."""
    mean = np.array([s["off_visible"] for s in seeds]).mean(axis=0)
    t = np.array(seeds[0]["off_t_s"])
    vc = np.mean([x[0] for x in own], axis=0)
    peaks = np.array([x[0].max() for x in own])
    k = int(vc.argmax())
    print(f"\nchannels, mean of {len(own)} seeds: peak {100 * vc[k]:.3f} % "
          f"({100 * (vc[k] / mean.max() - 1):+.1f} %; seeds {100 * peaks.mean():.3f} +- "
          f"{100 * peaks.std(ddof=1):.3f}) at {t[k] / 60:.1f} min, largest difference "
          f"{100 * np.abs(vc - mean).max() / mean.max():.1f} % of the lattice peak")
    on_t = np.array(seeds[0]["on_t_s"])
    lat = np.array([[rise_rate(on_t, np.array(v)) for v in s["on_visible"]] for s in seeds])
    rates = np.mean([x[1] for x in own], axis=0)
    print("rise rates (%/s): " + ", ".join(
        f"{power:g} mW {100 * r:.2f} ({100 * (r / l - 1):+.0f} %)"
        for power, r, l in zip(POWERS_MW, rates, lat.mean(axis=0))))


def same_sample(n_radicals, seed, sets=()):
    """The channel model against the lattice on the very sample it draws its near zone from.

    Prints the microwave-off peak of both, the largest difference of their detected curves
    (in % of the lattice peak) and the rise rates at 0 and 118 mW.
    """
    from latticedns.continuum import ContinuumModel
    from latticedns.lattice.model import LatticeModel
    from latticedns.lattice.sample import generate_sample
    from latticedns.lattice.spec import SampleSpec
    from latticedns.protocol import iter_protocols

    keys = [("physics.transport", "channels"), ("physics.channel_radicals", n_radicals),
            ("physics.channel_seed", seed)] + list(sets)
    off = _specs("hypres-mw-off.toml", "continuum", sets=keys, positive_only=True)[0]
    on = _specs("hypres-mw-on.toml", "continuum", sets=keys)
    on = [on[0], on[-1]]
    p = off.physics
    sample = generate_sample(SampleSpec.from_dict({
        "radical_mM": p.radical_mM, "proton_density_per_nm3": p.proton_density_per_nm3,
        "n_radicals": n_radicals, "seed": seed, "min_dist_proton_radical_nm": p.r_in_nm,
        "min_dist_proton_proton_nm": p.min_dist_proton_proton_nm,
        "min_dist_radical_radical_nm": p.min_dist_radical_radical_nm}))
    from latticedns.lattice.model import LatticeParameters

    lattice = LatticeModel(sample, LatticeParameters(
        cutoff_nm=p.channel_cutoff_nm, hyperfine_cutoff_nm=p.channel_hyperfine_cutoff_nm))
    curves = {}
    for name, model in (("channels", ContinuumModel(p)), ("lattice", lattice)):
        tick = time.perf_counter()
        t, v, _ = _detected(run_protocol(model, off.stages, off.calibration,
                                         **protocol_options(off.run)))
        rates = [rise_rate(*_detected(r)[:2]) for r in iter_protocols(
            model, [s.stages for s in on], on[0].calibration, **protocol_options(on[0].run))]
        curves[name] = (t, v)
        k = int(v.argmax())
        print(f"{name:9s} {model.n:6d} unknowns: peak {100 * v[k]:.3f} % at {t[k] / 60:.1f} "
              f"min; rise rate 0 / 118 mW {100 * rates[0]:.2f} / {100 * rates[1]:.2f} %/s "
              f"({time.perf_counter() - tick:.1f} s)", flush=True)
    (t, v), (tc, vc) = curves["lattice"], curves["channels"]
    print(f"largest difference: {100 * np.abs(np.interp(t, tc, vc) - v).max() / v.max():.3f} "
          f"% of the lattice peak")


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def compare(seeds, models):
    """Print the comparison table of the lattice seeds and the continuum ``models``."""
    t = np.array(seeds[0]["off_t_s"])
    off = np.array([s["off_visible"] for s in seeds])
    mean = off.mean(axis=0)
    peaks, tpeak = off.max(axis=1), t[off.argmax(axis=1)]
    k = int(mean.argmax())
    n_total = sum(s["n_protons"] for s in seeds)
    on_t = np.array(seeds[0]["on_t_s"])
    rates = np.array([[rise_rate(on_t, np.array(v)) for v in s["on_visible"]] for s in seeds])
    late = np.array([[v[-1] for v in s["on_visible"]] for s in seeds])
    print(f"lattice: {len(seeds)} seeds, {n_total} protons in all")
    print("microwave off | peak (%) | peak time (min) | largest difference (% of peak)")
    print(f"lattice mean  | {100 * mean[k]:.3f} (seeds {100 * peaks.mean():.3f} +- "
          f"{100 * peaks.std(ddof=1):.3f}) | {t[k] / 60:.1f} (seeds {tpeak.mean() / 60:.1f} +- "
          f"{tpeak.std(ddof=1) / 60:.1f}) | seeds vs mean: "
          f"{100 * np.abs(off - mean).max(axis=1).max() / mean[k]:.1f}")
    curves = {}
    for label, sets in models:
        tick = time.perf_counter()
        tc, vc, _, n = run_off("continuum", sets=sets)
        t_off = time.perf_counter() - tick
        tick = time.perf_counter()
        on = run_on("continuum", sets=sets)
        t_on = time.perf_counter() - tick
        vi = np.interp(t, tc, vc)
        kc = int(vc.argmax())
        diff = np.abs(vi - mean).max() / mean[k]
        curves[label] = (vc, [rise_rate(*x) for x in on], [x[1][-1] for x in on])
        print(f"{label:13s} | {100 * vc[kc]:.3f} ({100 * (vc[kc] / mean[k] - 1):+.1f} %) | "
              f"{tc[kc] / 60:.1f} | {100 * diff:.1f}   ({n} unknowns; {t_off:.2f} s off run, "
              f"{t_on:.2f} s for the 6-power series)")
    print()
    header = " | ".join(f"{label}" for label, _ in models)
    print("microwave on: rise rate (%/s), relative difference | visible at 25.6 s (%)")
    print(f"power (mW) | lattice (seed sd) | {header}")
    for q, power in enumerate(POWERS_MW):
        row = [f"{100 * rates[:, q].mean():.2f} ({100 * rates[:, q].std(ddof=1):.2f})"]
        for label, _ in models:
            r = curves[label][1][q]
            row.append(f"{100 * r:.2f} ({100 * (r / rates[:, q].mean() - 1):+.0f} %)")
        row.append(f"late: lattice {100 * late[:, q].mean():.2f} / " + " / ".join(
            f"{100 * curves[label][2][q]:.2f}" for label, _ in models))
        print(f"{power:5.0f} | " + " | ".join(row))
    return curves


if __name__ == "__main__":
    sys.exit(main())
