"""Reading TOML definition files (geometries, runs, campaigns) with one clear error.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.toml")
>>> _ = open(path, "w").write("[run]\\nseed = 1\\n")
>>> read_toml(path, "run file")[0]
{'run': {'seed': 1}}
"""

import math
import os

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _toml

from .errors import ConfigError

__all__ = ["read_toml", "dump_toml"]


def read_toml(path, key, what=None):
    """Parse a TOML file.

    Parameters
    ----------
    path : str or os.PathLike
    key : str
        Key named by the :class:`ConfigError` if the file is missing or not valid TOML.
    what : str, optional
        Description of the file in the message (default: ``key``).

    Returns
    -------
    doc : dict
        The parsed document.
    text : str
        The file's text (for the record).
    """
    p = os.fspath(path)
    what = what or key
    try:
        with open(p, "rb") as fh:
            text = fh.read().decode()
        return _toml.loads(text), text
    except FileNotFoundError:
        raise ConfigError(key, f"{what} not found: {p}") from None
    except IsADirectoryError:
        raise ConfigError(key, f"{what} is a directory: {p}") from None
    except OSError as exc:  # permission denied, an unreadable device, ...
        raise ConfigError(key, f"{what} cannot be read: {p} ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, _toml.TOMLDecodeError) as exc:
        raise ConfigError(key, f"{p}: invalid TOML: {exc}") from None


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k):
    return k if k.replace("_", "").replace("-", "").isalnum() else _value(k)


def dump_toml(doc):
    """TOML text of a document of tables and arrays of tables (run and fit files):
    ``read_toml`` of the text gives ``doc`` back."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v
                                                 and all(isinstance(x, dict) for x in v))]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(a)} = {_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]"] + [f"{_key(a)} = {_value(b)}"
                                                   for a, b in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
