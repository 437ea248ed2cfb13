"""Typed stages of an experiment (HypRes and beyond), composable in any order.

Times in s, bandwidths in kHz (ordinary frequency, full width), angles in degrees, powers
in mW.  A protocol is a sequence of stages; :func:`latticedns.protocol.run_protocol`
drives a model through it.

Examples
--------
The microwave-off HypRes experiment of the paper's Fig. 2a:

>>> hypres = [Saturate(), Microwave(duration_s=640.0, power_mW=118.0, dnp_sign=+1),
...           Delay(duration_s=10.0), SelectiveSaturate(bandwidth_kHz=200.0),
...           Detect(n_pulses=1024, interval_s=10.0, flip_angle_deg=0.1)]
>>> sum(stage.duration_s for stage in hypres)
10890.0
"""

from dataclasses import dataclass

import numpy as np

from .._args import is_real
from ..errors import ConfigError
from .microwave import OFF, MicrowaveSetting

__all__ = ["Saturate", "Microwave", "Delay", "SelectiveSaturate", "Detect", "STAGE_TYPES"]


def _require(key, ok, message):
    if not ok:
        raise ConfigError(key, message)


#: Stage durations and pulse intervals accepted, in s (1 ns to ~30 years: shorter steps
#: vanish against the experiment's clock, longer ones only waste the arithmetic).
DURATION_RANGE_S = (1e-9, 1e9)


def _duration(key, value):
    _require(key, is_real(value) and DURATION_RANGE_S[0] <= value <= DURATION_RANGE_S[1],
             f"must be a number in [{DURATION_RANGE_S[0]:g}, {DURATION_RANGE_S[1]:g}] s, "
             f"got {value!r}")


def _count(key, value, lo):
    _require(key, isinstance(value, (int, np.integer)) and not isinstance(value, bool)
             and value >= lo, f"must be an integer >= {lo}, got {value!r}")


def _positive(key, value, allow_zero=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) \
        and (value >= 0 if allow_zero else value > 0)
    _require(key, ok, f"must be a number {'>=' if allow_zero else '>'} 0, got {value!r}")


def _residual(value):
    _positive("residual", value, allow_zero=True)
    _require("residual", value < 1, f"must lie in [0, 1), got {value!r}")


@dataclass(frozen=True)
class Saturate:
    """Hard saturation of every proton (a train of pi/2 pulses), instantaneous.

    Attributes
    ----------
    residual : float
        Fraction of each proton's polarization left, in [0, 1) (0: perfect).
    n_pulses : int
        Number of pi/2 pulses (recorded for the record; the result is p -> residual * p).
    """

    residual: float = 0.0
    n_pulses: int = 120
    duration_s = 0.0

    def __post_init__(self):
        _residual(self.residual)
        _count("n_pulses", self.n_pulses, 1)


@dataclass(frozen=True)
class Microwave:
    """Microwave irradiation at a power and frequency sign for a duration.

    Attributes
    ----------
    duration_s : float
        Duration in s (> 0).
    power_mW : float
        Power in mW (>= 0).
    dnp_sign : int
        +1 for the positive-DNP frequency, -1 for the negative one.
    n_outputs : int
        Record the observables at this many evenly spaced times within the stage (>= 0).
    """

    duration_s: float
    power_mW: float = 118.0
    dnp_sign: int = 1
    n_outputs: int = 0

    def __post_init__(self):
        _duration("duration_s", self.duration_s)
        _count("n_outputs", self.n_outputs, 0)
        MicrowaveSetting(self.power_mW, self.dnp_sign)

    @property
    def microwave(self):
        """The :class:`MicrowaveSetting` held during the stage."""
        return MicrowaveSetting(self.power_mW, self.dnp_sign)


@dataclass(frozen=True)
class Delay:
    """Free evolution with microwaves off for a duration (e.g. the gate delay t_g).

    Attributes
    ----------
    duration_s : float
        Duration in s (> 0).
    n_outputs : int
        Record the observables at this many evenly spaced times within the stage.
    """

    duration_s: float
    n_outputs: int = 0

    def __post_init__(self):
        _duration("duration_s", self.duration_s)
        _count("n_outputs", self.n_outputs, 0)

    @property
    def microwave(self):
        """Microwaves off."""
        return OFF


@dataclass(frozen=True)
class SelectiveSaturate:
    """Saturation of the visible protons only, instantaneous.

    Zeroes (up to ``residual``) the protons whose NMR shift, at the electron polarization of
    that moment, lies within +-bandwidth/2 of the bulk line; hidden protons are untouched.

    Attributes
    ----------
    bandwidth_kHz : float
        Full saturation bandwidth in kHz (> 0; 200 in the paper).
    residual : float
        Fraction of the visible polarization left, in [0, 1).
    """

    bandwidth_kHz: float = 200.0
    residual: float = 0.0
    duration_s = 0.0

    def __post_init__(self):
        _positive("bandwidth_kHz", self.bandwidth_kHz)
        _residual(self.residual)


@dataclass(frozen=True)
class Detect:
    """A train of small-angle pulses reading the visible polarization.

    The signal (visible and hidden mean polarization) is recorded just before each pulse;
    each pulse multiplies the polarization of the protons it excites (the visible ones)
    by cos(flip_angle).  Pulses are ``interval_s`` apart, the first at the stage start.

    Attributes
    ----------
    n_pulses : int
        Number of pulses (>= 1).
    interval_s : float
        Time between pulses in s (> 0).
    flip_angle_deg : float
        Flip angle in degrees, in (0, 180].
    power_mW, dnp_sign : float, int
        Microwaves during detection (0 mW: off, as in Fig. 2a).
    bandwidth_kHz : float
        Excitation bandwidth of the pulses in kHz (which protons are read and tipped).
    """

    n_pulses: int
    interval_s: float
    flip_angle_deg: float
    power_mW: float = 0.0
    dnp_sign: int = -1
    bandwidth_kHz: float = 200.0

    def __post_init__(self):
        _count("n_pulses", self.n_pulses, 1)
        _duration("interval_s", self.interval_s)
        _positive("flip_angle_deg", self.flip_angle_deg)
        _require("flip_angle_deg", self.flip_angle_deg <= 180,
                 f"must lie in (0, 180] degrees, got {self.flip_angle_deg!r}")
        _positive("bandwidth_kHz", self.bandwidth_kHz)
        MicrowaveSetting(self.power_mW, self.dnp_sign)

    @property
    def duration_s(self):
        """n_pulses * interval_s, in s."""
        return self.n_pulses * self.interval_s

    @property
    def microwave(self):
        """The :class:`MicrowaveSetting` held during detection."""
        return MicrowaveSetting(self.power_mW, self.dnp_sign)


#: Stage classes by the ``type`` name used in run files.
STAGE_TYPES = {
    "saturate": Saturate,
    "microwave": Microwave,
    "delay": Delay,
    "selective_saturate": SelectiveSaturate,
    "detect": Detect,
}
