"""latticedns: nuclear spin diffusion around paramagnetic centres in hyperpolarized solids."""

__version__ = "0.1.0"
