"""Radial spin-diffusion coefficient D(r, Pbar) = W a^2 (Fig. 3 of Chessari et al. 2023).

The geometry of the paper's Fig. 3: nucleus 1 at distance ``r`` from the electron,
nucleus 2 at ``r + a`` on the same line (radially outward), so both see the same
orientation to B0; couplings replaced by their orientation averages (default
``"rms"``, see :data:`latticedns.couplings.AVERAGINGS`).  Lengths in nm, rates in s^-1,
frequencies given in the configuration in kHz (ordinary frequency, divided by 2 pi).

Examples
--------
>>> from latticedns.diffusion import diffusion_coefficient, hidden_radius_nm
>>> round(float(hidden_radius_nm()), 2)
0.89
>>> d_on, d_off = diffusion_coefficient(0.9, [0.5, 0.9993])
>>> bool(d_on > d_off)
True
"""

from dataclasses import asdict, dataclass

import numpy as np

from ._args import check_choice, check_polarization, check_positive
from .constants import (
    GAMMA_E,
    GAMMA_H,
    boltzmann_polarization,
    dipolar_constant,
    larmor_angular,
    number_density_per_nm3,
)
from .couplings import (
    averaged_flipflop_coupling,
    averaged_hyperfine_pseudosecular_sq,
    averaged_hyperfine_secular,
    orientation_factor,
)
from .errors import ConfigError
from .lineshape import check_lineshape, flipflop_rate_lineshape
from .rates import LIMITS, MAX_SPLITTING_FACTOR, flipflop_rate, paramagnetic_relaxation_rate

__all__ = [
    "DiffusionConditions",
    "diffusion_coefficient",
    "pair_rate",
    "mean_volume_radius_nm",
    "hidden_radius_nm",
    "validity_radius_nm",
]

_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class DiffusionConditions:
    """Sample and electron conditions of the radial D(r) model (defaults: the paper's Fig. 3).

    Attributes
    ----------
    a_nm : float
        Mean internuclear distance a in nm (0.66).
    gamma2_II_kHz : float
        Nuclear zero-quantum broadening Gamma_2^(II) / (2 pi), in kHz (11): the
        Lorentzian HWHM of the flip-flop line, i.e. half the 22 kHz measured FWHM;
        internally Gamma_2^(II) = 2 pi * 1e3 * value rad/s.
    tau_c_us : float
        Electron spin-state correlation time tau_c = 1/Gamma_c in microseconds (0.5).
    b0_T : float
        Static field in T (7.05).
    temperature_K : float
        Temperature in K (1.2).
    radical_mM : float
        Radical concentration in mM (50), for r_MV.
    averaging : str
        Orientation average of the couplings ("rms", "mean_abs", "none", "max").
    limit : str
        Flip-flop rate expression: "exact" (Eq. 9), "slow" (Eq. 10), "fast" (Eq. 11).
    include_gamma1 : bool
        Add Gamma_1 of both nuclei (Eq. 6) to Gamma_2 (True, as in the paper).
    relaxation_tau_c_us : float or None
        Correlation time in microseconds of the electron noise that Eq. 6 samples (None:
        ``tau_c_us``, the paper; see :class:`latticedns.conditions.ElectronCondition`).
    hidden_coupling_kHz : float
        Electron-proton coupling |A_z|/(2 pi) in kHz defining r_h (100).
    splitting_factor : float
        Delta of Eq. 2 as a multiple of A_z1 - A_z2 (physical secular couplings,
        H = A_z S_z I_z): 0.5 (default) since <S_z> = Pbar/2; 1.0 reads the paper's A_z as
        the full coupling (``docs/theory.md``, section 3).
    lineshape : str
        Zero-quantum line: "lorentzian" (Eq. 8, the paper; default here) or "gaussian"
        (Gaussian of half width Gamma_2^(II), convolved with the Lorentzian Gamma_1 terms;
        :mod:`latticedns.lineshape`, only with ``limit="exact"``).
    """

    a_nm: float = 0.66
    gamma2_II_kHz: float = 11.0
    tau_c_us: float = 0.5
    b0_T: float = 7.05
    temperature_K: float = 1.2
    radical_mM: float = 50.0
    averaging: str = "rms"
    limit: str = "exact"
    include_gamma1: bool = True
    hidden_coupling_kHz: float = 100.0
    splitting_factor: float = 0.5
    lineshape: str = "lorentzian"
    relaxation_tau_c_us: float | None = None

    def __post_init__(self):
        for key in ("a_nm", "gamma2_II_kHz", "tau_c_us", "b0_T", "temperature_K",
                    "radical_mM", "hidden_coupling_kHz", "splitting_factor"):
            value = getattr(self, key)
            if not (np.isfinite(value) and value > 0):
                raise ConfigError(key, f"must be a finite number > 0, got {value!r}")
        if self.splitting_factor > MAX_SPLITTING_FACTOR:
            raise ConfigError("splitting_factor", f"must be in (0, {MAX_SPLITTING_FACTOR:g}], got "
                                                  f"{self.splitting_factor!r}")
        r = self.relaxation_tau_c_us
        if r is not None and not (np.isfinite(r) and r > 0):
            raise ConfigError("relaxation_tau_c_us", f"must be a finite number > 0, got {r!r}")
        try:
            orientation_factor(self.averaging)
        except ValueError as exc:
            raise ConfigError("averaging", str(exc).split(": ", 1)[1]) from None
        check_choice("limit", self.limit, LIMITS)
        check_lineshape(self.lineshape)
        if self.lineshape != "lorentzian" and self.limit != "exact":
            raise ConfigError("limit", f"the {self.lineshape} line needs limit = 'exact', got "
                              f"{self.limit!r}")

    @property
    def gamma_c(self):
        """Electron decorrelation rate Gamma_c = 1/tau_c in s^-1."""
        return 1e6 / self.tau_c_us

    @property
    def gamma_c_relaxation(self):
        """Decorrelation rate in s^-1 used in Eq. 6 (``1/relaxation_tau_c_us``, else Gamma_c)."""
        if self.relaxation_tau_c_us is None:
            return self.gamma_c
        return 1e6 / self.relaxation_tau_c_us

    @property
    def gamma2_II(self):
        """Gamma_2^(II) in rad/s."""
        return _TWO_PI * 1e3 * self.gamma2_II_kHz

    @property
    def omega_0(self):
        """Proton Larmor angular frequency in rad/s."""
        return float(larmor_angular(GAMMA_H, self.b0_T))

    @property
    def electron_boltzmann(self):
        """Thermal electron polarization (dimensionless)."""
        return float(boltzmann_polarization(GAMMA_E, self.b0_T, self.temperature_K))

    def replace(self, **changes):
        """Return a copy with some fields changed (validated)."""
        return DiffusionConditions(**{**asdict(self), **changes})


