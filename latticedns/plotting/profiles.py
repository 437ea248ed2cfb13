"""Radial profiles P(r, t): the picture of the spin-diffusion barrier.

A run records profiles when its run file sets ``run.profile_times_s``: the mean
polarization in shells of distance to the nearest radical (``run.profile_edges_nm``) at
each time.  Takes :class:`latticedns.store.RunRecord` objects; this module does not
touch files.
"""

import math

import numpy as np

from ..errors import ConfigError
from .hypres import add_warnings
from .runinfo import caption, stage_at, thermal_polarization

__all__ = ["plot_profiles", "visible_boundary_nm"]


def _stage_dicts(parameters):
    stages = (parameters or {}).get("stage")
    return [s for s in stages if isinstance(s, dict)] if isinstance(stages, list) else []


def _pool_from_parameters(record):
    """(Pbar, bandwidth_kHz) judging the detection's visible pool, replaying the stages of
    the parameters as :mod:`latticedns.protocol.runner` does; None if not possible."""
    import dataclasses

    from ..protocol.microwave import MicrowaveCalibration

    params = record.parameters or {}
    stages = _stage_dicts(params)
    detects = [k for k, st in enumerate(stages) if st.get("type") == "detect"]
    if not detects:
        return None
    names = {f.name for f in dataclasses.fields(MicrowaveCalibration)}
    mw = {k: v for k, v in (params.get("microwave") or {}).items() if k in names}
    physics = params.get("physics") or {}
    for key in ("b0_T", "temperature_K"):  # older records: the field is only in [physics]
        if key not in mw and key in physics:
            mw[key] = physics[key]
    cal = MicrowaveCalibration(**mw)
    power, pool = 0.0, None
    for st in stages[:detects[-1]]:
        kind = st.get("type")
        if kind in ("microwave", "detect"):
            power = float(st.get("power_mW", 0.0))
        elif kind == "delay":
            power = 0.0
        elif kind == "saturate":
            pool = None
        elif kind == "selective_saturate":
            pool = cal.pbar(power)
    det = stages[detects[-1]]
    saturated = (params.get("run") or {}).get("visible_pool", "saturated") == "saturated"
    pbar = pool if saturated and pool is not None else cal.pbar(float(det.get("power_mW", 0.0)))
    return pbar, float(det.get("bandwidth_kHz", 200.0))


def visible_boundary_nm(record):
    """Visible/hidden boundary during the detection, as a radius in nm (None if unknown).

    The protons read by the detection pulses are those whose shift lies within
    +-``bandwidth_kHz``/2 of the bulk line at the electron polarization that judges the
    detection's visible pool (the stored stage table's ``pool_pbar`` and
    ``pool_bandwidth_kHz``; for a record without one, replayed from the parameters).  A
    continuum run has a sharp boundary (its stored ``boundary_radius_nm``, else
    :func:`latticedns.continuum.boundary.boundary_radius_nm` with its own
    ``boundary_averaging``); on the lattice the boundary depends on the orientation and
    the radius is the equal-volume one (the hidden shell as large as the hidden
    protons, ``r_in`` the sample's minimum proton-radical distance).

    Parameters
    ----------
    record : RunRecord

    Returns
    -------
    (float, float, float) or None
        ``(r_b_nm, pbar, bandwidth_kHz)``; None without a detection stage, or when the
        parameters lack the calibration or the radical concentration.
    """
    from ..continuum.boundary import boundary_radius_nm
    from ..diffusion import mean_volume_radius_nm

    params = record.parameters or {}
    physics, sample = params.get("physics") or {}, params.get("sample") or {}
    stored = getattr(record, "stages", None)
    try:
        detects = [k for k, kind in enumerate(stored.type) if kind == "detect"] \
            if stored is not None else []
        if detects:
            det = detects[-1]
            pbar, bandwidth = float(stored.pool_pbar[det]), float(stored.pool_bandwidth_kHz[det])
            radii = getattr(stored, "boundary_radius_nm", None)
            if record.model == "continuum" and radii is not None:
                return float(radii[det]), pbar, bandwidth
        else:
            pool = _pool_from_parameters(record)
            if pool is None:
                return None
            pbar, bandwidth = pool
        mM = physics.get("radical_mM", sample.get("radical_mM"))
        r_in = sample.get("min_dist_proton_radical_nm", 0.3)
        averaging = "equal_volume"
        if record.model == "continuum":
            averaging = physics.get("boundary_averaging", averaging)
            r_in = physics.get("r_in_nm", r_in)
        r_b = boundary_radius_nm(pbar, bandwidth, averaging, float(r_in),
                                 mean_volume_radius_nm(float(mM)))
    except (ConfigError, TypeError, ValueError, KeyError, IndexError):
        return None
    return (float(r_b), float(pbar), bandwidth) if math.isfinite(r_b) else None


