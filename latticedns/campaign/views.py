"""Arrays out of a campaign store: curves per swept value (numpy) and an xarray Dataset.

Reached through :meth:`CampaignStore.curves <latticedns.campaign.CampaignStore.curves>`
and :meth:`CampaignStore.to_xarray <latticedns.campaign.CampaignStore.to_xarray>`.
xarray is optional: imported only by :func:`to_xarray`.
"""

import h5py
import numpy as np

from .._args import check_choice
from ..errors import ConfigError
from .store import _python, units_of

__all__ = ["CURVE_NAMES", "sweep_curves", "to_xarray"]

#: Per-run time series that :func:`sweep_curves` and :func:`to_xarray` read (fractions).
CURVE_NAMES = ("visible", "hidden")


def _read_series(group, names, detection):
    t, stage = group["t_s"][()], group["stage"][()]
    sel = stage == stage.max() if detection and stage.size else slice(None)
    t = t[sel]
    return (t - t[0] if detection and t.size else t), [group[n][()][sel] for n in names]


def _same_times(times, what):
    if any(t.shape != times[0].shape or not np.array_equal(t, times[0]) for t in times):
        raise ConfigError("where", f"{what} have different time points; select fewer runs "
                                   f"(where=, variant=)")
    return times[0]


def sweep_curves(store, key=None, where=None, variant=None, name="visible", detection=True,
                 **values):
    """One curve per value of a swept key: the time series of every seed, stacked.

    Parameters
    ----------
    store : CampaignStore
    key : str, optional
        Swept key (dotted, or its last component); ``"point"`` groups by sweep point.
        Default: the only swept key.
    where, variant, **values
        Restrict the finished runs as in :meth:`CampaignStore.select`.  Every value of
        ``key`` must then come from one point and one variant.
    name : {"visible", "hidden"}
        The polarization (fractions).
    detection : bool
        Only the detection stage (the last recorded one), time from its first point, as
        ``latticedns plot`` draws it; else every recorded point, time from the start.

    Returns
    -------
    dict
        Value -> ``(t_s, y)``: times (n_t,) in s and ``y`` (n_seeds, n_t), in campaign order.

    Raises
    ------
    ConfigError
        Unknown key or name; one value at several points or variants; seeds of one point
        with different time points.
    """
    check_choice("name", name, CURVE_NAMES)
    if key is None:
        if len(store.keys) != 1:
            raise ConfigError("key", f"several swept keys; give one of {', '.join(store.keys)}")
        key = store.keys[0]
    key = key if key == "point" else store.key(key)
    column = store.table["point"] if key == "point" else store.parameters[key]
    row = {r: i for i, r in enumerate(store.table["run_id"])}
    groups = {}
    for run_id in store.select(where, variant, **values):
        groups.setdefault(_python(column[row[run_id]]), []).append(row[run_id])
    out = {}
    with h5py.File(store.path, "r") as f:
        for value, rows in groups.items():
            if len({(int(store.table["point"][i]), store.table["variant"][i])
                    for i in rows}) > 1:
                raise ConfigError(key, f"{key} = {value!r} at several points or variants; fix "
                                       f"the other swept keys (where=) and the variant")
            series = [_read_series(f["runs"][store.table["run_id"][i]], [name], detection)
                      for i in rows]
            t = _same_times([t for t, _ in series], f"the seeds of {key} = {value!r}")
            out[value] = (t, np.stack([y for _, (y,) in series]))
    return out


def to_xarray(store, where=None, variant=None, detection=True, **values):
    """The selected finished runs as an ``xarray.Dataset`` with dimensions (run, t_s).

    Data variables ``visible`` and ``hidden`` (fractions); coordinates along ``run``: the
    run ids, every swept key (dotted name, with its ``units``), ``variant``, ``point``,
    ``seed_index`` and ``seed``; ``t_s`` along time.  For an array per swept key::

        ds.set_index(run=["sample.radical_mM", "seed_index"]).unstack("run")

    Parameters
    ----------
    store : CampaignStore
    where, variant, **values
        Restrict the runs as in :meth:`CampaignStore.select`.
    detection : bool
        Only the detection stage, time from its first point (see :func:`sweep_curves`).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ConfigError
        xarray is not installed, no run is selected, or the runs have different times.
    """
    try:
        import xarray as xr
    except ImportError:
        raise ConfigError("xarray", "to_xarray needs xarray (pip install xarray); "
                                    "CampaignStore.curves and .array give numpy arrays") from None
    ids = store.select(where, variant, **values)
    if not len(ids):
        raise ConfigError("where", "no finished run selected")
    row = {r: i for i, r in enumerate(store.table["run_id"])}
    rows = [row[r] for r in ids]
    with h5py.File(store.path, "r") as f:
        series = [_read_series(f["runs"][r], CURVE_NAMES, detection) for r in ids]
    t = _same_times([t for t, _ in series], "the selected runs")
    what = "detection stage, from its first point" if detection else "from the first stage"
    data = {n: (("run", "t_s"), np.stack([ys[k] for _, ys in series]),
                {"units": "1", "description": f"mean polarization of the {n} protons"})
            for k, n in enumerate(CURVE_NAMES)}
    coords = {"run": ("run", np.asarray(ids, dtype=object)),
              "t_s": ("t_s", t, {"units": "s", "description": f"time ({what})"})}
    for key, column in store.parameters.items():
        coords[key] = ("run", column[rows], {"units": units_of(key)})
    for name in ("variant", "point", "seed_index", "seed"):
        coords[name] = ("run", store.table[name][rows])
    return xr.Dataset(data, coords=coords,
                      attrs={"campaign": store.campaign.get("name", ""), "source": store.path})
