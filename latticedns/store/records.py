"""`RunRecord` (one simulated run) and `SamplePositions`, the in-memory side of the result file.

A record holds everything needed to re-run and to plot a run: its unique name, the full
parameter dictionary actually used (after defaults), the seed, the model kind, the
:class:`~latticedns.protocol.ProtocolResult` and, for lattice runs, the positions of the
sample.  Parameters are normalized on construction to plain JSON types (``json.loads``
of ``json.dumps``): tuples become lists, numpy scalars Python numbers, so that what is
written is exactly what is read back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .._args import check_choice
from ..errors import ConfigError
from ..protocol import ProtocolResult

__all__ = ["RunRecord", "SamplePositions", "MODELS", "to_json", "flatten"]

#: Allowed values of :attr:`RunRecord.model`.
MODELS = ("lattice", "continuum")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def to_json(obj, key="parameters"):
    """Serialize to a JSON string (numpy scalars and arrays allowed; inf/nan as in Python).

    Parameters
    ----------
    obj : object
        Nested dicts / lists / scalars / strings.
    key : str
        Name used in the error message.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        If ``obj`` holds something that JSON cannot represent.
    """
    try:
        return json.dumps(obj, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ConfigError(key, f"must be JSON-serializable (dicts, lists, numbers, strings, "
                               f"None): {exc}") from None


def flatten(d, prefix=""):
    """Flatten nested dicts to ``{"a.b.c": value}`` (lists are leaves).

    Parameters
    ----------
    d : dict
    prefix : str

    Returns
    -------
    dict
    """
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


@dataclass(frozen=True, eq=False)
class SamplePositions:
    """Positions of a lattice sample as stored (no :class:`SampleSpec`; that is in parameters).

    Parameters
    ----------
    protons_nm : (N, 3) float64
        Proton positions, nm.
    radicals_nm : (M, 3) float64
        Radical positions, nm.
    box_nm : float
        Edge of the periodic cubic box, nm.
    """

    protons_nm: np.ndarray
    radicals_nm: np.ndarray
    box_nm: float

    def __post_init__(self):
        for key in ("protons_nm", "radicals_nm"):
            a = np.asarray(getattr(self, key))
            if a.ndim != 2 or a.shape[1] != 3 or a.dtype.kind != "f":
                raise ConfigError(f"sample.{key}", f"must be a float (n, 3) array, got "
                                                   f"{a.dtype} {a.shape}")
            object.__setattr__(self, key, a)
        object.__setattr__(self, "box_nm", float(self.box_nm))

    @classmethod
    def from_sample(cls, sample):
        """From a :class:`latticedns.lattice.Sample` (or anything with the same attributes)."""
        return cls(sample.protons_nm, sample.radicals_nm, sample.box_nm)


_RESULT_1D = ("t_s", "visible", "hidden", "stage")


def _check_result(r):
    if not isinstance(r, ProtocolResult):
        raise ConfigError("result", f"must be a ProtocolResult, got {type(r).__name__}")
    n = np.shape(r.t_s)
    for key in _RESULT_1D:
        if np.ndim(getattr(r, key)) != 1 or np.shape(getattr(r, key)) != n:
            raise ConfigError(f"result.{key}", f"must have the shape {n} of t_s, got "
                                               f"{np.shape(getattr(r, key))}")
    k, b = len(np.atleast_1d(r.profile_t_s)), len(np.atleast_1d(r.profile_edges_nm)) - 1
    if np.shape(r.profiles) != (k, max(b, 0)):
        raise ConfigError("result.profiles", f"must have shape (len(profile_t_s), "
                                             f"len(profile_edges_nm) - 1) = {(k, b)}, got "
                                             f"{np.shape(r.profiles)}")


@dataclass(frozen=True, eq=False)
class RunRecord:
    """One simulated run.

    Parameters
    ----------
    name : str
        Unique within a file; a valid HDF5 link name (non-empty, no ``/``, not ``.``).
    parameters : dict
        Every parameter actually used (after defaults), nested, JSON-serializable.
        Normalized to plain JSON types on construction (tuples -> lists).
    seed : int or None
        Seed of the random sample (None: none / not applicable).
    model : {"lattice", "continuum"}
    result : latticedns.protocol.ProtocolResult
    sample : SamplePositions, optional
        Positions of a lattice run; a :class:`latticedns.lattice.Sample` or a dict with
        keys ``protons_nm``, ``radicals_nm``, ``box_nm`` is converted.
    wall_s : float
        Wall-clock seconds of the run (nan: unknown).
    """

    name: str
    parameters: dict
    seed: int | None
    model: str
    result: ProtocolResult
    sample: SamplePositions | None = None
    wall_s: float = field(default=math.nan)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or "/" in self.name \
                or self.name in (".", ".."):
            raise ConfigError("name", f"must be a non-empty string without '/', got "
                                      f"{self.name!r}")
        if not isinstance(self.parameters, dict):
            raise ConfigError("parameters", f"must be a dict, got {type(self.parameters).__name__}")
        object.__setattr__(self, "parameters", json.loads(to_json(self.parameters)))
        seed = self.seed
        if seed is not None:
            if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
                raise ConfigError("seed", f"must be an integer or None, got {seed!r}")
            object.__setattr__(self, "seed", int(seed))
        check_choice("model", self.model, MODELS)
        _check_result(self.result)
        if self.sample is not None:
            if self.model != "lattice":
                raise ConfigError("sample", "only lattice runs have a sample")
            if isinstance(self.sample, dict):
                object.__setattr__(self, "sample", SamplePositions(**self.sample))
            elif not isinstance(self.sample, SamplePositions):
                object.__setattr__(self, "sample", SamplePositions.from_sample(self.sample))
        object.__setattr__(self, "wall_s", float(self.wall_s))
