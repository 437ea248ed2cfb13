"""Campaign figures: one figure per sweep, one curve per swept value, seeds as a band.

Each curve is the mean over seeds of the visible 1H polarization (%) during detection,
time from the first detection pulse (as :func:`~latticedns.plotting.plot_runs`), with a
shaded band from the minimum to the maximum over seeds (:data:`BAND`) and the Boltzmann
polarization as a black dashed line.  :func:`plot_sweep` draws arrays;
:func:`sweep_figures` reads a :class:`~latticedns.campaign.CampaignStore` through its
methods (this module imports neither h5py nor the campaign package).
"""

import math

import numpy as np

from ..errors import ConfigError
from .hypres import DEFAULT_THERMAL, thermal_polarization

__all__ = ["BAND", "plot_sweep", "sweep_figures", "sweep_names"]

#: What the shaded band around each mean curve is.
BAND = "min-max over seeds"


def _time_scale(span, time_unit):
    if time_unit not in ("auto", "min", "s"):
        raise ConfigError("time_unit", f"must be 'auto', 'min' or 's', got {time_unit!r}")
    unit = ("min" if span > 600.0 else "s") if time_unit == "auto" else time_unit
    return unit, 60.0 if unit == "min" else 1.0


def plot_sweep(curves, ax=None, time_unit="auto", thermal=(DEFAULT_THERMAL,), title=None):
    """Mean visible polarization over seeds with a min-max band, one curve per entry.

    Parameters
    ----------
    curves : sequence of (str, ndarray, ndarray)
        ``(label, t_s, y)``: time in s from the first detection pulse (n_t,) and the
        polarization (fraction) of every seed, shape (n_seeds, n_t).
    ax : matplotlib Axes, optional
        Draw into these axes (a new Agg figure otherwise).
    time_unit : {"auto", "min", "s"}
        "auto": minutes if the longest curve lasts more than 600 s.
    thermal : sequence of float
        Thermal polarizations (fractions) drawn as black dashed lines.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Lines: one mean per curve, then one per thermal value; one band (a
        ``PolyCollection``) per curve with more than one seed.
    """
    if not curves:
        raise ConfigError("curves", "nothing to plot")
    span = max(float(t[-1]) if len(t) else 0.0 for _, t, _ in curves)
    unit, scale = _time_scale(span, time_unit)
    from .fig3 import _new_axes

    fig, ax = _new_axes(ax)
    lows = []
    for k, (label, t, y) in enumerate(curves):
        y = 100.0 * np.atleast_2d(y)
        color, n = f"C{k % 10}", y.shape[0]
        ax.plot(t / scale, y.mean(axis=0), color=color, lw=1.6,
                label=f"{label} ({n} seed{'s' if n > 1 else ''})")
        if n > 1:
            ax.fill_between(t / scale, y.min(axis=0), y.max(axis=0), color=color, alpha=0.25,
                            lw=0)
        lows.append(y)
    for p in sorted({round(float(p), 12) for p in thermal}):
        ax.axhline(100.0 * p, color="k", ls="--", lw=1.0, label=f"Boltzmann {100 * p:.2f} %")
    handles, labels = ax.get_legend_handles_labels()
    if any(y.shape[0] > 1 for y in lows):
        from matplotlib.patches import Patch

        handles.append(Patch(color="0.5", alpha=0.25))
        labels.append(f"mean; band: {BAND}")
    ax.legend(handles, labels, fontsize=8, loc="best", framealpha=0.85)
    ax.set_xlim(0.0, span / scale if span > 0 else None)
    y = np.concatenate([v.ravel() for v in lows] + [100.0 * np.asarray(thermal, float), [0.0]])
    y = y[np.isfinite(y)]
    pad = 0.06 * (y.max() - y.min()) or 0.1
    ax.set_ylim(y.min() - pad, y.max() + pad)
    ax.set_xlabel(f"time since the first detection pulse ({unit})")
    ax.set_ylabel(r"visible $^1$H polarization (%)")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _tail(key, keys):
    tails = [k.rsplit(".", 1)[-1] for k in keys]
    return key.rsplit(".", 1)[-1] if len(set(tails)) == len(tails) else key


