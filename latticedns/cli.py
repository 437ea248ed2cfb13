"""Command-line interface: ``latticedns run|plot|figure|bench|campaign|fit|export|examples``
(:data:`COMMANDS`; ``fit``, ``export`` and ``examples`` live in their own ``cli_*`` modules).

Bad input is reported as one line on stderr with exit code 2, before anything is written;
an existing output file is never overwritten without ``--force``.  ``latticedns run``
writes each run as soon as it finishes, so an interruption loses only the run in progress;
``--resume`` adds the missing runs to such a file.  Long work reports progress on stderr
(:class:`_Status`): a status line on a terminal, else a line every
:data:`PROGRESS_INTERVAL_S` seconds.
"""

import argparse
import math
import os
import sys

from .errors import ConfigError
from .cli_examples import add_examples_parser
from .cli_export import add_export_parser
from .cli_fit import add_fit_parser
from .store import check_output_path, refuse_inputs

__all__ = ["main", "build_parser", "COMMANDS", "PROGRESS_INTERVAL_S"]

FIGURES = ("fig3a", "fig3b")


def _save_atomically(fig, path):
    import matplotlib.pyplot as plt

    root, ext = os.path.splitext(path)
    tmp = f"{root}.partial{ext}"
    try:
        fig.savefig(tmp, dpi=fig.dpi)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    finally:
        plt.close(fig)  # pyplot keeps every figure until closed


def _figure_keys():
    """``{key: (default, what it takes)}`` of the fields ``figure --set`` changes."""
    import dataclasses

    from .diffusion import DiffusionConditions

    out = {}
    for f in dataclasses.fields(DiffusionConditions):
        default = f.default
        takes = ("true or false" if isinstance(default, bool) else
                 "a number or none" if default is None else
                 "a number" if isinstance(default, (int, float)) else "a name")
        out[f.name] = (default, takes)
    return out


def _figure_value(key, value, default):
    """``value`` (text) as the type of the field's ``default``."""
    text = value.strip()
    if isinstance(default, bool):
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if isinstance(default, str):
        return text
    if default is None and text.lower() == "none":
        return None
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(key, f"expected a number{' or none' if default is None else ''}, "
                               f"got {value!r}") from None
    return int(number) if isinstance(default, int) and number.is_integer() else number


def _cmd_figure(args):
    from .diffusion import DiffusionConditions

    keys = _figure_keys()
    overrides = {}
    for item in args.set or []:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            raise ConfigError("--set", f"expected KEY=VALUE, got {item!r}; keys: {', '.join(keys)}")
        if key not in keys:
            raise ConfigError("--set", f"unknown key {key!r}; keys: {', '.join(keys)}")
        overrides[key] = _figure_value(key, value, keys[key][0])
    if args.preset is not None:  # the preset's Fig. 3 readings; --set keys win
        from .experiment.presets import PRESETS

        physics = PRESETS[args.preset].physics
        for key in ("splitting_factor", "gamma2_II_kHz"):
            overrides.setdefault(key, physics[key])
    conditions = DiffusionConditions(**overrides)
    if not 10 <= args.dpi <= 1200:
        raise ConfigError("--dpi", f"must be in [10, 1200], got {args.dpi}")
    output = args.output or f"{args.name}.png"
    check_output_path(output, args.force)
    from .plotting import plot_fig3a, plot_fig3b

    fig = (plot_fig3a if args.name == "fig3a" else plot_fig3b)(conditions)
    fig.set_dpi(args.dpi)
    _save_atomically(fig, output)
    print(f"wrote {output}")
    return 0


#: Seconds between two progress lines on stderr when it is not a terminal (a log, a pipe).
PROGRESS_INTERVAL_S = 10.0


