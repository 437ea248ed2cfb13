"""The lattice model: a sample's sparse rate matrix and source for any electron condition.

``dp/dt = L p + s`` with ``L = W - diag(sum_j W_ij) - diag(R + k)`` and
``s = R p_thermal + k p_target`` (``docs/theory.md``, section 6).  The pair list, couplings
and sparsity pattern are computed once per sample; a new :class:`ElectronCondition`
recomputes only the values (vectorized) and is cached.

Examples
--------
>>> from latticedns.lattice import SampleSpec, generate_sample
>>> from latticedns.lattice.model import LatticeModel
>>> from latticedns.conditions import ElectronCondition
>>> sample = generate_sample(SampleSpec.from_dict({"radical_mM": 50, "n_protons": 2000,
...                                                "proton_density_per_nm3": 7.0, "seed": 1}))
>>> model = LatticeModel(sample)
>>> L, s = model.operator(ElectronCondition(pbar=0.99926))
>>> bool(abs(L.sum(axis=1)).max() < 1e-3 * abs(L.diagonal()).max())  # small relaxation only
True
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace

import numpy as np

from ..constants import GAMMA_H, boltzmann_polarization, larmor_angular
from ..errors import ConfigError
from ..lineshape import check_lineshape, flipflop_rate_lineshape
from ..couplings import hyperfine_pseudosecular_sq, hyperfine_secular
from ..rates import MAX_SPLITTING_FACTOR, paramagnetic_relaxation_rate
from ..resources import threads
from ..system import LinearSystem
from .couplings import coupling_geometry, neighbour_zero_quantum_sums, pair_weighted_log_mean
from .electron_rates import sample_electron_rates
from .neighbours import proton_radical_pairs
from .ratematrix import assemble, build_pattern

__all__ = ["LatticeParameters", "LatticeModel", "effective_splitting"]


@dataclass(frozen=True)
class LatticeParameters:
    """Physics parameters of the lattice model that do not change between stages.

    Attributes
    ----------
    cutoff_nm : float
        Proton-proton flip-flop cutoff in nm (default 1.5; < box/2).  The visible curve
        converges as cutoff^-3: ~7 % of its peak from the limit at 1.5 nm, ~3 % at 2.0 nm.
    hyperfine_cutoff_nm : float
        Proton-radical cutoff for hyperfine shifts, Gamma_1 and DNP, in nm (default 3.0).
    gamma2_II_kHz : float
        Zero-quantum broadening Gamma_2^(II)/(2 pi) in kHz (11, from the line width).
    tau_cn_us : float or None
        If set, Gamma_2^(II) of each pair comes from Eq. 7 with this nuclear correlation
        time in microseconds, instead of ``gamma2_II_kHz``.
    b0_T, temperature_K : float
        Field (7.05 T) and temperature (1.2 K).
    t1_bulk_s : float
        Proton T1 away from radicals in s (3600; inf: none).  An assumed value of the
        order of the measured 1H T1 at 1.2 K; the paper does not state it.
    dnp_r0_nm : float
        Reference distance of the DNP profile k_i = k sum_e (r0 / r_ie)^6, in nm.
    splitting_factor : float
        Flip-flop splitting Delta = factor * (A_i - A_j) (0.5: <S_z> = Pbar / 2; see
        :class:`latticedns.diffusion.DiffusionConditions`).
    lineshape : str
        Zero-quantum line of each pair: "gaussian" (default: half width Gamma_2^(II),
        convolved with the Lorentzian Gamma_1,i + Gamma_1,j) or "lorentzian" (Eq. 8 with
        Gamma_2 = Gamma_1,i + Gamma_1,j + Gamma_2^(II), the paper); ``docs/theory.md`` 4b.
    """

    cutoff_nm: float = 1.5
    hyperfine_cutoff_nm: float = 3.0
    gamma2_II_kHz: float = 11.0
    tau_cn_us: float | None = None
    b0_T: float = 7.05
    temperature_K: float = 1.2
    t1_bulk_s: float = 3600.0
    dnp_r0_nm: float = 0.9
    splitting_factor: float = 0.5
    lineshape: str = "gaussian"

    def __post_init__(self):
        check_lineshape(self.lineshape)
        for f in fields(self):
            v = getattr(self, f.name)
            if (f.name == "tau_cn_us" and v is None) or f.name == "lineshape":
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or np.isnan(v) or v <= 0:
                raise ConfigError(f.name, f"must be a number > 0, got {v!r}")
            if f.name != "t1_bulk_s" and not np.isfinite(v):
                raise ConfigError(f.name, f"must be finite, got {v!r}")
        if self.splitting_factor > MAX_SPLITTING_FACTOR:
            raise ConfigError("splitting_factor", f"must be in (0, {MAX_SPLITTING_FACTOR:g}], got "
                                                  f"{self.splitting_factor!r}")

    @property
    def proton_thermal(self):
        """Thermal proton polarization (0.0060 at 7.05 T, 1.2 K)."""
        return float(boltzmann_polarization(GAMMA_H, self.b0_T, self.temperature_K))


def effective_splitting(delta_s, delta_n2, pbar):
    """Map a static splitting and a noise variance onto Eq. 9's single (Delta, Pbar).

    Eq. 9 depends on Delta and Pbar only through the line position c = Delta Pbar and the
    drive variance b^2 = (1 - Pbar^2) Delta^2; for several electrons c = delta_s Pbar and
    b^2 = (1 - Pbar^2) delta_n2, so Delta_eff = sqrt(c^2 + b^2) and Pbar_eff = c / Delta_eff.

    Parameters
    ----------
    delta_s : ndarray
        Static splitting in rad/s.
    delta_n2 : ndarray
        Noise variance in (rad/s)^2.
    pbar : float
        Mean electron polarization.

    Returns
    -------
    delta_eff, pbar_eff : ndarray
        rad/s and dimensionless (pbar_eff = 0 where delta_eff = 0).
    """
    c = delta_s * pbar
    delta_eff = np.sqrt(c * c + (1.0 - pbar) * (1.0 + pbar) * delta_n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        pbar_eff = np.where(delta_eff > 0, c / delta_eff, 0.0)
    return delta_eff, np.clip(pbar_eff, -1.0, 1.0)


class LatticeModel:
    """Rate matrix, source and observables of one sample.

    Parameters
    ----------
    sample : latticedns.lattice.Sample
    params : LatticeParameters, optional
    """

    #: Identity mass matrix: the lattice equations are ``dp/dt = L p + s``.
    mass = None

    def __init__(self, sample, params=None):
        self.sample = sample
        self.params = params or LatticeParameters()
        p = self.params
        for key in ("cutoff_nm", "hyperfine_cutoff_nm"):
            if getattr(p, key) >= sample.box_nm / 2:
                raise ConfigError(key, f"must be < half the box edge ({sample.box_nm / 2:.4g} nm),"
                                  f" got {getattr(p, key)}")
        self.geometry = coupling_geometry(sample, p.cutoff_nm, p.hyperfine_cutoff_nm)
        g = self.geometry
        self.pattern = build_pattern(g.i, g.j, g.n)
        if p.tau_cn_us is None:
            self._gamma2_II = np.full(len(g.i), 2e3 * np.pi * p.gamma2_II_kHz)
        else:
            self._gamma2_II = neighbour_zero_quantum_sums(g) * p.tau_cn_us * 1e-6
        self._dnp_profile = p.dnp_r0_nm ** 6 * g.inv_r6
        self._cache = {}
        self._operators = {}
        self._electrons = {}  # ElectronFlipflops (scale 1) -> ElectronRates ("sample")
        self._hf_entries = None  # (proton, radical, A_z, A+A-) entries, built on request

    @property
    def n(self):
        """Number of protons."""
        return self.geometry.n

    def gamma1(self, condition):
        """Gamma_1 of every proton (Eq. 6 summed over radicals), s^-1, shape (N,).

        The electron noise correlation rate is ``condition.gamma_c_relaxation``; with
        ``condition.electrons`` (``tau_c_model = "sample"``) and Eq. 6 at the flip-flop
        rate (``relaxation_tau_c = "tau_c"``), each radical's own Gamma_c,e
        (:meth:`radical_gamma_c`) in its term.
        """
        omega0 = float(larmor_angular(GAMMA_H, self.params.b0_T))
        if condition.electrons is not None and condition.relaxation_tau_c_us is None:
            proton, radical, _, apm = self._hyperfine_entries()
            terms = paramagnetic_relaxation_rate(apm, condition.pbar,
                                                 self.radical_gamma_c(condition)[radical], omega0)
            return np.bincount(proton, terms, self.n)
        return paramagnetic_relaxation_rate(self.geometry.apm_sq, condition.pbar,
                                            condition.gamma_c_relaxation, omega0)

    def electron_rates(self, condition):
        """The :class:`~latticedns.lattice.electron_rates.ElectronRates` of this sample for
        ``condition.electrons``, or None without them.  The flip-flop sums are cached per
        parameter set apart from the scale (a fit of tau_c_us reuses them)."""
        params = condition.electrons
        if params is None:
            return None
        key = replace(params, scale=1.0)
        if key not in self._electrons:
            self._electrons[key] = sample_electron_rates(self.sample, key)
        rates = self._electrons[key]
        return rates if params == key else replace(rates, params=params)

    def radical_gamma_c(self, condition):
        """Gamma_c,e of every radical (s^-1, shape (M,)) from the sample (section 7b); the
        condition's single ``gamma_c`` for every radical without ``condition.electrons``."""
        rates = self.electron_rates(condition)
        if rates is None:
            return np.full(self.sample.n_radicals, condition.gamma_c)
        return rates.gamma_c(condition.pbar)

    def pair_gamma_c(self, gamma_c_radicals):
        """Each pair's noise rate from per-radical rates, s^-1, shape (P,).

        The variance-weighted geometric mean exp(sum_e w_e ln Gamma_c,e / sum_e w_e) with
        w_e = (A_ie - A_je)^2 over the radicals within the hyperfine cutoff of i or j
        (``docs/theory.md``, section 7b); equal rates give that rate (to a few ulp).
        Pairs without noise (w = 0) get the geometric mean over all radicals.
        """
        rates = np.asarray(gamma_c_radicals, float)
        g = self.geometry
        if len(rates) == 0:
            raise ConfigError("gamma_c_radicals", "the sample has no radical")
        # relative to one radical's rate: equal rates give exp(0) = 1 and that rate, bit
        # for bit (the Voigt form is not smooth to 1e-12 in Gamma_c at its degenerate roots)
        ref = rates[0]
        logs = np.log(rates / ref)
        proton, radical, a, _ = self._hyperfine_entries()
        return ref * np.exp(pair_weighted_log_mean(g.i, g.j, proton, radical, a, len(rates),
                                                   logs, logs.mean()))

    def _hyperfine_entries(self):
        # The (proton, radical) list within the hyperfine cutoff with A_z (rad/s) and A+A-
        # ((rad/s)^2) per entry: built once, only for the per-radical noise rates.
        if self._hf_entries is None:
            hf = proton_radical_pairs(self.sample, self.params.hyperfine_cutoff_nm)
            self._hf_entries = (hf.proton, hf.radical,
                                hyperfine_secular(hf.distances_nm, hf.cos_theta),
                                hyperfine_pseudosecular_sq(hf.distances_nm, hf.cos_theta))
        return self._hf_entries

    def pair_rates(self, condition, gamma1=None, gamma_c_radicals=None):
        """Flip-flop rates W_ij (Eq. 9 or its Voigt form, multi-electron splitting), s^-1, (P,).

        ``gamma1`` (shape (N,), s^-1) may be passed when already computed for ``condition``.
        The electron noise rate is ``condition.gamma_c`` for every pair; with
        ``condition.electrons`` (or explicit ``gamma_c_radicals``, s^-1, shape (M,)) each
        pair's :meth:`pair_gamma_c` of the radicals' Gamma_c,e.
        """
        g = self.geometry
        g1 = self.gamma1(condition) if gamma1 is None else gamma1
        gamma_l = g1[g.i] + g1[g.j]
        f = self.params.splitting_factor
        delta, pbar = effective_splitting(f * g.delta_s, f * f * g.delta_n2, condition.pbar)
        if gamma_c_radicals is None and condition.electrons is not None:
            gamma_c_radicals = self.radical_gamma_c(condition)
        gamma_c = (condition.gamma_c if gamma_c_radicals is None
                   else self.pair_gamma_c(gamma_c_radicals))

        def rates(part):
            return flipflop_rate_lineshape(g.d12[part], delta[part], pbar[part],
                                           gamma_c[part] if np.ndim(gamma_c) else gamma_c,
                                           gamma_l[part],
                                           self._gamma2_II[part], self.params.lineshape)

        return _elementwise_in_threads(rates, len(g.d12))

    def relaxation(self, condition, gamma1=None):
        """Per-proton relaxation toward thermal, 2 Gamma_1 + 1/T1_bulk, s^-1, shape (N,)."""
        g1 = self.gamma1(condition) if gamma1 is None else gamma1
        return 2.0 * g1 + 1.0 / self.params.t1_bulk_s

    def dnp_rates(self, condition):
        """Per-proton DNP source rates k_i, s^-1, shape (N,)."""
        return condition.dnp_rate_per_s * self._dnp_profile

    def operator(self, condition):
        """``(L, s)`` of ``dp/dt = L p + s`` for a condition (cached per condition; conditions
        that differ only in ``dnp_target`` share one ``L`` object).

        Returns
        -------
        L : scipy.sparse.csr_matrix, shape (N, N)
            Symmetric, negative semi-definite, s^-1.
        s : ndarray, shape (N,)
            Source in s^-1.
        """
        if condition not in self._cache:
            g1 = self.gamma1(condition)
            r = self.relaxation(condition, g1)
            k = self.dnp_rates(condition)
            shared = condition.operator_condition  # same operator for every DNP target
            if shared not in self._operators:
                self._operators[shared] = assemble(self.pattern, self.pair_rates(condition, g1),
                                                   r + k)
            L = self._operators[shared]
            s = r * self.params.proton_thermal + k * condition.dnp_target
            self._cache[condition] = (L, s)
        return self._cache[condition]

    @property
    def n_cached_conditions(self):
        """Conditions whose operators are cached."""
        return len(self._cache)

    def forget_conditions(self):
        """Drop the cached operators (a long fit visits many conditions)."""
        self._cache.clear()
        self._operators.clear()
        self._electrons.clear()

    def system(self, condition):
        """The :class:`~latticedns.system.LinearSystem` ``dp/dt = L p + s`` (identity mass)."""
        L, s = self.operator(condition)
        return LinearSystem(operator=L, source=s)

    def hyperfine_shift(self, pbar):
        """First-order NMR shift of each proton, A_z Pbar / 2, in rad/s, shape (N,)."""
        return 0.5 * pbar * self.geometry.a_z

    def visible(self, pbar, bandwidth_kHz=200.0):
        """Mask of protons whose shift lies inside +-bandwidth/2 of the bulk line, shape (N,)."""
        return np.abs(self.hyperfine_shift(pbar)) <= np.pi * 1e3 * bandwidth_kHz

    def saturation_mask(self, pbar, bandwidth_kHz=200.0):
        """Protons zeroed by a selective saturation (and read by pulses): the visible ones."""
        return self.visible(pbar, bandwidth_kHz)

    def saturate(self, p, pbar, bandwidth_kHz=200.0, residual=0.0):
        """``p`` after a selective saturation: the visible protons keep ``residual`` of their
        polarization, the hidden ones all of it (shape (N,))."""
        return np.where(self.saturation_mask(pbar, bandwidth_kHz), p * residual, p)

    def observable_weights(self, pbar, bandwidth_kHz=200.0):
        """Rows averaging p over the visible and over the hidden protons, shape (2, N)."""
        vis = self.visible(pbar, bandwidth_kHz)
        return np.stack([_mean_row(vis), _mean_row(~vis)])

    def radial_profile_weights(self, bin_edges_nm):
        """Rows averaging p over shells of distance to the nearest radical, shape (B, N).

        Empty shells give rows of NaN (their mean is undefined).
        """
        edges = np.asarray(bin_edges_nm, float)
        which = np.digitize(self.geometry.r_nearest_nm, edges) - 1
        return np.stack([_mean_row(which == b) for b in range(len(edges) - 1)])


def _elementwise_in_threads(fn, size, min_chunk=100_000):
    """``fn(slice(0, size))`` evaluated in contiguous chunks on the run's threads.

    For elementwise formulas only (the Voigt rates: scipy's Faddeeva function releases the
    GIL; pair_rates 1.7x faster on 2 idle cores at 1e4 protons, 1.6-1.9x at 1e5, measured): the result is the same bit for bit whatever
    the number of chunks.
    """
    n = min(threads(), max(1, size // min_chunk))
    if n == 1:
        return fn(slice(0, size))
    edges = np.linspace(0, size, n + 1).astype(int)
    with ThreadPoolExecutor(n) as pool:
        parts = list(pool.map(fn, [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]))
    return np.concatenate(parts)


def _mean_row(mask):
    count = int(mask.sum())
    return mask / count if count else np.full(mask.shape, np.nan)
