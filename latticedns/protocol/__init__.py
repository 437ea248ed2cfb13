"""Experiments as typed stages, microwave calibration and the protocol runner."""

from .microwave import MicrowaveCalibration, MicrowaveSetting
from .runner import ProtocolResult, run_protocol
from .series import iter_protocols
from .stages import STAGE_TYPES, Delay, Detect, Microwave, Saturate, SelectiveSaturate

__all__ = [
    "Saturate", "Microwave", "Delay", "SelectiveSaturate", "Detect", "STAGE_TYPES",
    "MicrowaveSetting", "MicrowaveCalibration", "ProtocolResult", "run_protocol",
    "iter_protocols",
]
