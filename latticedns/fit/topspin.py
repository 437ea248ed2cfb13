"""Bruker TopSpin pseudo-2D datasets in: a HypRes or build-up series as one curve.

Read with nmrglue (the field's standard reader; optional extra ``latticedns[data]``,
imported here only): the ``ser`` file and ``acqus``/``acqu2s`` of an experiment directory
(``.../EXPNO``).  Each increment's FID has its digital filter removed (when ``acqus`` gives
GRPDLY or DECIM/DSPFVS), is Fourier transformed (``nmrglue.proc_base.fft``, TopSpin's
frequency order), phased with one zero-order phase for the whole series (given, or chosen
to maximize the real integral of the strongest increment: ``p0 = -arg(sum of the window)``),
and its real part integrated over the ppm window around the bulk line (``ppm`` from
nmrglue's unit conversion of acqus' SW_h, SFO1 and O1: no SR referencing).  Times: ``k interval_s`` (the pulse
interval of a HypRes detection), the ``vdlist`` (each delay is its increment's time),
its running sum, or the ``vclist`` times ``loop_s``.  With a thermal-equilibrium reference
(the integral of a thermal spectrum, with the same processing, or a number) and its
polarization, the signal becomes a polarization; otherwise the curve is in arbitrary units
and a fit gives it a free scale.
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np

from ..errors import ConfigError
from .data import Curve

__all__ = ["read_topspin", "TIMES"]

#: How the increments' times are obtained.
TIMES = ("interval", "vdlist", "vdlist_cumulative", "vclist")
#: A vdlist entry: a number and TopSpin's optional unit (s; m = ms; u = us; n = ns).
_ENTRY = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(s|ms|m|us|u|ns|n)?$")
_UNITS = {None: 1.0, "s": 1.0, "m": 1e-3, "ms": 1e-3, "u": 1e-6, "us": 1e-6, "n": 1e-9,
          "ns": 1e-9}


def _fail(path, message):
    raise ConfigError(f"data {os.fspath(path)}", message)


def _nmrglue(path):
    try:
        import nmrglue  # optional: latticedns[data]
    except ImportError:
        _fail(path, "reading TopSpin data needs nmrglue: pip install 'latticedns[data]'")
    return nmrglue


def _spectra(ng, path):
    """``(spectra (n_incr, n), ppm (n,))`` of a pseudo-2D dataset."""
    if not os.path.isdir(path):
        _fail(path, "is not a TopSpin experiment directory")
    for name in ("ser", "acqus"):
        if not os.path.isfile(os.path.join(path, name)):
            _fail(path, f"is not a pseudo-2D TopSpin dataset: no {name!r} file")
    try:
        dic, data = ng.bruker.read(os.fspath(path))
    except Exception as exc:  # noqa: BLE001 - nmrglue raises many kinds on broken files
        _fail(path, f"cannot be read by nmrglue ({type(exc).__name__}: {exc})")
    acqus = dic.get("acqus", {})
    for key in ("SW_h", "SFO1", "O1"):
        if key not in acqus:
            _fail(path, f"acqus has no {key} (needed for the ppm axis)")
    data = np.atleast_2d(data)
    if "GRPDLY" in acqus or ("DECIM" in acqus and "DSPFVS" in acqus):
        data = ng.bruker.remove_digital_filter(dic, data)
    spectra = ng.proc_base.fft(data)
    # the ppm axis of TopSpin's frequency order from acqus alone (no SR referencing)
    uc = ng.fileiobase.unit_conversion(spectra.shape[-1], True, float(acqus["SW_h"]),
                                       float(acqus["SFO1"]), float(acqus["O1"]))
    return spectra, np.asarray(uc.ppm_scale(), float), dic


def _window(path, ppm, window_ppm):
    if window_ppm is None:
        _fail(path, "window_ppm = [low, high] (ppm around the bulk line) is required")
    lo, hi = sorted(float(x) for x in window_ppm)
    sel = (ppm >= lo) & (ppm <= hi)
    if not np.any(sel):
        _fail(path, f"window_ppm [{lo}, {hi}] holds no point of the spectrum "
                    f"({ppm.min():.3g} to {ppm.max():.3g} ppm)")
    return sel


def _times(path, n, times, interval_s, loop_s):
    if times not in TIMES:
        _fail(path, f"times = {times!r}; allowed: {', '.join(TIMES)}")
    if times == "interval":
        if interval_s is None or not interval_s > 0:
            _fail(path, "times = 'interval' needs interval_s > 0")
        return float(interval_s) * np.arange(n)
    name = "vclist" if times == "vclist" else "vdlist"
    file = os.path.join(path, name)
    if not os.path.isfile(file):
        _fail(path, f"times = {times!r} but the dataset has no {name}")
    values = []
    for entry in open(file).read().split():
        match = _ENTRY.match(entry)
        if match is None or (name == "vclist" and match.group(2)):
            _fail(path, f"{name} entry {entry!r} is not a number"
                        + (" with a unit s, m, u or n" if name == "vdlist" else ""))
        values.append(float(match.group(1)) * _UNITS[match.group(2)])
    t = np.asarray(values, float)
    if t.size < n:
        _fail(path, f"{name} has {t.size} entries for {n} increments")
    t = t[:n]
    if times == "vdlist_cumulative":
        t = np.cumsum(t)
    if times == "vclist":
        if loop_s is None or not loop_s > 0:
            _fail(path, "times = 'vclist' needs loop_s > 0 (seconds per loop)")
        t = t * float(loop_s)
    return t


def read_topspin(path, *, window_ppm=None, phase_deg=None, times="interval", interval_s=None,
                 loop_s=None, thermal=None, thermal_polarization_percent=None,
                 name=None) -> Curve:
    """One curve from a TopSpin pseudo-2D dataset (module docstring).

    Parameters
    ----------
    path : str
        Experiment directory (holding ``ser`` and ``acqus``).
    window_ppm : [low, high]
        Integration window in ppm around the bulk line.
    phase_deg : float, optional
        Zero-order phase in degrees (default: automatic).
    times : {"interval", "vdlist", "vdlist_cumulative", "vclist"}
        Where the increments' times come from (with ``interval_s`` or ``loop_s`` in s).
    thermal : float or str, optional
        Thermal-equilibrium reference: its integral (a number, same processing) or the
        path of a dataset whose first increment is the thermal spectrum.
    thermal_polarization_percent : float, optional
        The polarization of that reference in % (needed with ``thermal``).

    Returns
    -------
    Curve
        In ``percent`` with a reference (values as fractions), else ``arbitrary``.
    """
    ng = _nmrglue(path)
    spectra, ppm, _ = _spectra(ng, path)
    sel = _window(path, ppm, window_ppm)
    sums = spectra[:, sel].sum(axis=1)
    if phase_deg is None:
        phase = -np.angle(sums[np.argmax(np.abs(sums))])
    else:
        phase = np.deg2rad(float(phase_deg))
    step = abs(ppm[1] - ppm[0]) if ppm.size > 1 else 1.0
    signal = np.real(sums * np.exp(1j * phase)) * step
    t = _times(path, signal.size, times, interval_s, loop_s)
    if np.any(np.diff(t) <= 0):
        _fail(path, f"the times from {times!r} are not strictly increasing")
    unit, values = "arbitrary", signal
    if thermal is not None:
        if thermal_polarization_percent is None or not thermal_polarization_percent > 0:
            _fail(path, "a thermal reference needs thermal_polarization_percent > 0")
        if isinstance(thermal, str):
            ref_spec, ref_ppm, _ = _spectra(ng, thermal)
            ref_sel = _window(thermal, ref_ppm, window_ppm)
            ref_sum = ref_spec[0, ref_sel].sum()
            ref_phase = -np.angle(ref_sum) if phase_deg is None else phase
            reference = float(np.real(ref_sum * np.exp(1j * ref_phase))) * abs(
                ref_ppm[1] - ref_ppm[0])
        else:
            reference = float(thermal)
        if reference == 0:
            _fail(path, "the thermal reference integral is 0")
        unit = "percent"
        values = signal / reference * (0.01 * float(thermal_polarization_percent))
    with open(os.path.join(path, "ser"), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return Curve(name=name or os.path.basename(os.path.normpath(path)), t_s=t,
                 values=np.asarray(values, float), sigma=None, unit=unit,
                 source=os.fspath(path), sha256=digest)
