"""``latticedns fit FITFILE -o FIT.h5``: the command line of `latticedns.fit`."""

from __future__ import annotations

import os
import sys
import time

from .errors import ConfigError

__all__ = ["add_fit_parser"]


def add_fit_parser(sub):
    """Register the ``fit`` subcommand on an argparse subparsers object."""
    fit = sub.add_parser("fit", help="fit simulated curves to measured ones (docs/fitting.md)",
                         description="Fit the parameters of a fit file to its data curves; "
                                     "print the report and write FIT.h5.")
    fit.add_argument("fitfile")
    fit.add_argument("-o", "--output", help="HDF5 result (default: FITFILE name + .h5)")
    fit.add_argument("--force", action="store_true", help="overwrite existing outputs")
    fit.add_argument("--restarts", type=int, default=0, metavar="N",
                     help="also start from N seeded random points inside the bounds")
    fit.add_argument("--no-profiles", action="store_true",
                     help="95 %% intervals from the covariance only (faster)")
    fit.add_argument("--write-run", metavar="RUNFILE",
                     help="also write the base run file with the best-fit values")
    fit.set_defaults(func=_cmd_fit)


class _Progress:
    def __init__(self, stream=sys.stderr):
        self.stream, self.tick = stream, time.perf_counter()
        self.enabled = stream.isatty()

    def __call__(self, n, chi2):
        if self.enabled:
            self.stream.write(f"\r{n} evaluations, chi^2 {chi2:.6g}, "
                              f"{time.perf_counter() - self.tick:6.1f} s   ")
            self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")


def _cmd_fit(args):
    from .fit import fit, load_fit_file
    from .fit.output import best_run_document, report, write_fit
    from .store import check_output_path, refuse_inputs

    if args.restarts < 0:
        raise ConfigError("--restarts", f"must be >= 0, got {args.restarts}")
    output = args.output or os.path.splitext(os.path.basename(args.fitfile))[0] + ".h5"
    check_output_path(output, args.force)
    if args.write_run:
        check_output_path(args.write_run, args.force)
    spec = load_fit_file(args.fitfile)  # every file read and validated before any work
    refuse_inputs([output, args.write_run],
                  [spec.path, spec.run_path, *(c.curve.source for c in spec.curves)])
    progress = _Progress()
    result = fit(spec, restarts=args.restarts, profiles=False if args.no_profiles else None,
                 progress=progress)
    progress.close()
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
