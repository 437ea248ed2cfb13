"""Continuum model: radial finite elements in the Wigner-Seitz sphere of one radical.

Public API
----------
ContinuumParameters, ContinuumModel    the model (contract of :mod:`latticedns.system`)
graded_vertices, radial_basis          radial meshes graded toward the radical
assemble_*, shell_weights              the r^2-weighted forms
boundary_radius_nm, equal_volume_radius_nm   the visible/hidden boundary

Documentation: ``docs/theory.md``, section "Continuum model".
"""

from .boundary import (BOUNDARY_AVERAGINGS, boundary_radius_nm, equal_volume_radius_nm,
                       hidden_volume_scale_nm3, mean_excess)
from .forms import (assemble_load, assemble_mass, assemble_reaction, assemble_stiffness,
                    quadrature_radii, shell_weights)
from .mesh import ELEMENTS, graded_vertices, radial_basis
from .model import SNAP_NM, ContinuumModel
from .parameters import ContinuumParameters

__all__ = [
    "ContinuumParameters", "ContinuumModel", "SNAP_NM",
    "ELEMENTS", "graded_vertices", "radial_basis",
    "assemble_stiffness", "assemble_mass", "assemble_reaction", "assemble_load",
    "quadrature_radii", "shell_weights",
    "BOUNDARY_AVERAGINGS", "boundary_radius_nm", "equal_volume_radius_nm",
    "hidden_volume_scale_nm3", "mean_excess",
]
