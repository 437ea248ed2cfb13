"""Command-line interface: ``latticedns figure|bench ...``.

Bad input is reported as one line on stderr with exit code 2, before anything is written;
an existing output file is never overwritten without ``--force``.
"""

import argparse
import os
import sys

from .errors import ConfigError

__all__ = ["main"]

FIGURES = ("fig3a", "fig3b")


def _check_output(path, force):
    if os.path.exists(path) and not force:
        raise ConfigError("output", f"{path} exists; pass --force to overwrite it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ConfigError("output", f"directory {parent} does not exist")


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
    _check_output(output, args.force)
    from .plotting import plot_fig3a, plot_fig3b

    fig = (plot_fig3a if args.name == "fig3a" else plot_fig3b)(conditions)
    fig.set_dpi(args.dpi)
    _save_atomically(fig, output)
    print(f"wrote {output}")
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


if __name__ == "__main__":
    sys.exit(main())
