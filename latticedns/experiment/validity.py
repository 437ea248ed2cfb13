"""Validity warnings of a resolved run: values outside the range of DNP experiments, a
microwave calibration used away from its field and temperature, a model outside its
validated range, keys that override the physics preset.

They do not stop a run (the value may be meant); they are printed once at its start and
recorded in the result (``docs/usage.md``, "Warnings").  Ranges, in run-file units:

=====================================  ==============  =====================================
key                                    range           typical slip
=====================================  ==============  =====================================
``physics.b0_T``                       0.1-30 T        a field in mT given as T
``physics.temperature_K``              0.05-300 K      mK given as K
``sample.radical_mM``                  1-200 mM        M or uM given as mM
``physics.t1_bulk_s``                  1 s-1e6 s       minutes or ms given as s
``physics.gamma2_II_kHz``              0.5-100 kHz     rad/s given as kHz
``microwave.tau_c_us``                 1e-3-1e4 us     ns or s given as us
``microwave.dnp_rate_per_s``           0-1 s^-1        a time given as a rate
``stage.*.power_mW``                   0-1e4 mW        W given as mW
``stage.*.flip_angle_deg``             0.01-90 deg     radians given as degrees
=====================================  ==============  =====================================
"""

from __future__ import annotations

__all__ = ["PLAUSIBLE", "CONTINUUM_GAUSSIAN_DEPARTURE", "run_warnings"]

#: (table, key, low, high, unit, typical slip) of the plausibility warnings.
PLAUSIBLE = (
    ("physics", "b0_T", 0.1, 30.0, "T", "a field in mT given as T?"),
    ("physics", "temperature_K", 0.05, 300.0, "K", "mK given as K?"),
    ("sample", "radical_mM", 1.0, 200.0, "mM", "M or uM given as mM?"),
    ("physics", "t1_bulk_s", 1.0, 1e6, "s", "minutes or ms given as s?"),
    ("physics", "gamma2_II_kHz", 0.5, 100.0, "kHz", "rad/s given as kHz?"),
    ("microwave", "tau_c_us", 1e-3, 1e4, "us", "ns or s given as us?"),
    ("microwave", "dnp_rate_per_s", 0.0, 1.0, "s^-1", "a time given as a rate?"),
)
_STAGE_PLAUSIBLE = (
    ("power_mW", 0.0, 1e4, "mW", "W given as mW?"),
    ("flip_angle_deg", 0.01, 90.0, "deg", "radians given as degrees?"),
)

#: The measured departure of the continuum from the lattice with the Gaussian line
#: (``docs/theory.md`` section 8.6; bundled microwave-off run, README sample).
CONTINUUM_GAUSSIAN_DEPARTURE = (
    "model = 'continuum' with the Gaussian zero-quantum line is outside its validated "
    "range: its one-pair D(r) misses the near-resonant pairs that carry the lattice's "
    "hidden-to-visible transport (microwave-off peak +0.74 % at 67 min against the "
    "lattice's +1.24 % at 18 min; docs/theory.md 8.6); physics.transport = 'channels' "
    "(8.8) agrees with the lattice ensemble to 1 % of the peak, and with lineshape = "
    "'lorentzian' the one-pair model agrees to ~4 %")

#: Relative difference of field or temperature beyond which a calibration is "elsewhere".
CALIBRATION_TOLERANCE = 0.01


def _outside(value, lo, hi):
    return value is not None and not (lo <= value <= hi)


def run_warnings(model, sample, physics, calibration, stages, stage_names, preset_notes=()):
    """The validity warnings of one resolved run (module docstring), one line each.

    Parameters
    ----------
    model : str
        ``"lattice"`` or ``"continuum"``.
    sample : SampleSpec
    physics : LatticeParameters or ContinuumParameters
    calibration : MicrowaveCalibration
    stages : sequence of stage objects
    stage_names : sequence of str
        Their names in the run file.
    preset_notes : sequence of str
        Keys overriding the preset (`latticedns.experiment.presets.apply_preset`).

    Returns
    -------
    tuple of str
    """
    out = []
    tables = {"physics": physics, "microwave": calibration, "sample": sample}
    for table, key, lo, hi, unit, slip in PLAUSIBLE:
        value = getattr(tables[table], key, None)
        if _outside(value, lo, hi):
            out.append(f"{table}.{key} = {value:g} {unit} is outside the range of DNP "
                       f"experiments ({lo:g}-{hi:g} {unit}): {slip}")
    for name, stage in zip(stage_names, stages):
        for key, lo, hi, unit, slip in _STAGE_PLAUSIBLE:
            value = getattr(stage, key, None)
            if _outside(value, lo, hi):
                out.append(f"stage.{name}.{key} = {value:g} {unit} is outside the range of "
                           f"DNP experiments ({lo:g}-{hi:g} {unit}): {slip}")
    cb, ct = calibration.calibration_b0_T, calibration.calibration_temperature_K
    if (abs(physics.b0_T - cb) > CALIBRATION_TOLERANCE * cb
            or abs(physics.temperature_K - ct) > CALIBRATION_TOLERANCE * ct):
        out.append(f"the [microwave] calibration (tau_c_us, saturation_power_mW, "
                   f"dnp_rate_per_s, dnp_target{', pbar_table' if calibration.pbar_table else ''}"
                   f") belongs to {cb:g} T / {ct:g} K (microwave.calibration_b0_T, "
                   f"calibration_temperature_K) and is used at {physics.b0_T:g} T / "
                   f"{physics.temperature_K:g} K: these values depend on the field and the "
                   f"temperature (docs/usage.md, 'Calibration'); recalibrate them, or set "
                   f"the calibration keys if they were measured here")
    above = [pb for power, pb in calibration.pbar_table
             if power > 0 and pb > calibration.pbar_boltzmann]
    if above:
        out.append(f"microwave.pbar_table gives Pbar = {above[0]:g} under microwaves, above "
                   f"the Boltzmann polarization P_B = {calibration.pbar_boltzmann:.6g} at "
                   f"{physics.b0_T:g} T / {physics.temperature_K:g} K: no saturation, so no "
                   f"DNP there (s(P) = 0)")
    if (model == "continuum" and physics.lineshape == "gaussian"
            and getattr(physics, "transport", "pair") == "pair"):
        out.append(CONTINUUM_GAUSSIAN_DEPARTURE)
    out += list(preset_notes)
    return tuple(out)
