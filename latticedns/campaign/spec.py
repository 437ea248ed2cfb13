"""Campaign files: a base run file, sweep axes over dotted keys, seeds per point.

A campaign file (TOML; every key in ``docs/campaigns.md``) has a ``[campaign]`` table
(``name``, ``base`` run file, ``mode`` "product" or "zip", ``seeds``, ``variants``), an
optional ``[set]`` table of fixed dotted-key changes of the base and a ``[sweep]`` table
``"dotted.key" = [values]``.  It expands into :class:`CampaignTask` objects, one per
point x seed x variant.  Every set or swept key must exist (checked against the run-file
schema); a value out of range at one point is *not* a campaign error: that run fails
when resolved.
"""

import copy
import hashlib
import itertools
import json
import os
from dataclasses import dataclass, fields

from ..continuum import ContinuumParameters
from .._args import check_choice
from ..errors import ConfigError
from ..experiment import parse_run_document, set_dotted
from ..experiment.config import RUN_KEYS
from ..lattice import SampleSpec
from ..lattice.model import LatticeParameters
from ..protocol import STAGE_TYPES, MicrowaveCalibration
from ..tomlfile import read_toml

__all__ = ["CAMPAIGN_KEYS", "MODES", "CampaignSpec", "CampaignTask",
           "load_campaign", "parse_campaign"]

#: Keys of the ``[campaign]`` table with their defaults (None: required).
CAMPAIGN_KEYS = {"name": "campaign", "base": None, "mode": "product", "seeds": 1,
                 "variants": None}
#: Allowed values of ``campaign.mode``.
MODES = ("product", "zip")
_TOP = ("campaign", "set", "sweep")


@dataclass(frozen=True)
class CampaignTask:
    """One run of a campaign: a sweep point, a seed index and a variant of the base.

    Attributes
    ----------
    run_id : str
        Unique name, e.g. ``"radical_mM=10 seed=0 positive"`` (also the HDF5 group name).
    point : int
        Index of the sweep point (in expansion order).
    values : dict
        Swept dotted key -> value at this point.
    seed_index : int
        k in ``run.seed = s0 + k``.
    variant : str
        Name of the base run file's variant.
    document : dict
        The run document of this run (base + set + point + seed), variants included.
    base_dir : str
        Directory of the base run file (sample paths are relative to it).
    fingerprint : str
        SHA-256 of the document and variant: a run with the same id but another
        fingerprint is a different run (resume refuses it without ``force``).
    """

    run_id: str
    point: int
    values: dict
    seed_index: int
    variant: str
    document: dict
    base_dir: str
    fingerprint: str


@dataclass(frozen=True)
class CampaignSpec:
    """A parsed campaign file.

    Attributes
    ----------
    name, mode : str
    seeds : int
    keys : tuple of str
        Swept dotted keys, in file order.
    points : tuple of dict
        Swept key -> value, one dict per point.
    variants : tuple of str
    tasks : tuple of CampaignTask
        Point-major, then seed, then variant.
    text : str
        The campaign file as read; ``base_text`` the base run file.
    base_path : str
        The base run file's path.
    """

    name: str
    mode: str
    seeds: int
    keys: tuple
    points: tuple
    variants: tuple
    tasks: tuple
    text: str
    base_text: str
    base_path: str = ""


def _field_names(cls):
    return {f.name for f in fields(cls)}


def _check_key(doc, key, where):
    """Refuse a dotted key that the run-file schema does not have (ConfigError naming it)."""
    parts = key.split(".") if isinstance(key, str) else []
    model = doc.get("run", {}).get("model", RUN_KEYS["model"])
    physics = _field_names(LatticeParameters if model == "lattice" else ContinuumParameters) \
        | {"preset"}
    allowed = {"run": set(RUN_KEYS) - {"name"}, "physics": physics,
               "microwave": _field_names(MicrowaveCalibration) - {"b0_T", "temperature_K"},
               "sample": _field_names(SampleSpec)}
    if len(parts) == 2 and parts[0] in allowed:
        other = "continuum" if model == "lattice" else "lattice"
        if parts[0] == "physics" and parts[1] not in physics and parts[1] in _field_names(
                ContinuumParameters if model == "lattice" else LatticeParameters):
            raise ConfigError(f"{where}.{key}", f"a {other}-model key: the base run's model "
                                                f"is {model}, where it has no effect")
        if parts[1] not in allowed[parts[0]]:
            raise ConfigError(f"{where}.{key}", f"no such key in [{parts[0]}]; allowed: "
                                                f"{', '.join(sorted(allowed[parts[0]]))}")
        return
    if len(parts) == 3 and parts[0] == "stage":
        for k, st in enumerate(doc.get("stage", [])):
            if st.get("name", f"{k}") == parts[1]:
                names = _field_names(STAGE_TYPES.get(st.get("type"), object)) \
                    if st.get("type") in STAGE_TYPES else set()
                if parts[2] not in names:
                    raise ConfigError(f"{where}.{key}", f"stage {parts[1]!r} ({st.get('type')})"
                                                        f" has no key {parts[2]!r}; allowed: "
                                                        f"{', '.join(sorted(names))}")
                return
        raise ConfigError(f"{where}.{key}", f"the base has no stage named {parts[1]!r}")
    raise ConfigError(f"{where}.{key}", "not a run-file key: must be run.KEY, physics.KEY, "
                                        "microwave.KEY, sample.KEY or stage.NAME.KEY")


