"""Sample-derived electron decorrelation rates: their parameters (carried by the electron
condition) and a sample's per-radical rates (``docs/theory.md`` section 7b).

The formulas are :mod:`latticedns.lattice.electrons`; this module puts them together for a
run: :class:`ElectronFlipflops` (the ``microwave.tau_c_model = "sample"`` parameters and the
reference radical of a concentration) and :func:`sample_electron_rates` (every radical's
Gamma_c,k of one sample).
"""

from dataclasses import dataclass, fields

import numpy as np

from .._args import check_choice, is_real
from ..constants import number_density_per_nm3
from ..errors import ConfigError
from .electrons import (CUTOFF_RMV, STATISTICS, decorrelation_rates, draw_offsets,
                        ee_flipflop_coupling, ee_flipflop_rate, flipflop_sums,
                        mean_flipflop_sum, radical_pairs, reference_flipflop_sums)

__all__ = ["ElectronFlipflops", "ElectronRates", "sample_electron_rates"]


@dataclass(frozen=True)
class ElectronFlipflops:
    """Parameters of the sample-derived electron decorrelation rates (section 7b).

    Carried by :class:`~latticedns.conditions.ElectronCondition` (``electrons``) when
    ``microwave.tau_c_model = "sample"``; hashable, so conditions stay cacheable.

    Attributes
    ----------
    epr_sigma_MHz : float
        Standard deviation of the Gaussian inhomogeneous EPR line, sigma_e / 2pi in MHz
        (ordinary frequency; 194.7 MHz is TEMPOL at 7.05 T, :func:`tempol_epr_sigma`).
    electron_t2_us : float
        Homogeneous T2e in us; the pair line decays at gamma = 2/T2e.
    ee_cutoff_nm : float or None
        e-e cutoff R in nm (< half the box edge of the sample it is applied to); None:
        ``ee_cutoff_rmv`` r_MV of the concentration (:meth:`cutoff_at`).
    ee_cutoff_rmv : float
        The cutoff in units of the radius of mean volume when ``ee_cutoff_nm`` is None
        (:data:`CUTOFF_RMV` = 2 by default), so that every concentration (and the anchor's
        reference sample) uses the same rule.
    ee_min_dist_nm : float
        Closest radical approach of the reference sample and the mean field, nm.
    electron_t1_s : float
        Electron T1 in s.
    scale : float
        Factor s on the flip-flop part (1: absolute; :func:`anchor_scale`), >= 0.
    statistic : {"median", "mean"}
        The statistic of sum_l W_kl that stands for a concentration (:data:`STATISTICS`).
    """

    epr_sigma_MHz: float
    electron_t2_us: float = 1.0
    ee_cutoff_nm: float | None = None
    ee_cutoff_rmv: float = CUTOFF_RMV
    ee_min_dist_nm: float = 0.6
    electron_t1_s: float = 1.0
    scale: float = 1.0
    statistic: str = "median"

    def __post_init__(self):
        check_choice("statistic", self.statistic, STATISTICS)
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "statistic" or (f.name == "ee_cutoff_nm" and v is None):
                continue
            bound = ">=" if f.name == "scale" else ">"
            if not (is_real(v) and (v >= 0 if f.name == "scale" else v > 0)):
                raise ConfigError(f.name, f"must be a finite number {bound} 0, got {v!r}")
            object.__setattr__(self, f.name, float(v))

    @property
    def sigma(self):
        """sigma_e in rad/s."""
        return 2e6 * np.pi * self.epr_sigma_MHz

    @property
    def gamma(self):
        """Zero-quantum decay rate 2/T2e in s^-1."""
        return 2e6 / self.electron_t2_us

    def cutoff_at(self, density_per_nm3):
        """The e-e cutoff in nm at a radical density (nm^-3): ``ee_cutoff_nm``, or
        ``ee_cutoff_rmv`` x (3 / (4 pi n))^(1/3)."""
        if self.ee_cutoff_nm is not None:
            return self.ee_cutoff_nm
        return self.ee_cutoff_rmv * (3.0 / (4.0 * np.pi * density_per_nm3)) ** (1.0 / 3.0)

    def reference_flipflop_sum(self, radical_mM):
        """The ``statistic`` of sum_l W_kl (s^-1, absolute) of random samples at ``radical_mM``.

        "median": of the reference sample (:func:`reference_flipflop_sums`); "mean": the
        mean field up to the cutoff (:func:`mean_flipflop_sum`).
        """
        n = float(number_density_per_nm3(radical_mM))
        if self.statistic == "mean":
            return mean_flipflop_sum(n, self.ee_min_dist_nm, self.sigma, self.gamma,
                                     self.cutoff_at(n))
        return float(np.median(reference_flipflop_sums(n, self.ee_min_dist_nm, self.sigma,
                                                       self.gamma, self.cutoff_at(n))))

    def reference_gamma_c(self, pbar, radical_mM):
        """Gamma_c (s^-1) standing for a concentration: 1/T1e + (1 - Pbar^2) s x the
        ``statistic`` of sum_l W_kl (:meth:`reference_flipflop_sum`)."""
        return float(decorrelation_rates(self.reference_flipflop_sum(radical_mM), pbar,
                                         self.electron_t1_s, self.scale))


