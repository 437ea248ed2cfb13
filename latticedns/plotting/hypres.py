"""HypRes curves in the style of Fig. 2b/2d of Chessari et al. (2023), of any recorded stage.

Takes :class:`latticedns.store.RunRecord` objects (read them with
:func:`latticedns.store.read_runs`); this module does not touch files.
"""

import numpy as np

from ..errors import ConfigError
from .runinfo import (DEFAULT_THERMAL, caption, find_stage, stage_label, stage_start_s,
                      stage_table, thermal_polarization, warning_lines)

__all__ = ["plot_runs", "detection_curve", "stage_curve", "add_warnings",
           "thermal_polarization", "DEFAULT_THERMAL"]

#: Curves with at most this many points are drawn with markers (e.g. a build-up stage).
MARKERS_UP_TO = 40
#: Legend frame opacity where the legend sits inside the axes.
FRAMEALPHA = 0.85


def stage_curve(result, index, start_s=None):
    """Times and polarizations of the points recorded in stage ``index``.

    Parameters
    ----------
    result : latticedns.protocol.ProtocolResult
    index : int
        Stage index (as in ``result.stage``).
    start_s : float, optional
        Start of the stage in s from the start of the protocol (t = 0 of the curve);
        default the stage's first recorded point.

    Returns
    -------
    t_s, visible, hidden : ndarray
        Time in s from ``start_s``, and the polarizations (fractions).

    Raises
    ------
    ConfigError
        (key ``"stage"``) the stage has no recorded point.
    """
    sel = np.asarray(result.stage) == index
    if not sel.any():
        raise ConfigError("stage", f"stage {index} has no recorded points")
    t = np.asarray(result.t_s, float)[sel]
    return (t - (t[0] if start_s is None else start_s), np.asarray(result.visible)[sel],
            np.asarray(result.hidden)[sel])


def detection_curve(result):
    """Times and polarizations of the detection stage, t = 0 at its first pulse.

    The detection stage is the last stage with recorded points (largest index in
    ``result.stage``).

    Parameters
    ----------
    result : latticedns.protocol.ProtocolResult

    Returns
    -------
    t_s, visible, hidden : ndarray
        Time in s from the first recorded point of the stage, and the polarizations
        (fractions).
    """
    stage = np.asarray(result.stage)
    if stage.size == 0:
        raise ConfigError("result", "no recorded points to plot")
    return stage_curve(result, stage.max())


def _curves(records, stage):
    """Per run (t, visible, hidden), and the x label's description of t = 0."""
    curves, origin = [], None
    for rec in records:
        recorded = np.asarray(rec.result.stage)
        if recorded.size == 0:
            raise ConfigError("records", f"run {rec.name!r} has no recorded points")
        index = int(recorded.max()) if stage is None else find_stage(rec, str(stage))
        table = stage_table(rec)
        kind = table[index][1] if index < len(table) else "?"
        start = None if kind == "detect" else stage_start_s(rec, index)
        curves.append(stage_curve(rec.result, index, start))
        if origin is None:
            label = stage_label(rec, index)
            detection = kind == "detect" or (stage is None and kind == "?")
            origin = ("the first detection pulse" if detection else
                      f"the first point of stage {label}" if start is None else
                      f"the start of stage {label}")
    return curves, origin


def _limits(arrays, extra=(), pad_fraction=0.06):
    y = np.concatenate([np.ravel(a) for a in arrays] + [np.asarray(extra, float)])
    y = y[np.isfinite(y)]
    if y.size == 0:
        return None
    pad = pad_fraction * (y.max() - y.min()) or 0.1
    return y.min() - pad, y.max() + pad


def _new_panels(show_hidden):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not show_hidden:
        fig, ax = plt.subplots(figsize=(7.2, 4.2), layout="constrained")
        return fig, ax, None
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7.2, 6.2),
                                      layout="constrained")
    return fig, top, bottom


def add_warnings(fig, records):
    """Write the records' validity warnings (:func:`~.runinfo.warning_lines`) in red at the
    foot of a figure; nothing if they have none."""
    text = warning_lines(records)
    if text:
        fig.supxlabel(text, fontsize=7, color="C3", ha="left", x=0.01)


