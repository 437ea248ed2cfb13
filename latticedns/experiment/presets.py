"""Physics presets: named sets of defaults for the keys where the simulator departs from the
paper (``physics.preset``; ``docs/usage.md``, "Presets").

A preset supplies defaults for some ``[physics]`` and ``[microwave]`` keys; a key given in
the run file wins over it, and the run's warnings name every such override, so a result
always says which physics it was computed with.

``calibrated`` (the default)
    The simulator's physics, calibrated on the paper's Fig. 2 time scales: a Gaussian
    zero-quantum line (section 4b of ``docs/theory.md``), an electron correlation time that
    follows Pbar (tau_c(Pbar), section 7), Eq. 6 sampling the electron T1 (section 7), a
    1.5 nm flip-flop cutoff, and the physically consistent readings Delta = (A_i - A_j) / 2
    and Gamma_2^(II) = 2 pi x 11 kHz (section 5).  Reproduces the default tables of
    ``docs/reproduction.md``.
``paper``
    The paper's model as printed: the Lorentzian Eq. 8, one tau_c for every Pbar, Eq. 6
    with the flip-flop tau_c, the readings of the paper's Fig. 3 (Delta = A_i - A_j,
    Gamma_2^(II) = 2.2e4 s^-1, i.e. 3.50 kHz) and a 1.0 nm cutoff.  Reproduces the
    paper's ~17x microwave on/off contrast of D at r_h (18.8x, ``latticedns figure fig3a``).
``paper-transport``
    The paper's transport (line shape, constant tau_c, Fig. 3 readings, 1.0 nm cutoff)
    with the simulator's relaxation (Eq. 6 at the electron T1), so that the bundled DNP
    calibration still builds up ~70 %: isolates what the line shape and tau_c do to the
    hidden-to-visible transfer (``docs/reproduction.md``: peak after 2.5 min instead of
    ~18 min).

Examples
--------
>>> PRESETS["paper"].physics["lineshape"]
'lorentzian'
>>> sorted(PRESETS)
['calibrated', 'paper', 'paper-transport']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .._args import check_choice

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "apply_preset"]


@dataclass(frozen=True)
class Preset:
    """Defaults of one preset.

    Attributes
    ----------
    name : str
    physics, microwave : dict
        Defaults for keys of the ``[physics]`` and ``[microwave]`` tables (run-file units).
    departures : tuple of str
        How this physics departs from the paper's printed model (empty for ``paper``).
    """

    name: str
    physics: dict = field(default_factory=dict)
    microwave: dict = field(default_factory=dict)
    departures: tuple = ()


_PAPER_TRANSPORT = {"lineshape": "lorentzian", "cutoff_nm": 1.0, "splitting_factor": 1.0,
                    "gamma2_II_kHz": 22.0 / (2.0 * math.pi)}  # 2.2e4 s^-1

PRESETS = {
    "calibrated": Preset(
        "calibrated",
        physics={"lineshape": "gaussian", "cutoff_nm": 1.5, "splitting_factor": 0.5,
                 "gamma2_II_kHz": 11.0},
        microwave={"tau_c_model": "flipflop", "relaxation_tau_c": "electron_t1"},
        departures=("Gaussian zero-quantum line (not Eq. 8)", "tau_c follows Pbar",
                    "Eq. 6 at the electron T1", "1.5 nm flip-flop cutoff",
                    "Delta = (A_i - A_j)/2 and Gamma_2^(II) = 2 pi x 11 kHz")),
    "paper": Preset(
        "paper", physics=dict(_PAPER_TRANSPORT),
        microwave={"tau_c_model": "constant", "relaxation_tau_c": "tau_c"}),
    "paper-transport": Preset(
        "paper-transport", physics=dict(_PAPER_TRANSPORT),
        microwave={"tau_c_model": "constant", "relaxation_tau_c": "electron_t1"},
        departures=("Eq. 6 at the electron T1",)),
}

#: The preset of a run file without ``physics.preset``.
DEFAULT_PRESET = "calibrated"


def apply_preset(name, physics_in, microwave_in, fields_of):
    """Fill a preset's defaults into the ``[physics]`` and ``[microwave]`` tables.

    Parameters
    ----------
    name : str
        The ``physics.preset`` value.
    physics_in, microwave_in : dict
        The run file's tables (without ``preset``), updated in place: keys the run file
        does not give get the preset's value.
    fields_of : callable
        ``fields_of(table) -> set`` of the keys the run's model has in that table (a preset
        key the model lacks, e.g. ``cutoff_nm`` in the continuum, is skipped).

    Returns
    -------
    (Preset, list of str)
        The preset and one note per key the run file gives with another value than the
        preset's (``"physics.cutoff_nm = 1.5 overrides the paper preset's 1"``).
    """
    preset = PRESETS[check_choice("physics.preset", name, tuple(PRESETS))]
    notes = []
    for table, given, defaults in (("physics", physics_in, preset.physics),
                                   ("microwave", microwave_in, preset.microwave)):
        have = fields_of(table)
        for key, value in defaults.items():
            if key not in have:
                continue
            if key not in given:
                given[key] = value
            elif given[key] != value:
                shown = f"{value:.4g}" if isinstance(value, float) else repr(value)
                notes.append(f"{table}.{key} = {given[key]!r} overrides the {preset.name} "
                             f"preset's {shown}")
    return preset, notes
