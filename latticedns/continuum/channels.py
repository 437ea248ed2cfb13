"""Escape channels of the continuum: a sampled near zone of explicit protons.

With the Gaussian zero-quantum line the transport out of the strongly shifted zone around a
radical is carried by rare near-resonant pairs whose rates spread over many decades
(``docs/theory.md`` 8.6): no radial D(r) of one shell holds that distribution.  The
``transport = "channels"`` continuum therefore keeps the protons of the *near zone* (nearest
radical closer than ``channel_radius_nm`` r_c) explicit, drawn from the glass statistics the
lattice uses (the same random hard-core placement at the same 1H density, radical
concentration and couplings: :func:`latticedns.lattice.generate_sample`,
:func:`latticedns.lattice.couplings.coupling_geometry`), and lets them exchange with each
other and with the radial bulk field p(r), r_c <= r <= r_MV, through their own pair rates
(``docs/theory.md`` 8.8).  Each sampled near proton stands for the volume ``mass_nm3`` of
the model's sphere (per steradian, the units of
the finite-element mass), ``L^3 / (4 pi N_tot M)`` for a sampled box of edge L with N_tot
protons and M radicals.

Units: nm, s, rad/s.

Examples
--------
>>> from latticedns.continuum.parameters import ContinuumParameters
>>> from latticedns.continuum.channels import sample_channels
>>> cs = sample_channels(ContinuumParameters(transport="channels", channel_radicals=10))
>>> bool(cs.n > 0 and (cs.r_nm < 1.2).all() and (cs.far_r_nm >= 1.2 - 1e-12).all())
True
"""

from dataclasses import dataclass

import numpy as np

from ..constants import GAMMA_H, larmor_angular
from ..lineshape import flipflop_rate_lineshape
from ..rates import paramagnetic_relaxation_rate

__all__ = ["TRANSPORTS", "ChannelSample", "sample_channels", "channel_rates"]

#: Transport closures of the continuum (``ContinuumParameters.transport``): ``"pair"``, the
#: one-pair D(r) of Fig. 3 everywhere (default), or ``"channels"``, the sampled near zone
#: of :mod:`latticedns.continuum.channels` feeding the radial bulk diffusion.
TRANSPORTS = ("pair", "channels")


@dataclass(frozen=True, eq=False)
class ChannelSample:
    """The sampled near zone (condition-independent part).

    Attributes
    ----------
    n : int
        Number N of near protons (nearest radical closer than ``r_c``).
    n_radicals : int
        Number M of sampled radicals.
    r_nm : ndarray, shape (N,)
        Distance of each near proton to its nearest radical, nm.
    a_z, apm_sq, inv_r6 : ndarray, shape (N,)
        Summed secular hyperfine coupling (rad/s), A_+ A_- ((rad/s)^2) and r^-6 (nm^-6) over
        the radicals within the hyperfine cutoff, as on the lattice.
    i, j : ndarray, shape (P,)
        Near-near pairs within the flip-flop cutoff (indices into the near protons).
    d12, delta_s, delta_n2 : ndarray, shape (P,)
        Their flip-flop coupling (rad/s), static splitting a_z[i] - a_z[j] (rad/s) and noise
        variance ((rad/s)^2), as :class:`latticedns.lattice.couplings.CouplingGeometry`.
    k : ndarray, shape (Q,)
        Near proton of each near-far pair.
    far_r_nm : ndarray, shape (Q,)
        Radius at which the far partner reads the bulk field: its distance to its nearest
        radical, clipped to [r_c, r_MV], nm.
    far_apm_sq : ndarray, shape (Q,)
        A_+ A_- of the far partner, (rad/s)^2 (its Gamma_1 broadens the pair's line).
    f_d12, f_delta_s, f_delta_n2 : ndarray, shape (Q,)
        Couplings of the near-far pairs, as ``d12, delta_s, delta_n2``.
    mass_nm3 : float
        Volume per steradian that one near proton stands for in the model's sphere,
        ``L^3 / (4 pi N_tot M)`` (nm^3; L the sampled box edge, N_tot its protons): the
        sample's volume per proton, shared among the M radicals.
    field_weight : float
        Ratio of the sample's far protons (``(N_tot - N) mass_nm3``) to the volume per
        steradian of the field's shell, ``(r_MV^3 - r_c^3) / 3`` (about 1.02 at 50 mM and
        1.2 nm: near zones of neighbouring radicals overlap, Wigner-Seitz cells are not
        spheres).  The field's forms are multiplied by it, so that the two parts hold the
        sample's proton counts and the hidden fraction is the lattice's.
    """

    n: int
    n_radicals: int
    r_nm: np.ndarray
    a_z: np.ndarray
    apm_sq: np.ndarray
    inv_r6: np.ndarray
    i: np.ndarray
    j: np.ndarray
    d12: np.ndarray
    delta_s: np.ndarray
    delta_n2: np.ndarray
    k: np.ndarray
    far_r_nm: np.ndarray
    far_apm_sq: np.ndarray
    f_d12: np.ndarray
    f_delta_s: np.ndarray
    f_delta_n2: np.ndarray
    mass_nm3: float
    field_weight: float


