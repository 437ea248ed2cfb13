"""Execute a resolved run: build the model, drive the protocol, collect a record."""

import time
from dataclasses import asdict

import numpy as np

from ..continuum import ContinuumModel
from ..lattice import generate_sample
from ..lattice.model import LatticeModel
from ..protocol import STAGE_TYPES, run_protocol

__all__ = ["build_model", "parameters_of", "execute_run"]

_STAGE_NAMES = {cls: name for name, cls in STAGE_TYPES.items()}


def build_model(spec):
    """The model of a :class:`~latticedns.experiment.config.RunSpec` and its sample (or None)."""
    if spec.model == "lattice":
        sample = generate_sample(spec.sample)
        return LatticeModel(sample, spec.physics), sample
    return ContinuumModel(spec.physics), None


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def parameters_of(spec):
    """Every parameter of a run after defaults, as a JSON-serializable nested dict."""
    stages = [{"type": _STAGE_NAMES[type(s)], **asdict(s)} for s in spec.stages]
    return _plain({
        "run": dict(spec.run),
        "sample": spec.sample.to_dict(),
        "physics": asdict(spec.physics),
        "microwave": asdict(spec.calibration),
        "stage": stages,
    })


def execute_run(spec, progress=None):
    """Simulate one run.

    Parameters
    ----------
    spec : RunSpec
    progress : callable, optional
        ``progress(stage_index, n_stages, fraction, elapsed_s)``.

    Returns
    -------
    latticedns.store.RunRecord
    """
    from ..store import RunRecord

    tick = time.perf_counter()
    model, sample = build_model(spec)
    run = spec.run
    result = run_protocol(
        model, spec.stages, spec.calibration, bandwidth_kHz=run["bandwidth_kHz"],
        profile_edges_nm=run["profile_edges_nm"], profile_times_s=run["profile_times_s"],
        method=run["method"], rtol=run["rtol"], visible_pool=run["visible_pool"],
        progress=progress)
    positions = None
    if sample is not None:
        positions = {"protons_nm": sample.protons_nm, "radicals_nm": sample.radicals_nm,
                     "box_nm": sample.box_nm}
    return RunRecord(name=spec.name, parameters=parameters_of(spec), seed=spec.sample.seed,
                     model=spec.model, result=result, sample=positions,
                     wall_s=time.perf_counter() - tick)
