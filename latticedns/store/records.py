"""`RunRecord` (one simulated run), `SamplePositions` and `StageTable`, the in-memory side
of the result file.

A record holds everything needed to re-run and to plot a run: its unique name, the full
parameter dictionary actually used (after defaults), the seed, the model kind, the
:class:`~latticedns.protocol.ProtocolResult`, for lattice runs the positions of the
sample, and optionally the electron and proton conditions of every stage
(:class:`StageTable`), the run's validity warnings and its resolved sample as geometry-file
text.  Parameters are normalized on construction to plain JSON types (``json.loads`` of
``json.dumps``): tuples become lists, numpy scalars Python numbers, so that what is
written is exactly what is read back.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, fields

import numpy as np

from .._args import check_choice
from ..errors import ConfigError
from ..protocol import ProtocolResult

__all__ = ["RunRecord", "SamplePositions", "StageTable", "STAGE_COLUMNS", "MODELS", "to_json",
           "flatten", "geometry_toml"]

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


#: Columns of a :class:`StageTable`, in storage order: name -> (units, description).  Units
#: as in the rest of the file ("" for text, "1" for dimensionless numbers and counts).
STAGE_COLUMNS = {
    "name": ("", "stage name: the run file's [[stage]] name, else its index"),
    "type": ("", "stage type: saturate, microwave, delay, selective_saturate or detect"),
    "t_start_s": ("s", "start of the stage from the start of the first stage"),
    "duration_s": ("s", "duration of the stage (0 for the instantaneous saturations)"),
    "power_mW": ("mW", "microwave power in force during the stage (an instantaneous stage: "
                       "that of the stage before it)"),
    "dnp_sign": ("1", "+1 / -1: microwave frequency of positive / negative DNP (no effect "
                      "at 0 mW)"),
    "pbar": ("1", "mean electron polarization Pbar (fraction, not %)"),
    "tau_c_us": ("us", "electron correlation time tau_c (flip-flop decorrelation)"),
    "gamma_c_rad_per_s": ("rad/s", "Gamma_c = 1/tau_c in rad/s: the electron decorrelation "
                                   "rate, the width of the line shapes beside the hyperfine "
                                   "splittings in rad/s"),
    "relaxation_tau_c_us": ("us", "correlation time of the electron S_z noise sampled by "
                                  "Eq. 6 (the electron T1 by default, else tau_c)"),
    "dnp_rate_per_s": ("s^-1", "DNP source rate constant at r0 of the DNP profile (0 "
                               "without microwaves)"),
    "dnp_target": ("1", "signed polarization that DNP drives the protons toward (0 without "
                        "microwaves)"),
    "pool_pbar": ("1", "Pbar at which the stage's visible pool is judged (that of the last "
                       "selective saturation with run.visible_pool = 'saturated')"),
    "pool_bandwidth_kHz": ("kHz", "full bandwidth that judges the visible pool (detect and "
                                  "selective_saturate: the stage's own, else "
                                  "run.bandwidth_kHz)"),
    "visible_fraction": ("1", "fraction of the protons in the visible pool (lattice: of "
                              "their number; continuum: of the sphere's volume)"),
    "hidden_fraction": ("1", "fraction of the protons in the hidden pool (lattice: of "
                             "their number; continuum: of the sphere's volume)"),
    "n_visible": ("1", "number of visible protons (lattice runs only)"),
    "n_hidden": ("1", "number of hidden protons (lattice runs only)"),
    "boundary_radius_nm": ("nm", "radius r_b of the visible/hidden boundary: hidden "
                                 "r_in <= r < r_b (continuum runs only)"),
    "t1_bulk_s": ("s", "proton T1 away from radicals (physics.t1_bulk_s; inf: none)"),
    "t1_visible_s": ("s", "1 / mean over the visible pool of 2 Gamma_1 + 1/T1_bulk (Eq. 6): "
                          "relaxation time of the pool without spin diffusion and DNP (nan: "
                          "empty pool)"),
    "t1_hidden_s": ("s", "1 / mean over the hidden pool of 2 Gamma_1 + 1/T1_bulk (Eq. 6): "
                         "relaxation time of the pool without spin diffusion and DNP (nan: "
                         "empty pool)"),
}
_TEXT_COLUMNS = ("name", "type")
_INT_COLUMNS = ("dnp_sign", "n_visible", "n_hidden")


@dataclass(frozen=True, eq=False)
class StageTable:
    """Electron and proton conditions of every stage of a run, one entry per stage.

    Every attribute has one entry per stage, in protocol order; units and meaning in
    :data:`STAGE_COLUMNS` (and ``docs/hdf5.md``).  The conditions are those the protocol
    used (:mod:`latticedns.protocol.runner`): an instantaneous stage holds the microwave
    setting in force before it.

    Attributes
    ----------
    name, type : tuple of str
    t_start_s, duration_s : (S,) float64
        s.
    power_mW : (S,) float64
        mW.
    dnp_sign : (S,) int64
    pbar, dnp_target : (S,) float64
        Fractions.
    tau_c_us, relaxation_tau_c_us : (S,) float64
        us.
    gamma_c_rad_per_s : (S,) float64
        rad/s.
    dnp_rate_per_s : (S,) float64
        s^-1.
    pool_pbar : (S,) float64
    pool_bandwidth_kHz : (S,) float64
        kHz.
    visible_fraction, hidden_fraction : (S,) float64
        Fractions of the proton number (lattice) or of the volume (continuum).
    t1_bulk_s, t1_visible_s, t1_hidden_s : (S,) float64
        s.
    n_visible, n_hidden : (S,) int64 or None
        Proton counts (lattice runs; None otherwise).
    boundary_radius_nm : (S,) float64 or None
        nm (continuum runs; None otherwise).
    """

    name: tuple
    type: tuple
    t_start_s: np.ndarray
    duration_s: np.ndarray
    power_mW: np.ndarray
    dnp_sign: np.ndarray
    pbar: np.ndarray
    tau_c_us: np.ndarray
    gamma_c_rad_per_s: np.ndarray
    relaxation_tau_c_us: np.ndarray
    dnp_rate_per_s: np.ndarray
    dnp_target: np.ndarray
    pool_pbar: np.ndarray
    pool_bandwidth_kHz: np.ndarray
    visible_fraction: np.ndarray
    hidden_fraction: np.ndarray
    t1_bulk_s: np.ndarray
    t1_visible_s: np.ndarray
    t1_hidden_s: np.ndarray
    n_visible: np.ndarray | None = None
    n_hidden: np.ndarray | None = None
    boundary_radius_nm: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.name)
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            key = f"stages.{f.name}"
            if f.name in _TEXT_COLUMNS:
                if not isinstance(value, str):
                    value = tuple(value)
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(key, f"must be a sequence of strings, got {value!r}")
            else:
                a = np.asarray(value)
                if a.dtype.kind not in ("biu" if f.name in _INT_COLUMNS else "biuf"):
                    raise ConfigError(key, f"must be a numeric array, got dtype {a.dtype}")
                value = a.astype(np.int64 if f.name in _INT_COLUMNS else np.float64)
            if np.shape(value) != (n,):
                raise ConfigError(key, f"must have one entry per stage ({n}), got shape "
                                       f"{np.shape(value)}")
            object.__setattr__(self, f.name, value)

    def __len__(self):
        return len(self.name)

    @classmethod
    def from_rows(cls, rows):
        """From one dict per stage with the keys of :data:`STAGE_COLUMNS` (the optional
        ``n_visible``, ``n_hidden``, ``boundary_radius_nm`` in every row or in none)."""
        rows = list(rows)
        columns = {}
        for f in fields(cls):
            have = [f.name in r for r in rows]
            if f.default is None and not all(have):
                if any(have):
                    raise ConfigError(f"stages.{f.name}", "given for some stages only")
                continue
            columns[f.name] = [r[f.name] for r in rows]
        return cls(**columns)

    def columns(self):
        """``{name: values}`` of the columns present, in :data:`STAGE_COLUMNS` order."""
        return {k: getattr(self, k) for k in STAGE_COLUMNS if getattr(self, k) is not None}

    def index(self, name):
        """Index of the stage called ``name`` (a stage's index as a string also works).

        Raises
        ------
        ConfigError
            With key ``"stage"`` if there is no such stage.
        """
        if name in self.name:
            return self.name.index(name)
        if isinstance(name, str) and name.isdigit() and int(name) < len(self):
            return int(name)
        raise ConfigError("stage", f"no stage {name!r}; stages: {', '.join(self.name)}")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # inf, nan and exponents are TOML floats as Python writes them
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError("sample", f"cannot be written as TOML: {v!r}")


def _toml_key(k):
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def geometry_toml(table, comment=""):
    """A ``[sample]`` table (nested dicts: sub-tables) as the text of a geometry file.

    ``SampleSpec.from_toml`` of the text gives the sample back (tested).

    Parameters
    ----------
    table : dict
        The resolved sample table (``SampleSpec.to_dict()``).
    comment : str
        Written first, each line prefixed with ``# ``.

    Returns
    -------
    str
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    n_comment = len(lines)

    def emit(name, d):
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        values = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items()
                  if k not in subs and v is not None]
        if values or not subs:  # a table of sub-tables only needs no header of its own
            lines.extend(([""] if len(lines) > n_comment else []) + [f"[{name}]"] + values)
        for k, v in subs.items():
            emit(f"{name}.{_toml_key(k)}", v)

    emit("sample", table)
    return "\n".join(lines) + "\n"


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
    stages : StageTable, optional
        Electron and proton conditions of every stage (one entry per stage of the
        protocol); None: not recorded.
    warnings : tuple of str
        Validity warnings of the run (``RunSpec.warnings``); a list is converted.
    sample_toml : str
        The resolved sample as the text of a geometry file (:func:`geometry_toml`); empty
        when not recorded.
    """

    name: str
    parameters: dict
    seed: int | None
    model: str
    result: ProtocolResult
    sample: SamplePositions | None = None
    wall_s: float = field(default=math.nan)
    stages: StageTable | None = None
    warnings: tuple = ()
    sample_toml: str = ""

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
        if self.stages is not None:
            if not isinstance(self.stages, StageTable):
                raise ConfigError("stages", f"must be a StageTable, got "
                                            f"{type(self.stages).__name__}")
            stage = np.asarray(self.result.stage)
            if stage.size and (stage.min() < 0 or stage.max() >= len(self.stages)):
                raise ConfigError("stages", f"has {len(self.stages)} stages, the result's "
                                            f"stage indices reach {int(stage.max())}")
        warnings = self.warnings
        if not isinstance(warnings, str):
            warnings = tuple(warnings)
        if isinstance(warnings, str) or not all(isinstance(w, str) for w in warnings):
            raise ConfigError("warnings", f"must be a sequence of strings, got {warnings!r}")
        object.__setattr__(self, "warnings", warnings)
        if not isinstance(self.sample_toml, str):
            raise ConfigError("sample_toml", f"must be a string, got "
                                             f"{type(self.sample_toml).__name__}")
