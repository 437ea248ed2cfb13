"""Result files: runs in one HDF5 file, readable with plain h5py (layout in ``docs/hdf5.md``).

Every write goes through :func:`latticedns.store._atomic.atomic_write`: a crash at any
point leaves either the old file or the new one, never a partial file.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import h5py
import numpy as np

from ..errors import ConfigError
from ..protocol import ProtocolResult
from ._atomic import atomic_write, check_output_path
from .records import (_TEXT_COLUMNS, STAGE_COLUMNS, RunRecord, SamplePositions, StageTable,
                      flatten, to_json)

__all__ = ["FORMAT", "FORMAT_VERSION", "check_output_path", "write_runs", "append_run",
           "read_runs", "read_run", "run_names", "read_metadata"]

FORMAT = "latticedns-result"
FORMAT_VERSION = 1
#: Datasets with at least this many elements are chunked and gzip-compressed (level 4).
COMPRESS_MIN = 4096

# name: (units, description)
_RESULT_DATASETS = {
    "t_s": ("s", "time of each recorded point from the start of the first stage"),
    "visible": ("1", "mean polarization of the visible protons (fraction, not %)"),
    "hidden": ("1", "mean polarization of the hidden protons (fraction, not %)"),
    "stage": ("1", "index of the protocol stage each recorded point belongs to"),
    "profile_t_s": ("s", "times of the radial profiles from the start of the first stage"),
    "profiles": ("1", "mean polarization in shells of distance to the nearest radical, "
                      "one row per profile time"),
    "profile_edges_nm": ("nm", "edges of the distance shells of the radial profiles"),
}
_FINAL = ("1", "polarization of every degree of freedom at the end of the protocol")


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dataset(group, name, data, units, description):
    a = np.asarray(data)
    if a.dtype.kind not in "biuf":
        raise ConfigError(name, f"must be a numeric array, got dtype {a.dtype}")
    kw = dict(compression="gzip", compression_opts=4, shuffle=True, chunks=True) \
        if a.size >= COMPRESS_MIN else {}
    ds = group.create_dataset(name, data=a, **kw)
    ds.attrs["units"] = units
    ds.attrs["description"] = description
    return ds


def _text_dataset(group, name, values, description):
    """A 1-D dataset of variable-length UTF-8 strings (read it with ``.asstr()``)."""
    ds = group.create_dataset(name, data=np.array(list(values), dtype=h5py.string_dtype()))
    ds.attrs["units"] = ""
    ds.attrs["description"] = description
    return ds


def _text(value):
    """An attribute or string element as ``str`` (bytes are decoded as UTF-8)."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    return str(value)


def _attr_value(v):
    """A browsable HDF5 attribute value; anything awkward is stored as its JSON text."""
    if isinstance(v, (bool, str, float)):
        return v
    if isinstance(v, int) and -2**63 <= v < 2**63:
        return np.int64(v)
    if isinstance(v, list) and v:
        if all(isinstance(x, str) for x in v):
            return np.array(v, dtype=h5py.string_dtype())
        if all(isinstance(x, bool) for x in v):
            return np.array(v, dtype=bool)
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            try:
                return np.array(v)
            except OverflowError:
                pass
    return json.dumps(v)


def _write_run(runs, record, store_final_state):
    from .. import __version__

    g = runs.create_group(record.name, track_order=True)
    r = record.result
    for key, (units, description) in _RESULT_DATASETS.items():
        _dataset(g, key, getattr(r, key), units, description)
    if store_final_state:
        _dataset(g, "p_final", r.p_final, *_FINAL)
    g.attrs["model"] = record.model
    seed = record.seed
    g.attrs["seed"] = h5py.Empty("int64") if seed is None else \
        (np.int64(seed) if -2**63 <= seed < 2**63 else str(seed))
    g.attrs["wall_s"] = float(record.wall_s)
    g.attrs["parameters_json"] = to_json(record.parameters)
    g.attrs["latticedns_version"] = __version__
    g.attrs["created"] = _now()
    params = g.create_group("parameters", track_order=True)
    for key, value in flatten(record.parameters).items():
        params.attrs[key] = _attr_value(value)
    cost = g.create_group("cost", track_order=True)
    cost.attrs["cost_json"] = to_json(r.cost, "result.cost")
    for key, value in flatten(json.loads(cost.attrs["cost_json"])).items():
        cost.attrs[key] = _attr_value(value)
    g.attrs["warnings_json"] = json.dumps(list(record.warnings))
    g.attrs["sample_toml"] = record.sample_toml
    if record.stages is not None:
        st = g.create_group("stages", track_order=True)
        st.attrs["n_stages"] = np.int64(len(record.stages))
        for key, values in record.stages.columns().items():
            units, description = STAGE_COLUMNS[key]
            if key in _TEXT_COLUMNS:
                _text_dataset(st, key, values, description)
            else:
                _dataset(st, key, values, units, description)
    if record.sample is not None:
        s = g.create_group("sample")
        s.attrs["box_nm"] = record.sample.box_nm
        s.attrs["units"] = "nm"
        _dataset(s, "protons_nm", record.sample.protons_nm, "nm",
                 "proton positions in the periodic box [0, box_nm)^3, B0 along z")
        _dataset(s, "radicals_nm", record.sample.radicals_nm, "nm",
                 "radical (electron spin) positions in the periodic box [0, box_nm)^3")


