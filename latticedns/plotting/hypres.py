"""HypRes detection curves in the style of Fig. 2b/2d of Chessari et al. (2023).

Takes :class:`latticedns.store.RunRecord` objects (read them with
:func:`latticedns.store.read_runs`); this module does not touch files.
"""

import numpy as np

from ..errors import ConfigError
from .fig3 import _new_axes

__all__ = ["plot_runs", "detection_curve", "thermal_polarization"]

#: Thermal proton polarization used when a run's parameters do not give it (7.05 T, 1.2 K).
DEFAULT_THERMAL = 0.0060
_THERMAL_KEYS = ("proton_thermal", "proton_thermal_polarization", "thermal_proton_polarization")


def _leaves(d, out=None):
    out = {} if out is None else out
    for k, v in d.items():
        if isinstance(v, dict):
            _leaves(v, out)
        else:
            out.setdefault(k, v)
    return out


def thermal_polarization(parameters):
    """Thermal proton polarization (fraction) of a run from its parameters.

    Looks, at any nesting depth, for ``proton_thermal`` (or ``proton_thermal_polarization``,
    ``thermal_proton_polarization``), else computes it from ``b0_T`` and ``temperature_K``,
    else returns :data:`DEFAULT_THERMAL` (0.60 %).

    Parameters
    ----------
    parameters : dict

    Returns
    -------
    float
    """
    leaves = _leaves(parameters or {})
    for key in _THERMAL_KEYS:
        if isinstance(leaves.get(key), (int, float)) and not isinstance(leaves[key], bool):
            return float(leaves[key])
    b0, temp = leaves.get("b0_T"), leaves.get("temperature_K")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (b0, temp)):
        from ..constants import GAMMA_H, boltzmann_polarization

        return float(boltzmann_polarization(GAMMA_H, b0, temp))
    return DEFAULT_THERMAL


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
    sel = stage == stage.max()
    t = np.asarray(result.t_s, float)[sel]
    return t - t[0], np.asarray(result.visible)[sel], np.asarray(result.hidden)[sel]


def plot_runs(records, ax=None, time_unit="auto", show_hidden=True, time_max_s=None):
    """Visible (and hidden) 1H polarization in % during detection, one curve per run.

    Parameters
    ----------
    records : RunRecord or sequence of RunRecord
        Runs to draw (legend by run name).
    ax : matplotlib Axes, optional
        Draw into these axes (a new Agg figure otherwise).
    time_unit : {"auto", "min", "s"}
        "auto": minutes if the longest detection lasts more than 600 s, else seconds.
    show_hidden : bool
        Also draw the hidden polarization (dashed, thinner, same colour).  The y range is
        set by the visible curves, the thermal line and 0, so hidden curves may be clipped.
    time_max_s : float, optional
        Draw only the first ``time_max_s`` seconds of the detection (> 0); the y range then
        follows the visible curves within that window.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: one (visible) or two (visible, hidden) per run, then one black dashed
        horizontal line per distinct thermal polarization.
    """
    records = [records] if hasattr(records, "result") else list(records)
    if not records:
        raise ConfigError("records", "no runs to plot")
    if time_unit not in ("auto", "min", "s"):
        raise ConfigError("time_unit", f"must be 'auto', 'min' or 's', got {time_unit!r}")
    if time_max_s is not None and not (np.isfinite(time_max_s) and time_max_s > 0):
        raise ConfigError("time_max_s", f"must be > 0 s, got {time_max_s!r}")
    curves = []
    for rec in records:
        try:
            curves.append(detection_curve(rec.result))
        except ConfigError:
            raise ConfigError("records", f"run {rec.name!r} has no recorded points") from None
    span = max(t[-1] for t, _, _ in curves)
    if time_max_s is not None:
        span = min(span, float(time_max_s))
    unit = ("min" if span > 600.0 else "s") if time_unit == "auto" else time_unit
    scale = 60.0 if unit == "min" else 1.0
    fig, ax = _new_axes(ax)
    for k, (rec, (t, vis, hid)) in enumerate(zip(records, curves)):
        color = f"C{k % 10}"
        ax.plot(t / scale, 100.0 * vis, color=color, lw=1.6, label=rec.name)
        if show_hidden:
            ax.plot(t / scale, 100.0 * hid, color=color, lw=0.9, ls="--", alpha=0.8,
                    label=f"_{rec.name} hidden")
    thermals = sorted({round(thermal_polarization(rec.parameters), 12) for rec in records})
    for p in thermals:
        ax.axhline(100.0 * p, color="k", ls="--", lw=1.0, label=f"Boltzmann {100 * p:.2f} %")
    handles, labels = ax.get_legend_handles_labels()
    if show_hidden:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.4", lw=0.9, ls="--", alpha=0.8))
        labels.append("hidden (thin dashed)")
    ax.legend(handles, labels, fontsize=8, loc="best")
    ax.set_xlim(0.0, span / scale if span > 0 else None)
    # the y range follows the visible curves and the thermal line (the measured signal, as in
    # Fig. 2b/2d); hidden curves, which start far higher after a selective saturation, clip
    y = 100.0 * np.concatenate([v[t <= span] for t, v, _ in curves]
                               + [np.asarray(thermals), [0.0]])
    y = y[np.isfinite(y)]
    pad = 0.06 * (y.max() - y.min()) or 0.1
    ax.set_ylim(y.min() - pad, y.max() + pad)
    ax.set_xlabel(f"time since the first detection pulse ({unit})")
    ax.set_ylabel(r"$^1$H polarization (%)" if show_hidden else r"visible $^1$H polarization (%)")
    return fig
