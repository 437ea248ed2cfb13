"""Physical constants, Larmor frequencies and Boltzmann polarizations.

Internal unit system (see ``docs/theory.md``): lengths in nm, times in s, every
frequency that enters a formula is an *angular* frequency in rad/s, gyromagnetic
ratios in rad s^-1 T^-1, fields in T, temperatures in K.  Values in Hz appear only at
the edge (configuration keys ending in ``_Hz``/``_kHz``, plot labels).

All constants come from :mod:`scipy.constants` (CODATA).

Examples
--------
>>> from latticedns.constants import GAMMA_E, GAMMA_H, boltzmann_polarization
>>> round(float(boltzmann_polarization(GAMMA_E, 7.05, 1.2)), 5)
0.99926
>>> round(float(boltzmann_polarization(GAMMA_H, 7.05, 1.2)), 4)
0.006
"""

import numpy as np
from scipy import constants as _sc

from ._args import check_positive

__all__ = [
    "G_ELECTRON",
    "GAMMA_E",
    "GAMMA_H",
    "HBAR",
    "K_B",
    "MU0_OVER_4PI",
    "N_A",
    "larmor_angular",
    "boltzmann_polarization",
    "dipolar_constant",
    "number_density_per_nm3",
]

#: Electron g factor of a nitroxide (TEMPOL) used throughout (dimensionless).
G_ELECTRON = 2.0023
HBAR = _sc.hbar  #: J s
K_B = _sc.k  #: J/K
N_A = _sc.N_A  #: 1/mol
MU0_OVER_4PI = _sc.mu_0 / (4.0 * np.pi)  #: T m / A (= 1e-7 to 1e-10 relative)
#: Electron gyromagnetic ratio magnitude g*mu_B/hbar (rad s^-1 T^-1); the sign is
#: carried by the convention that electron polarizations are positive at equilibrium.
GAMMA_E = G_ELECTRON * _sc.physical_constants["Bohr magneton"][0] / _sc.hbar
#: Proton gyromagnetic ratio (rad s^-1 T^-1), CODATA.
GAMMA_H = _sc.physical_constants["proton gyromag. ratio"][0]


def larmor_angular(gamma, b0_T):
    """Larmor angular frequency ``omega_0 = |gamma| * B0``.

    Parameters
    ----------
    gamma : float or array_like
        Gyromagnetic ratio in rad s^-1 T^-1.
    b0_T : float or array_like
        Static field in T (>= 0).

    Returns
    -------
    ndarray
        Angular frequency in rad/s (divide by 2*pi for Hz).
    """
    b0 = check_positive("b0_T", b0_T, allow_zero=True)
    return np.abs(gamma) * b0


def boltzmann_polarization(gamma, b0_T, temperature_K):
    """Thermal-equilibrium polarization of a spin 1/2, ``tanh(hbar |gamma| B0 / (2 kB T))``.

    Parameters
    ----------
    gamma : float or array_like
        Gyromagnetic ratio in rad s^-1 T^-1 (sign ignored).
    b0_T : float or array_like
        Static field in T (>= 0).
    temperature_K : float or array_like
        Lattice temperature in K (> 0).

    Returns
    -------
    ndarray
        Polarization in [0, 1] (dimensionless).
    """
    t = check_positive("temperature_K", temperature_K)
    return np.tanh(HBAR * larmor_angular(gamma, b0_T) / (2.0 * K_B * t))


def dipolar_constant(gamma1, gamma2, r_nm):
    """Dipolar coupling constant ``d = (mu0/4pi) gamma1 gamma2 hbar / r^3``.

    Parameters
    ----------
    gamma1, gamma2 : float
        Gyromagnetic ratios in rad s^-1 T^-1 (signs ignored).
    r_nm : float or array_like
        Inter-spin distance in nm (> 0).

    Returns
    -------
    ndarray
        Angular frequency in rad/s.  For two protons at 0.66 nm: 2.63e3 rad/s (418 Hz);
        for an electron and a proton at 0.9 nm: 6.8e5 rad/s (108 kHz).
    """
    r = check_positive("r_nm", r_nm)
    return MU0_OVER_4PI * abs(gamma1 * gamma2) * HBAR / (r * 1e-9) ** 3


def number_density_per_nm3(concentration_mM):
    """Number density of a solute from its molar concentration.

    Parameters
    ----------
    concentration_mM : float or array_like
        Concentration in mmol/L (>= 0).

    Returns
    -------
    ndarray
        Molecules per nm^3 (50 mM -> 0.0301 nm^-3).
    """
    c = check_positive("concentration_mM", concentration_mM, allow_zero=True)
    return c * 1e-3 * N_A * 1e-24  # mol/L -> 1/L -> 1/nm^3 (1 L = 1e24 nm^3)
