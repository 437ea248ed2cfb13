"""Fitting the simulator to measured curves (``docs/fitting.md``).

Public API
----------
read_curves, Curve            measured curves from CSV/TSV files (`latticedns.fit.data`)
load_fit_file, FitSpec        fit files, validated before any work (`latticedns.fit.spec`)
fit, FitResult, FitProgress   the least-squares fit, its uncertainties and progress (`.engine`)
write_fit, read_fit, report   FIT.h5 and the terminal report (`latticedns.fit.output`)
"""

from .data import Curve, read_curves
from .engine import FitProgress, FitResult, Objective, fit
from .spec import FitSpec, load_fit_file, parse_fit_document

__all__ = ["Curve", "read_curves", "FitSpec", "load_fit_file", "parse_fit_document",
           "fit", "FitResult", "FitProgress", "Objective"]
