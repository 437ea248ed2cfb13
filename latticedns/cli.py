"""Command-line interface: ``latticedns figure|bench|run|plot ...``.

Bad input is reported as one line on stderr with exit code 2, before anything is written;
an existing output file is never overwritten without ``--force``.  ``latticedns run``
writes each run as soon as it finishes, so an interruption loses only the run in progress;
``--resume`` adds the missing runs to such a file.
"""

import argparse
import math
import os
import sys

from .errors import ConfigError
from .cli_fit import add_fit_parser
from .store import check_output_path, refuse_inputs

__all__ = ["main"]

FIGURES = ("fig3a", "fig3b")


def _save_atomically(fig, path):
    root, ext = os.path.splitext(path)
    tmp = f"{root}.partial{ext}"
    fig.savefig(tmp, dpi=fig.dpi)
    os.replace(tmp, path)


def _cmd_figure(args):
    from .diffusion import DiffusionConditions

    overrides = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        if key not in DiffusionConditions.__dataclass_fields__:
            raise ConfigError(key, f"unknown key; allowed: {sorted(DiffusionConditions.__dataclass_fields__)}")
        field_type = type(getattr(DiffusionConditions(), key))
        try:
            overrides[key] = (value.lower() in ("1", "true", "yes")) if field_type is bool else field_type(value)
        except ValueError:
            raise ConfigError(key, f"expected a {field_type.__name__}, got {value!r}") from None
    conditions = DiffusionConditions(**overrides)
    output = args.output or f"{args.name}.png"
    check_output_path(output, args.force)
    from .plotting import plot_fig3a, plot_fig3b

    fig = (plot_fig3a if args.name == "fig3a" else plot_fig3b)(conditions)
    fig.set_dpi(args.dpi)
    _save_atomically(fig, output)
    print(f"wrote {output}")
    return 0