def _label(values, keys):
    return ", ".join(f"{_tail(k, keys)}={v}" for k, v in values.items())


def _sweeps(store):
    """(name parts, key, variant, panels) per figure; a panel is (title, where)."""
    keys, variants = store.keys, store.variants
    several = store.campaign.get("mode", "product") == "product" and len(keys) > 1
    out = []
    for variant in variants:
        vpart = [variant] if len(variants) > 1 else []
        if not several:  # one axis, or zip: every point on one figure
            out.append((vpart, "point", variant, [("", {})]))
            continue
        for key in keys:
            others = [k for k in keys if k != key]
            combos = list(dict.fromkeys(tuple(p[k] for k in others) for p in store.points))
            panels = [(_label(dict(zip(others, c)), keys), dict(zip(others, c)))
                      for c in combos]
            out.append(([_tail(key, keys)] + vpart, key, variant, panels))
    return out


def sweep_names(store):
    """Name parts of the figures :func:`sweep_figures` draws, in order, without drawing.

    Parameters
    ----------
    store : CampaignStore

    Returns
    -------
    list of list of str
    """
    return [parts for parts, _, variant, _ in _sweeps(store) if len(store.select(variant=variant))]


def _first_runs(store, key, where, variant):
    """Swept value -> id of its first finished run (for its parameters)."""
    column = store.table["point"] if key == "point" else store.parameters[key]
    row = {r: i for i, r in enumerate(store.table["run_id"])}
    out = {}
    for run_id in store.select(where, variant):
        value = column[row[run_id]]
        out.setdefault(value.item() if isinstance(value, np.generic) else value, run_id)
    return out


def sweep_figures(store, time_unit="auto", time_max_s=None):
    """One figure per sweep of a campaign store.

    One axis (or ``mode = "zip"``): one figure per variant, one curve per point.  Several
    axes (product): one figure per axis and variant, with one panel per combination of
    the other axes' values.  Only finished runs are drawn.

    Parameters
    ----------
    store : CampaignStore
    time_unit : {"auto", "min", "s"}
    time_max_s : float, optional
        Draw only the first ``time_max_s`` seconds of each detection (> 0).

    Returns
    -------
    list of (list of str, matplotlib.figure.Figure)
        Name parts (the axis' last key component if several axes, the variant if several
        variants; empty for a single figure) and the figure, for sweeps with finished runs.
    """
    if time_max_s is not None and not (np.isfinite(time_max_s) and time_max_s > 0):
        raise ConfigError("time_max_s", f"must be > 0 s, got {time_max_s!r}")
    figures = []
    points = store.points
    for parts, key, variant, panels in _sweeps(store):
        if not len(store.select(variant=variant)):
            continue
        drawn = []
        for title, where in panels:
            data = store.curves(key, where=where, variant=variant)
            if not data:
                continue
            first = _first_runs(store, key, where, variant)
            keep = {v: np.ones(len(t), bool) if time_max_s is None else t <= time_max_s
                    for v, (t, _) in data.items()}
            curves = [(_label(points[v] if key == "point" else {key: v}, store.keys),
                       t[keep[v]], np.atleast_2d(y)[:, keep[v]]) for v, (t, y) in data.items()]
            thermal = [thermal_polarization(store.run_parameters(first[v])) for v in data]
            drawn.append((title, curves, thermal))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ncols = min(len(drawn), 3)
        nrows = math.ceil(len(drawn) / ncols)
        size = (6.0, 4.5) if len(drawn) == 1 else (4.8 * ncols, 3.9 * nrows)
        fig, axes = plt.subplots(nrows, ncols, figsize=size, layout="constrained",
                                 squeeze=False)
        span = max(float(t[-1]) for _, curves, _ in drawn for _, t, _ in curves if len(t))
        unit = _time_scale(span, time_unit)[0]
        for ax, (title, curves, thermal) in zip(axes.flat, drawn):
            plot_sweep(curves, ax=ax, time_unit=unit, thermal=thermal, title=title)
        for ax in list(axes.flat)[len(drawn):]:
            ax.set_visible(False)
        name = store.campaign.get("name", "campaign")
        fig.suptitle(name + (f" ({variant})" if variant and len(store.variants) > 1 else ""))
        figures.append((parts, fig))
    return figures
