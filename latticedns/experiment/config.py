"""Run files: TOML definitions of one or more simulated experiments.

A run file has the tables ``[run]`` (model, sample file, seed, numerics), ``[physics]``
(model parameters), ``[microwave]`` (calibration), an array ``[[stage]]`` (the protocol,
in order) and optionally ``[[variant]]`` (named runs, each changing dotted keys of the
base, e.g. ``"stage.prepare.dnp_sign" = -1``).  Every key is documented in
``docs/usage.md``; unknown keys are refused with a :class:`ConfigError` naming them.
"""

import copy
import os
from dataclasses import dataclass, fields

from .._args import check_choice, is_real
from ..continuum import ContinuumParameters
from ..diffusion import mean_volume_radius_nm
from ..continuum.parameters import REMOVED
from ..errors import ConfigError
from ..examples import resolve_sample
from ..lattice import SampleSpec
from ..lattice.model import LatticeParameters
from ..protocol import STAGE_TYPES, MicrowaveCalibration
from ..propagation.methods import available_methods
from ..propagation.solvers import SOLVERS
from ..protocol.runner import PULSE_MODELS, VISIBLE_POOLS
from ..tomlfile import read_toml
from .presets import DEFAULT_PRESET, apply_preset
from .validity import run_warnings

__all__ = ["RUN_KEYS", "RunSpec", "load_run_file", "parse_run_document", "set_dotted"]

#: Keys of the ``[run]`` table with their defaults.
RUN_KEYS = {
    "name": "run",
    "model": "lattice",
    "sample": None,
    "seed": None,
    "n_radicals": None,
    "method": "auto",
    "solver": "auto",
    "rtol": 1e-6,
    "bandwidth_kHz": 200.0,
    "visible_pool": "saturated",
    "profile_times_s": [],
    "pulse_model": "auto",
    "profile_edges_nm": None,
    "mesh_check": False,
}
_TOP = ("run", "sample", "physics", "microwave", "stage", "variant")
_SHARED = {"b0_T", "temperature_K"}


@dataclass(frozen=True)
class RunSpec:
    """One fully resolved run: everything needed to simulate it.

    Attributes
    ----------
    name : str
    model : str
        "lattice" or "continuum".
    sample : SampleSpec
    physics : LatticeParameters or ContinuumParameters
    calibration : MicrowaveCalibration
    stages : tuple
        Stage objects in order.
    run : dict
        The ``[run]`` table after defaults.
    document : dict
        The resolved run document (for the record in result files).
    preset : str
        The physics preset (``physics.preset``; `latticedns.experiment.presets`).
    warnings : tuple of str
        Validity warnings of this run (values outside the range of DNP experiments, a
        calibration used away from its field and temperature, a model outside its
        validated range): printed at the start of the run and recorded in the result.
    """

    name: str
    model: str
    sample: SampleSpec
    physics: object
    calibration: MicrowaveCalibration
    stages: tuple
    run: dict
    document: dict
    warnings: tuple = ()
    preset: str = DEFAULT_PRESET


def _table(doc, key):
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {type(value).__name__}")
    return value


def _build(cls, values, prefix, other=None):
    """``cls(**values)``; keys of the ``other`` dataclass only are dropped (not an error)."""
    allowed = {f.name for f in fields(cls)}
    foreign = {f.name for f in fields(other)} - allowed if other is not None else set()
    values = {k: v for k, v in values.items() if k not in foreign}
    for k in values:
        if k in REMOVED and prefix == "physics":
            raise ConfigError(f"{prefix}.{k}", f"was removed (the continuum mesh now follows "
                              f"the physics); use {REMOVED[k]}")
        if k not in allowed:
            raise ConfigError(f"{prefix}.{k}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}.{exc.key}", exc.message) from None