def _cmd_bench(args):
    import json
    import time

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
    start = time.perf_counter()

    def progress(message):
        print(f"[bench {time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    progress(f"estimate: ~{size.pairs:,} pairs, ~{size.gigabytes:.1f} GB")
    result = run_benchmark(args.protons, cutoff_nm=args.cutoff_nm, method=args.method,
                           solver=args.solver, rtol=args.rtol, seed=args.seed,
                           reference=not args.no_reference, bdf_limit_s=args.compare_bdf,
                           progress=progress)
    print(json.dumps(result))
    return 0


class _Progress:
    """One self-overwriting status line on a terminal (nothing when not a terminal)."""

    def __init__(self, names, stream=sys.stderr):
        self.names, self.stream = list(names), stream
        self.enabled = stream.isatty()

    def __call__(self, run, stage, n_stages, fraction, elapsed):
        if not self.enabled:
            return
        done = (stage + fraction) / n_stages
        left = elapsed * (1 - done) / done if done > 0 else float("nan")
        self.stream.write(f"\r[{run + 1}/{len(self.names)} {self.names[run]}] stage {stage + 1}/{n_stages} "
                          f"{100 * done:5.1f}%  {elapsed:6.1f} s elapsed, ~{left:6.1f} s left   ")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")


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
    base = os.path.dirname(os.path.abspath(runfile))
    samples = {spec.run.get("sample") for spec in specs}
    return [runfile] + [p if os.path.isabs(p) else os.path.join(base, p)
                        for p in samples if isinstance(p, str)]


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
    progress.close()
    parts = []
    for rec in records:
        r = rec.result
        det = r.stage == r.stage.max()
        t, v = r.t_s[det] - r.t_s[det][0], r.visible[det]
        hi, lo = int(v.argmax()), int(v.argmin())
        parts.append(f"{rec.name}: visible max {100 * v[hi]:+.3f} % at {t[hi]:.4g} s, "
                     f"min {100 * v[lo]:+.3f} % at {t[lo]:.4g} s")
    skipped = f" ({len(done)} already there)" if done else ""
    print(f"wrote {output}: {len(records)} run(s){skipped} in {time.perf_counter() - tick:.1f} s; "
          + "; ".join(parts))
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
        _save_atomically(fig, path)
    print(f"wrote {', '.join(paths)}")
    return 0


def _cmd_plot(args):
    from .campaign.store import is_campaign_store

    output = args.output or os.path.splitext(args.result)[0] + ".png"
    refuse_inputs([output], [args.result])
    if args.time_max is not None and not (math.isfinite(args.time_max) and args.time_max > 0):
        raise ConfigError("--time-max", f"must be a number of seconds > 0, got {args.time_max}")
    if is_campaign_store(args.result):
        return _plot_campaign(args, output)
    from .fit.output import is_fit_file, read_fit

    if is_fit_file(args.result):
        from .plotting import plot_fit

        check_output_path(output, args.force)
        _save_atomically(plot_fit(read_fit(args.result)), output)
        print(f"wrote {output}")
        return 0
    from .plotting import plot_runs
    from .store import read_runs

    records = read_runs(args.result)
    check_output_path(output, args.force)
    fig = plot_runs(records, time_unit=args.time_unit, time_max_s=args.time_max)
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
    stream = sys.stderr

    def progress(done, total, failed, elapsed, left):
        if stream.isatty():
            stream.write(f"\r[{done}/{total}] {failed} failed, {elapsed:7.1f} s elapsed, "
                         f"~{left:7.1f} s left   ")
            stream.flush()

    summary = run_campaign(campaign, args.output, workers=args.workers,
                           scheduler=args.scheduler, force=args.force, progress=progress)
    if stream.isatty() and summary.n_executed:
        stream.write("\n")
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


def build_parser():
    """The argument parser of the ``latticedns`` command."""
    parser = argparse.ArgumentParser(prog="latticedns", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    fig = sub.add_parser("figure", help="draw a figure of the reference paper (fig3a, fig3b)")
    fig.add_argument("name", choices=FIGURES)
    fig.add_argument("-o", "--output", help="PNG file (default NAME.png)")
    fig.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="change a DiffusionConditions field, e.g. tau_c_us=1.0 (repeatable)")
    fig.add_argument("--dpi", type=int, default=120)
    fig.add_argument("--force", action="store_true", help="overwrite an existing output")
    fig.set_defaults(func=_cmd_figure)
    bench = sub.add_parser(
        "bench", help="time the benchmark HypRes schedule on N protons (one JSON line)",
        description="Build a 50 mM DNP-juice lattice of N protons with the default physics and "
                    "propagate the benchmark schedule (640 s of microwaves, 10 s gate, selective "
                    "saturation, 1024 reads 10 s apart); print the sample, the method and "
                    "solver that ran, factorizations, solves, time, peak memory and the error "
                    "against a reference as one JSON line; progress goes to stderr.")
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
    run = sub.add_parser("run", help="simulate the runs of a run file into an HDF5 result")
    run.add_argument("runfile")
    run.add_argument("-o", "--output", help="HDF5 result (default: RUNFILE name + .h5)")
    run.add_argument("--only", action="append", metavar="NAME", help="run only this variant (repeatable)")
    run.add_argument("--force", action="store_true", help="overwrite an existing output")
    run.add_argument("--resume", action="store_true",
                     help="keep the runs already in OUTPUT (same parameters) and add the others")
    run.add_argument("--allow-large", action="store_true",
                     help="run lattice samples even when their estimated memory exceeds the "
                          "memory available (they may then fail or swap)")
    run.set_defaults(func=_cmd_run)
    plot = sub.add_parser("plot", help="draw the polarization curves of a result file, or one "
                                       "figure per sweep of a campaign store")
    plot.add_argument("result")
    plot.add_argument("-o", "--output", help="PNG file (default: RESULT name + .png); campaign "
                                             "stores with several sweeps: OUTPUT stem + "
                                             "-AXIS/-VARIANT + .png")
    plot.add_argument("--time-unit", choices=("auto", "s", "min"), default="auto")
    plot.add_argument("--time-max", type=float, metavar="SECONDS",
                      help="draw only the first SECONDS of each detection")
    plot.add_argument("--force", action="store_true", help="overwrite an existing output")
    plot.set_defaults(func=_cmd_plot)
    add_fit_parser(sub)
    camp = sub.add_parser("campaign", help="sweeps of a run file into one HDF5 store")
    camp_sub = camp.add_subparsers(dest="campaign_command", required=True)
    crun = camp_sub.add_parser("run", help="run (or resume) a campaign file into a store")
    crun.add_argument("campaign")
    crun.add_argument("-o", "--output", required=True, help="HDF5 store (runs also in STORE.d/)")
    crun.add_argument("--workers", type=int, help="local processes (default: all cores)")
    crun.add_argument("--scheduler", metavar="ADDRESS",
                      help="run on this dask.distributed cluster instead (tcp://host:8786 or "
                           "a scheduler JSON file); needs latticedns[distributed]")
    crun.add_argument("--force", action="store_true",
                      help="discard finished runs that the campaign file changed")
    crun.set_defaults(func=_cmd_campaign_run)
    cstat = camp_sub.add_parser("status", help="runs done, failed and pending in a store")
    cstat.add_argument("store")
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
