"""Reading TOML definition files (geometries, runs, campaigns) with one clear error.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.toml")
>>> _ = open(path, "w").write("[run]\\nseed = 1\\n")
>>> read_toml(path, "run file")[0]
{'run': {'seed': 1}}
"""

import os

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _toml

from .errors import ConfigError

__all__ = ["read_toml"]


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
    except (UnicodeDecodeError, _toml.TOMLDecodeError) as exc:
        raise ConfigError(key, f"{p}: invalid TOML: {exc}") from None
