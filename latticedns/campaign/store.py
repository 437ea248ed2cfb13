"""The campaign store: one HDF5 file rebuilt atomically from the per-run directory.

Layout (``docs/campaigns.md``): an ordinary latticedns result file (``/runs/<run_id>``
groups, same layout as single runs, so ``read_runs`` works; ``latticedns plot`` draws it
per sweep) plus a ``/campaign`` group with the table of every run (swept values, status, error, timing)
and the campaign and base run files as text.
"""

import json
import os

import h5py
import numpy as np

from ..errors import ConfigError
from ..store import FORMAT, FORMAT_VERSION, read_run
from ..store._atomic import atomic_write

__all__ = ["CAMPAIGN_FORMAT_VERSION", "build_store", "open_store", "is_campaign_store",
           "CampaignStore", "units_of"]

#: Version of the ``/campaign`` group layout.
CAMPAIGN_FORMAT_VERSION = 1
_UNITS = {"mM": "mM", "mW": "mW", "us": "us", "kHz": "kHz", "Hz": "Hz", "nm": "nm", "s": "s",
          "T": "T", "K": "K", "deg": "deg", "nm3": "nm^-3"}


def units_of(key):
    """Unit of a run-file key from its suffix (``sample.radical_mM`` -> ``"mM"``; else ``"1"``)."""
    tail = key.rsplit(".", 1)[-1]
    if tail.endswith("per_s"):
        return "s^-1"
    return _UNITS.get(tail.rsplit("_", 1)[-1], "1") if "_" in tail else "1"


def _column(values):
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([v if isinstance(v, str) else json.dumps(v) for v in values],
                    dtype=h5py.string_dtype())


def _put(group, name, data, units, description):
    ds = group.create_dataset(name, data=data)
    ds.attrs["units"] = units
    ds.attrs["description"] = description


def build_store(path, campaign, runs):
    """Write the store atomically from the per-run directory's scan.

    Parameters
    ----------
    path : str
    campaign : CampaignSpec
    runs : dict
        ``RunDir.scan()``: run_id -> info; ids not in the campaign are ignored.
    """
    from .. import __version__

    tasks = campaign.tasks
    info = [runs.get(t.run_id, {}) for t in tasks]
    status = [i.get("status", "pending") for i in info]
    meta = {"campaign": {"name": campaign.name, "mode": campaign.mode, "seeds": campaign.seeds,
                         "keys": list(campaign.keys), "variants": list(campaign.variants)}}

    def fill(f):
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = np.int64(FORMAT_VERSION)
        f.attrs["latticedns_version"] = __version__
        f.attrs["metadata_json"] = json.dumps(meta)
        out = f.create_group("runs", track_order=True)
        for t, i, s in zip(tasks, info, status):
            if s == "done":
                with h5py.File(i["file"], "r") as src:
                    src.copy(src["runs"][t.run_id], out, name=t.run_id)
        c = f.create_group("campaign", track_order=True)
        c.attrs["campaign_format_version"] = np.int64(CAMPAIGN_FORMAT_VERSION)
        c.attrs["campaign_toml"] = campaign.text
        c.attrs["base_toml"] = campaign.base_text
        c.attrs["n_runs"] = np.int64(len(tasks))
        c.attrs["n_done"] = np.int64(status.count("done"))
        c.attrs["n_failed"] = np.int64(status.count("failed"))
        text = h5py.string_dtype()
        _put(c, "run_id", np.array([t.run_id for t in tasks], dtype=text), "",
             "run name (the group under /runs when done)")
        _put(c, "status", np.array(status, dtype=text), "", "done, failed or pending")
        _put(c, "error", np.array([i.get("error", "") for i in info], dtype=text), "",
             "error message of a failed run")
        _put(c, "variant", np.array([t.variant for t in tasks], dtype=text), "",
             "variant of the base run file")
        _put(c, "point", np.array([t.point for t in tasks], dtype=np.int64), "1",
             "index of the sweep point")
        _put(c, "seed_index", np.array([t.seed_index for t in tasks], dtype=np.int64), "1",
             "k: run.seed = seed of the point + k")
        _put(c, "seed", np.array([t.document["run"]["seed"] for t in tasks], dtype=np.int64),
             "1", "run.seed of the run")
        _put(c, "wall_s", np.array([i.get("wall_s", np.nan) for i in info], dtype=np.float64),
             "s", "wall-clock seconds of the run in its worker (nan: not run)")
        _put(c, "fingerprint", np.array([t.fingerprint for t in tasks], dtype=text), "",
             "SHA-256 of the run document and variant")
        sweep = c.create_group("sweep", track_order=True)
        for key in campaign.keys:
            _put(sweep, key, _column([t.values[key] for t in tasks]), units_of(key),
                 f"swept value of {key} for each run")

    atomic_write(path, fill, force=True)


def is_campaign_store(path):
    """True if ``path`` is a readable HDF5 latticedns file with a ``/campaign`` group."""
    try:
        with h5py.File(os.fspath(path), "r") as f:
            return f.attrs.get("format") == FORMAT and "campaign" in f
    except (OSError, ValueError):
        return False


def _strings_or_values(ds):
    return ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]


