"""Parameters of the continuum model (validated, frozen).

Names mirror :class:`latticedns.lattice.model.LatticeParameters` and
:class:`latticedns.diffusion.DiffusionConditions` where the meaning is the same; every
invalid value raises :class:`latticedns.errors.ConfigError` naming its key.

Examples
--------
>>> from latticedns.continuum.parameters import ContinuumParameters
>>> p = ContinuumParameters(radical_mM=50.0)
>>> round(p.r_out_nm, 3), p.element, p.mesh_refinement, p.averaging, p.boundary_averaging
(1.994, 'P2', 1.0, 'rms', 'equal_volume')
"""

from dataclasses import asdict, dataclass

import numpy as np

from ..constants import GAMMA_E, GAMMA_H, boltzmann_polarization
from ..couplings import AVERAGINGS
from ..diffusion import DiffusionConditions, mean_volume_radius_nm
from .._args import check_choice
from ..errors import ConfigError
from ..rates import LIMITS
from .boundary import BOUNDARY_AVERAGINGS
from .channels import TRANSPORTS
from .mesh import ELEMENTS

__all__ = ["ContinuumParameters", "REMOVED"]

_POSITIVE = ("radical_mM", "r_in_nm", "a_nm", "gamma2_II_kHz", "b0_T", "temperature_K",
             "t1_bulk_s", "dnp_r0_nm", "bandwidth_kHz", "splitting_factor", "mesh_refinement",
             "h_max_nm", "h_inner_nm", "h_boundary_nm", "mesh_lnD_step",
             "proton_density_per_nm3", "channel_radius_nm", "channel_cutoff_nm",
             "channel_hyperfine_cutoff_nm")
_NON_NEGATIVE = ("min_dist_proton_proton_nm", "min_dist_radical_radical_nm")

#: Keys of earlier versions and what replaced them (a clear message instead of "unknown").
REMOVED = {"n_elements": "mesh_refinement (and h_max_nm, h_inner_nm, h_boundary_nm)",
           "grading": "mesh_growth", "saturation_gap_nm": "h_boundary_nm"}


