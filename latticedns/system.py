"""The contract between a physical model and the propagator/protocol.

A model (lattice or continuum) turns an :class:`~latticedns.conditions.ElectronCondition`
into a :class:`LinearSystem` ``M dp/dt = A p + s`` and offers observables as weight
matrices.  The protocol and the propagator only ever see these objects.

A model implements (duck typing; see :class:`Model`):

``n`` (int)
    Number of degrees of freedom (protons, or finite-element nodes).
``mass`` (sparse matrix or None)
    The condition-independent mass matrix M of every system, None for the identity.
``system(condition) -> LinearSystem``
    Cached per condition; the sparsity pattern is the same for every condition.
``observable_weights(pbar, bandwidth_kHz) -> ndarray, shape (2, n)``
    Rows whose dot product with p gives the mean polarization of the visible and of
    the hidden protons (the split uses the NMR shift at electron polarization ``pbar``).
``saturation_mask(pbar, bandwidth_kHz) -> ndarray of bool, shape (n,)``
    Degrees of freedom zeroed by a selective saturation (and read by small-angle pulses).
``saturate(p, pbar, bandwidth_kHz, residual) -> ndarray, shape (n,)``
    The state after a selective saturation that leaves ``residual`` of the visible
    polarization: the visible mean becomes ``residual`` times its value, the hidden mean is
    unchanged (exactly, for both models).
``radial_profile_weights(bin_edges_nm) -> ndarray, shape (n_bins, n)``
    Rows giving the mean polarization in shells of distance to the nearest radical.
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["LinearSystem", "Model"]


@dataclass(frozen=True, eq=False)
class LinearSystem:
    """``M dp/dt = A p + s`` for one condition.

    Attributes
    ----------
    operator : scipy.sparse matrix, shape (n, n)
        A, symmetric negative semi-definite, in s^-1 (times the mass units).
    source : ndarray, shape (n,)
        s, in s^-1 (times the mass units).
    mass : scipy.sparse matrix or None
        M, symmetric positive definite (finite-element mass matrix), or None for the
        identity (the lattice).
    """

    operator: object
    source: np.ndarray
    mass: object = None


class Model(Protocol):
    """Structural type of a physical model (see the module docstring)."""

    n: int
    mass: object

    def system(self, condition) -> LinearSystem: ...

    def observable_weights(self, pbar: float, bandwidth_kHz: float) -> np.ndarray: ...

    def saturation_mask(self, pbar: float, bandwidth_kHz: float) -> np.ndarray: ...

    def saturate(self, p: np.ndarray, pbar: float, bandwidth_kHz: float,
                 residual: float) -> np.ndarray: ...

    def radial_profile_weights(self, bin_edges_nm) -> np.ndarray: ...