def _duration(seconds):
    """``"12.3 s"`` up to 120 s, else ``"4.5 min"`` (or ``"?"``)."""
    if not math.isfinite(seconds):
        return "?"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class _Status:
    """Progress of a long command on stderr.

    On a terminal: :meth:`update` redraws one self-overwriting line.  Elsewhere (a log
    file, a pipe, a batch queue): the latest status as a line of its own,
    ``[PREFIX  ELAPSED s] status``, every ``interval_s`` seconds (default
    :data:`PROGRESS_INTERVAL_S`) from a background thread, so that a line also comes
    during a long step that reports nothing; nothing for work shorter than that.

    Parameters
    ----------
    prefix : str
        Command name in the lines (``"run"``, ``"campaign"``, ``"bench"``).
    stream : file, optional
        Default ``sys.stderr`` at construction.
    interval_s : float, optional
    """

    def __init__(self, prefix, stream=None, interval_s=None):
        import threading
        import time

        self.prefix, self.stream = prefix, sys.stderr if stream is None else stream
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self._clock = time.perf_counter
        self.start = self._last = self._clock()
        self._status, self._drawn = None, False
        self._lock, self._stop = threading.Lock(), threading.Event()
        self.interval_s = PROGRESS_INTERVAL_S if interval_s is None else float(interval_s)
        self._thread = None
        if not self.tty and self.interval_s > 0:
            self._thread = threading.Thread(target=self._beat, name=f"latticedns-{prefix}-progress",
                                            daemon=True)
            self._thread.start()

    def elapsed(self):
        """Seconds since the start."""
        return self._clock() - self.start

    def update(self, status, tty_line=None):
        """Set the status: a string, or a function of the elapsed seconds giving one
        (evaluated when a line is written); on a terminal, draw ``tty_line`` (default
        the status)."""
        with self._lock:
            self._status = status
            if self.tty:
                line = tty_line if tty_line is not None else self._text()
                self.stream.write("\r" + line + "\x1b[K")
                self.stream.flush()
                self._drawn = True

    def set(self, status):
        """Set the status for the background lines without drawing anything."""
        with self._lock:
            self._status = status

    def say(self, line):
        """Write ``line`` now (terminal or not); the later background lines repeat it
        as ``line (still running)``."""
        with self._lock:
            self._status = f"{line} (still running)"
            self._write(line)

    def _text(self):
        s = self._status
        return s(self.elapsed()) if callable(s) else str(s)

    def _write(self, text):
        self.stream.write(f"[{self.prefix} {self.elapsed():7.1f} s] {text}\n")
        self.stream.flush()
        self._last = self._clock()

    def _beat(self):
        while not self._stop.wait(max(0.01, self._last + self.interval_s - self._clock())):
            with self._lock:
                if self._status is not None and self._clock() - self._last >= self.interval_s:
                    self._write(self._text())

    def close(self):
        """Stop the background lines; end a terminal's status line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            if self.tty and self._drawn:
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _cmd_bench(args):
    import json

    from .benchmark import benchmark_sample, run_benchmark
    from .lattice.sizing import check_fits
    from .propagation.solvers import SOLVERS

    if args.protons < 500:
        raise ConfigError("--protons", f"must be >= 500, got {args.protons}")
    if not 0 < args.cutoff_nm <= 3:
        raise ConfigError("--cutoff-nm", f"must be in (0, 3] nm, got {args.cutoff_nm}")
    if not 1e-12 <= args.rtol <= 0.1:
        raise ConfigError("--rtol", f"must be in [1e-12, 0.1], got {args.rtol}")
    for key, value, allowed in (("--method", args.method, ("auto", "krylov", "dense")),
                                ("--solver", args.solver, SOLVERS)):
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    if args.compare_bdf is not None and args.compare_bdf <= 0:
        raise ConfigError("--compare-bdf", f"must be > 0 s, got {args.compare_bdf}")
    try:
        sample = benchmark_sample(args.protons, args.cutoff_nm, args.seed)
    except ConfigError as exc:
        raise ConfigError("--protons", exc.message) from None
    size = check_fits(*sample, "--protons")
    # a line per step; not on a terminal, also one every PROGRESS_INTERVAL_S within a step
    with _Status("bench") as status:
        status.say(f"estimate: ~{size.pairs:,} pairs, ~{size.gigabytes:.1f} GB")
        result = run_benchmark(args.protons, cutoff_nm=args.cutoff_nm, method=args.method,
                               solver=args.solver, rtol=args.rtol, seed=args.seed,
                               reference=not args.no_reference, bdf_limit_s=args.compare_bdf,
                               progress=status.say)
    print(json.dumps(result))
    return 0


class _Progress:
    """Progress of ``latticedns run`` (:class:`_Status`): the run, its stage, the share done
    and an estimate of the time left."""

    def __init__(self, names, stream=None, interval_s=None):
        import time

        self.names, self._clock = list(names), time.perf_counter
        self.status = _Status("run", stream, interval_s)
        if self.names:
            self.status.set(f"run 1/{len(self.names)} {self.names[0]}: building the model")

    def __call__(self, run, stage, n_stages, fraction, elapsed):
        done = (stage + fraction) / n_stages
        left = elapsed * (1 - done) / done if done > 0 else float("nan")
        where = f"{run + 1}/{len(self.names)} {self.names[run]}"
        tty_line = (f"[{where}] stage {stage + 1}/{n_stages} {100 * done:5.1f}%  "
                    f"{elapsed:6.1f} s elapsed, ~{left:6.1f} s left")
        at = self._clock()

        def line(_, at=at):
            rest = left - (self._clock() - at)
            return (f"run {where}: stage {stage + 1}/{n_stages} ({100 * fraction:.0f} % of "
                    f"it)" + (f", ~{_duration(rest)} left" if rest > 0 else ""))

        self.status.update(line, tty_line)

    def close(self):
        self.status.close()


def _percent(fraction):
    """``"+1.235 %"``, ``"-1.027 %"``; ``"0.000 %"`` for what rounds to zero (never -0.000)."""
    v = 100.0 * float(fraction)
    if not math.isfinite(v):
        return "n/a"
    return "0.000 %" if abs(v) < 0.0005 else f"{v:+.3f} %"


def _time_format(t_s):
    """``(scale, unit, decimals)`` for times of one detection: minutes (1 decimal) when it
    lasts more than 600 s, else seconds with enough decimals for its read interval."""
    import numpy as np

    span = float(t_s[-1]) if len(t_s) else 0.0
    if span > 600.0:
        return 60.0, "min", 1
    steps = np.diff(t_s)
    dt = float(steps[steps > 0].min()) if np.any(steps > 0) else 1.0
    decimals = next((d for d in range(4) if abs(dt * 10 ** d - round(dt * 10 ** d)) < 1e-6), 3)
    return 1.0, "s", decimals


def _summary_line(rec):
    """One run of the ``latticedns run`` summary: visible max and min during detection
    (the last recorded stage), times from its first pulse, in one unit."""
    import numpy as np

    r = rec.result
    det = r.stage == r.stage.max()
    t, v = r.t_s[det] - r.t_s[det][0], r.visible[det]
    if not np.any(np.isfinite(v)):
        return f"{rec.name}: no visible protons during detection"
    scale, unit, d = _time_format(t)
    hi, lo = int(np.nanargmax(v)), int(np.nanargmin(v))
    return (f"{rec.name} ({t[-1] / scale:.{d}f} {unit} of detection): visible max "
            f"{_percent(v[hi])} at {t[hi] / scale:.{d}f} {unit}, min {_percent(v[lo])} at "
            f"{t[lo] / scale:.{d}f} {unit}")


def _finished_runs(output, specs):
    """Names of ``specs`` already in ``output`` with the same parameters (for ``--resume``)."""
    import json

    from .experiment.execute import parameters_of
    from .store import read_runs
    from .store.records import to_json

    done = {rec.name: rec.parameters for rec in read_runs(output)}
    for spec in specs:
        if spec.name in done and done[spec.name] != json.loads(to_json(parameters_of(spec))):
            raise ConfigError("--resume", f"run {spec.name!r} in {output} was made with other "
                              "parameters; use another output or --force")
    return {spec.name for spec in specs if spec.name in done}


def _run_inputs(runfile, specs):
    """The run file and the geometry files its runs read."""
    from .examples import resolve_sample

    base = os.path.dirname(os.path.abspath(runfile))
    samples = {spec.run.get("sample") for spec in specs}
    return [runfile] + [resolve_sample(p, base) for p in samples if isinstance(p, str)]


def _size_key(spec):
    """The user-facing key that sets a lattice run's sample size."""
    if spec.run.get("n_radicals") is not None:
        return "run.n_radicals"
    for key in ("n_radicals", "n_protons", "box_nm"):
        if getattr(spec.sample, key) is not None:
            return f"sample.{key}"
    return "sample"


