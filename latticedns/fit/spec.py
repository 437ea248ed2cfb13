"""Fit files (``runs/fit-*.toml``): what is fitted to what, validated before any work.

A fit file names a base run file, the parameters to fit (dotted run-file keys, with an
initial value, bounds and a log or linear scale) and the data curves, each compared with
one observable of one variant (run) of the base run file, from the start of one of its
stages.  ``docs/fitting.md`` documents every key.  :func:`load_fit_file` parses the whole
file, reads every data file and resolves the run file at the initial values and at both
bounds of every parameter, so that every error is reported (one `ConfigError` naming the
key) before the first simulation.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass

import numpy as np

from .._args import is_real
from ..errors import ConfigError
from ..experiment.config import parse_run_document, set_dotted
from ..tomlfile import read_toml
from .data import Curve, read_curves

__all__ = ["FitParameter", "CurveSpec", "FitSpec", "load_fit_file", "parse_fit_document",
           "SCALES", "OBSERVABLES"]

#: Parameter scales: the optimizer works on log10(value) or on the value.
SCALES = ("log", "linear")
#: Observables a curve can be compared with.
OBSERVABLES = ("visible", "hidden")
_FIT_KEYS = {"run", "model", "rtol", "time_window_s", "profiles", "seeds"}
_TOPSPIN_KEYS = ("window_ppm", "phase_deg", "times", "interval_s", "loop_s", "thermal",
                 "thermal_polarization_percent")
_CURVE_KEYS = {"data", "column", "variant", "stage", "observable", "scale", "scale_group",
               "offset", "time_window_s", "topspin", *_TOPSPIN_KEYS}
_PARAM_KEYS = {"key", "initial", "bounds", "scale"}


@dataclass(frozen=True)
class FitParameter:
    """One fitted parameter: a dotted run-file key (unit as in the key's name)."""

    key: str
    initial: float
    lower: float
    upper: float
    scale: str

    def to_internal(self, value):
        """The optimizer's coordinate of ``value`` (log10 for ``scale = "log"``)."""
        return math.log10(value) if self.scale == "log" else float(value)

    def from_internal(self, x):
        return 10.0 ** x if self.scale == "log" else float(x)


@dataclass(frozen=True)
class CurveSpec:
    """One data curve and what it is compared with.

    ``stage_index`` and ``stage_start_s`` locate the compared stage in the run; ``scale``
    is True when a scale factor is fitted (linear, profiled out; curves with the same
    ``scale_group`` share one), ``offset`` likewise for an additive offset of the curve.
    """

    label: str
    curve: Curve
    variant: str
    stage_index: int
    stage_start_s: float
    observable: str
    scale: bool
    scale_group: str
    offset: bool
    window: tuple

    @property
    def mask(self):
        """Data points inside the time window."""
        t = self.curve.t_s
        return (t >= self.window[0]) & (t <= self.window[1])


@dataclass(frozen=True)
class FitSpec:
    """A resolved fit file (see the module docstring)."""

    path: str
    text: str
    run_path: str
    base: dict
    base_dir: str
    parameters: tuple
    curves: tuple
    rtol: float
    profiles: bool
    seeds: tuple = ()

    def document(self, values, seed=None):
        """The base run document with the parameters set to ``values`` (physical) and, for
        a lattice fit, ``run.seed`` set to ``seed``."""
        doc = copy.deepcopy(self.base)
        for p, v in zip(self.parameters, values):
            set_dotted(doc, p.key, float(v))
        if seed is not None:
            doc["run"]["seed"] = int(seed)
        return doc

    def specs(self, values, seed=None):
        """The run specs at ``values`` (``parse_run_document``)."""
        return parse_run_document(self.document(values, seed), self.base_dir)

    @property
    def n_points(self):
        return int(sum(c.mask.sum() for c in self.curves))


def _number(key, value):
    if not is_real(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    return float(value)


def _check_keys(table, label, allowed):
    """Refuse a key of ``table`` that is not in ``allowed`` (ConfigError naming it)."""
    for extra in sorted(set(table) - allowed):
        raise ConfigError(f"{label}.{extra}", f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _tables(items, name, allowed):
    """``(label, table)`` of an array of tables ``[[name]]`` (non-empty, keys checked)."""
    if not isinstance(items, list) or not items:
        raise ConfigError(name, f"at least one [[{name}]] is required")
    for k, item in enumerate(items):
        label = f"{name}.{k}"
        if not isinstance(item, dict):
            raise ConfigError(label, "must be a table")
        _check_keys(item, label, allowed)
        yield label, item


def _window(key, value, default=(0.0, math.inf)):
    if value is None:
        return default
    if (not isinstance(value, list) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            or not 0 <= value[0] < value[1]):
        raise ConfigError(key, f"must be [start_s, end_s] with 0 <= start < end, got {value!r}")
    return (float(value[0]), float(value[1]))


def _parameters(items):
    out, seen = [], set()
    for label, item in _tables(items, "parameter", _PARAM_KEYS):
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{label}.key", "a dotted run-file key, e.g. microwave.tau_c_us")
        label = f"parameter.{key}"
        if key in seen:
            raise ConfigError(label, "fitted twice")
        seen.add(key)
        scale = item.get("scale", "linear")
        if scale not in SCALES:
            raise ConfigError(f"{label}.scale",
                              f"must be one of {', '.join(SCALES)}, got {scale!r}")
        initial = _number(f"{label}.initial", item.get("initial"))
        bounds = item.get("bounds")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ConfigError(f"{label}.bounds", f"must be [lower, upper], got {bounds!r}")
        lo, hi = (_number(f"{label}.bounds", b) for b in bounds)
        if not lo < hi or not lo <= initial <= hi:
            raise ConfigError(f"{label}.bounds", f"need lower < upper and lower <= initial <= "
                              f"upper, got [{lo}, {hi}] and initial {initial}")
        if scale == "log" and lo <= 0:
            raise ConfigError(f"{label}.bounds", f"a log-scale parameter needs lower > 0, got {lo}")
        out.append(FitParameter(key=key, initial=initial, lower=lo, upper=hi, scale=scale))
    return tuple(out)


def _stage_names(doc):
    return [st.get("name", f"{k}") for k, st in enumerate(doc.get("stage", []))]


def _curves(items, base_dir, specs, default_window):
    by_name = {s.name: s for s in specs}
    out, labels, cache = [], set(), {}
    for k, (label, item) in enumerate(_tables(items, "curve", _CURVE_KEYS)):
        if ("data" in item) == ("topspin" in item):
            raise ConfigError(label, "needs one of data (a CSV/TSV file) or topspin (a "
                                     "TopSpin pseudo-2D experiment directory)")
        if "topspin" in item:
            columns = {"topspin": _topspin_curve(label, item, base_dir)}
            path = item["topspin"]
        else:
            for key in _TOPSPIN_KEYS:
                if key in item:
                    raise ConfigError(f"{label}.{key}", "applies to topspin curves only")
            path = item.get("data")
            if not isinstance(path, str):
                raise ConfigError(f"{label}.data", "the path of a data file (CSV/TSV)")
            full = path if os.path.isabs(path) else os.path.join(base_dir, path)
            if full not in cache:
                cache[full] = {c.name: c for c in read_curves(full)}
            columns = cache[full]
        column = item.get("column", next(iter(columns)) if len(columns) == 1 else None)
        if not isinstance(column, str) or column not in columns:
            raise ConfigError(f"{label}.column", f"{column!r} is not a curve of {path}; "
                              f"curves: {', '.join(columns)}")
        curve = columns[column]
        variant = item.get("variant", specs[0].name if len(specs) == 1 else None)
        if not isinstance(variant, str) or variant not in by_name:
            raise ConfigError(f"{label}.variant", f"{variant!r} is not a run of the run file; "
                              f"runs: {', '.join(by_name)}")
        spec = by_name[variant]
        names = _stage_names(spec.document)
        stage = item.get("stage", names[-1])
        if not isinstance(stage, str) or stage not in names:
            raise ConfigError(f"{label}.stage",
                              f"{stage!r} is not a stage; stages: {', '.join(names)}")
        index = names.index(stage)
        start = float(sum(s.duration_s for s in spec.stages[:index]))
        duration = float(spec.stages[index].duration_s)
        observable = item.get("observable", "visible")
        if not isinstance(observable, str) or observable not in OBSERVABLES:
            raise ConfigError(f"{label}.observable", f"must be one of {', '.join(OBSERVABLES)}")
        group = item.get("scale_group")
        if group is not None and (not isinstance(group, str) or not group):
            raise ConfigError(f"{label}.scale_group", f"must be a name, got {group!r}")
        scale = item.get("scale", "free" if curve.scaled or group else "fixed")
        if not isinstance(scale, str) or scale not in ("free", "fixed"):
            raise ConfigError(f"{label}.scale", f"must be 'free' or 'fixed', got {scale!r}")
        if scale == "fixed" and group is not None:
            raise ConfigError(f"{label}.scale_group", "needs scale = 'free'")
        if scale == "fixed" and curve.scaled:
            raise ConfigError(f"{label}.scale", f"{path} is in arbitrary units "
                              "(signal_unit): its scale must be free")
        offset = item.get("offset", False)
        if not isinstance(offset, bool):
            raise ConfigError(f"{label}.offset", f"must be true or false, got {offset!r}")
        window = _window(f"{label}.time_window_s", item.get("time_window_s"), default_window)
        spec_curve = CurveSpec(label=f"{variant}/{column}", curve=curve, variant=variant,
                               stage_index=index, stage_start_s=start, observable=observable,
                               scale=scale == "free", scale_group=group or f"curve {k}",
                               offset=offset, window=window)
        t = curve.t_s[spec_curve.mask]
        if t.size < 2:
            raise ConfigError(f"{label}.time_window_s", f"keeps {t.size} point(s) of {path}")
        if t[-1] > duration * (1 + 1e-9):
            raise ConfigError(f"{label}.data", f"{path} reaches {t[-1]:g} s, beyond the "
                              f"{duration:g} s of stage {stage!r}")
        if spec_curve.label in labels:
            raise ConfigError(label, f"curve {spec_curve.label} is fitted twice")
        labels.add(spec_curve.label)
        out.append(spec_curve)
    given = {c.curve.sigma is not None for c in out}
    if len(given) > 1:
        raise ConfigError("curve", "give sigma for every curve or for none (without sigmas "
                          "one noise level is estimated from the residuals of all curves)")
    return tuple(out)


def _topspin_curve(label, item, base_dir):
    from .topspin import read_topspin

    path = item["topspin"]
    if not isinstance(path, str):
        raise ConfigError(f"{label}.topspin", "the path of a TopSpin experiment directory")
    full = path if os.path.isabs(path) else os.path.join(base_dir, path)
    thermal = item.get("thermal")
    if isinstance(thermal, str) and not os.path.isabs(thermal):
        thermal = os.path.join(base_dir, thermal)
    opts = {k: item[k] for k in _TOPSPIN_KEYS if k in item and k != "thermal"}
    return read_topspin(full, thermal=thermal, name="topspin", **opts)


def parse_fit_document(doc, base_dir=".", text="", path="<fit>"):
    """Resolve a fit document (a dict as read from TOML); see :func:`load_fit_file`."""
    for k in doc:
        if k not in ("fit", "parameter", "curve"):
            raise ConfigError(k, "unknown table; allowed: fit, parameter, curve")
    fit = doc.get("fit")
    if not isinstance(fit, dict):
        raise ConfigError("fit", "a [fit] table naming the base run file is required")
    _check_keys(fit, "fit", _FIT_KEYS)
    run = fit.get("run")
    if not isinstance(run, str):
        raise ConfigError("fit.run", "the path of the base run file")
    run_path = run if os.path.isabs(run) else os.path.join(base_dir, run)
    base, _ = read_toml(run_path, "fit.run", "run file")
    model = fit.get("model", "continuum")
    if model not in ("continuum", "lattice"):
        raise ConfigError("fit.model", f"must be 'continuum' or 'lattice', got {model!r}")
    base.setdefault("run", {})["model"] = model
    seeds = fit.get("seeds", [] if model == "continuum" else None)
    if model == "lattice":
        if (not isinstance(seeds, list) or not seeds
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                           for x in seeds) or len(set(seeds)) != len(seeds)):
            raise ConfigError("fit.seeds", f"a lattice fit needs a list of distinct sample "
                              f"seeds >= 0 (the same samples in every evaluation, averaged), "
                              f"got {seeds!r}")
    elif seeds:
        raise ConfigError("fit.seeds", "applies to model = 'lattice' only")
    rtol = fit.get("rtol", 1e-8)
    if not is_real(rtol) or not 0 < rtol <= 1e-4:
        raise ConfigError("fit.rtol", f"must be in (0, 1e-4] (a smooth objective), got {rtol!r}")
    base["run"]["rtol"] = float(rtol)
    profiles = fit.get("profiles", True)
    if not isinstance(profiles, bool):
        raise ConfigError("fit.profiles", f"must be true or false, got {profiles!r}")
    params = _parameters(doc.get("parameter"))
    run_dir = os.path.dirname(os.path.abspath(run_path))
    for p in params:
        for variant in base.get("variant", []):
            if p.key in variant.get("set", {}):
                raise ConfigError(f"parameter.{p.key}", f"is set by variant "
                                  f"{variant.get('name')!r} of {run}: it would not be fitted there")
    seeds = tuple(seeds or ())
    probe = FitSpec(path=path, text=text, run_path=run_path, base=base, base_dir=run_dir,
                    parameters=params, curves=(), rtol=float(rtol), profiles=profiles,
                    seeds=seeds)
    for values in ([p.initial for p in params], [p.lower for p in params],
                   [p.upper for p in params]):
        try:
            specs = probe.specs(values, seeds[0] if seeds else None)
            if model == "lattice":
                from ..lattice.sizing import check_fits

                for spec in specs:
                    check_fits(spec.sample, spec.physics, "fit.run")
        except ConfigError as exc:
            owner = next((p.key for p in params if exc.key.startswith(p.key)), None)
            where = f" (with {owner} = {values[[p.key for p in params].index(owner)]:g})" \
                if owner else ""
            raise ConfigError(exc.key, exc.message + where) from None
    specs = probe.specs([p.initial for p in params], seeds[0] if seeds else None)
    window = _window("fit.time_window_s", fit.get("time_window_s"))
    curves = _curves(doc.get("curve"), base_dir, specs, window)
    return FitSpec(path=path, text=text, run_path=run_path, base=base, base_dir=run_dir,
                   parameters=params, curves=curves, rtol=float(rtol), profiles=profiles,
                   seeds=seeds)


def load_fit_file(path):
    """Read and validate a fit file, its run file and every data file it names."""
    doc, text = read_toml(path, "fit file")
    return parse_fit_document(doc, os.path.dirname(os.path.abspath(path)), text,
                              os.fspath(path))


def weights(curve: CurveSpec, sigma_default=1.0):
    """Inverse standard deviations of the curve's points in its window."""
    s = curve.curve.sigma
    m = curve.mask
    return np.full(int(m.sum()), 1.0 / sigma_default) if s is None else 1.0 / s[m]