class CampaignStore:
    """Read access to a campaign store; every call opens and closes the file.

    Parameters
    ----------
    path : str

    Attributes
    ----------
    table : dict of str -> ndarray
        The ``/campaign`` columns, one entry per run of the campaign (``run_id``,
        ``status``, ``variant``, ``point``, ``seed_index``, ``seed``, ``wall_s``, ...).
    parameters : dict of str -> ndarray
        Swept dotted key -> value of every run.
    campaign : dict
        ``name``, ``mode``, ``seeds``, ``keys``, ``variants`` of the campaign.
    campaign_toml : str
        The campaign file.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ConfigError("path", f"{self.path} does not exist")
        try:
            with h5py.File(self.path, "r") as f:
                if f.attrs.get("format") != FORMAT or "campaign" not in f:
                    raise ConfigError("path", f"{self.path} is not a latticedns campaign store")
                c = f["campaign"]
                self.table = {k: _strings_or_values(c[k]) for k in c
                              if isinstance(c[k], h5py.Dataset)}
                self.parameters = {k: _strings_or_values(c["sweep"][k]) for k in c["sweep"]}
                self.campaign_toml = str(c.attrs["campaign_toml"])
                self.campaign = json.loads(f.attrs["metadata_json"]).get("campaign", {})
        except OSError:
            raise ConfigError("path", f"{self.path} is not an HDF5 file") from None

    @property
    def keys(self):
        """The swept dotted keys."""
        return tuple(self.parameters)

    @property
    def variants(self):
        """Variant names of the runs, in campaign order."""
        return tuple(dict.fromkeys(self.table["variant"]))

    @property
    def points(self):
        """Swept key -> value of every sweep point (list index: ``table["point"]``)."""
        out = {}
        for i, p in enumerate(self.table["point"]):
            out.setdefault(int(p), {k: _python(v[i]) for k, v in self.parameters.items()})
        return [out[p] for p in sorted(out)]

    def key(self, name):
        """The swept dotted key named ``name`` or ending in ``.name`` (if unique)."""
        if name in self.parameters:
            return name
        matches = [k for k in self.parameters if k.rsplit(".", 1)[-1] == name]
        if len(matches) != 1:
            raise ConfigError(str(name), f"not a swept key; swept: {', '.join(self.parameters)}")
        return matches[0]

    def select(self, where=None, variant=None, status="done", **values):
        """Run ids whose swept values equal the given ones, in campaign order.

        Parameters
        ----------
        where : dict, optional
            Swept key -> value or list of values.
        variant : str, optional
            Only runs of this variant of the base.
        status : {"done", "failed", "pending", None}
            Only runs with this status (None: all).
        **values
            More swept keys -> value(s), by last component (``radical_mM=50``) or dotted
            name (``**{"sample.radical_mM": 50}``).

        Returns
        -------
        ndarray of str
        """
        mask = np.ones(len(self.table["run_id"]), dtype=bool)
        if status is not None:
            mask &= self.table["status"] == status
        if variant is not None:
            if variant not in self.variants:
                raise ConfigError("variant", f"no variant {variant!r}; variants: "
                                             f"{', '.join(self.variants)}")
            mask &= self.table["variant"] == variant
        for name, value in {**(where or {}), **values}.items():
            mask &= np.isin(self.parameters[self.key(name)], np.atleast_1d(value))
        return self.table["run_id"][mask]

    def array(self, name, where=None, variant=None, **values):
        """Stack dataset ``name`` (``visible``, ``t_s``, ...) of the selected runs, shape (n, ...).

        The whole recorded arrays (every stage); see :meth:`curves` for the detection stage.
        """
        ids = self.select(where, variant, **values)
        with h5py.File(self.path, "r") as f:
            arrays = [f["runs"][r][name][()] for r in ids]
        if not arrays:
            return np.empty((0,))
        try:
            return np.stack(arrays)
        except ValueError:
            raise ConfigError(name, "the selected runs have different shapes; select fewer")\
                from None

    def curves(self, key=None, where=None, variant=None, name="visible", detection=True,
               **values):
        """Curves per swept value, seeds stacked (see :func:`~.views.sweep_curves`)."""
        from .views import sweep_curves

        return sweep_curves(self, key, where, variant, name, detection, **values)

    def to_xarray(self, where=None, variant=None, detection=True, **values):
        """The selected runs as an ``xarray.Dataset`` (see :func:`~.views.to_xarray`)."""
        from .views import to_xarray

        return to_xarray(self, where, variant, detection, **values)

    def run_parameters(self, run_id):
        """The full parameter dict of a finished run (its ``parameters_json``)."""
        with h5py.File(self.path, "r") as f:
            if run_id not in f["runs"]:
                raise ConfigError("run_id", f"no finished run {run_id!r} in {self.path}")
            return json.loads(f["runs"][run_id].attrs["parameters_json"])

    def record(self, run_id):
        """One run as a :class:`latticedns.store.RunRecord`."""
        return read_run(self.path, run_id)


def _python(value):
    """A numpy scalar as the Python value (dict keys, labels)."""
    return value.item() if isinstance(value, np.generic) else value


def open_store(path):
    """Open a campaign store (see :class:`CampaignStore`)."""
    return CampaignStore(path)
