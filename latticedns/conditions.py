"""The electron/microwave condition that a model's operator is built for.

Shared by the lattice and the continuum models.  Units are in the field names.
"""

from dataclasses import dataclass, replace

import numpy as np

from .errors import ConfigError

__all__ = ["ElectronCondition"]


@dataclass(frozen=True)
class ElectronCondition:
    """State of the electron spins during a stage.

    Attributes
    ----------
    pbar : float
        Mean electron polarization in [-1, 1] (Boltzmann 0.99926 at 7.05 T, 1.2 K;
        about 0.5 under full microwave power).
    tau_c_us : float
        Correlation time of the electron spin state in microseconds (> 0), Gamma_c = 1/tau_c.
    dnp_rate_per_s : float
        DNP source rate constant in s^-1 (>= 0) at the reference distance of the model's
        DNP profile; 0 without microwaves.
    dnp_target : float
        Polarization that DNP drives the protons toward, in [-1, 1] (sign = positive or
        negative DNP).
    relaxation_tau_c_us : float or None
        Correlation time in microseconds of the electron S_z noise that Eq. 6 samples at
        the nuclear Larmor frequency (> 0); None: ``tau_c_us``, as in the paper
        (``docs/theory.md``, section 7).
    """

    pbar: float
    tau_c_us: float = 0.5
    dnp_rate_per_s: float = 0.0
    dnp_target: float = 0.0
    relaxation_tau_c_us: float | None = None

    def __post_init__(self):
        for key, lo, hi in (("pbar", -1.0, 1.0), ("dnp_target", -1.0, 1.0)):
            v = getattr(self, key)
            if not (np.isfinite(v) and lo <= v <= hi):
                raise ConfigError(key, f"must lie in [{lo:g}, {hi:g}], got {v!r}")
        for key, v in (("tau_c_us", self.tau_c_us), ("relaxation_tau_c_us", self.relaxation_tau_c_us)):
            if v is None and key == "relaxation_tau_c_us":  # None: use tau_c_us
                continue
            if v is None or not (np.isfinite(v) and v > 0):
                raise ConfigError(key, f"must be > 0 us, got {v!r}")
        if not (np.isfinite(self.dnp_rate_per_s) and self.dnp_rate_per_s >= 0):
            raise ConfigError("dnp_rate_per_s", f"must be >= 0 s^-1, got {self.dnp_rate_per_s!r}")

    @property
    def operator_condition(self):
        """This condition with ``dnp_target`` (which enters only the source) set to 0.

        Conditions with equal ``operator_condition`` have the same operator in both models,
        so they share its solvers (the positive and negative DNP runs, say).
        """
        return replace(self, dnp_target=0.0)

    @property
    def gamma_c(self):
        """Gamma_c = 1/tau_c in s^-1."""
        return 1e6 / self.tau_c_us

    @property
    def gamma_c_relaxation(self):
        """Decorrelation rate in s^-1 used in Eq. 6 (``1/relaxation_tau_c_us``, else Gamma_c)."""
        if self.relaxation_tau_c_us is None:
            return self.gamma_c
        return 1e6 / self.relaxation_tau_c_us