def _check_memory(specs, allow_large=False):
    """Refuse, before any work, lattice runs whose estimated memory exceeds the machine's
    (unless ``allow_large``); print each distinct lattice sample's size on stderr."""
    from .lattice.sizing import check_fits, estimate_size

    shown = []
    for spec in specs:
        if spec.model != "lattice":
            continue
        try:
            size = estimate_size(spec.sample, spec.physics) if allow_large else \
                check_fits(spec.sample, spec.physics, _size_key(spec))
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.message + " (or pass --allow-large)") from None
        line = (f"sample: ~{size.protons:,} protons, ~{size.pairs:,} flip-flop pairs "
                f"within {spec.physics.cutoff_nm:g} nm, box {spec.sample.box_edge_nm:.4g} nm, "
                f"~{size.gigabytes:.2g} GB")
        if line not in shown:
            shown.append(line)
    for line in shown:  # once every sample fits
        print(line, file=sys.stderr)


def _print_physics(specs):
    """On stderr: each preset in use with its departures from the paper, then every
    distinct validity warning once (naming the runs when not all of them have it)."""
    from .experiment.presets import PRESETS

    for name in sorted({spec.preset for spec in specs}):
        departures = PRESETS[name].departures
        print(f"physics: preset {name} ("
              + (f"departures from the paper: {'; '.join(departures)}" if departures
                 else "the paper's model as printed") + ")", file=sys.stderr)
    seen = {}
    for spec in specs:
        for w in spec.warnings:
            seen.setdefault(w, []).append(spec.name)
    for w, names in seen.items():
        where = "" if len(names) == len(specs) else f"run {', '.join(names)}: "
        print(f"warning: {where}{w}", file=sys.stderr)