def plot_runs(records, ax=None, time_unit="auto", show_hidden=True, time_max_s=None,
              stage=None):
    """Visible and hidden 1H polarization in % against time in a stage, one curve per run.

    The y range of each axis follows its own curves (visible: also 0 and the thermal
    line), so neither kind of curve is clipped.

    Parameters
    ----------
    records : RunRecord or sequence of RunRecord
        Runs to draw (legend by run name; conditions that differ between runs are added
        to the names, the shared ones are the title).
    ax : matplotlib Axes or (Axes, Axes), optional
        Draw into these axes: a pair takes the visible, then the hidden curves; a single
        Axes takes the visible curves and, with ``show_hidden``, the hidden ones dashed on
        a twin y axis at its right.  Default: a new Agg figure of two panels sharing the
        time axis (visible above, hidden below), the legend outside at the right and the
        conditions (B0, T, radical mM, model, physics preset) as the title of the upper
        panel; the runs' validity warnings, if any, in red at its foot.
    time_unit : {"auto", "min", "s"}
        "auto": minutes if the longest curve lasts more than 600 s, else seconds.
    show_hidden : bool
        Also draw the hidden polarization.
    time_max_s : float, optional
        Draw only the first ``time_max_s`` seconds of the stage (> 0); the y ranges then
        follow the curves within that window.
    stage : str, optional
        The stage to draw, by name (``"prepare"``), index (``"1"``) or type if only one
        stage has it (``"microwave"``); t = 0 at the stage's start.  Default: the
        detection (the last stage with recorded points), t = 0 at its first pulse.

    Returns
    -------
    matplotlib.figure.Figure
        Visible axes: one line per run, then one black dashed horizontal line per
        distinct thermal polarization.  Hidden axes (``fig.axes[1]``): one line per run,
        then the thermal lines that fall within its range.

    Raises
    ------
    ConfigError
        No runs, a run without recorded points, a bad ``time_unit`` or ``time_max_s``,
        or (key ``"stage"``) an unknown stage (the message lists the stages) or one
        without recorded points.
    """
    records = [records] if hasattr(records, "result") else list(records)
    if not records:
        raise ConfigError("records", "no runs to plot")
    if time_unit not in ("auto", "min", "s"):
        raise ConfigError("time_unit", f"must be 'auto', 'min' or 's', got {time_unit!r}")
    if time_max_s is not None and not (np.isfinite(time_max_s) and time_max_s > 0):
        raise ConfigError("time_max_s", f"must be > 0 s, got {time_max_s!r}")
    curves, origin = _curves(records, stage)
    span = max(t[-1] for t, _, _ in curves)
    if time_max_s is not None:
        span = min(span, float(time_max_s))
    unit = ("min" if span > 600.0 else "s") if time_unit == "auto" else time_unit
    scale = 60.0 if unit == "min" else 1.0
    common, own = caption(records)

    twin = False
    if ax is None:
        fig, top, bottom = _new_panels(show_hidden)
    elif isinstance(ax, (tuple, list)):
        top, bottom = ax
        fig = top.figure
    else:
        top, fig = ax, ax.figure
        bottom = top.twinx() if show_hidden else None
        twin = bottom is not None
    marker = "o" if max(len(t) for t, _, _ in curves) <= MARKERS_UP_TO else None
    for k, (rec, (t, vis, hid)) in enumerate(zip(records, curves)):
        color = f"C{k % 10}"
        label = rec.name + (f" ({own[k]})" if own[k] else "")
        top.plot(t / scale, 100.0 * vis, color=color, lw=1.6, marker=marker, ms=3, label=label)
        if bottom is not None:
            bottom.plot(t / scale, 100.0 * hid, color=color, lw=0.9 if twin else 1.6,
                        ls="--" if twin else "-", marker=marker, ms=3,
                        label=f"_{rec.name} hidden")
    thermals = sorted({round(thermal_polarization(rec.parameters), 12) for rec in records})
    for p in thermals:
        top.axhline(100.0 * p, color="k", ls="--", lw=1.0, label=f"Boltzmann {100 * p:.2f} %")

    inside = [tt <= span for tt, _, _ in curves]
    top.set_xlim(0.0, span / scale if span > 0 else None)
    top.set_ylim(*_limits([100.0 * v[w] for (_, v, _), w in zip(curves, inside)],
                          [*(100.0 * np.asarray(thermals)), 0.0]))
    top.set_xlabel(f"time since {origin} ({unit})")
    top.set_ylabel(r"visible $^1$H polarization (%)")
    if bottom is not None:
        limits = _limits([100.0 * h[w] for (_, _, h), w in zip(curves, inside)])
        if limits is None:
            bottom.text(0.5, 0.5, "no hidden protons", transform=bottom.transAxes,
                        ha="center", va="center", color="0.4")
        else:
            bottom.set_ylim(*limits)
            for p in thermals:
                if limits[0] < 100.0 * p < limits[1]:
                    bottom.axhline(100.0 * p, color="k", ls="--", lw=1.0, label="_thermal")
        bottom.set_ylabel(r"hidden $^1$H polarization (%)" + (", dashed" if twin else ""))
        if not twin:
            bottom.set_xlabel(top.get_xlabel())
            top.set_xlabel("")
            top.tick_params(labelbottom=False)

    handles, labels = top.get_legend_handles_labels()
    if twin:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.4", lw=0.9, ls="--"))
        labels.append("hidden (dashed, right axis)")
    if ax is None:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
        if common:  # over the axes, not the figure: clear of the legend at the right
            top.set_title(common, fontsize=9)
        add_warnings(fig, records)
    else:
        top.legend(handles, labels, loc="best", fontsize=8, framealpha=FRAMEALPHA)
    return fig
