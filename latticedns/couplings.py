"""Dipolar couplings with B0 along z: proton-proton flip-flop and electron-proton hyperfine.

Every function is vectorized (numpy broadcasting) and returns angular frequencies in
rad/s; distances are in nm, orientations are given by ``cos_theta``, the cosine of the
angle between the inter-spin vector and B0 (z).  Conventions (``docs/theory.md``):

* flip-flop (Eq. 1 of Chessari et al. 2023): the secular homonuclear dipolar
  Hamiltonian restricted to {|ab>, |ba>} is ``-D12/2 (sigma_+ + sigma_-)`` with
  ``D12 = d_HH (1 - 3 cos^2 theta) / 2``;
* secular hyperfine ``A_z = d_eH (3 cos^2 theta - 1)`` (point dipole, the electron at
  the origin), so that a proton's NMR line is shifted by ``A_z * P_e / 2`` (rad/s);
* pseudo-secular hyperfine ``B = 3 d_eH sin(theta) cos(theta)`` in
  ``H = A_z S_z I_z + B S_z I_x``; the paper's ``A_+ A_-`` of Eq. 6 is ``B^2 / 4``
  (``A_pm = (B/2) exp(-+ i phi)``, ``H = ... + A_+ S_z I_- + A_- S_z I_+``).

Examples
--------
>>> import numpy as np
>>> from latticedns.couplings import flipflop_coupling, pair_geometry
>>> r, c = pair_geometry(np.array([[0.0, 0.0, 0.66]]))
>>> float(flipflop_coupling(r, c)[0])  # two protons along B0: -d_HH
-2625.2094984165
"""

import numpy as np

from ._args import check_finite
from .constants import GAMMA_E, GAMMA_H, dipolar_constant

__all__ = [
    "AVERAGINGS",
    "pair_geometry",
    "flipflop_coupling",
    "hyperfine_secular",
    "hyperfine_pseudosecular_sq",
    "orientation_factor",
    "averaged_flipflop_coupling",
    "averaged_hyperfine_secular",
    "averaged_hyperfine_pseudosecular_sq",
]

#: Orientation averages of ``|3 cos^2 theta - 1|`` available for the radial model:
#: ``"rms"`` = sqrt(<(3c^2-1)^2>) = sqrt(4/5) (default: W depends on couplings
#: squared), ``"mean_abs"`` = <|3c^2-1|> = 4/(3 sqrt 3), ``"none"`` = 1 (bare
#: dipolar constant), ``"max"`` = 2 (B0 along the inter-spin vector).
AVERAGINGS = {
    "rms": np.sqrt(4.0 / 5.0),
    "mean_abs": 4.0 / (3.0 * np.sqrt(3.0)),
    "none": 1.0,
    "max": 2.0,
}


def pair_geometry(vectors_nm):
    """Distances and orientations of inter-spin vectors.

    Parameters
    ----------
    vectors_nm : array_like, shape (..., 3)
        Inter-spin vectors in nm (B0 along z).

    Returns
    -------
    r_nm : ndarray, shape (...)
        Lengths in nm.
    cos_theta : ndarray, shape (...)
        Cosine of the angle to B0 (z).
    """
    v = check_finite("vectors_nm", vectors_nm)
    r = np.sqrt(np.einsum("...i,...i->...", v, v))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(r > 0, v[..., 2] / r, 1.0)
    return r, c


def flipflop_coupling(r_nm, cos_theta, gamma=GAMMA_H):
    """Homonuclear flip-flop coupling ``D12 = d (1 - 3 cos^2 theta) / 2`` (Eq. 1).

    Parameters
    ----------
    r_nm : array_like
        Internuclear distance in nm (> 0).
    cos_theta : array_like
        Cosine of the angle between the internuclear vector and B0.
    gamma : float, optional
        Gyromagnetic ratio of the nuclei in rad s^-1 T^-1 (default 1H).

    Returns
    -------
    ndarray
        D12 in rad/s (broadcast shape of the inputs).
    """
    c = np.asarray(cos_theta, dtype=float)
    return 0.5 * dipolar_constant(gamma, gamma, r_nm) * (1.0 - 3.0 * c * c)


def hyperfine_secular(r_nm, cos_theta, gamma_n=GAMMA_H):
    """Secular point-dipole hyperfine coupling ``A_z = d_eN (3 cos^2 theta - 1)``.

    Parameters
    ----------
    r_nm : array_like
        Electron-nucleus distance in nm (> 0).
    cos_theta : array_like
        Cosine of the angle between the electron-nucleus vector and B0.
    gamma_n : float, optional
        Nuclear gyromagnetic ratio in rad s^-1 T^-1 (default 1H).

    Returns
    -------
    ndarray
        A_z in rad/s.
    """
    c = np.asarray(cos_theta, dtype=float)
    return dipolar_constant(GAMMA_E, gamma_n, r_nm) * (3.0 * c * c - 1.0)


def hyperfine_pseudosecular_sq(r_nm, cos_theta, gamma_n=GAMMA_H):
    """Product ``A_+ A_- = (B/2)^2 = (9/4) d_eN^2 sin^2 theta cos^2 theta`` (Eq. 6).

    Parameters
    ----------
    r_nm : array_like
        Electron-nucleus distance in nm (> 0).
    cos_theta : array_like
        Cosine of the angle between the electron-nucleus vector and B0.
    gamma_n : float, optional
        Nuclear gyromagnetic ratio in rad s^-1 T^-1 (default 1H).

    Returns
    -------
    ndarray
        A_+ A_- in (rad/s)^2.
    """
    c2 = np.asarray(cos_theta, dtype=float) ** 2
    d = dipolar_constant(GAMMA_E, gamma_n, r_nm)
    return 2.25 * d * d * c2 * (1.0 - c2)


def orientation_factor(averaging):
    """Orientation factor replacing ``|3 cos^2 theta - 1|`` (see :data:`AVERAGINGS`)."""
    try:
        return AVERAGINGS[averaging]
    except KeyError:
        raise ValueError(
            f"averaging: must be one of {sorted(AVERAGINGS)}, got {averaging!r}"
        ) from None


def averaged_flipflop_coupling(r_nm, averaging="rms", gamma=GAMMA_H):
    """Orientation-averaged ``|D12|`` = d/2 times the factor of ``averaging`` (rad/s)."""
    return 0.5 * orientation_factor(averaging) * dipolar_constant(gamma, gamma, r_nm)


def averaged_hyperfine_secular(r_nm, averaging="rms", gamma_n=GAMMA_H):
    """Orientation-averaged ``|A_z|`` = d_eN times the factor of ``averaging`` (rad/s)."""
    return orientation_factor(averaging) * dipolar_constant(GAMMA_E, gamma_n, r_nm)


def averaged_hyperfine_pseudosecular_sq(r_nm, gamma_n=GAMMA_H):
    """Isotropic average ``<A_+ A_-> = (9/4)(2/15) d^2 = (3/10) d_eN^2`` in (rad/s)^2."""
    d = dipolar_constant(GAMMA_E, gamma_n, r_nm)
    return 0.3 * d * d