def _cmd_run(args):
    import time

    from .experiment import execute_runs, load_run_file
    from .store import append_run, write_runs

    specs = load_run_file(args.runfile)
    output = args.output or os.path.splitext(os.path.basename(args.runfile))[0] + ".h5"
    if args.only:
        names = [s.name for s in specs]
        specs = [s for s in specs if s.name in args.only]
        if not specs:
            raise ConfigError("--only", f"no run named {args.only}; runs: {names}")
    refuse_inputs([output], _run_inputs(args.runfile, specs))
    if args.resume and args.force:
        raise ConfigError("--resume", "cannot be combined with --force")
    done = set()
    if args.resume and os.path.exists(output):
        done = _finished_runs(output, specs)
    else:
        check_output_path(output, args.force)
    _check_memory(specs, args.allow_large)  # last check; prints the sample sizes
    _print_physics(specs)
    from .store._atomic import remove_stale_temporaries

    remove_stale_temporaries(output)  # of an earlier, killed `latticedns run` on this output
    tick = time.perf_counter()
    todo = [spec for spec in specs if spec.name not in done]
    progress = _Progress(spec.name for spec in todo)
    records, written = [], bool(done)
    try:
        # runs that differ only in their stages share the model and their common first stages
        for _, rec in execute_runs(todo, progress=progress):
            # each finished run is in the file at once: an interruption loses only the current one
            if written:
                append_run(output, rec)
            else:
                write_runs(output, [rec], force=args.force)
                written = True
            records.append(rec)
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted: {len(done) + len(records)} of {len(specs)} run(s) are in {output}; "
              f"`latticedns run {args.runfile} -o {output} --resume` runs the rest",
              file=sys.stderr)
        return 130
    finally:
        progress.close()
    skipped = f" ({len(done)} already there)" if done else ""
    presets = ", ".join(sorted({spec.preset for spec in todo}))
    print(f"wrote {output}: {len(records)} run(s){skipped} in "
          f"{_duration(time.perf_counter() - tick)} (physics preset {presets})")
    for rec in records:
        print(f"  {_summary_line(rec)}")
    return 0


