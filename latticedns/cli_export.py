"""``latticedns export RESULT.h5 -o curves.csv``: the curves of a result file as CSV or TSV.

The file is in the dialect that :func:`latticedns.fit.data.read_curves` reads
(``docs/fitting.md``, "Data files"), so an exported curve is a fit's data file as it
stands: ``#`` comment lines with the header keys ``# time_unit = s`` and
``# signal_unit = percent``, one header row, then one row per record: the time in s from
the start of the exported stage (``time_s``), then the mean polarization in % of the
visible and of the hidden protons of each run (columns ``RUN_visible``, ``RUN_hidden``;
``,``, ``;``, tabs and quotes in a run name become ``_``).  The other comment lines name
the source, each run with its conditions (B0, T, radical concentration, and per stage
Pbar, tau_c, Gamma_c, the visible and hidden pools and T1, from the stored stage table)
and its validity warnings; none is written as ``key = value``, which the reader would
take for a header key.  Layout: ``docs/hdf5.md``, "Exporting the curves".

Numbers are written as Python's shortest round-trip text (``repr``): reading the file
gives back the exact times and the exact ``100 * polarization`` values.
"""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np

from .errors import ConfigError

__all__ = ["add_export_parser", "export_curves", "SEPARATORS"]

#: Column separator of an output by its extension.
SEPARATORS = {".csv": ",", ".tsv": "\t"}
#: Characters of a run name that a column name cannot hold (separators, quotes, newlines).
_UNSAFE = re.compile(r"[,;\t\"'\r\n]")
#: A comment whose text starts like this is a header key for the reader (fit/data.py).
_LOOKS_LIKE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


def add_export_parser(sub):
    """Register the ``export`` subcommand on an argparse subparsers object."""
    exp = sub.add_parser(
        "export", help="write the curves of a result file as CSV or TSV (time in s, "
                       "polarization in %%)",
        description="Write the visible and hidden polarization curves (%) of the runs of a "
                    "result file, with the time in s from the start of a stage, as CSV or "
                    "TSV (by the output's extension) with the units, runs and conditions in "
                    "a commented header; `latticedns fit` reads the file as data "
                    "(docs/hdf5.md).")
    exp.add_argument("result", help="HDF5 result file (of `latticedns run`, or a campaign "
                                    "store)")
    exp.add_argument("-o", "--output", help="CSV (.csv) or TSV (.tsv) file (default: RESULT "
                                            "name + .csv)")
    exp.add_argument("--run", action="append", metavar="NAME",
                     help="export only this run (repeatable; default: every run)")
    exp.add_argument("--stage", metavar="NAME",
                     help="the stage whose records are exported, with times from its start "
                          "(default: the last stage, usually the detection); 'all': every "
                          "record, times from the start of the first stage")
    exp.add_argument("--force", action="store_true", help="overwrite an existing output")
    exp.set_defaults(func=_cmd_export)


def _cmd_export(args):
    output = args.output or os.path.splitext(os.path.basename(args.result))[0] + ".csv"
    summary = export_curves(args.result, output, runs=args.run, stage=args.stage,
                            force=args.force)
    print(f"wrote {output}: {summary['n_runs']} run(s), {summary['n_rows']} rows of "
          f"{summary['stage']}")
    return 0


def _stages_of(rec):
    """``(names, start times in s)`` of a record's stages: from its stage table, else
    (files written before it existed) from its parameters, named by index."""
    if rec.stages is not None:
        return list(rec.stages.name), [float(t) for t in rec.stages.t_start_s]
    items = rec.parameters.get("stage")
    if not isinstance(items, list) or not items:
        raise ConfigError("--stage", f"run {rec.name!r} records no stages; export it with "
                                     f"--stage all")
    starts, t0 = [], 0.0
    for item in items:
        starts.append(t0)
        if "duration_s" in item:
            t0 += item["duration_s"]
        elif "n_pulses" in item and "interval_s" in item:
            t0 += item["n_pulses"] * item["interval_s"]
    return [f"{k}" for k in range(len(items))], starts


