"""Throughput of the vectorized rate formulas (issue 2 target: 1e7 pairs in < 1 s, one core).

Run:  python bench/bench_rates.py [--pairs 10000000]
Prints one JSON line per function with the best of 3 wall times.
"""

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from latticedns.lineshape import flipflop_rate_lineshape  # noqa: E402
from latticedns.rates import flipflop_rate, paramagnetic_relaxation_rate  # noqa: E402


def best_of(f, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=10_000_000)
    n = parser.parse_args().pairs
    rng = np.random.default_rng(0)
    d12 = rng.normal(0, 1e3, n)
    delta = 10 ** rng.uniform(2, 7, n)
    gamma2 = 10 ** rng.uniform(3, 5, n)
    apm = 10 ** rng.uniform(6, 12, n)
    for limit in ("exact", "slow", "fast"):
        t = best_of(lambda: flipflop_rate(d12, delta, 0.9993, 2e6, gamma2, limit=limit))
        print(json.dumps({"function": f"flipflop_rate[{limit}]", "pairs": n, "seconds": round(t, 3)}))
    t = best_of(lambda: flipflop_rate_lineshape(d12, delta, 0.9993, 2e6, 0.0, gamma2, "gaussian"))
    print(json.dumps({"function": "flipflop_rate_lineshape[gaussian]", "pairs": n,
                      "seconds": round(t, 3)}))
    t = best_of(lambda: paramagnetic_relaxation_rate(apm, 0.9993, 2e6, 1.88e9))
    print(json.dumps({"function": "paramagnetic_relaxation_rate", "pairs": n, "seconds": round(t, 3)}))


if __name__ == "__main__":
    main()