def _sweep_output(output, parts):
    """The file of one sweep figure: OUTPUT itself, or its stem + "-part..." + extension."""
    import re

    if not parts:
        return output
    root, ext = os.path.splitext(output)
    return root + "".join("-" + re.sub(r"[^A-Za-z0-9._=+-]", "_", p) for p in parts) + ext


def _plot_campaign(args, output):
    from .campaign import open_store
    from .plotting.sweep import sweep_figures, sweep_names

    store = open_store(args.result)
    paths = [_sweep_output(output, parts) for parts in sweep_names(store)]
    if not paths:
        raise ConfigError("result", f"{args.result} has no finished runs to plot")
    for path in paths:  # every output refused before anything is drawn or written
        check_output_path(path, args.force)
    figures = sweep_figures(store, time_unit=args.time_unit, time_max_s=args.time_max)
    for path, (_, fig) in zip(paths, figures):
        fig.set_dpi(args.dpi)
        _save_atomically(fig, path)
    print(f"wrote {', '.join(paths)}")
    return 0


#: Keys of the plotting functions' errors -> the ``latticedns plot`` options that set them.
_PLOT_OPTIONS = {"stage": "--stage", "profiles": "--profiles", "time_max_s": "--time-max",
                 "time_unit": "--time-unit"}


def _only_for_results(args, what):
    for given, option in ((args.stage is not None, "--stage"), (args.profiles, "--profiles")):
        if given:
            raise ConfigError(option, f"only for the result files of `latticedns run`; "
                                      f"{args.result} is {what}")


def _cmd_plot(args):
    from .campaign.store import is_campaign_store

    if args.profiles and args.stage is not None:
        raise ConfigError("--stage", "not used with --profiles (each profile is drawn at its "
                                     "stored time)")
    if args.profiles and args.time_max is not None:
        raise ConfigError("--time-max", "not used with --profiles (each profile is drawn at "
                                        "its stored time)")
    if not 10 <= args.dpi <= 1200:
        raise ConfigError("--dpi", f"must be in [10, 1200], got {args.dpi}")
    suffix = ["profiles"] if args.profiles else [args.stage] if args.stage is not None else []
    output = args.output or _sweep_output(os.path.splitext(args.result)[0] + ".png", suffix)
    refuse_inputs([output], [args.result])
    if args.time_max is not None and not (math.isfinite(args.time_max) and args.time_max > 0):
        raise ConfigError("--time-max", f"must be a number of seconds > 0, got {args.time_max}")
    if is_campaign_store(args.result):
        _only_for_results(args, "a campaign store")
        return _plot_campaign(args, output)
    from .fit.output import is_fit_file, read_fit

    if is_fit_file(args.result):
        from .plotting import plot_fit

        _only_for_results(args, "a fit file")
        check_output_path(output, args.force)
        fig = plot_fit(read_fit(args.result))
        fig.set_dpi(args.dpi)
        _save_atomically(fig, output)
        print(f"wrote {output}")
        return 0
    from .plotting import plot_profiles, plot_runs
    from .store import read_runs

    records = read_runs(args.result)
    check_output_path(output, args.force)
    try:
        fig = plot_profiles(records) if args.profiles else \
            plot_runs(records, time_unit=args.time_unit, time_max_s=args.time_max,
                      stage=args.stage)
    except ConfigError as exc:
        if exc.key not in _PLOT_OPTIONS:
            raise
        raise ConfigError(_PLOT_OPTIONS[exc.key], exc.message) from None
    fig.set_dpi(args.dpi)
    _save_atomically(fig, output)
    print(f"wrote {output}")
    return 0


