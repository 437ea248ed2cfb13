"""The bundled inputs: geometry files (named in run files), run, campaign and fit files, and
the example data.

They live in the source tree's ``geometries/`` and ``runs/`` and are installed inside the
package (``latticedns/bundled/``, see ``pyproject.toml``), so that ``run.sample`` may name a
bundled geometry from any directory (``sample = "dnp-juice-50mM"``) and ``latticedns
examples DIR`` can copy them for editing.

Examples
--------
>>> "dnp-juice-50mM" in geometry_names()
True
>>> os.path.basename(resolve_sample("dnp-juice-50mM", "/anywhere"))
'dnp-juice-50mM.toml'
>>> resolve_sample("../geometries/mine.toml", "/data/runs")
'/data/geometries/mine.toml'
"""

from __future__ import annotations

import os
import shutil

from .errors import ConfigError

__all__ = ["bundled_dir", "geometry_names", "is_bundled_name", "resolve_sample",
           "example_files", "copy_examples"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def bundled_dir(kind):
    """Directory of the bundled ``"geometries"`` or ``"runs"``: inside the installed
    package, else (a source checkout or an editable install) in the source tree."""
    for candidate in (os.path.join(_HERE, "bundled", kind),
                      os.path.join(os.path.dirname(_HERE), kind)):
        if os.path.isdir(candidate):
            return candidate
    raise ConfigError("run.sample", f"the bundled {kind} are not installed (reinstall "
                                    f"latticedns)")


def geometry_names():
    """Names of the bundled geometries (file names without ``.toml``), sorted."""
    return sorted(f[:-5] for f in os.listdir(bundled_dir("geometries")) if f.endswith(".toml"))


def is_bundled_name(value):
    """True for a ``run.sample`` value that names a bundled geometry rather than a path: a
    string without a directory part and without the ``.toml`` suffix."""
    return (isinstance(value, str) and value != "" and os.sep not in value and "/" not in value
            and not value.endswith(".toml"))


def resolve_sample(value, base_dir):
    """The geometry file of ``run.sample``: a bundled name, or a path (relative paths are
    relative to ``base_dir``, the run file's directory)."""
    if is_bundled_name(value):
        names = geometry_names()
        if value not in names:
            raise ConfigError("run.sample", f"{value!r} is not a bundled geometry (bundled: "
                                            f"{', '.join(names)}); a file needs its path, "
                                            f"e.g. {value}.toml")
        return os.path.join(bundled_dir("geometries"), value + ".toml")
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(base_dir, value))


def example_files():
    """``(source, relative destination)`` of every bundled file ``copy_examples`` copies."""
    out = []
    for kind in ("runs", "geometries"):
        root = bundled_dir(kind)
        for folder, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                if f.endswith((".toml", ".csv", ".md")):
                    src = os.path.join(folder, f)
                    out.append((src, os.path.join(kind, os.path.relpath(src, root))))
    return out


def copy_examples(dest, force=False):
    """Copy the bundled run, campaign, fit and geometry files into ``dest/runs`` and
    ``dest/geometries`` for editing.

    Nothing is written if one of the files exists already, unless ``force``; each file is
    written to a temporary name and moved into place.

    Returns
    -------
    list of str
        The files written.
    """
    files = [(src, os.path.join(dest, rel)) for src, rel in example_files()]
    existing = [d for _, d in files if os.path.exists(d)]
    if existing and not force:
        raise ConfigError("examples", f"{existing[0]} exists ({len(existing)} of the "
                                      f"{len(files)} files do); --force replaces them")
    written = []
    for src, dst in files:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = f"{dst}.{os.getpid()}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        written.append(dst)
    return written
