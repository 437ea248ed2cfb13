"""Execute a resolved run: build the model, drive the protocol, collect a record."""

import json
import sys
import time
from dataclasses import asdict

import numpy as np

from ..continuum import ContinuumModel
from ..lattice import generate_sample
from ..lattice.model import LatticeModel
from ..protocol import STAGE_TYPES, iter_protocols, run_protocol
from ..protocol.microwave import MicrowaveSetting

__all__ = ["build_model", "parameters_of", "protocol_options", "stage_rows", "execute_run",
           "execute_runs"]

_STAGE_NAMES = {cls: name for name, cls in STAGE_TYPES.items()}


def build_model(spec):
    """The model of a :class:`~latticedns.experiment.config.RunSpec` and its sample (or None)."""
    if spec.model == "lattice":
        sample = generate_sample(spec.sample)
        return LatticeModel(sample, spec.physics), sample
    return ContinuumModel(spec.physics), None


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def parameters_of(spec):
    """Every parameter of a run after defaults, as a JSON-serializable nested dict."""
    stages = [{"type": _STAGE_NAMES[type(s)], **asdict(s)} for s in spec.stages]
    return _plain({
        "run": dict(spec.run),
        "sample": spec.sample.to_dict(),
        "physics": {"preset": spec.preset, **asdict(spec.physics)},
        "microwave": asdict(spec.calibration),
        "stage": stages,
    })


def protocol_options(run):
    """The :func:`~latticedns.protocol.run_protocol` keyword arguments of a ``[run]`` table."""
    return dict(bandwidth_kHz=run["bandwidth_kHz"], profile_edges_nm=run["profile_edges_nm"],
                profile_times_s=run["profile_times_s"], method=run["method"],
                solver=run["solver"], rtol=run["rtol"],
                visible_pool=run["visible_pool"], pulse_model=run["pulse_model"])


def _positions(sample):
    if sample is None:
        return None
    return {"protons_nm": sample.protons_nm, "radicals_nm": sample.radicals_nm,
            "box_nm": sample.box_nm}


def _stage_names(spec):
    """The name of each stage: its ``[[stage]]`` name in the run document, else its index."""
    items = spec.document.get("stage") if isinstance(spec.document, dict) else None
    items = items if isinstance(items, list) and len(items) == len(spec.stages) else \
        [{}] * len(spec.stages)
    return [item.get("name", f"{k}") if isinstance(item, dict) else f"{k}"
            for k, item in enumerate(items)]


def _mean_t1(rates):
    """1 / mean rate in s (nan for an empty pool, inf for a zero rate)."""
    if not np.size(rates) or np.all(np.isnan(rates)):
        return float("nan")
    with np.errstate(divide="ignore"):
        return float(1.0 / np.mean(rates))


#: Gauss-Legendre nodes and weights on [-1, 1] of the continuum pools' volume means.
_GAUSS = np.polynomial.legendre.leggauss(64)


def _shell_mean(fn, lo, hi):
    """Volume mean ``int r^2 fn(r) dr / int r^2 dr`` over ``[lo, hi]`` nm (nan if empty)."""
    if not hi > lo:
        return float("nan")
    x, w = _GAUSS
    r = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    return float(np.sum(w * r * r * fn(r)) / np.sum(w * r * r))


def _pools(kind, model, condition, pbar, bandwidth_kHz):
    """Visible and hidden pools of a model at ``pbar`` and a bandwidth, and their T1.

    Lattice: the counts of the protons of each pool (those of ``model.visible``, which the
    observables and the pulses use) and 1 / their mean of ``2 Gamma_1 + 1/T1_bulk``.
    Continuum: the volume fractions of the shells ``[r_b, r_out]`` (visible) and
    ``[r_in, r_b]`` (hidden) and 1 / the volume mean of the relaxation rate R(r) over each
    (64-point Gauss-Legendre).  Read-only: nothing of the model's caches changes.
    """
    if kind == "lattice":
        visible = model.visible(pbar, bandwidth_kHz)
        n, n_visible = model.n, int(np.count_nonzero(visible))
        rate = model.relaxation(condition)
        return {"n_visible": n_visible, "n_hidden": n - n_visible,
                "visible_fraction": n_visible / n, "hidden_fraction": (n - n_visible) / n,
                "t1_visible_s": _mean_t1(rate[visible]), "t1_hidden_s": _mean_t1(rate[~visible])}
    rb = model.boundary_radius_nm(pbar, bandwidth_kHz)
    r0, r1 = float(model.vertices_nm[0]), float(model.vertices_nm[-1])
    rc = min(max(rb, r0), r1)
    total = r1 ** 3 - r0 ** 3

    def rate(r):
        return model.relaxation(condition, r)

    with np.errstate(divide="ignore"):
        t1_visible, t1_hidden = 1.0 / np.array([_shell_mean(rate, rc, r1),
                                                _shell_mean(rate, r0, rc)])
    return {"boundary_radius_nm": rb, "visible_fraction": (r1 ** 3 - rc ** 3) / total,
            "hidden_fraction": (rc ** 3 - r0 ** 3) / total,
            "t1_visible_s": float(t1_visible), "t1_hidden_s": float(t1_hidden)}


