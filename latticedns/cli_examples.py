"""``latticedns examples DIR``: copy the bundled run, campaign, fit and geometry files."""

from __future__ import annotations

__all__ = ["add_examples_parser"]


def add_examples_parser(sub):
    """Register the ``examples`` subcommand on an argparse subparsers object."""
    ex = sub.add_parser("examples", help="copy the bundled run, campaign, fit and geometry "
                                         "files into a directory for editing",
                        description="Copy the bundled inputs into DIR/runs and "
                                    "DIR/geometries (nothing is written if one exists, "
                                    "unless --force).  The run files name their geometry "
                                    "(sample = \"dnp-juice-50mM\"), so they run from anywhere.")
    ex.add_argument("directory", metavar="DIR", help="where to copy them (created if needed)")
    ex.add_argument("--force", action="store_true", help="replace files that exist")
    ex.set_defaults(func=_cmd_examples)


def _cmd_examples(args):
    from .examples import copy_examples

    written = copy_examples(args.directory, force=args.force)
    print(f"wrote {len(written)} files into {args.directory}: runs/ (run, campaign and fit "
          f"files, data/) and geometries/; try: latticedns run "
          f"{args.directory}/runs/hypres-mw-off.toml -o off.h5")
    return 0