def _stage_index(rec, names, stage):
    if stage is None:
        return len(names) - 1
    if rec.stages is not None:
        try:
            return rec.stages.index(stage)
        except ConfigError:
            pass
    elif stage in names:
        return names.index(stage)
    raise ConfigError("--stage", f"run {rec.name!r} has no stage {stage!r}; stages: "
                                 f"{', '.join(names)}, or 'all'")


def _select(rec, stage):
    """``(t_s, visible, hidden, stage indices)`` of the exported records of a run."""
    r = rec.result
    if stage == "all":
        n = len(rec.stages) if rec.stages is not None else \
            (int(r.stage.max()) + 1 if r.stage.size else 0)
        return r.t_s, r.visible, r.hidden, list(range(n))
    names, starts = _stages_of(rec)
    k = _stage_index(rec, names, stage)
    sel = r.stage == k
    return r.t_s[sel] - starts[k], r.visible[sel], r.hidden[sel], [k]


def _comment(text):
    """One header comment line: newlines flattened, never read as a header key."""
    text = " ".join(str(text).split())
    return "# " + ("- " + text if _LOOKS_LIKE_KEY.match(text) else text)


def _g(value, unit=""):
    return f"{value:.6g}{' ' + unit if unit else ''}"


def _run_line(rec, n_rows):
    p = rec.parameters
    physics, sample = p.get("physics", {}), p.get("sample", {})
    parts = [f"model {rec.model}", f"seed {rec.seed}"]
    for label, table, key, unit in (("B0", physics, "b0_T", "T"),
                                    ("T", physics, "temperature_K", "K"),
                                    ("radical", sample, "radical_mM", "mM"),
                                    ("T1 bulk", physics, "t1_bulk_s", "s")):
        if isinstance(table, dict) and isinstance(table.get(key), (int, float)):
            parts.append(f"{label} {_g(table[key], unit)}")
    if isinstance(physics, dict) and isinstance(physics.get("preset"), str):
        parts.append(f"preset {physics['preset']}")
    parts.append(f"{n_rows} records")
    return _comment(f"run {rec.name!r}: " + ", ".join(parts))


def _stage_line(rec, k):
    st = rec.stages
    if st is None or k >= len(st):
        return None
    if st.n_visible is not None:
        pools = (f"visible {st.n_visible[k]} protons ({_g(100 * st.visible_fraction[k])} %), "
                 f"hidden {st.n_hidden[k]} ({_g(100 * st.hidden_fraction[k])} %)")
    else:
        pools = (f"visible {_g(100 * st.visible_fraction[k])} % of the volume, hidden "
                 f"{_g(100 * st.hidden_fraction[k])} % (r_b {_g(st.boundary_radius_nm[k], 'nm')})")
    return _comment(
        f"run {rec.name!r} stage {st.name[k]!r} ({st.type[k]}, from {_g(st.t_start_s[k], 's')} "
        f"for {_g(st.duration_s[k], 's')}): microwaves {_g(st.power_mW[k], 'mW')}, Pbar "
        f"{_g(st.pbar[k])}, tau_c {_g(st.tau_c_us[k], 'us')}, Gamma_c "
        f"{_g(st.gamma_c_rad_per_s[k], 'rad/s')}, {pools} at Pbar {_g(st.pool_pbar[k])} and "
        f"{_g(st.pool_bandwidth_kHz[k], 'kHz')}, T1 visible {_g(st.t1_visible_s[k], 's')}, "
        f"hidden {_g(st.t1_hidden_s[k], 's')}")


def _column(name, observable):
    return f"{_UNSAFE.sub('_', name)}_{observable}"