def stage_rows(spec, model, result):
    """The electron and proton conditions of every stage of a run, one dict per stage.

    The microwave setting and the visible pool of each stage are those the protocol
    logged while it ran (``result.cost["stages"]``, :func:`latticedns.protocol.run_protocol`);
    the rest is evaluated from them (no operator, no propagation).  Keys and units:
    ``STAGE_COLUMNS`` of :mod:`latticedns.store.records`.

    Parameters
    ----------
    spec : RunSpec
    model : LatticeModel or ContinuumModel
        The run's model (:func:`build_model`).
    result : ProtocolResult
        The run's result.

    Returns
    -------
    list of dict
    """
    cal = spec.calibration
    t1_bulk = float(model.params.t1_bulk_s)
    t0, rows, pools = 0.0, [], {}
    for name, stage, log in zip(_stage_names(spec), spec.stages, result.cost["stages"]):
        mw = MicrowaveSetting(log["power_mW"], log["dnp_sign"])
        cond = cal.condition(mw)
        pool = (log["pool_pbar"], log["pool_bandwidth_kHz"])
        key = (cond, *pool)
        if key not in pools:
            pools[key] = _pools(spec.model, model, cond, *pool)
        rows.append({
            "name": name, "type": _STAGE_NAMES[type(stage)], "t_start_s": t0,
            "duration_s": stage.duration_s, "power_mW": mw.power_mW, "dnp_sign": mw.dnp_sign,
            "pbar": cond.pbar, "tau_c_us": cond.tau_c_us, "gamma_c_rad_per_s": cond.gamma_c,
            "relaxation_tau_c_us": cond.tau_c_us if cond.relaxation_tau_c_us is None
            else cond.relaxation_tau_c_us,
            "dnp_rate_per_s": cond.dnp_rate_per_s, "dnp_target": cond.dnp_target,
            "pool_pbar": pool[0], "pool_bandwidth_kHz": pool[1], "t1_bulk_s": t1_bulk,
            **pools[key]})
        t0 += stage.duration_s  # as the protocol's clock
    return rows


def _extras(spec, model, result):
    """The record's ``stages``, ``warnings`` and ``sample_toml`` of a run."""
    from ..store import StageTable, geometry_toml

    origin = spec.run.get("sample")
    comment = (f"Resolved sample of run {spec.name!r}" + (f" (from {origin})" if origin else "")
               + ", after run.seed, run.n_radicals and [sample] changes.\nUsable as a "
                 "geometry file (run.sample); written by latticedns.")
    return dict(stages=StageTable.from_rows(stage_rows(spec, model, result)),
                warnings=tuple(spec.warnings),
                sample_toml=geometry_toml(spec.sample.to_dict(), comment))


def _model_key(spec):
    """Runs with equal keys share the model and the protocol options (all but the stages)."""
    params = parameters_of(spec)
    del params["stage"]
    params["run"].pop("name", None)
    return json.dumps(params, sort_keys=True)


def _sample_key(spec):
    """Runs with equal keys have the same model (sample and physics): reusable."""
    return json.dumps({"model": spec.model, "sample": spec.sample.to_dict(),
                       "physics": _plain(asdict(spec.physics))}, sort_keys=True, default=str)


