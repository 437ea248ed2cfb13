"""How big a lattice run will be, before the sample is built: protons, pairs, memory.

The estimate uses the sample specification only (no positions): ``N = n_H L^3`` protons and
``P = N n_H (4/3) pi r_c^3 / 2`` flip-flop pairs within the cutoff ``r_c`` (random positions;
the hard cores change it by a few per cent).  Memory is linear in both,

    bytes ~ BASE + BYTES_PER_PROTON N + BYTES_PER_PAIR P,

with constants set from the benchmark schedule (``latticedns bench``): at 1e6 protons and a
1.0 nm cutoff (1.56e7 pairs, AMG solvers) the estimate is 11.7 GB against 7.7 GB measured
(10.2 GB for the rtol/100 reference); at 1e5 and 1.5 nm 3.7 GB against 1.5 GB for the
build and 5.0 GB with the PARDISO factor (3.4 GB) that ``solver="auto"`` only takes when it
fits.  A direct
factor can need more than this (its fill grows faster than N); ``"auto"`` falls back to AMG
when PARDISO's own analysis says it would not fit (`latticedns.propagation.solvers`).

Examples
--------
>>> from latticedns.lattice import SampleSpec
>>> from latticedns.lattice.model import LatticeParameters
>>> size = estimate_size(SampleSpec.from_dict({"radical_mM": 50, "n_protons": 100000,
...                                            "proton_density_per_nm3": 7.48}),
...                      LatticeParameters())
>>> size.protons, round(size.pairs / size.protons, 1)
(100000, 52.9)
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..resources import memory_budget_bytes

__all__ = ["SizeEstimate", "estimate_size", "check_fits", "BYTES_PER_PAIR", "BYTES_PER_PROTON"]

#: Resident bytes per flip-flop pair (geometry, pattern, three operators, solver work).
BYTES_PER_PAIR = 600.0
#: Resident bytes per proton (positions, per-proton rates, Krylov basis of ~150 vectors).
BYTES_PER_PROTON = 2000.0
#: Interpreter and libraries.
BASE_BYTES = 0.3e9


@dataclass(frozen=True)
class SizeEstimate:
    """Expected size of a lattice run.

    Attributes
    ----------
    protons : int
    pairs : int
        Flip-flop pairs within ``cutoff_nm``.
    bytes : float
        Expected peak resident memory in bytes.
    """

    protons: int
    pairs: int
    bytes: float

    @property
    def gigabytes(self):
        """``bytes`` in GB (1e9 bytes)."""
        return self.bytes / 1e9


def estimate_size(spec, params):
    """:class:`SizeEstimate` of a sample specification with the lattice physics ``params``."""
    density = float(spec.protons_per_nm3)
    if spec.n_protons is not None:
        n = int(spec.n_protons)
    else:
        n = int(round(density * spec.box_edge_nm ** 3))
    pairs = int(round(n * density * 4.0 / 3.0 * np.pi * params.cutoff_nm ** 3 / 2.0))
    return SizeEstimate(protons=n, pairs=pairs,
                        bytes=BASE_BYTES + BYTES_PER_PROTON * n + BYTES_PER_PAIR * pairs)


def check_fits(spec, params, key, budget_bytes=None):
    """Raise ConfigError naming ``key`` if the run would not fit in ``budget_bytes``.

    ``budget_bytes`` defaults to `latticedns.resources.memory_budget_bytes` (80 % of the
    memory available now).  Returns the :class:`SizeEstimate`.
    """
    size = estimate_size(spec, params)
    budget = memory_budget_bytes() if budget_bytes is None else budget_bytes
    if size.bytes > budget:
        raise ConfigError(key, f"the sample would have ~{size.protons:,} protons and "
                               f"~{size.pairs:,} pairs and need ~{size.gigabytes:.1f} GB, more "
                               f"than the {budget / 1e9:.1f} GB available; use a smaller sample")
    return size