def _hidden_share(record):
    """"3.5 % of the protons" (lattice) or "of the volume" (continuum) hidden during the
    detection, from the stored stage table; "" without one."""
    stored = getattr(record, "stages", None)
    try:
        det = [k for k, kind in enumerate(stored.type) if kind == "detect"][-1]
        share = 100.0 * float(stored.hidden_fraction[det])
    except (AttributeError, IndexError, TypeError):
        return ""
    return f"{share:.2g} % of the {'protons' if record.model == 'lattice' else 'volume'}"


def _when(record, t):
    where = stage_at(record, t)
    if where is None:
        return f"t = {t:g} s"
    name, start = where
    return f"t = {t:g} s ({name} + {t - start:g} s)"


def plot_profiles(records, distance_max_nm=None):
    """Radial profiles P(r, t) of every run that stored them: one panel per run, one
    curve per profile time.

    x: distance from the nearest radical in nm (the shell centres of
    ``profile_edges_nm``), y: mean polarization of the shell in %.  A grey band marks the
    region hidden during the detection, r < r_b (:func:`visible_boundary_nm`, when the
    parameters give it), and a black dashed line the thermal polarization; the title
    holds the conditions and the foot the runs' validity warnings, if any.

    Parameters
    ----------
    records : RunRecord or sequence of RunRecord
    distance_max_nm : float, optional
        Right end of the distance axis (default: the outer edge of the last shell with
        protons, e.g. r_MV for a continuum run).

    Returns
    -------
    matplotlib.figure.Figure
        Per panel: one line per profile time (earliest first), then the thermal line;
        the hidden band is a patch labelled "hidden in detection: r < r_b = ...".

    Raises
    ------
    ConfigError
        (key ``"profiles"``) no run stored profiles.
    """
    records = [records] if hasattr(records, "result") else list(records)
    drawn = [rec for rec in records if np.size(rec.result.profile_t_s)]
    if not drawn:
        names = ", ".join(repr(r.name) for r in records) or "none"
        raise ConfigError("profiles", f"no radial profiles stored (runs: {names}); set "
                                      "run.profile_times_s in the run file to record them")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(len(drawn), 2)
    nrows = math.ceil(len(drawn) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.4 * ncols, 3.9 * nrows),
                             layout="constrained", squeeze=False)
    common, own = caption(drawn)
    cmap = matplotlib.colormaps["viridis"]
    for k, (ax, rec) in enumerate(zip(axes.flat, drawn)):
        r = rec.result
        edges = np.asarray(r.profile_edges_nm, float)
        centres = 0.5 * (edges[:-1] + edges[1:])
        order = np.argsort(r.profile_t_s)
        n = len(order)
        for j, i in enumerate(order):
            ax.plot(centres, 100.0 * np.asarray(r.profiles[i]), "o-", ms=3, lw=1.4,
                    color=cmap(0.85 * j / max(n - 1, 1)), label=_when(rec, float(r.profile_t_s[i])))
        thermal = thermal_polarization(rec.parameters)
        ax.axhline(100.0 * thermal, color="k", ls="--", lw=1.0,
                   label=f"Boltzmann {100 * thermal:.2f} %")
        boundary, note = visible_boundary_nm(rec), ""
        if boundary is not None and edges[0] < boundary[0] < edges[-1]:
            r_b, pbar, bw = boundary
            ax.axvspan(edges[0], r_b, color="0.9", lw=0, zorder=0,
                       label=rf"hidden in detection: r < $r_b$ = {r_b:.2f} nm")
            share = _hidden_share(rec)
            note = ("\n$r_b$: " + ("equal-volume radius" if rec.model == "lattice" else "boundary")
                    + (f" of the {share} hidden" if share else "")
                    + rf" at $\bar P$ = {pbar:.3g}, {bw:g} kHz")
        filled = np.flatnonzero(np.any(np.isfinite(np.asarray(r.profiles, float)), axis=0))
        last = edges[filled[-1] + 1] if filled.size else edges[-1]  # empty shells: no data
        ax.set_xlim(edges[0], distance_max_nm or last)
        ax.set_xlabel("distance from the nearest radical r (nm)")
        ax.set_ylabel(r"$^1$H polarization (%)")
        ax.set_title(rec.name + (f" ({own[k]})" if own[k] else "") + note, fontsize=8)
        ax.legend(loc="best", fontsize=7, framealpha=0.85)
    for ax in list(axes.flat)[len(drawn):]:
        ax.set_visible(False)
    if common:
        fig.suptitle(f"radial profiles P(r, t); {common}", fontsize=9)
    add_warnings(fig, drawn)
    return fig