def _cmd_campaign_run(args):
    from .campaign import load_campaign, plan_campaign, run_campaign

    campaign = load_campaign(args.campaign)
    refuse_inputs([args.output, args.output + ".d"], [args.campaign, campaign.base_path])
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", f"must be >= 1, got {args.workers}")
    if args.scheduler is not None and args.workers is not None:
        raise ConfigError("--workers", "not used with --scheduler: the cluster's workers run "
                                       "the tasks")
    plan_campaign(campaign, args.output, args.force)  # refuse before writing anything
    import time

    status = _Status("campaign")
    status.set(f"{len(campaign.tasks)} run(s) in the campaign, none finished yet")

    def progress(done, total, failed, elapsed, left):
        at = time.perf_counter()

        def line(_):
            rest = left - (time.perf_counter() - at)
            return (f"{done}/{total} run(s) finished, {failed} failed"
                    + (f", ~{_duration(rest)} left" if rest > 0 else ""))

        status.update(line, f"[{done}/{total}] {failed} failed, {elapsed:7.1f} s elapsed, "
                            f"~{left:7.1f} s left")

    try:
        summary = run_campaign(campaign, args.output, workers=args.workers,
                               scheduler=args.scheduler, force=args.force, progress=progress)
    finally:
        status.close()
    print(f"wrote {args.output}: {summary.n_done}/{summary.n_runs} run(s) done, "
          f"{summary.n_failed} failed, {summary.n_executed} executed in {summary.wall_s:.1f} s "
          f"(coordinator {summary.overhead_s:.2f} s)")
    return 1 if summary.n_failed else 0


def _cmd_campaign_status(args):
    import numpy as np

    from .campaign import open_store

    store = open_store(args.store)
    status = store.table["status"]
    counts = {s: int(np.sum(status == s)) for s in ("done", "failed", "pending")}
    wall = store.table["wall_s"][status == "done"]
    print(f"{args.store}: {len(status)} runs: {counts['done']} done, {counts['failed']} failed, "
          f"{counts['pending']} pending; swept: {', '.join(store.keys)}; "
          f"{float(np.sum(wall)):.1f} s of run time")
    for run_id, err in zip(store.table["run_id"][status == "failed"],
                           store.table["error"][status == "failed"]):
        print(f"  failed {run_id}: {err}")
    return 0


#: Every command of ``latticedns``, in the order of the top-level help, with one line each.
COMMANDS = (
    ("run", "simulate the runs (variants) of a run file into an HDF5 result file"),
    ("plot", "draw a result file (detection curves, another stage with --stage, radial "
             "profiles with --profiles), a campaign store's sweeps or a fit's data and fit"),
    ("figure", "draw Fig. 3a or 3b of the reference paper: the spin-diffusion coefficient "
               "D(r) against the distance from the radical"),
    ("bench", "time the benchmark HypRes schedule on a lattice of N protons (one JSON line)"),
    ("campaign", "sweep run-file keys over values and seeds into one HDF5 store "
                 "(campaign run, campaign status)"),
    ("fit", "fit run-file parameters to measured curves; report 95 % intervals"),
    ("export", "write the curves of a result file to CSV or TSV, with units in the header"),
    ("examples", "copy the bundled run, campaign, fit and geometry files into a directory "
                 "to edit"),
)


def _commands_text():
    import textwrap

    width = max(len(name) for name, _ in COMMANDS) + 2
    lines = ["commands:"]
    for name, what in COMMANDS:
        wrapped = textwrap.wrap(what, 78 - width - 2)
        lines.append(f"  {name:<{width}}{wrapped[0]}")
        lines += [" " * (width + 2) + more for more in wrapped[1:]]
    lines += ["", "`latticedns COMMAND --help` lists the arguments of a command;",
              "docs/usage.md describes every command, run-file key and output."]
    return "\n".join(lines)


_PROGRESS_HELP = (f"Progress goes to stderr: one status line on a terminal, otherwise (a log "
                  f"file, a pipe) a line every {PROGRESS_INTERVAL_S:g} s.")