def _label(keys, values):
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    short = len(set(tails)) == len(tails)
    parts = []
    for key, tail in zip(keys, tails):
        v = values[key]
        text = json.dumps(v) if not isinstance(v, str) else v
        parts.append(f"{tail if short else key}={text}".replace("/", "_"))
    return " ".join(parts)


def _points(sweep, mode):
    keys = tuple(sweep)
    if mode == "product":
        combos = itertools.product(*(sweep[k] for k in keys))
    else:
        n = {len(sweep[k]) for k in keys}
        if len(n) > 1:
            raise ConfigError("sweep", f"mode 'zip' needs lists of equal length, got "
                                       f"{ {k: len(v) for k, v in sweep.items()} }")
        combos = zip(*(sweep[k] for k in keys))
    return keys, tuple(dict(zip(keys, c)) for c in combos)


def _campaign_table(doc):
    for k in doc:
        if k not in _TOP:
            raise ConfigError(k, f"unknown table; allowed: {', '.join(_TOP)}")
    table = doc.get("campaign")
    if not isinstance(table, dict):
        raise ConfigError("campaign", "a [campaign] table with at least 'base' is required")
    for k in table:
        if k not in CAMPAIGN_KEYS:
            raise ConfigError(f"campaign.{k}", f"unknown key; allowed: {', '.join(CAMPAIGN_KEYS)}")
    c = {**CAMPAIGN_KEYS, **table}
    if not isinstance(c["base"], str):
        raise ConfigError("campaign.base", "missing: the path of the base run file")
    check_choice("campaign.mode", c["mode"], MODES)
    seeds = c["seeds"]
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("campaign.seeds", f"must be an integer >= 1, got {seeds!r}")
    if not isinstance(c["name"], str) or not c["name"]:
        raise ConfigError("campaign.name", "must be a non-empty string")
    return c


def parse_campaign(doc, base_dir=".", text=""):
    """Check and expand a campaign document (a dict as read from TOML).

    Parameters
    ----------
    doc : dict
    base_dir : str
        Directory of the campaign file (the base path is relative to it).
    text : str
        The campaign file's text (kept in the store).

    Returns
    -------
    CampaignSpec

    Raises
    ------
    ConfigError
        Unknown table or key, missing or bad base, empty sweep or axis, a set or swept
        key that the base does not have, seeds < 1, unequal zip lengths, duplicate points.
    """
    c = _campaign_table(doc)
    base_path = c["base"] if os.path.isabs(c["base"]) else os.path.join(base_dir, c["base"])
    base, base_text = read_toml(base_path, "campaign.base", "base run file")
    run_dir = os.path.dirname(os.path.abspath(base_path))
    fixed = doc.get("set", {})
    sweep = doc.get("sweep")
    if not isinstance(fixed, dict):
        raise ConfigError("set", "must be a table of dotted keys")
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError("sweep", "empty: give at least one dotted key = [values]")
    for key, value in fixed.items():
        _check_key(base, key, "set")
        set_dotted(base, key, value)
    if c["variants"] == []:  # the base without its variants: one run per point and seed
        base.pop("variant", None)
    base_specs = parse_run_document(base, run_dir)  # the base itself must be valid
    names = [s.name for s in base_specs]
    wanted = names if c["variants"] in (None, []) else c["variants"]
    if not isinstance(wanted, list) or any(v not in names for v in wanted):
        raise ConfigError("campaign.variants", f"must be a list of variant names of the base "
                                               f"([] for none); variants: {names}")
    variant_keys = {k for v in base.get("variant", []) if v.get("name") in wanted
                    for k in v.get("set", {})}
    for key, values in sweep.items():
        _check_key(base, key, "sweep")
        if key in variant_keys:
            raise ConfigError(f"sweep.{key}", "also set by a [[variant]] of the base; drop "
                                              "those variants with campaign.variants")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep.{key}", f"must be a non-empty list of values, got "
                                              f"{values!r}")
    keys, points = _points(sweep, c["mode"])
    tasks, seen = [], set()
    for p, values in enumerate(points):
        point_doc = copy.deepcopy(base)
        for key, value in values.items():
            set_dotted(point_doc, key, value)
        try:
            s0 = parse_run_document(point_doc, run_dir)[0].sample.seed
        except ConfigError:
            s0 = base_specs[0].sample.seed  # the run fails when resolved
        label = _label(keys, values)
        if label in seen:
            raise ConfigError(f"sweep.{keys[0]}", f"duplicate point {label!r}")
        seen.add(label)
        for k in range(c["seeds"]):
            run_doc = copy.deepcopy(point_doc)
            set_dotted(run_doc, "run.seed", int(s0) + k)
            for variant in wanted:
                fp = hashlib.sha256(json.dumps({"document": run_doc, "variant": variant},
                                               sort_keys=True).encode()).hexdigest()
                tasks.append(CampaignTask(f"{label} seed={k} {variant}", p, dict(values), k,
                                          variant, run_doc, run_dir, fp))
    return CampaignSpec(c["name"], c["mode"], c["seeds"], keys, points, tuple(wanted),
                        tuple(tasks), text, base_text, base_path)


def load_campaign(path):
    """Read and expand a campaign file (see :func:`parse_campaign`)."""
    doc, text = read_toml(path, "campaign file")
    return parse_campaign(doc, os.path.dirname(os.path.abspath(path)), text)
