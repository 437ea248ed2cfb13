"""Measured curves in: the documented CSV/TSV format (``docs/fitting.md``).

A data file is text with comma, tab or semicolon separated columns and one header row of
column names; lines starting with ``#`` before it are comments, and ``# key = value``
comment lines with a one-word key are header keys:

``time_unit``
    Unit of the time column: ``s`` (default), ``ms`` or ``min``.
``signal_unit``
    Unit of the signal columns: ``percent`` (polarization in %), ``fraction``
    (polarization as a fraction) or ``arbitrary`` (default; a free scale factor is then
    fitted for the curve).

The first column is the time, relative to the start of the stage the curve is compared
with (the detection, by default).  Every other column is one curve, unless its name ends in
``_sigma``: then it is the standard deviation of the curve of the same name without the
suffix, in the signal's unit (``sigma`` alone belongs to a single curve).  Times must be
finite and strictly increasing; signals and sigmas finite, sigmas > 0.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "hypres.csv")
>>> _ = open(path, "w").write("# signal_unit = percent\\ntime,positive,negative\\n"
...                           "0,0.0,0.0\\n10,0.5,-0.2\\n20,0.8,-0.3\\n")
>>> [(c.name, c.unit, c.values.tolist()) for c in read_curves(path)]
[('positive', 'percent', [0.0, 0.005, 0.008]), ('negative', 'percent', [0.0, -0.002, -0.003])]
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["Curve", "read_curves", "TIME_UNITS", "SIGNAL_UNITS"]

#: Time units of a data file and their factor to seconds.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0}
#: Signal units: factor to a polarization fraction (None: arbitrary, a scale is fitted).
SIGNAL_UNITS = {"percent": 0.01, "fraction": 1.0, "arbitrary": None}
#: A header key line: ``# name = value`` with a one-word name (other comments are free text).
_HEADER_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


@dataclass(frozen=True)
class Curve:
    """One measured curve.

    Attributes
    ----------
    name : str
        Column name in its file.
    t_s : ndarray, shape (N,)
        Times in s from the start of the compared stage.
    values : ndarray, shape (N,)
        Signal: a polarization fraction (``unit`` percent or fraction: converted), or the
        raw numbers (``unit`` arbitrary).
    sigma : ndarray, shape (N,), or None
        Standard deviations in the unit of ``values`` (None: not given; estimated from
        the residuals of the fit).
    unit : str
        The file's ``signal_unit``.
    source : str
        Path of the file it came from.
    sha256 : str
        SHA-256 of the file's bytes (provenance).
    """

    name: str
    t_s: np.ndarray
    values: np.ndarray
    sigma: np.ndarray | None
    unit: str
    source: str
    sha256: str

    @property
    def scaled(self) -> bool:
        """True when the signal is in arbitrary units (a scale factor must be fitted)."""
        return SIGNAL_UNITS[self.unit] is None


def _fail(path, message):
    raise ConfigError(f"data {os.fspath(path)}", message)


def _header_keys(lines, path):
    keys, body = {}, []
    for k, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            match = _HEADER_KEY.match(stripped[1:].strip())
            if match:
                keys[match.group(1)] = match.group(2).strip().strip('"').strip("'")
            continue
        if stripped:
            body = lines[k:]
            break
    for name, value in keys.items():
        allowed = {"time_unit": TIME_UNITS, "signal_unit": SIGNAL_UNITS}.get(name)
        if allowed is None:
            _fail(path, f"unknown header key {name!r}; allowed: time_unit, signal_unit")
        if value not in allowed:
            _fail(path, f"{name} = {value!r}; allowed: {', '.join(allowed)}")
    return keys, body


def read_curves(path) -> list[Curve]:
    """Read every curve of a CSV/TSV data file (format: module docstring).

    Raises
    ------
    ConfigError
        Naming the file and the problem (missing, unreadable, no header, fewer than two
        columns, a non-number, NaN, times not strictly increasing, sigma <= 0, a sigma
        column without its curve).
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror or exc})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        _fail(path, "is not a UTF-8 text file")
    keys, body = _header_keys(text.splitlines(), path)
    if not body:
        _fail(path, "has no header row and no data")
    try:
        dialect = csv.Sniffer().sniff(body[0], delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [r for r in csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter)
            if any(cell.strip() for cell in r)]
    header = [h.strip() for h in rows[0]]
    if len(header) < 2 or any(not h for h in header):
        _fail(path, f"needs a header row naming >= 2 columns (time, then curves), got {header}")
    if len(set(header)) != len(header):
        _fail(path, f"repeats a column name in its header {header}")
    if len(rows) < 3:
        _fail(path, "needs at least two data rows")
    table = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            _fail(path, f"row {i} has {len(row)} columns, the header {len(header)}")
        for j, cell in enumerate(row):
            try:
                table[i - 2, j] = float(cell)
            except ValueError:
                _fail(path, f"row {i}, column {header[j]!r}: {cell.strip()!r} is not a number")
    if not np.all(np.isfinite(table)):
        i, j = np.argwhere(~np.isfinite(table))[0]
        _fail(path, f"row {i + 2}, column {header[j]!r}: not a finite number")
    t = table[:, 0] * TIME_UNITS[keys.get("time_unit", "s")]
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 3
        _fail(path, f"times must be strictly increasing (row {i})")
    unit = keys.get("signal_unit", "arbitrary")
    factor = SIGNAL_UNITS[unit] or 1.0
    names = [h for h in header[1:] if not h.endswith("sigma")]
    sigmas = {}
    for j, h in enumerate(header[1:], start=1):
        if h.endswith("sigma"):
            single = names[0] if len(names) == 1 else None
            owner = h[: -len("_sigma")] if h.endswith("_sigma") else single
            if owner not in names:
                _fail(path, f"column {h!r} is a sigma without its curve "
                            f"({'a single curve' if h == 'sigma' else owner!r})")
            if np.any(table[:, j] <= 0):
                _fail(path, f"column {h!r}: sigmas must be > 0")
            sigmas[owner] = table[:, j] * factor
    if not names:
        _fail(path, "has no curve column (only sigmas)")
    digest = hashlib.sha256(raw).hexdigest()
    cols = {h: j for j, h in enumerate(header)}
    return [Curve(name=n, t_s=t.copy(), values=table[:, cols[n]] * factor, sigma=sigmas.get(n),
                  unit=unit, source=os.fspath(path), sha256=digest) for n in names]