@dataclass(frozen=True, eq=False)
class ElectronRates:
    """The flip-flop rates of one sample's radicals (:func:`sample_electron_rates`).

    Attributes
    ----------
    offsets : ndarray, shape (M,)
        Resonance offsets omega_k, rad/s.
    sums : ndarray, shape (M,)
        sum_l W_kl within the cutoff, s^-1 (absolute, before scale and polarization).
    k, l : ndarray, shape (Q,)
        The radical pairs within the cutoff.
    w : ndarray, shape (Q,)
        Their W_kl, s^-1.
    cutoff_nm : float
        The e-e cutoff used, nm (NaN with fewer than two radicals).
    params : ElectronFlipflops
    """

    offsets: np.ndarray
    sums: np.ndarray
    k: np.ndarray
    l: np.ndarray
    w: np.ndarray
    cutoff_nm: float
    params: ElectronFlipflops

    def gamma_c(self, pbar):
        """Gamma_c,k of every radical at ``pbar`` in s^-1, shape (M,)."""
        p = self.params
        return decorrelation_rates(self.sums, pbar, p.electron_t1_s, p.scale)

    def distribution(self, pbar, quantiles=(0.1, 0.5, 0.9)):
        """Mean, geometric mean and quantiles of Gamma_c,k at ``pbar`` (s^-1), as a dict."""
        g = self.gamma_c(pbar)
        out = {"mean": float(g.mean()), "geometric_mean": float(np.exp(np.log(g).mean()))}
        out.update({f"q{q:g}": float(v) for q, v in zip(quantiles, np.quantile(g, quantiles))})
        return out


def sample_electron_rates(sample, params):
    """:class:`ElectronRates` of a sample's radicals (offsets from ``sample.spec.seed``).

    Parameters
    ----------
    sample : latticedns.lattice.Sample
    params : ElectronFlipflops

    Returns
    -------
    ElectronRates
    """
    m = sample.n_radicals
    offsets = draw_offsets(m, params.sigma, sample.spec.seed)
    if m < 2:  # no pair: Gamma_c = 1/T1e
        e = np.zeros(0, np.int64)
        return ElectronRates(offsets=offsets, sums=np.zeros(m), k=e, l=e.copy(), w=np.zeros(0),
                             cutoff_nm=float("nan"), params=params)
    cutoff = params.cutoff_at(m / sample.box_nm ** 3)
    k, l, r, c = radical_pairs(sample.radicals_nm, sample.box_nm, cutoff)
    w = ee_flipflop_rate(ee_flipflop_coupling(r, c), offsets[k] - offsets[l], params.gamma)
    return ElectronRates(offsets=offsets, sums=flipflop_sums(k, l, w, m), k=k, l=l, w=w,
                         cutoff_nm=float(cutoff), params=params)