def export_curves(result, output, runs=None, stage=None, force=False):
    """Write the curves of runs of a result file as CSV or TSV (module docstring).

    Parameters
    ----------
    result : str or os.PathLike
        HDF5 result file.
    output : str or os.PathLike
        ``.csv`` (comma-separated) or ``.tsv`` (tab-separated); written atomically.
    runs : sequence of str, optional
        Run names (default: every run, in file order).
    stage : str, optional
        Stage name (or index) whose records are exported, times from its start; default
        the last stage; ``"all"``: every record, times from the start of the first stage.
    force : bool
        Overwrite an existing output.

    Returns
    -------
    dict
        ``n_runs``, ``n_rows``, ``stage`` (a description), ``columns``, ``omitted``
        (columns left out because they hold NaN: an empty pool).

    Raises
    ------
    ConfigError
        Bad output name or existing output without ``force`` (before reading), an unknown
        run or stage, runs whose record times differ, a selection of fewer than two
        records or with repeated times (which a curve file cannot hold).
    """
    from . import __version__
    from .store import check_output_path, read_run, refuse_inputs, run_names
    from .store._atomic import atomic_write_text

    result, output = os.fspath(result), os.fspath(output)
    ext = os.path.splitext(output)[1].lower()
    if ext not in SEPARATORS:
        raise ConfigError("output", f"must end in {' or '.join(SEPARATORS)} (the separator "
                                    f"follows the extension), got {output!r}")
    check_output_path(output, force)
    refuse_inputs([output], [result])
    names = run_names(result)
    if not names:
        raise ConfigError("result", f"{result} holds no runs")
    chosen = list(dict.fromkeys(runs)) if runs else names
    missing = [n for n in chosen if n not in names]
    if missing:
        raise ConfigError("--run", f"no run {missing[0]!r} in {result}; runs: "
                                   f"{', '.join(names)}")
    records = [read_run(result, n) for n in chosen]
    picked = [(rec, *_select(rec, stage)) for rec in records]
    t = picked[0][1]
    for rec, ti, *_ in picked[1:]:
        if ti.shape != t.shape or not np.array_equal(ti, t):
            raise ConfigError("--run", f"runs {records[0].name!r} and {rec.name!r} have "
                                       f"different record times; export them one at a time "
                                       f"(--run NAME)")
    what = "every stage" if stage == "all" else f"stage {_stage_label(records[0], stage)}"
    if t.size < 2:
        raise ConfigError("--stage", f"{what} of run {records[0].name!r} has {t.size} "
                                     f"record(s); a curve file needs two or more (a timed "
                                     f"stage records n_outputs times)")
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ConfigError("--stage", f"records {i} and {i + 1} of run {records[0].name!r} "
                                     f"share the time {t[i]:g} s (a stage ends where the "
                                     f"next one records its first point), which a curve "
                                     f"file cannot hold; export one stage (--stage NAME)")
    columns, omitted = {}, []
    for rec, _, vis, hid, _ in picked:
        for observable, values in (("visible", vis), ("hidden", hid)):
            name = _column(rec.name, observable)
            if name in columns or name in omitted:
                raise ConfigError("--run", f"two runs give the column {name!r} (separators "
                                           f"and quotes in run names become '_'); export "
                                           f"them one at a time (--run NAME)")
            if np.all(np.isfinite(values)):
                columns[name] = 100.0 * values
            else:
                omitted.append(name)
    if not columns:
        raise ConfigError("--run", f"every selected curve holds NaN (empty pools): "
                                   f"{', '.join(omitted)}")
    lines = [_comment(f"latticedns {__version__} export of {result}: mean polarization of "
                      f"the visible and hidden protons in percent against time in s"),
             "# time_unit = s", "# signal_unit = percent",
             _comment(f"time_s: s from the start of {'the first stage' if stage == 'all' else what}"
                      f" of each run; columns RUN_visible, RUN_hidden: % (fraction x 100)")]
    for rec, ti, _, _, ks in picked:
        lines.append(_run_line(rec, ti.size))
        lines.extend(line for line in (_stage_line(rec, k) for k in ks) if line)
        lines.extend(_comment(f"run {rec.name!r} warning: {w}") for w in rec.warnings)
    if omitted:
        lines.append(_comment(f"omitted (NaN, an empty pool): {', '.join(omitted)}"))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=SEPARATORS[ext], lineterminator="\n")
    writer.writerow(["time_s", *columns])
    table = [t, *columns.values()]
    writer.writerows([repr(float(x)) for x in row] for row in zip(*table))
    atomic_write_text(output, "\n".join(lines) + "\n" + buf.getvalue(), force=force)
    return {"n_runs": len(records), "n_rows": int(t.size), "stage": what,
            "columns": list(columns), "omitted": omitted}


def _stage_label(rec, stage):
    names, _ = _stages_of(rec)
    k = _stage_index(rec, names, stage)
    return f"{names[k]!r} (index {k})"