def _stages(items):
    if not isinstance(items, list) or not items:
        raise ConfigError("stage", "at least one [[stage]] is required")
    stages, names = [], set()
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(f"stage.{k}", f"must be a [[stage]] table, got {item!r}")
        item = dict(item)
        kind = item.pop("type", None)
        name = item.pop("name", f"{k}")
        if not isinstance(name, str) or not name or "." in name:
            raise ConfigError(f"stage.{k}.name", f"must be a non-empty string without '.', "
                              f"got {name!r}")
        label = f"stage.{name}"
        if not isinstance(kind, str) or kind not in STAGE_TYPES:
            raise ConfigError(f"{label}.type", f"unknown stage type {kind!r}; allowed: "
                              f"{', '.join(STAGE_TYPES)}")
        if name in names:
            raise ConfigError(f"{label}.name", "stage names must be unique")
        names.add(name)
        stages.append(_build(STAGE_TYPES[kind], item, label))
    return tuple(stages)


def set_dotted(doc, key, value):
    """Set ``doc[a][b]... = value`` for a dotted key; ``stage.NAME.field`` finds a stage by name.

    Raises
    ------
    ConfigError
        If the key does not exist in the document (a typo would otherwise be ignored).
    """
    parts = key.split(".")
    if parts[0] == "stage" and len(parts) == 3:
        for k, st in enumerate(doc.get("stage", [])):
            if st.get("name", f"{k}") == parts[1]:
                st[parts[2]] = value
                return
        raise ConfigError(key, f"no stage named {parts[1]!r}")
    if parts[0] not in _TOP or parts[0] == "variant" or len(parts) != 2:
        raise ConfigError(key, "must be run.KEY, physics.KEY, microwave.KEY, sample.KEY or stage.NAME.KEY")
    doc.setdefault(parts[0], {})[parts[1]] = value


def _sample(run, base_dir, overrides):
    path = run["sample"]
    if path is None:
        raise ConfigError("run.sample", "missing: a bundled geometry's name (e.g. "
                                        "\"dnp-juice-50mM\") or the path of a geometry file")
    full = resolve_sample(path, base_dir)
    try:
        spec = SampleSpec.from_toml(full)
    except ConfigError as exc:
        if exc.key == "sample":  # the file itself (missing, unreadable, not TOML)
            raise ConfigError("run.sample", exc.message) from None
        raise
    d = spec.to_dict()
    d.update(overrides)
    if run["seed"] is not None:
        d["seed"] = run["seed"]
    if run["n_radicals"] is not None:
        for key in ("box_nm", "n_protons"):
            d.pop(key, None)
        d["n_radicals"] = run["n_radicals"]
    try:
        return SampleSpec.from_dict(d)
    except ConfigError as exc:
        key = exc.key if exc.key.startswith("sample") else f"sample.{exc.key}"
        raise ConfigError(key, exc.message) from None


def _check_run_table(run):
    """Types and ranges of every ``[run]`` key (before any sample is read)."""
    if not isinstance(run["name"], str) or not run["name"]:
        raise ConfigError("run.name", f"must be a non-empty string, got {run['name']!r}")
    check_choice("run.model", run["model"], ("lattice", "continuum"))
    check_choice("run.method", run["method"], ["auto", *available_methods()])
    rtol = run["rtol"]
    if not is_real(rtol) or not 1e-12 <= rtol <= 0.1:  # below 1e-12, rounding dominates
        raise ConfigError("run.rtol", f"must be a number in [1e-12, 0.1], got {rtol!r}")
    if not is_real(run["bandwidth_kHz"]) or run["bandwidth_kHz"] <= 0:
        raise ConfigError("run.bandwidth_kHz", f"must be a finite number > 0 kHz, got "
                          f"{run['bandwidth_kHz']!r}")
    check_choice("run.visible_pool", run["visible_pool"], VISIBLE_POOLS)
    if run["sample"] is not None and not isinstance(run["sample"], str):
        raise ConfigError("run.sample", f"must be the path of a geometry file, got "
                          f"{run['sample']!r}")
    times = run["profile_times_s"]
    if not isinstance(times, list) or not all(is_real(t) and t >= 0 for t in times):
        raise ConfigError("run.profile_times_s", f"must be a list of times >= 0 s, got {times!r}")
    edges = run["profile_edges_nm"]
    if edges is not None and (not isinstance(edges, list) or len(edges) < 2
                              or not all(is_real(e) and e >= 0 for e in edges)
                              or any(b <= a for a, b in zip(edges[:-1], edges[1:]))):
        raise ConfigError("run.profile_edges_nm", f"must be >= 2 increasing radii >= 0 nm, "
                          f"got {edges!r}")
    for key in ("seed", "n_radicals"):
        v = run[key]
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ConfigError(f"run.{key}", f"must be an integer, got {v!r}")