def _conditions(conditions, overrides):
    base = conditions if conditions is not None else DiffusionConditions()
    return base.replace(**overrides) if overrides else base


def pair_rate(r_nm, pbar, conditions=None, **overrides):
    """Flip-flop rate W(r, Pbar) of the Fig. 3 pair (nuclei at r and r + a), in s^-1.

    Parameters
    ----------
    r_nm : array_like
        Distance of the closer nucleus to the electron in nm (> 0).
    pbar : array_like
        Mean electron polarization in [-1, 1]; broadcasts against ``r_nm``.
    conditions : DiffusionConditions, optional
        Defaults to the paper's Fig. 3 conditions; keyword ``overrides`` change fields.

    Returns
    -------
    ndarray
        W in s^-1, broadcast shape of ``r_nm`` and ``pbar``.
    """
    c = _conditions(conditions, overrides)
    r1 = check_positive("r_nm", r_nm)
    p = check_polarization("pbar", pbar)
    r2 = r1 + c.a_nm
    delta = c.splitting_factor * (averaged_hyperfine_secular(r1, c.averaging)
                                  - averaged_hyperfine_secular(r2, c.averaging))
    d12 = averaged_flipflop_coupling(c.a_nm, c.averaging)
    gamma_l = np.zeros(np.broadcast(r1, p).shape)
    if c.include_gamma1:
        for r in (r1, r2):
            gamma_l = gamma_l + paramagnetic_relaxation_rate(
                averaged_hyperfine_pseudosecular_sq(r), p, c.gamma_c_relaxation, c.omega_0)
    if c.lineshape == "lorentzian":
        return flipflop_rate(d12, delta, p, c.gamma_c, gamma_l + c.gamma2_II, limit=c.limit)
    return flipflop_rate_lineshape(d12, delta, p, c.gamma_c, gamma_l, c.gamma2_II, c.lineshape)


def diffusion_coefficient(r_nm, pbar, conditions=None, **overrides):
    """Spin-diffusion coefficient ``D(r, Pbar) = W a^2`` in nm^2/s (Fig. 3).

    Parameters
    ----------
    r_nm : array_like
        Distance of the closer nucleus to the electron in nm (> 0).
    pbar : array_like
        Mean electron polarization in [-1, 1].
    conditions : DiffusionConditions, optional
        Fig. 3 conditions by default.
    **overrides
        Any :class:`DiffusionConditions` field, e.g. ``tau_c_us=1.0`` or
        ``limit="slow"``.

    Returns
    -------
    ndarray
        D in nm^2/s.

    Examples
    --------
    >>> import numpy as np
    >>> d = diffusion_coefficient(np.array([1.0, 2.0]), 0.0)
    >>> bool(d[1] > d[0])
    True
    """
    c = _conditions(conditions, overrides)
    return pair_rate(r_nm, pbar, c) * c.a_nm**2


def mean_volume_radius_nm(radical_mM=50.0):
    """Radius of the mean volume per electron, ``(3 / (4 pi n))^(1/3)``, in nm."""
    n = check_positive("radical_mM", number_density_per_nm3(radical_mM))
    return (3.0 / (4.0 * np.pi * n)) ** (1.0 / 3.0)


def _radius_at_coupling(coupling_rad_s, averaging):
    d_at_1nm = float(dipolar_constant(GAMMA_E, GAMMA_H, 1.0))
    return (orientation_factor(averaging) * d_at_1nm / coupling_rad_s) ** (1.0 / 3.0)


def hidden_radius_nm(coupling_kHz=100.0, averaging="rms"):
    """Radius r_h in nm where the averaged |A_z| equals ``coupling_kHz`` (x 2 pi rad/s)."""
    c = check_positive("coupling_kHz", coupling_kHz)
    return _radius_at_coupling(_TWO_PI * 1e3 * c, averaging)


def validity_radius_nm(gamma_c, averaging="rms", splitting_factor=0.5):
    """Radius in nm inside which ``Gamma_c < splitting_factor * |A_z|`` and the model breaks down.

    The nucleus sees the hyperfine field switch by ``splitting_factor * |A_z|`` (rad/s) per
    electron state; when the electron stays longer than the inverse of that, the averaged
    description of Eq. 2 fails (the paper's criterion Gamma_c < |A|).

    Parameters
    ----------
    gamma_c : float
        Electron decorrelation rate in s^-1.
    averaging : str
        Orientation average of |A_z|.
    splitting_factor : float
        As in :class:`DiffusionConditions`.
    """
    gc = check_positive("gamma_c", gamma_c)
    return _radius_at_coupling(gc / check_positive("splitting_factor", splitting_factor), averaging)