def sample_channels(params):
    """Draw the near zone of ``params.channel_radicals`` radicals (seeded, reproducible).

    A periodic glass sample of that many radicals at ``params.radical_mM`` and
    ``proton_density_per_nm3``, with the lattice's hard cores (``r_in_nm`` proton-radical,
    ``min_dist_proton_proton_nm``, ``min_dist_radical_radical_nm``) and seed
    ``channel_seed``; its couplings within ``channel_cutoff_nm`` (flip-flop) and
    ``channel_hyperfine_cutoff_nm`` (hyperfine sums) as on the lattice.  Pairs of two far
    protons are dropped: the radial field carries them.

    Parameters
    ----------
    params : ContinuumParameters

    Returns
    -------
    ChannelSample
    """
    from ..couplings import flipflop_coupling, hyperfine_pseudosecular_sq, hyperfine_secular
    from ..lattice.couplings import _shared_products
    from ..lattice.neighbours import nearest_radical_distance, proton_pairs, proton_radical_pairs
    from ..lattice.sample import generate_sample
    from ..lattice.spec import SampleSpec

    p = params
    spec = SampleSpec.from_dict({
        "radical_mM": p.radical_mM, "proton_density_per_nm3": p.proton_density_per_nm3,
        "n_radicals": int(p.channel_radicals), "seed": int(p.channel_seed),
        "min_dist_proton_radical_nm": p.r_in_nm,
        "min_dist_proton_proton_nm": p.min_dist_proton_proton_nm,
        "min_dist_radical_radical_nm": p.min_dist_radical_radical_nm})
    sample = generate_sample(spec)
    n_all = sample.n_protons
    r_c, r_out = float(p.channel_radius_nm), p.r_out_nm
    r_near = nearest_radical_distance(sample)
    near = r_near < r_c
    # the lattice's coupling geometry (latticedns.lattice.couplings.coupling_geometry),
    # restricted to the pairs with a near proton
    pairs = proton_pairs(sample, p.channel_cutoff_nm)
    keep = near[pairs.i] | near[pairs.j]
    pi, pj = pairs.i[keep], pairs.j[keep]
    d12 = flipflop_coupling(pairs.distances_nm[keep], pairs.cos_theta[keep])
    hf = proton_radical_pairs(sample, p.channel_hyperfine_cutoff_nm)
    a = hyperfine_secular(hf.distances_nm, hf.cos_theta)
    a_z = np.bincount(hf.proton, weights=a, minlength=n_all)
    apm_sq = np.bincount(hf.proton, weights=hyperfine_pseudosecular_sq(hf.distances_nm,
                                                                       hf.cos_theta),
                         minlength=n_all)
    inv_r6 = np.bincount(hf.proton, weights=hf.distances_nm ** -6.0, minlength=n_all)
    q = np.bincount(hf.proton, weights=a * a, minlength=n_all)
    shared = (_shared_products(pi, pj, hf.proton, hf.radical, a, max(sample.n_radicals, 1))
              if len(a) and len(pi) else np.zeros(len(pi)))
    delta_s = a_z[pi] - a_z[pj]
    delta_n2 = np.maximum(q[pi] + q[pj] - 2.0 * shared, 0.0)
    index = np.cumsum(near) - 1  # near proton -> its index among the near ones
    n = int(near.sum())
    both = near[pi] & near[pj]
    one = ~both
    k = np.where(near[pi[one]], pi[one], pj[one])
    far = np.where(near[pi[one]], pj[one], pi[one])
    mass = sample.box_nm ** 3 / (4.0 * np.pi * n_all * sample.n_radicals)
    field_weight = (n_all - n) * mass / ((r_out ** 3 - r_c ** 3) / 3.0)
    return ChannelSample(
        n=n, n_radicals=int(sample.n_radicals), r_nm=r_near[near], a_z=a_z[near],
        apm_sq=apm_sq[near], inv_r6=inv_r6[near],
        i=index[pi[both]], j=index[pj[both]], d12=d12[both], delta_s=delta_s[both],
        delta_n2=delta_n2[both],
        k=index[k], far_r_nm=np.clip(r_near[far], r_c, r_out),
        far_apm_sq=apm_sq[far], f_d12=d12[one], f_delta_s=delta_s[one],
        f_delta_n2=delta_n2[one], mass_nm3=float(mass), field_weight=float(field_weight))