def _check_records(records):
    records = [records] if isinstance(records, RunRecord) else list(records)
    names = set()
    for rec in records:
        if not isinstance(rec, RunRecord):
            raise ConfigError("records", f"must be RunRecord objects, got {type(rec).__name__}")
        if rec.name in names:
            raise ConfigError("name", f"run name {rec.name!r} is used twice")
        names.add(rec.name)
    return records


def write_runs(path, records, *, force=False, metadata=None, store_final_state=False):
    """Write runs to a new HDF5 result file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; an existing one is overwritten only with ``force``.
    records : RunRecord or iterable of RunRecord
        Names must be unique.
    force : bool
        Allow overwriting an existing file.
    metadata : dict, optional
        JSON-serializable; stored as the root attribute ``metadata_json``.
    store_final_state : bool
        Also store each run's ``p_final`` (large for lattice runs).

    Raises
    ------
    ConfigError
        Existing path without ``force`` (checked first), bad records or metadata.
    """
    from .. import __version__

    path = os.fspath(path)
    check_output_path(path, force)
    records = _check_records(records)
    meta_json = to_json({} if metadata is None else metadata, "metadata")

    def fill(f):
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["latticedns_version"] = __version__
        f.attrs["created"] = _now()
        f.attrs["metadata_json"] = meta_json
        runs = f.create_group("runs", track_order=True)
        for rec in records:
            _write_run(runs, rec, store_final_state)

    atomic_write(path, fill, force=force)


def _open(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError("path", f"{path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ConfigError("path", f"{path} is not an HDF5 file") from None
    fmt, version = f.attrs.get("format"), f.attrs.get("format_version")
    if fmt != FORMAT or "runs" not in f:
        f.close()
        raise ConfigError("path", f"{path} is not a latticedns result file (format {fmt!r})")
    if version is None or int(version) > FORMAT_VERSION:
        f.close()
        raise ConfigError("path", f"{path} has format_version {version}; this latticedns "
                                  f"reads up to {FORMAT_VERSION}")
    return f


def append_run(path, record, *, store_final_state=False):
    """Add one run to an existing result file, atomically (copy, add, replace).

    Not safe against concurrent appenders to the same file (the last one wins): campaigns
    must append from a single process.

    Parameters
    ----------
    path : str or os.PathLike
    record : RunRecord
        Its name must not be in the file yet.
    store_final_state : bool
    """
    path = os.fspath(path)
    (record,) = _check_records([record])
    with _open(path) as f:
        if record.name in f["runs"]:
            raise ConfigError("name", f"run {record.name!r} is already in {path}")

    def fill(f):
        _write_run(f["runs"], record, store_final_state)
        f.attrs["modified"] = _now()

    atomic_write(path, fill, force=True, base=path)


def _read_stages(group):
    columns = {}
    for key in STAGE_COLUMNS:
        if key not in group:
            continue
        ds = group[key]
        columns[key] = tuple(_text(v) for v in ds.asstr()[()]) if key in _TEXT_COLUMNS \
            else ds[()]
    return StageTable(**columns)


def _read(g, name):
    seed = g.attrs["seed"]
    seed = None if isinstance(seed, h5py.Empty) else int(seed)
    sample = None
    if "sample" in g:
        s = g["sample"]
        sample = SamplePositions(s["protons_nm"][()], s["radicals_nm"][()], s.attrs["box_nm"])
    arrays = {key: g[key][()] for key in _RESULT_DATASETS}
    p_final = g["p_final"][()] if "p_final" in g else np.empty(0)
    cost = json.loads(_text(g["cost"].attrs["cost_json"])) if "cost" in g else {}
    return RunRecord(name=name, parameters=json.loads(_text(g.attrs["parameters_json"])),
                     seed=seed, model=_text(g.attrs["model"]), sample=sample,
                     wall_s=float(g.attrs["wall_s"]),
                     result=ProtocolResult(**arrays, p_final=p_final, cost=cost),
                     stages=_read_stages(g["stages"]) if "stages" in g else None,
                     warnings=tuple(json.loads(_text(g.attrs.get("warnings_json", "[]")))),
                     sample_toml=_text(g.attrs.get("sample_toml", "")))


def read_runs(path):
    """All runs of a result file, in the order they were written.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    list of RunRecord

    Raises
    ------
    ConfigError
        Missing file, not HDF5, or not a latticedns result file.
    """
    with _open(path) as f:
        return [_read(g, name) for name, g in f["runs"].items()]


def run_names(path):
    """Names of the runs of a result file, in write order, without reading them.

    Raises
    ------
    ConfigError
        Missing file, not HDF5, or not a latticedns result file.
    """
    with _open(path) as f:
        return list(f["runs"])


def read_run(path, name):
    """One run of a result file by name (see :func:`read_runs`)."""
    with _open(path) as f:
        if name not in f["runs"]:
            raise ConfigError("name", f"no run {name!r} in {os.fspath(path)}; runs: "
                                      f"{list(f['runs'])}")
        return _read(f["runs"][name], name)


def read_metadata(path):
    """Root attributes of a result file, with ``metadata_json`` decoded as ``metadata``.

    Returns
    -------
    dict
    """
    with _open(path) as f:
        out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    out = {k: (_text(v) if isinstance(v, bytes) else v) for k, v in out.items()}
    out["metadata"] = json.loads(out.pop("metadata_json", "{}"))
    return out