def _check_box(sample, physics):
    """The lattice's cutoffs against the box (before the sample is generated)."""
    half = sample.box_edge_nm / 2
    for key in ("cutoff_nm", "hyperfine_cutoff_nm"):
        if getattr(physics, key) >= half:
            raise ConfigError(f"physics.{key}", f"must be < half the box edge ({half:.4g} nm "
                              f"for this sample), got {getattr(physics, key)}")


def _check_ee_cutoff(sample, calibration):
    """The e-e cutoff of sample-derived flip-flops against the box (before any work)."""
    half = sample.box_edge_nm / 2
    cutoff = calibration.ee_cutoff_nm
    if cutoff is None:
        cutoff = calibration.ee_cutoff_rmv * mean_volume_radius_nm(sample.radical_mM)
    if cutoff >= half:
        raise ConfigError("microwave.ee_cutoff_nm", f"{cutoff:.4g} nm must be < half the box "
                          f"edge ({half:.4g} nm for this sample): give more radicals "
                          f"(run.n_radicals) or a shorter cutoff (ee_cutoff_nm, or "
                          f"ee_cutoff_rmv = {calibration.ee_cutoff_rmv:g} r_MV)")


def _resolve(doc, base_dir):
    for k in doc:
        if k not in _TOP:
            raise ConfigError(k, f"unknown table; allowed: {', '.join(_TOP)}")
    run_in = _table(doc, "run")
    for k in run_in:
        if k not in RUN_KEYS:
            raise ConfigError(f"run.{k}", f"unknown key; allowed: {', '.join(RUN_KEYS)}")
    run = {**RUN_KEYS, **run_in}
    _check_run_table(run)
    if not isinstance(run["mesh_check"], bool):
        raise ConfigError("run.mesh_check", f"must be true or false, got {run['mesh_check']!r}")
    if run["mesh_check"] and run["model"] != "continuum":
        raise ConfigError("run.mesh_check", "applies to model = \"continuum\" only (the "
                          "lattice has no mesh)")
    check_choice("run.solver", run["solver"], SOLVERS)
    check_choice("run.pulse_model", run["pulse_model"], PULSE_MODELS)
    if run["solver"] not in ("auto", "dense", "splu"):  # an optional backend, named
        from ..propagation import solvers

        if run["solver"] not in solvers.available_solvers():
            raise ConfigError("run.solver", f"{run['solver']!r} is not installed here "
                              f"(pip install '.[fast]'; PARDISO needs x86_64); installed: "
                              f"{', '.join(solvers.available_solvers())}, or 'auto'")
    sample = _sample(run, base_dir, _table(doc, "sample"))
    physics_in = dict(_table(doc, "physics"))
    mw_in = dict(_table(doc, "microwave"))
    physics_cls = LatticeParameters if run["model"] == "lattice" else ContinuumParameters
    preset, notes = apply_preset(
        physics_in.pop("preset", DEFAULT_PRESET), physics_in, mw_in,
        lambda table: {f.name for f in fields(
            physics_cls if table == "physics" else MicrowaveCalibration)})
    if run["model"] == "lattice":
        physics = _build(LatticeParameters, physics_in, "physics", ContinuumParameters)
        _check_box(sample, physics)
    else:
        physics_in.setdefault("radical_mM", sample.radical_mM)
        physics_in.setdefault("r_in_nm", sample.min_dist_proton_radical_nm)
        # the glass of the sampled near zone (transport = "channels") is the sample's, and
        # its flip-flop cutoff the lattice key's (or the preset's)
        physics_in.setdefault("proton_density_per_nm3", sample.protons_per_nm3)
        for key in ("min_dist_proton_proton_nm", "min_dist_radical_radical_nm"):
            physics_in.setdefault(key, getattr(sample, key))
        cutoff = physics_in.pop("cutoff_nm", preset.physics.get("cutoff_nm"))
        if cutoff is not None:
            physics_in.setdefault("channel_cutoff_nm", cutoff)
        physics_in.setdefault("bandwidth_kHz", run["bandwidth_kHz"])
        physics = _build(ContinuumParameters, physics_in, "physics", LatticeParameters)
    for key in _SHARED:
        if key in mw_in:
            raise ConfigError(f"microwave.{key}", "set it in [physics]; it is shared")
        mw_in[key] = getattr(physics, key)
    calibration = _build(MicrowaveCalibration, mw_in, "microwave")
    if run["model"] == "lattice" and calibration.tau_c_model == "sample":
        _check_ee_cutoff(sample, calibration)
    stages = _stages(doc.get("stage"))
    total = sum(st.duration_s for st in stages)
    late = [t for t in run["profile_times_s"] if t > total * (1 + 1e-12)]
    if late:
        raise ConfigError("run.profile_times_s", f"{late[0]!r} s is after the protocol's end "
                                                 f"({total:g} s)")
    names = [st.get("name", f"{k}") for k, st in enumerate(doc["stage"])]
    warnings = run_warnings(run["model"], sample, physics, calibration, stages, names, notes)
    return run, sample, physics, calibration, stages, preset.name, warnings