def channel_rates(channels, condition, params):
    """The near zone's rates at one electron condition (the lattice's formulas).

    Parameters
    ----------
    channels : ChannelSample
    condition : latticedns.conditions.ElectronCondition
    params : ContinuumParameters
        ``splitting_factor``, ``lineshape``, ``gamma2_II_kHz``, ``b0_T``, ``t1_bulk_s``,
        ``dnp_r0_nm``.

    Returns
    -------
    w_near, w_far : ndarray, shapes (P,) and (Q,)
        Flip-flop rates of the near-near and near-far pairs (Eq. 9 or its Voigt form at the
        multi-electron (Delta_eff, Pbar_eff) of ``docs/theory.md`` section 6), s^-1.
    relaxation, dnp : ndarray, shape (N,)
        ``2 Gamma_1 + 1/T1_bulk`` and ``k_DNP (r0^6 sum_e r_ie^-6)`` of the near protons, s^-1.
    """
    from ..lattice.model import _elementwise_in_threads, effective_splitting

    c, p = channels, params
    omega0 = float(larmor_angular(GAMMA_H, p.b0_T))

    def gamma1(apm_sq):
        return paramagnetic_relaxation_rate(apm_sq, condition.pbar, condition.gamma_c_relaxation,
                                            omega0)

    g1, g1_far = gamma1(c.apm_sq), gamma1(c.far_apm_sq)
    f = p.splitting_factor
    hwhm = 2e3 * np.pi * p.gamma2_II_kHz

    def rates(d12, delta_s, delta_n2, gamma_l):
        def part(s):
            delta, pbar = effective_splitting(f * delta_s[s], f * f * delta_n2[s],
                                              condition.pbar)
            return flipflop_rate_lineshape(d12[s], delta, pbar, condition.gamma_c, gamma_l[s],
                                           hwhm, p.lineshape)

        return _elementwise_in_threads(part, len(d12))  # the lattice's threads, same bits

    w_near = rates(c.d12, c.delta_s, c.delta_n2, g1[c.i] + g1[c.j])
    w_far = rates(c.f_d12, c.f_delta_s, c.f_delta_n2, g1[c.k] + g1_far)
    relaxation = 2.0 * g1 + 1.0 / p.t1_bulk_s
    dnp = condition.dnp_rate_per_s * p.dnp_r0_nm ** 6 * c.inv_r6
    return w_near, w_far, relaxation, dnp
