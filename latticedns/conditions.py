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
    electrons : latticedns.lattice.electron_rates.ElectronFlipflops or None
        Set by ``microwave.tau_c_model = "sample"``: a model with explicit radicals then
        gives each radical its own Gamma_c,e from its neighbours (``docs/theory.md``,
        section 7b) and ``tau_c_us`` is the reference value (median or mean radical) at
        the calibration's reference concentration (:meth:`tau_c_us_at_mM` at another
        one).  None: one ``tau_c_us`` for every radical.
    """

    pbar: float
    tau_c_us: float = 0.5
    dnp_rate_per_s: float = 0.0
    dnp_target: float = 0.0
    relaxation_tau_c_us: float | None = None
    electrons: object = None

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
        # an ElectronFlipflops (latticedns.lattice.electron_rates; not imported here: the
        # conditions sit below the models)
        if self.electrons is not None and not hasattr(self.electrons, "reference_gamma_c"):
            raise ConfigError("electrons", f"must be an ElectronFlipflops or None, got "
                                           f"{type(self.electrons).__name__}")

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

    def tau_c_us_at_mM(self, radical_mM):
        """tau_c in us for a model without explicit radicals at a radical concentration (mM).

        With ``electrons``: 1 / (1/T1e + (1 - Pbar^2) s S(n)), S(n) the chosen statistic
        (median or mean) of sum_l W_kl of random samples at that concentration
        (``docs/theory.md``, section 7b), so that the continuum follows the
        concentration; equal to ``tau_c_us`` at the reference concentration.  Without:
        ``tau_c_us`` whatever the concentration.
        """
        if self.electrons is None:
            return self.tau_c_us
        return 1e6 / self.electrons.reference_gamma_c(self.pbar, radical_mM)
