"""Convergence of the microwave-off HypRes visible signal with the cutoff and the box size.

Run:  python bench/convergence.py [--radicals 20] [--seeds 3]
Prints JSON lines: (1) for one sample, the largest change of the detected visible curve
between successive flip-flop cutoffs 1.0, 1.5 and 2.0 nm, relative to its peak; (2) for
boxes of 10, 20 and 40 radicals at the default cutoff (1.5 nm), the ensemble mean and
spread over seeds of the peak visible polarization and of the visible polarization 30 min
after the selective saturation.
"""

import argparse
import json
import time

import numpy as np

from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.protocol import Delay, Detect, Microwave, Saturate, SelectiveSaturate, run_protocol

STAGES = [Saturate(), Microwave(640.0, 118.0, 1), Delay(10.0), SelectiveSaturate(200.0),
          Detect(1024, 10.0, 0.1)]


def detected(n_radicals, seed, cutoff_nm):
    spec = SampleSpec.from_toml("geometries/dnp-juice-50mM.toml").to_dict()
    spec.update(n_radicals=n_radicals, seed=seed)
    sample = generate_sample(SampleSpec.from_dict(spec))
    model = LatticeModel(sample, LatticeParameters(cutoff_nm=cutoff_nm))
    res = run_protocol(model, STAGES, rtol=1e-7)
    det = res.stage == 4
    return res.t_s[det] - res.t_s[det][0], res.visible[det], model.n


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--radicals", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    tick = time.perf_counter()
    cutoffs = [1.0, 1.5, 2.0]
    curves = [detected(args.radicals, 1, c) for c in cutoffs]
    n = curves[0][2]
    print(json.dumps({"study": "cutoff", "protons": n, "cutoffs_nm": cutoffs,
                      "peak_visible": [float(c[1].max()) for c in curves],
                      "max_change_rel_peak": [float(np.max(np.abs(b[1] - a[1])) / a[1].max())
                                              for a, b in zip(curves[:-1], curves[1:])],
                      "wall_s": round(time.perf_counter() - tick, 1)}))
    for radicals in (10, 20, 40):
        tick = time.perf_counter()
        peaks, at30 = [], []
        for seed in range(1, args.seeds + 1):
            t, v, n = detected(radicals, seed, 1.5)
            peaks.append(v.max())
            at30.append(v[np.searchsorted(t, 1800.0)])
        print(json.dumps({"study": "box", "radicals": radicals, "protons": n, "seeds": args.seeds,
                          "peak_visible_mean": float(np.mean(peaks)),
                          "peak_visible_sem": float(np.std(peaks, ddof=1) / np.sqrt(len(peaks))),
                          "visible_30min_mean": float(np.mean(at30)),
                          "visible_30min_sem": float(np.std(at30, ddof=1) / np.sqrt(len(at30))),
                          "wall_s": round(time.perf_counter() - tick, 1)}))


if __name__ == "__main__":
    main()