@dataclass(frozen=True)
class ContinuumParameters:
    """Physics and discretization parameters of the continuum model (validated).

    Attributes
    ----------
    radical_mM : float
        Radical concentration in mM (50); sets ``r_out = r_MV = (3 / (4 pi n_e))^(1/3)``.
    r_in_nm : float
        Proton-radical exclusion distance in nm (0.3), no-flux inner boundary.
    a_nm, gamma2_II_kHz, b0_T, temperature_K, averaging, limit, splitting_factor
        As in :class:`latticedns.diffusion.DiffusionConditions` (0.66 nm, 11 kHz,
        7.05 T, 1.2 K, "rms", "exact", 0.5); ``averaging`` is the orientation average
        of the couplings in D(r) only.
    boundary_averaging : str
        Convention of the visible/hidden boundary radius, one of
        :data:`latticedns.continuum.boundary.BOUNDARY_AVERAGINGS`: "equal_volume"
        (default: the hidden shell has the volume of the lattice's per-orientation
        hidden region) or an orientation factor of ``AVERAGINGS`` ("rms", "mean_abs",
        ...) applied to ``|A_z|``.
    lineshape : str
        Zero-quantum line of D(r): "gaussian" (default, as the lattice) or "lorentzian"
        (Eq. 8, the paper); see :class:`latticedns.diffusion.DiffusionConditions`.
    t1_bulk_s : float
        Proton T1 away from radicals in s (3600; inf: none), as the lattice.
    dnp_r0_nm : float
        Reference distance of the DNP profile ``k(r) = k_dnp (r0 / r)^6`` in nm (0.9).
    element : {"P1", "P2"}
        Lagrange element (default "P2").
    mesh_refinement : float
        Divides every element size below and ``mesh_growth - 1`` (default 1; 2, 4, ...:
        a mesh about that many times finer everywhere, for convergence checks).
    h_max_nm : float
        Largest element size in nm (0.05).
    h_inner_nm : float
        Element size at ``r_in`` in nm (0.005).
    h_boundary_nm : float
        Element size in nm on both sides of each visible/hidden boundary (2e-5): the jump a
        selective saturation leaves there relaxes through a layer ``sqrt(D t)`` about 3e-4 nm
        thick at the first record 0.025 s later with microwaves off (``docs/theory.md``).
    mesh_growth : float
        Size ratio of neighbouring elements in the graded zones (1.25, >= 1).
    mesh_lnD_step : float
        Largest change of ln D(r) across one element (0.15): D of the Gaussian line falls
        by five decades between 1.1 and 0.8 nm (``docs/theory.md``, "Mesh").
    bandwidth_kHz : float
        Saturation/detection bandwidth (200 kHz) of the visible/hidden boundaries that
        are made mesh vertices.
    boundary_pbars : tuple of float
        Electron polarizations whose visible/hidden boundary radius (at
        ``bandwidth_kHz``) is made a mesh vertex, in addition to the thermal electron
        polarization at (``b0_T``, ``temperature_K``), which is always included.
    intorder : int or None
        Gauss quadrature order (None: ``2 * degree + 4``).
    transport : str
        Transport closure, one of :data:`latticedns.continuum.channels.TRANSPORTS`:
        "pair" (default: the one-pair D(r) of Fig. 3 on the whole sphere) or "channels"
        (the protons of the near zone ``r < channel_radius_nm`` sampled explicitly from the
        glass statistics, exchanging through their own pair rates with each other and with
        the radial bulk field; ``docs/theory.md`` 8.8).  The keys below apply to
        "channels" only.
    proton_density_per_nm3 : float
        1H density of the sampled glass, 1/nm^3 (7.477, DNP juice; as the sample's key).
    min_dist_proton_proton_nm, min_dist_radical_radical_nm : float
        Hard cores of the sampled glass in nm (0.15, 0.6; as the sample's keys); the
        proton-radical one is ``r_in_nm``.
    channel_radius_nm : float
        Radius r_c of the near zone in nm (1.2; in (r_in, r_MV)): protons whose nearest
        radical is closer are explicit, the field covers ``[r_c, r_MV]``.
    channel_radicals : int
        Number M of sampled radicals (80: 4.2e3 near protons at 50 mM); the statistical
        error of the model falls as M^-1/2, as a lattice's with M radicals.
    channel_seed : int
        Seed of the sampled glass (1).
    channel_cutoff_nm, channel_hyperfine_cutoff_nm : float
        Flip-flop and hyperfine cutoffs of the sampled couplings in nm (1.5, 3.0: the
        lattice's defaults); both must be below half the sampled box edge.
    """

    radical_mM: float = 50.0
    r_in_nm: float = 0.3
    a_nm: float = 0.66
    gamma2_II_kHz: float = 11.0
    b0_T: float = 7.05
    temperature_K: float = 1.2
    t1_bulk_s: float = 3600.0
    dnp_r0_nm: float = 0.9
    averaging: str = "rms"
    boundary_averaging: str = "equal_volume"
    limit: str = "exact"
    splitting_factor: float = 0.5
    lineshape: str = "gaussian"
    element: str = "P2"
    mesh_refinement: float = 1.0
    h_max_nm: float = 0.05
    h_inner_nm: float = 0.005
    h_boundary_nm: float = 2e-5
    mesh_growth: float = 1.25
    mesh_lnD_step: float = 0.15
    bandwidth_kHz: float = 200.0
    boundary_pbars: tuple = ()
    intorder: int | None = None
    transport: str = "pair"
    proton_density_per_nm3: float = 7.477
    min_dist_proton_proton_nm: float = 0.15
    min_dist_radical_radical_nm: float = 0.6
    channel_radius_nm: float = 1.2
    channel_radicals: int = 80
    channel_seed: int = 1
    channel_cutoff_nm: float = 1.5
    channel_hyperfine_cutoff_nm: float = 3.0

    def __post_init__(self):
        for key in _POSITIVE:
            v = getattr(self, key)
            if not _is_number(v) or np.isnan(v) or v <= 0:
                raise ConfigError(key, f"must be a number > 0, got {v!r}")
            if key != "t1_bulk_s" and not np.isfinite(v):
                raise ConfigError(key, f"must be finite, got {v!r}")
        g = self.mesh_growth
        if not _is_number(g) or not np.isfinite(g) or g < 1:
            raise ConfigError("mesh_growth", f"must be a finite number >= 1 (size ratio of "
                              f"neighbouring elements), got {g!r}")
        r_out = float(mean_volume_radius_nm(self.radical_mM))
        if self.r_in_nm >= r_out:
            raise ConfigError("r_in_nm", f"must be < r_MV = {r_out:.4g} nm at "
                              f"{self.radical_mM} mM, got {self.r_in_nm!r}")
        v = self.intorder
        if v is not None and (not isinstance(v, (int, np.integer)) or isinstance(v, bool)
                              or v < 1):
            raise ConfigError("intorder", f"must be an integer >= 1, got {v!r}")
        check_choice("element", self.element, ELEMENTS)
        check_choice("averaging", self.averaging, AVERAGINGS)
        check_choice("boundary_averaging", self.boundary_averaging, BOUNDARY_AVERAGINGS)
        check_choice("limit", self.limit, LIMITS)
        self.diffusion_conditions()  # lineshape and its compatibility with limit
        try:
            pbars = tuple(float(p) for p in self.boundary_pbars)
        except (TypeError, ValueError):
            raise ConfigError("boundary_pbars", f"must be a sequence of numbers, got "
                              f"{self.boundary_pbars!r}") from None
        if not all(np.isfinite(p) and -1 <= p <= 1 for p in pbars):
            raise ConfigError("boundary_pbars", f"must lie in [-1, 1], got {pbars!r}")
        object.__setattr__(self, "boundary_pbars", pbars)
        self._check_channels(r_out)

    def _check_channels(self, r_out):
        check_choice("transport", self.transport, TRANSPORTS)
        for key in _NON_NEGATIVE:
            v = getattr(self, key)
            if not _is_number(v) or not np.isfinite(v) or v < 0:
                raise ConfigError(key, f"must be a finite number >= 0, got {v!r}")
        for key, lo in (("channel_radicals", 1), ("channel_seed", 0)):
            v = getattr(self, key)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ConfigError(key, f"must be an integer >= {lo}, got {v!r}")
        if self.transport != "channels":  # the sampled zone's geometry matters only there
            return
        if not self.r_in_nm < self.channel_radius_nm < r_out:
            raise ConfigError("channel_radius_nm", f"must lie in (r_in, r_MV) = "
                              f"({self.r_in_nm:g}, {r_out:.4g}) nm, got "
                              f"{self.channel_radius_nm!r}")
        half = 0.5 * float(np.cbrt(self.channel_radicals / (self.radical_mM * 6.02214076e-4)))
        for key in ("channel_cutoff_nm", "channel_hyperfine_cutoff_nm"):
            if getattr(self, key) >= half:
                raise ConfigError(key, f"must be < half the sampled box edge ({half:.4g} nm "
                                  f"for channel_radicals = {self.channel_radicals}), got "
                                  f"{getattr(self, key)!r}")

    @property
    def r_out_nm(self):
        """Outer radius r_MV in nm (1.994 nm at 50 mM)."""
        return float(mean_volume_radius_nm(self.radical_mM))

    @property
    def proton_thermal(self):
        """Thermal proton polarization (0.0060 at 7.05 T, 1.2 K)."""
        return float(boltzmann_polarization(GAMMA_H, self.b0_T, self.temperature_K))

    @property
    def electron_thermal(self):
        """Thermal electron polarization (0.99926 at 7.05 T, 1.2 K)."""
        return float(boltzmann_polarization(GAMMA_E, self.b0_T, self.temperature_K))

    def diffusion_conditions(self, tau_c_us=0.5, relaxation_tau_c_us=None):
        """The :class:`DiffusionConditions` of D(r) for the electron correlation times (us)."""
        return DiffusionConditions(
            a_nm=self.a_nm, gamma2_II_kHz=self.gamma2_II_kHz, tau_c_us=tau_c_us,
            relaxation_tau_c_us=relaxation_tau_c_us,
            b0_T=self.b0_T, temperature_K=self.temperature_K, radical_mM=self.radical_mM,
            averaging=self.averaging, limit=self.limit,
            splitting_factor=self.splitting_factor, lineshape=self.lineshape)

    def mesh_sizes(self):
        """``(h_max, h_inner, h_boundary, growth, lnD_step)`` after ``mesh_refinement``."""
        m = float(self.mesh_refinement)
        return (self.h_max_nm / m, self.h_inner_nm / m, self.h_boundary_nm / m,
                1.0 + (self.mesh_growth - 1.0) / m, self.mesh_lnD_step / m)

    def replace(self, **changes):
        """Return a validated copy with some fields changed."""
        return ContinuumParameters(**{**asdict(self), **changes})


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
