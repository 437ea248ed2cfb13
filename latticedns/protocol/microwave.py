"""Microwave settings and their mapping to the electron condition of a stage.

Saturation model (``docs/theory.md``, section 7): continuous irradiation at power P lowers
the mean electron polarization to

    Pbar(P) = P_B / (1 + P / P_sat)

and switches on a DNP source whose rate scales with the saturated fraction
s(P) = P / (P + P_sat), driving the protons toward ``sign * dnp_target``.  The default
``P_sat`` makes Pbar = 0.5 at the full power of 118 mW (the paper: Pbar ~ 0.5 under full
microwave power).  A user table (``pbar_table``) of (power_mW, pbar) pairs replaces the
saturation formula by linear interpolation.

Electron correlation time (``docs/theory.md``, section 7): the electron spin state is
decorrelated by electron-electron flip-flops, whose rate is proportional to the
probability (1 - Pbar^2) of finding two electrons antiparallel, and by electron T1:

    Gamma_c(Pbar) = 1/T1e + (1/tau_c,ref - 1/T1e) (1 - Pbar^2) / (1 - Pbar_ref^2)

(``tau_c_model = "flipflop"``, default), anchored at the paper's tau_c = 0.5 us under full
microwave power (Pbar_ref = 0.5); at the Boltzmann Pbar = 0.99926 this gives
tau_c = 253 us.  ``tau_c_model = "constant"`` keeps tau_c,ref for every condition (the
paper's Fig. 3).  ``tau_c_model = "sample"`` derives each radical's rate from its
neighbours (``docs/theory.md``, section 7b; :mod:`latticedns.lattice.electrons`):

    Gamma_c,k = 1/T1e + (1 - Pbar^2) s sum_l W_kl

with the golden-rule e-e flip-flop rates W_kl of the radicals' actual vectors and drawn EPR
offsets; s makes the median (or mean, ``tau_c_statistic``) radical of random samples at
``tau_c_ref_mM`` have tau_c,ref at Pbar_ref (``tau_c_scale = "anchor"``), or is 1
(``"absolute"``).  The condition then carries the parameters
(``ElectronCondition.electrons``) and, as its single tau_c, that reference radical's at
``tau_c_ref_mM``: with the anchor, exactly the "flipflop" value.

Relaxation (Eq. 6, ``docs/theory.md``, section 7): Eq. 6 samples the electron S_z noise at
the nuclear Larmor frequency omega_0.  Flip-flops conserve electron Zeeman energy and leave
no noise there, so by default (``relaxation_tau_c = "electron_t1"``) Eq. 6 uses the
electron T1 as the correlation time; ``"tau_c"`` uses the flip-flop tau_c (the paper).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from ..conditions import ElectronCondition
from ..constants import GAMMA_E, boltzmann_polarization
from .._args import check_choice, check_number, is_real
from ..errors import ConfigError
from ..lattice.electron_rates import ElectronFlipflops
from ..lattice.electrons import STATISTICS, anchor_scale, tempol_epr_sigma

__all__ = ["TAU_C_MODELS", "TAU_C_SCALES", "RELAXATION_TAU_C", "MicrowaveSetting",
           "MicrowaveCalibration"]

#: How the electron correlation time follows the mean electron polarization (and the sample).
TAU_C_MODELS = ("flipflop", "constant", "sample")
#: How ``tau_c_model = "sample"`` sets the scale of its flip-flop rates.
TAU_C_SCALES = ("anchor", "absolute")

#: Which correlation time Eq. 6 samples at the nuclear Larmor frequency.
RELAXATION_TAU_C = ("electron_t1", "tau_c")
#: Correlation times accepted, in us (1 ps to 1000 s; the rates overflow or vanish beyond).
TAU_RANGE_US = (1e-6, 1e9)


@dataclass(frozen=True)
class MicrowaveSetting:
    """Microwave irradiation during a stage: power and frequency sign.

    Attributes
    ----------
    power_mW : float
        Power in mW (>= 0); 0 means microwaves off.
    dnp_sign : int
        +1 (positive DNP frequency) or -1 (negative DNP frequency).
    """

    power_mW: float = 0.0
    dnp_sign: int = 1

    def __post_init__(self):
        if not (is_real(self.power_mW) and self.power_mW >= 0):
            raise ConfigError("power_mW", f"must be a finite number >= 0 mW, got "
                              f"{self.power_mW!r}")
        if isinstance(self.dnp_sign, bool) or self.dnp_sign not in (1, -1):
            raise ConfigError("dnp_sign", f"must be +1 or -1, got {self.dnp_sign!r}")

    @property
    def is_on(self):
        """True when the power is above zero."""
        return self.power_mW > 0


OFF = MicrowaveSetting()


def _pbar_table(rows):
    """``pbar_table`` as a tuple of (power_mW, pbar) float pairs, validated."""
    shape = "a list of [power_mW, pbar] pairs with increasing power >= 0 and pbar in [-1, 1]"
    if not isinstance(rows, (list, tuple)):
        raise ConfigError("pbar_table", f"must be {shape}, got {rows!r}")
    table = []
    for row in rows:
        if not isinstance(row, (list, tuple)) or len(row) != 2 or not all(map(is_real, row)):
            raise ConfigError("pbar_table", f"must be {shape}; got the entry {row!r}")
        table.append((float(row[0]), float(row[1])))
    if table:
        powers, pbars = np.array(table).T
        if np.any(np.diff(powers) <= 0) or powers[0] < 0:
            raise ConfigError("pbar_table", f"must be {shape}: powers {powers.tolist()}")
        if np.any(np.abs(pbars) > 1):
            raise ConfigError("pbar_table", f"must be {shape}: pbar values {pbars.tolist()}")
    return tuple(table)


@dataclass(frozen=True)
class MicrowaveCalibration:
    """Maps a :class:`MicrowaveSetting` to an :class:`~latticedns.conditions.ElectronCondition`.

    Attributes
    ----------
    b0_T, temperature_K : float
        Field in T and temperature in K (the Boltzmann electron polarization P_B).
    tau_c_us : float
        Electron correlation time tau_c,ref in microseconds at Pbar = ``tau_c_pbar_ref``
        (0.5 us, the paper's value under microwaves).
    tau_c_model : {"flipflop", "constant"}
        How tau_c follows Pbar (module docstring); "constant": tau_c_us everywhere.
    tau_c_pbar_ref : float
        Pbar at which tau_c = tau_c_us, in [0, 1) (0.5).
    electron_t1_s : float
        Electron spin-lattice relaxation time T1e in s (1.0; > 0), the floor of Gamma_c.
    relaxation_tau_c : {"electron_t1", "tau_c"}
        Correlation time of the electron noise in Eq. 6: T1e (default; module docstring)
        or the flip-flop tau_c of the condition (the paper).
    saturation_power_mW : float
        P_sat in mW (> 0); default 118.18 mW gives Pbar = 0.500 at 118 mW.
    dnp_rate_per_s : float
        DNP source rate constant k_DNP (s^-1, at r0 of the model's profile) at full
        saturation (default 0.004 s^-1).
    dnp_target : float
        |polarization| that DNP drives toward, in [0, 1] (default 0.8).  With the defaults a
        640 s preparation at 118 mW brings the bulk to about 70 % (the paper's ~70 %).
    pbar_table : tuple of (power_mW, pbar) pairs
        Optional measured calibration, replacing the saturation formula.
    calibration_b0_T, calibration_temperature_K : float
        Field in T and temperature in K at which tau_c_us, saturation_power_mW,
        dnp_rate_per_s, dnp_target and pbar_table were determined (7.05 T, 1.2 K: the
        paper's).  They change no number; a run at another field or temperature is
        warned that it reuses them (`latticedns.experiment.validity`).
    tau_c_scale : {"anchor", "absolute"}
        ``tau_c_model = "sample"`` only: scale its flip-flop rates so that the reference
        radical (``tau_c_statistic``) of random samples at (``tau_c_pbar_ref``,
        ``tau_c_ref_mM``) has tau_c = ``tau_c_us`` ("anchor", default), or use the golden
        rule as it is ("absolute").
    tau_c_ref_mM : float
        Radical concentration of the anchor in mM (50, the paper's sample).
    tau_c_statistic : {"median", "mean"}
        Which radical of random samples the anchor (and models without explicit radicals)
        stands for: the median of sum_l W_kl ("median", default: the typical radical) or
        its ensemble mean ("mean", carried by rare resonant close pairs).
    epr_sigma_MHz : float or None
        Standard deviation of the Gaussian inhomogeneous EPR line, sigma_e / 2pi in MHz;
        None (default): TEMPOL at ``b0_T`` from its g and 14N tensors (194.7 MHz at
        7.05 T; :func:`latticedns.lattice.electrons.tempol_epr_sigma`).
    electron_t2_us : float
        Homogeneous electron T2e in us (1.0); the e-e pair line decays at 2/T2e.
    ee_cutoff_nm : float or None
        e-e cutoff in nm (< half the lattice's box edge); None (default):
        ``ee_cutoff_rmv`` r_MV of the concentration, r_MV = (3 / (4 pi n))^(1/3) (2 r_MV =
        3.99 nm at 50 mM).
    ee_cutoff_rmv : float
        The cutoff in units of r_MV when ``ee_cutoff_nm`` is not given (2; in [0.5, 20]):
        the same rule at every concentration and for the anchor's reference sample.
    ee_min_dist_nm : float
        Closest radical approach of the reference sample and the mean field in nm (0.6,
        the default ``sample.min_dist_radical_radical_nm``; the lattice's own sample keeps
        its own).
    """

    b0_T: float = 7.05
    temperature_K: float = 1.2
    tau_c_us: float = 0.5
    tau_c_model: str = "flipflop"
    tau_c_pbar_ref: float = 0.5
    electron_t1_s: float = 1.0
    relaxation_tau_c: str = "electron_t1"
    saturation_power_mW: float = 118.18
    dnp_rate_per_s: float = 0.004
    dnp_target: float = 0.8
    pbar_table: tuple = field(default=())
    calibration_b0_T: float = 7.05
    calibration_temperature_K: float = 1.2
    tau_c_scale: str = "anchor"
    tau_c_ref_mM: float = 50.0
    tau_c_statistic: str = "median"
    epr_sigma_MHz: float | None = None
    electron_t2_us: float = 1.0
    ee_cutoff_nm: float | None = None
    ee_cutoff_rmv: float = 2.0
    ee_min_dist_nm: float = 0.6

    def __post_init__(self):
        check_choice("tau_c_model", self.tau_c_model, TAU_C_MODELS)
        check_choice("tau_c_scale", self.tau_c_scale, TAU_C_SCALES)
        check_choice("tau_c_statistic", self.tau_c_statistic, STATISTICS)
        check_number("tau_c_ref_mM", self.tau_c_ref_mM, 1e-6, 1e4, "mM")
        if self.epr_sigma_MHz is not None:
            check_number("epr_sigma_MHz", self.epr_sigma_MHz, 1e-6, 1e6, "MHz")
        check_number("electron_t2_us", self.electron_t2_us, *TAU_RANGE_US, "us")
        if self.ee_cutoff_nm is not None:
            check_number("ee_cutoff_nm", self.ee_cutoff_nm, 1e-3, 1e3, "nm")
        check_number("ee_cutoff_rmv", self.ee_cutoff_rmv, 0.5, 20.0, "r_MV")
        check_number("ee_min_dist_nm", self.ee_min_dist_nm, 1e-3, 1e2, "nm")
        check_choice("relaxation_tau_c", self.relaxation_tau_c, RELAXATION_TAU_C)
        for key in ("b0_T", "temperature_K", "saturation_power_mW", "calibration_b0_T",
                    "calibration_temperature_K"):
            v = getattr(self, key)
            if not (is_real(v) and v > 0):
                raise ConfigError(key, f"must be a finite number > 0, got {v!r}")
        # correlation times of 1 ps to 1000 s: outside, the rates overflow or vanish
        check_number("tau_c_us", self.tau_c_us, *TAU_RANGE_US, "us")
        check_number("electron_t1_s", self.electron_t1_s, TAU_RANGE_US[0] * 1e-6,
                     TAU_RANGE_US[1] * 1e-6, "s")
        ref = self.tau_c_pbar_ref
        if not (is_real(ref) and 0 <= ref < 1):
            raise ConfigError("tau_c_pbar_ref", f"must be a number in [0, 1), got {ref!r}")
        if not (is_real(self.dnp_rate_per_s) and self.dnp_rate_per_s >= 0):
            raise ConfigError("dnp_rate_per_s", f"must be a finite number >= 0 s^-1, got "
                              f"{self.dnp_rate_per_s!r}")
        if not (is_real(self.dnp_target) and 0 <= self.dnp_target <= 1):
            raise ConfigError("dnp_target", f"must be a number in [0, 1], got {self.dnp_target!r}")
        object.__setattr__(self, "pbar_table", _pbar_table(self.pbar_table))

    @property
    def pbar_boltzmann(self):
        """Thermal electron polarization P_B."""
        return float(boltzmann_polarization(GAMMA_E, self.b0_T, self.temperature_K))

    def pbar(self, power_mW):
        """Mean electron polarization at a power in mW."""
        if self.pbar_table:
            powers, pbars = np.array(self.pbar_table).T
            return float(np.interp(power_mW, powers, pbars))
        return self.pbar_boltzmann / (1.0 + power_mW / self.saturation_power_mW)

    @property
    def electron_flipflops(self):
        """The :class:`~latticedns.lattice.electron_rates.ElectronFlipflops` of ``tau_c_model =
        "sample"`` (with the anchor's scale resolved), else None."""
        if self.tau_c_model != "sample":
            return None
        sigma_MHz = (self.epr_sigma_MHz if self.epr_sigma_MHz is not None
                     else float(tempol_epr_sigma(self.b0_T)) / (2e6 * np.pi))
        params = ElectronFlipflops(epr_sigma_MHz=sigma_MHz, electron_t2_us=self.electron_t2_us,
                                   ee_cutoff_nm=self.ee_cutoff_nm,
                                   ee_cutoff_rmv=self.ee_cutoff_rmv,
                                   ee_min_dist_nm=self.ee_min_dist_nm,
                                   electron_t1_s=self.electron_t1_s,
                                   statistic=self.tau_c_statistic)
        if self.tau_c_scale == "absolute":
            return params
        scale = anchor_scale(self.tau_c_us, self.tau_c_pbar_ref, self.electron_t1_s,
                             params.reference_flipflop_sum(self.tau_c_ref_mM))
        return replace(params, scale=scale)

    def tau_c_us_at(self, pbar):
        """Electron correlation time in microseconds at a mean polarization ``pbar``.

        With ``tau_c_model = "sample"``: the reference radical's at ``tau_c_ref_mM`` (the
        value of models without explicit radicals), the "flipflop" formula with the anchor.
        """
        if self.tau_c_model == "constant":
            return self.tau_c_us
        if self.tau_c_model == "sample" and self.tau_c_scale == "absolute":
            return 1e6 / self.electron_flipflops.reference_gamma_c(pbar, self.tau_c_ref_mM)
        floor = 1.0 / self.electron_t1_s
        ref = 1e6 / self.tau_c_us
        scale = (1.0 - pbar) * (1.0 + pbar) / ((1.0 - self.tau_c_pbar_ref) * (1.0 + self.tau_c_pbar_ref))
        return 1e6 / (floor + max(ref - floor, 0.0) * scale)

    def condition(self, microwave):
        """The :class:`ElectronCondition` of a microwave setting (``None`` means off)."""
        mw = microwave or OFF
        pbar = self.pbar(mw.power_mW)
        # the saturated fraction s(P); a measured Pbar at or above P_B saturates nothing
        saturation = max(1.0 - pbar / self.pbar_boltzmann, 0.0)
        return ElectronCondition(
            pbar=pbar, tau_c_us=self.tau_c_us_at(pbar),
            dnp_rate_per_s=self.dnp_rate_per_s * saturation if mw.is_on else 0.0,
            dnp_target=mw.dnp_sign * self.dnp_target if mw.is_on else 0.0,
            relaxation_tau_c_us=(1e6 * self.electron_t1_s
                                 if self.relaxation_tau_c == "electron_t1" else None),
            electrons=self.electron_flipflops,
        )