def execute_runs(specs, progress=None, models=None):
    """Simulate several runs, sharing what they have in common.

    Runs whose parameters differ only in their stages (the variants of a power series, say)
    share one model and go through :func:`latticedns.protocol.iter_protocols`, so the
    stages they begin with in common (the preparation) are computed once; each record is
    the one :func:`execute_run` gives, bit for bit.

    Parameters
    ----------
    specs : sequence of RunSpec
    progress : callable, optional
        ``progress(spec_index, stage_index, n_stages, fraction, elapsed_s)``.
    models : dict, optional
        A cache kept by the caller across calls (fits): the model of a sample and physics
        is built once and reused (its cached operators too), so evaluations that change
        only microwave or stage values rebuild nothing.  The records are the same bits.

    Yields
    ------
    (int, latticedns.store.RunRecord)
        The index of the spec in ``specs`` and its record: runs that share a model come
        together, in the order of the first of them; in ``specs`` order within a group.
    """
    from ..store import RunRecord

    groups = {}
    for index, spec in enumerate(specs):
        groups.setdefault(_model_key(spec), []).append(index)
    for members in groups.values():
        tick = time.perf_counter()
        first = specs[members[0]]
        if models is None:
            model, sample = build_model(first)
        else:
            key = _sample_key(first)
            if key not in models:
                models[key] = build_model(first)
            model, sample = models[key]
        report = None if progress is None else (
            lambda i, *a, members=members: progress(members[i], *a))
        results = iter_protocols(model, [specs[i].stages for i in members], first.calibration,
                                 progress=report, **protocol_options(first.run))
        finer = _finer_results(first, [specs[i].stages for i in members])
        for index, result in zip(members, results):
            spec = specs[index]
            if finer is not None:
                _attach_mesh_error(result, next(finer), first.run["rtol"], spec.name)
            extras = _extras(spec, model, result)
            yield index, RunRecord(name=spec.name, parameters=parameters_of(spec),
                                   seed=spec.sample.seed, model=spec.model, result=result,
                                   sample=_positions(sample), wall_s=time.perf_counter() - tick,
                                   **extras)
            tick = time.perf_counter()


def _finer_results(spec, stage_lists):
    """The runs on a mesh twice as fine (``run.mesh_check``), or None."""
    if not spec.run.get("mesh_check"):
        return None
    params = spec.physics.replace(mesh_refinement=2.0 * spec.physics.mesh_refinement)
    return iter(list(iter_protocols(ContinuumModel(params), stage_lists, spec.calibration,
                                    **protocol_options(spec.run))))


def _attach_mesh_error(result, fine, rtol, name):
    """Store the estimated mesh error of ``result`` in its cost (``mesh_error``) and warn on
    stderr where it exceeds ``rtol``.

    Per observable: the largest difference to the twice-finer mesh over every record,
    relative to the observable's largest magnitude in the last stage, divided by
    ``1 - 2^-3`` (the P2 mesh converges at third order in the mesh size: measured,
    ``docs/performance.md``).
    """
    last = fine.stage == fine.stage.max()
    est = {}
    for key in ("visible", "hidden"):
        a, b = getattr(result, key), getattr(fine, key)
        scale = float(np.nanmax(np.abs(b[last]))) if np.any(last) else float("nan")
        est[key] = float(np.nanmax(np.abs(a - b)) / scale / (1.0 - 2.0 ** -3))
    result.cost["mesh_error"] = est
    worst = max(est, key=est.get)
    if est[worst] > rtol:
        print(f"warning: run {name!r}: estimated mesh error {est[worst]:.1e} of the "
              f"{worst} maximum exceeds run.rtol = {rtol:g}; raise physics.mesh_refinement",
              file=sys.stderr)


def execute_run(spec, progress=None):
    """Simulate one run.

    Parameters
    ----------
    spec : RunSpec
    progress : callable, optional
        ``progress(stage_index, n_stages, fraction, elapsed_s)``.

    Returns
    -------
    latticedns.store.RunRecord
    """
    from ..store import RunRecord

    tick = time.perf_counter()
    model, sample = build_model(spec)
    result = run_protocol(model, spec.stages, spec.calibration, progress=progress,
                          **protocol_options(spec.run))
    finer = _finer_results(spec, [spec.stages])
    if finer is not None:
        _attach_mesh_error(result, next(finer), spec.run["rtol"], spec.name)
    extras = _extras(spec, model, result)
    return RunRecord(name=spec.name, parameters=parameters_of(spec), seed=spec.sample.seed,
                     model=spec.model, result=result, sample=_positions(sample),
                     wall_s=time.perf_counter() - tick, **extras)
