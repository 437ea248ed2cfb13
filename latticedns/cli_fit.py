"""``latticedns fit FITFILE -o FIT.h5``: the command line of `latticedns.fit`."""

from __future__ import annotations

import os
import sys

from .errors import ConfigError

__all__ = ["add_fit_parser"]


def add_fit_parser(sub):
    """Register the ``fit`` subcommand on an argparse subparsers object."""
    fit = sub.add_parser("fit", help="fit simulated curves to measured ones (docs/fitting.md)",
                         description="Fit the parameters of a fit file to its data curves; "
                                     "print the report and write FIT.h5.")
    fit.add_argument("fitfile", metavar="FITFILE",
                     help="the fit file (TOML: base run file, parameters, curves; "
                          "docs/fitting.md)")
    fit.add_argument("-o", "--output", help="HDF5 result (default: FITFILE name + .h5)")
    fit.add_argument("--force", action="store_true", help="overwrite existing outputs")
    fit.add_argument("--restarts", type=int, default=0, metavar="N",
                     help="also start from N seeded random points inside the bounds")
    fit.add_argument("--no-profiles", action="store_true",
                     help="95 %% intervals from the covariance only (faster)")
    fit.add_argument("--workers", type=int, metavar="N",
                     help="processes simulating the seeds of a lattice fit (default: one "
                          "per seed, at most one per core; any N gives the same result)")
    fit.add_argument("--write-run", metavar="RUNFILE",
                     help="also write the base run file with the best-fit values")
    fit.set_defaults(func=_cmd_fit)


def _status_line(state):
    from .cli import _duration

    left = "" if state.left_s is None else f", ~{_duration(state.left_s)} left"
    return (f"{state.phase}: {state.n_evaluations} evaluations, chi^2 {state.chi2:.6g}, "
            f"{_duration(state.elapsed_s)}{left}")


def _cmd_fit(args):
    from .fit import fit, load_fit_file
    from .fit.output import best_run_document, report, write_fit
    from .cli import _Status
    from .fit.workers import WorkerDied
    from .store import check_output_path, refuse_inputs

    if args.restarts < 0:
        raise ConfigError("--restarts", f"must be >= 0, got {args.restarts}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", f"must be >= 1, got {args.workers}")
    output = args.output or os.path.splitext(os.path.basename(args.fitfile))[0] + ".h5"
    check_output_path(output, args.force)
    if args.write_run:
        check_output_path(args.write_run, args.force)
    spec = load_fit_file(args.fitfile)  # every file read and validated before any work
    refuse_inputs([output, args.write_run],
                  [spec.path, spec.run_path, *(c.curve.source for c in spec.curves)])
    status = _Status("fit")  # a terminal line, or a line every 10 s to a log
    try:
        result = fit(spec, restarts=args.restarts, profiles=False if args.no_profiles else None,
                     progress=lambda state: status.update(_status_line(state)),
                     workers=args.workers)
    except WorkerDied as exc:  # not the input's fault: exit 1, nothing written
        print(f"latticedns: error: {exc}", file=sys.stderr)
        return 1
    finally:
        status.close()
    write_fit(output, result, spec, force=args.force)
    if args.write_run:
        text = best_run_document(result, spec)
        tmp = f"{args.write_run}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, args.write_run)
    print(report(result, spec))
    print(f"wrote {output}" + (f" and {args.write_run}" if args.write_run else ""))
    return 0