def build_parser():
    """The argument parser of the ``latticedns`` command."""
    parser = argparse.ArgumentParser(
        prog="latticedns", usage="latticedns [-h] [--version] COMMAND ...",
        description="Simulate nuclear spin diffusion in DNP samples (a proton lattice or a\n"
                    "radial continuum around each radical): HypRes protocols, sweeps, fits\n"
                    "and figures.",
        epilog=_commands_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    # the commands are listed by the epilog (COMMANDS), registered or not yet
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help=argparse.SUPPRESS,
                                prog="latticedns")
    keys = ", ".join(_figure_keys())
    fig = sub.add_parser("figure", help="draw a figure of the reference paper (fig3a, fig3b)",
                         description="Draw Fig. 3 of Chessari et al. (2023): fig3a, D(r) on "
                                     "log axes for Pbar = 0 to 1 with r_MV, r_h and the "
                                     "region where the rate is invalid; fig3b, the exact "
                                     "rate against its slow and fast limits at Pbar = 0.7.")
    fig.add_argument("name", choices=FIGURES, help="which figure: fig3a or fig3b")
    fig.add_argument("-o", "--output", help="PNG file (default NAME.png)")
    fig.add_argument("--preset", choices=("calibrated", "paper", "paper-transport"),
                     help="the Fig. 3 readings of a physics preset (splitting_factor and "
                          "gamma2_II_kHz; docs/usage.md, Presets): 'paper' draws the "
                          "paper's reading (~17x at r_h); default: the calibrated readings")
    fig.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help=f"change a condition of the figure (repeatable), e.g. "
                          f"tau_c_us=1.0; keys: {keys} (units and defaults: docs/usage.md)")
    fig.add_argument("--dpi", type=int, default=120,
                     help="resolution in dots per inch (default 120)")
    fig.add_argument("--force", action="store_true", help="overwrite an existing output")
    fig.set_defaults(func=_cmd_figure)
    bench = sub.add_parser(
        "bench", help="time the benchmark HypRes schedule on N protons (one JSON line)",
        description="Build a 50 mM DNP-juice lattice of N protons with the default physics and "
                    "propagate the benchmark schedule (640 s of microwaves, 10 s gate, selective "
                    "saturation, 1024 reads 10 s apart); print the sample, the method and "
                    "solver that ran, factorizations, solves, time, peak memory and the error "
                    "against a reference as one JSON line.  Progress goes to stderr: a line "
                    "per step (the run's and the reference run's stages), and when stderr is "
                    f"not a terminal also one every {PROGRESS_INTERVAL_S:g} s within a step.")
    bench.add_argument("--protons", type=int, default=10_000,
                       help="number of protons N (>= 500; default 10000)")
    bench.add_argument("--cutoff-nm", type=float, default=1.5,
                       help="flip-flop cutoff in nm (default 1.5, the default physics)")
    bench.add_argument("--method", default="auto",
                       help="propagation method: auto (dense up to 1500 protons, else krylov), "
                            "krylov or dense")
    bench.add_argument("--solver", default="auto",
                       help="linear solver of the krylov method: auto, pardiso, dense, splu or "
                            "amg (docs/performance.md)")
    bench.add_argument("--rtol", type=float, default=1e-6,
                       help="relative tolerance of the propagation (default 1e-6)")
    bench.add_argument("--seed", type=int, default=1, help="sample seed (default 1)")
    bench.add_argument("--no-reference", action="store_true",
                       help="skip the reference run (dense up to 4000 protons, else rtol/100) "
                            "and its error")
    bench.add_argument("--compare-bdf", type=float, metavar="SECONDS",
                       help="also run scipy's solve_ivp(method='BDF') with the sparse Jacobian "
                            "for at most SECONDS and report the time ratio")
    bench.set_defaults(func=_cmd_bench)
    run = sub.add_parser("run", help="simulate the runs of a run file into an HDF5 result",
                         description="Simulate every run (variant) of a run file into one HDF5 "
                                     "result file (docs/hdf5.md), each written as soon as it "
                                     "finishes; print a summary (visible maximum and minimum "
                                     f"during detection).  {_PROGRESS_HELP}")
    run.add_argument("runfile", help="the run file (TOML; keys in docs/usage.md)")
    run.add_argument("-o", "--output", help="HDF5 result (default: RUNFILE name + .h5)")
    run.add_argument("--only", action="append", metavar="NAME",
                     help="run only this variant (repeatable)")
    run.add_argument("--force", action="store_true", help="overwrite an existing output")
    run.add_argument("--resume", action="store_true",
                     help="keep the runs already in OUTPUT (same parameters) and add the others")
    run.add_argument("--allow-large", action="store_true",
                     help="run lattice samples even when their estimated memory exceeds the "
                          "memory available (they may then fail or swap)")
    run.set_defaults(func=_cmd_run)
    plot = sub.add_parser(
        "plot", help="draw the polarization curves of a result file, or one figure per sweep "
                     "of a campaign store",
        description="Draw a result file of `latticedns run`: visible (upper panel) and hidden "
                    "(lower panel) 1H polarization against time in the detection stage, or in "
                    "another stage (--stage), or the radial profiles P(r, t) (--profiles); "
                    "the conditions (B0, T, radical mM, model, physics preset) are the title.  "
                    "A campaign store gives one figure per sweep, a fit file its data, fit, "
                    "residuals and profiles.")
    plot.add_argument("result", help="result file, campaign store or fit file (HDF5)")
    plot.add_argument("-o", "--output", help="PNG file (default: RESULT name + .png, "
                                             "-STAGE.png with --stage, -profiles.png with "
                                             "--profiles); campaign stores with several "
                                             "sweeps: OUTPUT stem + -AXIS/-VARIANT + .png")
    plot.add_argument("--time-unit", choices=("auto", "s", "min"), default="auto",
                      help="unit of the time axis: s, min, or auto (min when the curves last "
                           "more than 600 s; default)")
    plot.add_argument("--time-max", type=float, metavar="SECONDS",
                      help="draw only the first SECONDS of each curve")
    plot.add_argument("--stage", metavar="NAME",
                      help="draw this stage instead of the detection, by name (e.g. prepare, "
                           "the DNP build-up), index or type; t = 0 at its start; an unknown "
                           "name is refused with the list of stages")
    plot.add_argument("--profiles", action="store_true",
                      help="draw the radial profiles stored at run.profile_times_s instead: "
                           "polarization (%%) against the distance from the nearest radical "
                           "(nm), one curve per time, the region hidden during detection "
                           "shaded")
    plot.add_argument("--dpi", type=int, default=100,
                      help="resolution in dots per inch (default 100)")
    plot.add_argument("--force", action="store_true", help="overwrite an existing output")
    plot.set_defaults(func=_cmd_plot)
    add_fit_parser(sub)
    add_export_parser(sub)
    add_examples_parser(sub)
    camp = sub.add_parser("campaign", help="sweeps of a run file into one HDF5 store",
                          description="Sweep run-file keys over values, seeds and variants "
                                      "into one HDF5 store (docs/campaigns.md).")
    camp_sub = camp.add_subparsers(dest="campaign_command", required=True, metavar="SUBCOMMAND",
                                   help="run: run or resume a campaign; status: what a store "
                                        "holds")
    crun = camp_sub.add_parser("run", help="run (or resume) a campaign file into a store",
                               description="Run every unfinished run of a campaign file into a "
                                           "store, on local processes or a dask.distributed "
                                           f"cluster.  {_PROGRESS_HELP}")
    crun.add_argument("campaign", help="the campaign file (TOML; docs/campaigns.md)")
    crun.add_argument("-o", "--output", required=True, help="HDF5 store (runs also in STORE.d/)")
    crun.add_argument("--workers", type=int, help="local processes (default: all cores)")
    crun.add_argument("--scheduler", metavar="ADDRESS",
                      help="run on this dask.distributed cluster instead (tcp://host:8786 or "
                           "a scheduler JSON file); needs latticedns[distributed]")
    crun.add_argument("--force", action="store_true",
                      help="discard finished runs that the campaign file changed")
    crun.set_defaults(func=_cmd_campaign_run)
    cstat = camp_sub.add_parser("status", help="runs done, failed and pending in a store",
                                description="Print the runs done, failed (with their errors) "
                                            "and pending in a campaign store.")
    cstat.add_argument("store", help="the campaign store (HDF5)")
    cstat.set_defaults(func=_cmd_campaign_status)
    return parser


def main(argv=None):
    """Entry point of the ``latticedns`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"latticedns: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"latticedns: error: file not found: {exc.filename}", file=sys.stderr)
        return 2
    except OSError as exc:  # permission, a directory given as a file, a broken HDF5 file
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"latticedns: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional dependency that is not installed
        print(f"latticedns: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
