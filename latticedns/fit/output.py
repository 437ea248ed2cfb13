"""A fit's results out: the terminal report, ``FIT.h5`` and the best-fit run file.

``FIT.h5`` layout (read with plain h5py; strings are UTF-8, ``.asstr()`` reads them back):

``/`` attributes
    ``latticedns_version``, ``fit_file`` (its text), ``fit_path``, ``run_file`` (the base run
    file's path), ``chi2``, ``dof``, ``reduced_chi2``, ``sigma_given``, ``n_evaluations``,
    ``wall_s``, ``workers`` (processes that simulated the seeds; 0: the fit's own),
    ``warnings`` (JSON list), ``data_files`` (JSON: path -> SHA-256), ``seeds``
    and ``seed_noise`` (lattice fits: the samples, and the rms scatter of their mean per
    curve in units of sigma; JSON lists).
``/parameters`` attributes per parameter key, JSON: value, stderr, lower95, upper95,
    interval_method, scale, initial, bounds (the key's unit).
``/correlation`` dataset (k, k), attribute ``keys`` (JSON list).
``/curves/<i>`` datasets ``t_s``, ``data``, ``sigma``, ``model``, ``residual`` (units of
    sigma); attributes ``label``, ``scale``, ``offset``.
``/profiles/<i>`` dataset (m, 2): parameter value and Delta chi^2 / s^2; attribute ``key``.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ..examples import is_bundled_name, resolve_sample
from ..tomlfile import dump_toml

__all__ = ["report", "write_fit", "read_fit_summary", "read_fit", "is_fit_file",
           "best_run_document"]


def report(result, spec) -> str:
    """The terminal report of a fit (parameters, goodness of fit, warnings)."""
    lines = [f"fit of {len(spec.curves)} curve(s), {spec.n_points} points, to {spec.run_path}"]
    lines.append(f"{'parameter':<28} {'value':>12} {'stderr':>10}   95 % interval ({'method'})")
    for p in result.parameters:
        lines.append(f"{p.key:<28} {p.value:>12.5g} {p.stderr:>10.3g}   "
                     f"[{p.lower95:.5g}, {p.upper95:.5g}] ({p.interval_method})")
    if len(result.parameters) > 1:
        keys = [p.key for p in result.parameters]
        lines.append("correlation: " + "; ".join(
            f"{keys[i]} / {keys[j]} {result.correlation[i, j]:+.3f}"
            for i in range(len(keys)) for j in range(i + 1, len(keys))))
    for c in result.curves:
        res = c.residual
        lag1 = float(np.corrcoef(res[:-1], res[1:])[0, 1]) if res.size > 2 else math.nan
        lines.append(f"curve {c.label}: scale {c.scale:.5g}, offset {c.offset:.3g}, "
                     f"residual rms {np.sqrt(np.mean(res ** 2)):.3g} sigma, mean "
                     f"{res.mean():+.3g}, lag-1 correlation {lag1:+.2f}")
    if result.sigma_given:
        fit_line = (f"chi^2 = {result.chi2:.6g}, dof = {result.dof}, reduced chi^2 = "
                    f"{result.reduced_chi2:.4g} (the data's sigmas)")
    else:
        noise = math.sqrt(result.reduced_chi2)
        fit_line = (f"no sigmas given: noise estimated from the residuals, {noise:.3g} "
                    f"(polarization fraction; raw units for arbitrary-unit curves), "
                    f"chi^2 / dof = 1 by construction, dof = {result.dof}")
    where = (f" ({len(spec.seeds)} seeds on {result.workers} worker processes)"
             if result.workers else "")
    lines.append(f"{fit_line}; {result.n_evaluations} evaluations in {result.wall_s:.1f} s"
                 + where)
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def write_fit(path, result, spec, force=False):
    """Write ``FIT.h5`` (layout: module docstring) atomically (a temporary file moved onto
    ``path``; an existing file is replaced only with ``force``)."""
    from .. import __version__
    from ..store._atomic import atomic_write

    def fill(f):
        f.attrs["latticedns_version"] = __version__
        f.attrs["fit_file"] = spec.text
        f.attrs["fit_path"] = os.fspath(spec.path)
        f.attrs["run_file"] = os.fspath(spec.run_path)
        for key in ("chi2", "dof", "reduced_chi2", "sigma_given", "n_evaluations", "wall_s",
                    "workers"):
            f.attrs[key] = getattr(result, key)
        f.attrs["warnings"] = json.dumps(result.warnings)
        f.attrs["seed_noise"] = json.dumps(result.seed_noise)
        f.attrs["seeds"] = json.dumps(list(spec.seeds))
        f.attrs["data_files"] = json.dumps({c.curve.source: c.curve.sha256 for c in spec.curves})
        g = f.create_group("parameters")
        for p in result.parameters:
            g.attrs[p.key] = json.dumps({k: (list(v) if isinstance(v, tuple) else v)
                                         for k, v in vars(p).items() if k != "key"},
                                        default=float)
        d = f.create_dataset("correlation", data=np.asarray(result.correlation, float))
        d.attrs["keys"] = json.dumps([p.key for p in result.parameters])
        curves = f.create_group("curves")
        for i, c in enumerate(result.curves):
            h = curves.create_group(str(i))
            for key in ("t_s", "data", "sigma", "model", "residual"):
                h.create_dataset(key, data=np.asarray(getattr(c, key), float))
            h.attrs.update(label=c.label, scale=c.scale, offset=c.offset)
        prof = f.create_group("profiles")
        for i, (key, points) in enumerate(result.profiles.items()):
            ds = prof.create_dataset(str(i), data=np.asarray(points, float).reshape(-1, 2))
            ds.attrs["key"] = key

    atomic_write(path, fill, force=force)


def read_fit_summary(path) -> dict:
    """The parameters, chi^2 and warnings of a ``FIT.h5`` as plain Python objects."""
    import h5py

    with h5py.File(path, "r") as f:
        return {"parameters": {k: json.loads(v) for k, v in f["parameters"].attrs.items()},
                "chi2": float(f.attrs["chi2"]), "dof": int(f.attrs["dof"]),
                "warnings": json.loads(f.attrs["warnings"])}


def best_run_document(result, spec) -> str:
    """The base run file with the fitted values set, as TOML text (``--write-run``)."""
    doc = spec.document([p.value for p in result.parameters])
    header = (f"# Best fit of {os.path.basename(spec.path)} (latticedns fit): "
              + ", ".join(f"{p.key} = {p.value:.6g} [{p.lower95:.4g}, {p.upper95:.4g}]"
                          for p in result.parameters) + "\n")
    run = doc.get("run", {})
    sample = run.get("sample")
    if isinstance(sample, str) and not is_bundled_name(sample) and not os.path.isabs(sample):
        run["sample"] = resolve_sample(sample, spec.base_dir)
    return header + dump_toml(doc)


def read_fit(path) -> dict:
    """Everything a figure needs from a ``FIT.h5``: ``curves`` (list of dicts of arrays and
    label), ``profiles`` ({key: (m, 2) array}), ``parameters`` and ``warnings``."""
    import h5py

    out = read_fit_summary(path)
    with h5py.File(path, "r") as f:
        out["curves"] = [dict({k: f["curves"][i][k][()] for k in f["curves"][i]},
                              label=str(f["curves"][i].attrs["label"]))
                         for i in sorted(f["curves"], key=int)]
        out["profiles"] = {str(f["profiles"][i].attrs["key"]): f["profiles"][i][()]
                           for i in sorted(f["profiles"], key=int)}
    return out


def is_fit_file(path) -> bool:
    """True for a ``FIT.h5`` written by :func:`write_fit`."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "fit_file" in f.attrs
    except OSError:
        return False
