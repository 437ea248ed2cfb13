"""Figures (matplotlib).  Imported only by the command line and by users, never by the core."""

from .fig3 import plot_fig3a, plot_fig3b
from .fit import plot_fit
from .hypres import plot_runs
from .profiles import plot_profiles
from .sweep import plot_sweep, sweep_figures

__all__ = ["plot_fig3a", "plot_fig3b", "plot_fit", "plot_profiles", "plot_runs", "plot_sweep",
           "sweep_figures"]
