"""latticedns: nuclear spin diffusion around paramagnetic centres in hyperpolarized solids.

Layers (dependencies run one way): :mod:`~latticedns.constants` ->
:mod:`~latticedns.couplings` -> :mod:`~latticedns.rates` -> the radial D(r) model
(:mod:`~latticedns.diffusion`), the lattice model and the continuum model; plotting,
storage and the command line sit on top and are never imported by the physics core.

Internal units: nm, s, rad/s (angular frequencies), T, K; see ``docs/theory.md``.

Examples
--------
>>> import latticedns
>>> w = latticedns.flipflop_rate(d12=1.2e3, delta=0.0, pbar=0.9993, gamma_c=2e6, gamma_2=6.9e4)
>>> round(float(w), 2)  # Delta = 0: W = D12^2 / (2 Gamma_2)
10.43
"""

from .diffusion import DiffusionConditions, diffusion_coefficient
from .errors import ConfigError
from .rates import flipflop_rate

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DiffusionConditions",
    "diffusion_coefficient",
    "flipflop_rate",
    "__version__",
]