def parse_run_document(doc, base_dir="."):
    """Resolve a run document (a dict as read from TOML) into a list of :class:`RunSpec`.

    Parameters
    ----------
    doc : dict
        The run file's content.
    base_dir : str
        Directory relative to which the sample path is resolved.

    Returns
    -------
    list of RunSpec
        One per ``[[variant]]`` (or one if there is none).
    """
    variants = doc.get("variant", [{}])
    if not isinstance(variants, list) or not variants or \
            not all(isinstance(v, dict) for v in variants):
        raise ConfigError("variant", "must be a non-empty array of tables")
    specs, seen = [], set()
    base_name = _table(doc, "run").get("name", RUN_KEYS["name"])
    for k, variant in enumerate(variants):
        variant = dict(variant)
        name = variant.pop("name", base_name if len(variants) == 1 else f"{base_name}-{k}")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"variant.{k}.name", f"must be a non-empty string, got {name!r}")
        if name in seen:
            raise ConfigError("variant.name", f"duplicate run name {name!r}")
        seen.add(name)
        changes = variant.pop("set", {})
        if not isinstance(changes, dict):
            raise ConfigError(f"variant.{name}.set", f"must be a table of dotted keys, got "
                              f"{changes!r}")
        if variant:
            raise ConfigError(f"variant.{next(iter(variant))}", "unknown key; allowed: name, set")
        resolved = copy.deepcopy({k: v for k, v in doc.items() if k != "variant"})
        for key, value in changes.items():
            set_dotted(resolved, key, value)
        run, sample, physics, calibration, stages, preset, warnings = _resolve(resolved,
                                                                               base_dir)
        specs.append(RunSpec(name=name, model=run["model"], sample=sample, physics=physics,
                             calibration=calibration, stages=stages, run=run, document=resolved,
                             warnings=warnings, preset=preset))
    return specs


def load_run_file(path):
    """Read and resolve a run file (see :func:`parse_run_document`)."""
    doc, _ = read_toml(path, "run file")
    return parse_run_document(doc, os.path.dirname(os.path.abspath(path)))
