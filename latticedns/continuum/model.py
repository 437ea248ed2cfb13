"""The continuum model: radial finite elements in the Wigner-Seitz sphere of one radical.

    dp/dt = r^-2 d/dr(r^2 D(r) dp/dr) - R(r) (p - p_thermal) - k(r) (p - p_target)

on ``r_in <= r <= r_MV`` with no flux at both radii (``docs/theory.md``, section
"Continuum model").  D(r) is the
Fig. 3 coefficient of :func:`latticedns.diffusion.diffusion_coefficient`,
``R = 2 Gamma_1 + 1/T1_bulk`` with Eq. 6 and the isotropic ``<A+ A->``, and
``k = k_dnp (r0 / r)^6`` the lattice's DNP profile for a single radical.  The model
returns ``M dp/dt = A p + s`` (:class:`latticedns.system.LinearSystem`) and the
observables of the model contract (:mod:`latticedns.system`), with the visible/hidden
boundary of :mod:`latticedns.continuum.boundary` (equal hidden volume by default).

Examples
--------
>>> from latticedns.conditions import ElectronCondition
>>> from latticedns.continuum import ContinuumModel, ContinuumParameters
>>> model = ContinuumModel(ContinuumParameters(mesh_refinement=0.5))
>>> sys_ = model.system(ElectronCondition(pbar=0.99926))
>>> sys_.operator.shape == (model.n, model.n)
True
>>> w = model.observable_weights(0.99926, 200.0)
>>> [round(float(x), 12) for x in w.sum(axis=1)]
[1.0, 1.0]
"""

from dataclasses import replace

import numpy as np

from ..couplings import averaged_hyperfine_pseudosecular_sq
from ..diffusion import diffusion_coefficient
from ..errors import ConfigError
from ..rates import paramagnetic_relaxation_rate
from ..system import LinearSystem
from .boundary import boundary_radius_nm
from .forms import (assemble_load, assemble_mass, assemble_reaction, assemble_stiffness,
                    quadrature_radii, shell_weights)
from .mesh import graded_vertices, lipschitz_envelope, radial_basis
from .parameters import ContinuumParameters

__all__ = ["ContinuumModel", "SNAP_NM", "MESH_TAU_C_US"]

#: A visible/hidden boundary closer than this (nm) to a mesh vertex is moved onto it,
#: so that a polarization given to 5 digits (0.99926, shifting r_b by 1e-8 nm) still
#: finds the vertex placed for the exact thermal value.
SNAP_NM = 1e-6

#: Electron correlation times (us) at which D(r) sets the mesh (`ContinuumModel`).
MESH_TAU_C_US = (0.1, 1.0, 10.0, 100.0, 1000.0)


def at_concentration(condition, radical_mM):
    """The condition a model without explicit radicals runs at: with sample-derived electron
    flip-flops (``tau_c_model = "sample"``) its tau_c is that of ``radical_mM`` (mM,
    :meth:`~latticedns.conditions.ElectronCondition.tau_c_us_at_mM`), else unchanged."""
    if condition.electrons is None:
        return condition
    return replace(condition, tau_c_us=condition.tau_c_us_at_mM(radical_mM), electrons=None)

class ContinuumModel:
    """Radial finite-element model of one radical's sphere (the model contract).

    Parameters
    ----------
    params : ContinuumParameters, optional
        With ``transport = "channels"`` the instance is a
        :class:`latticedns.continuum.channel_model.ChannelContinuumModel` (sampled near
        zone feeding the radial field, ``docs/theory.md`` 8.8).

    Attributes
    ----------
    params : ContinuumParameters
    basis : skfem.CellBasis
        The finite-element basis (mesh in ``basis.mesh``).
    vertices_nm : ndarray, shape (n_elements + 1,)
        Mesh vertices in nm.
    mass : scipy.sparse.csr_matrix, shape (n, n)
        Consistent mass ``int r^2 phi_i phi_j dr`` in nm^3 (assembled once).
    """

    def __new__(cls, params=None):
        if cls is ContinuumModel and params is not None and params.transport == "channels":
            from .channel_model import ChannelContinuumModel

            return super().__new__(ChannelContinuumModel)
        return super().__new__(cls)

    def __init__(self, params=None):
        self.params = p = params or ContinuumParameters()
        pbars = (p.electron_thermal,) + p.boundary_pbars
        breaks = [self.visible_radius_nm(pb, p.bandwidth_kHz) for pb in pbars]
        h_max, h_inner, h_boundary, growth, step = p.mesh_sizes()
        self.vertices_nm = graded_vertices(p.r_in_nm, p.r_out_nm, h_max_nm=h_max,
                                           h_inner_nm=h_inner, growth=growth,
                                           boundaries_nm=breaks, h_boundary_nm=h_boundary,
                                           size_cap=self._diffusion_size_cap(step, growth))
        self.basis = radial_basis(self.vertices_nm, p.element, p.intorder)
        self.mass = _symmetric(assemble_mass(self.basis))
        self._r_qp = quadrature_radii(self.basis)
        self._cache = {}

    def _diffusion_size_cap(self, step, growth, r_start_nm=None):
        """``(r, h)``: element sizes in nm over which ln D changes by at most ``step``, on
        ``[r_start_nm, r_out]`` (default from ``r_in``).

        D is evaluated for the thermal electron polarization, the ``boundary_pbars`` and
        0.5, each at tau_c = 0.1, 1, 10, 100 and 1000 us (the range of the microwave
        calibration), on 2000 radii; the limit ``step / max |d ln D / dr|`` is made to grow
        no faster than ``growth`` allows (:func:`lipschitz_envelope`).
        """
        p = self.params
        r = np.linspace(p.r_in_nm if r_start_nm is None else r_start_nm, p.r_out_nm, 2000)
        slope = np.zeros_like(r)
        for pbar in sorted({p.electron_thermal, *p.boundary_pbars, 0.5}):
            for tau_c_us in MESH_TAU_C_US:
                d = diffusion_coefficient(r, pbar, p.diffusion_conditions(tau_c_us))
                slope = np.maximum(slope, np.abs(np.gradient(np.log(d), r)))
        return r, lipschitz_envelope(r, step / np.maximum(slope, 1e-300), growth - 1.0)

    @property
    def n(self):
        """Number of degrees of freedom (finite-element nodes)."""
        return int(self.basis.N)

    @property
    def nodes_nm(self):
        """DOF radii in nm, shape (n,) (vertices first, then P2 mid-points)."""
        return self.basis.doflocs[0]

    # --- coefficients ---------------------------------------------------------
    def diffusion(self, condition, r_nm):
        """D(r) in nm^2/s for a condition (Fig. 3 model, both correlation times from it)."""
        return diffusion_coefficient(r_nm, condition.pbar, self._conditions(condition))

    def _conditions(self, condition):
        return self.params.diffusion_conditions(condition.tau_c_us,
                                                condition.relaxation_tau_c_us)

    def relaxation(self, condition, r_nm):
        """``R(r) = 2 Gamma_1(r) + 1/T1_bulk`` in s^-1 (Eq. 6, isotropic <A+ A->)."""
        dc = self._conditions(condition)
        g1 = paramagnetic_relaxation_rate(averaged_hyperfine_pseudosecular_sq(r_nm),
                                          condition.pbar, dc.gamma_c_relaxation, dc.omega_0)
        return 2.0 * g1 + 1.0 / self.params.t1_bulk_s

    def dnp_rates(self, condition, r_nm):
        """``k(r) = k_dnp (r0 / r)^6`` in s^-1."""
        r = np.asarray(r_nm, dtype=float)
        return condition.dnp_rate_per_s * (self.params.dnp_r0_nm / r) ** 6

    @property
    def n_cached_conditions(self):
        """Conditions whose systems are cached."""
        return len(self._cache)

    def forget_conditions(self):
        """Drop the cached systems (a long fit visits many conditions)."""
        self._cache.clear()

    # --- the linear system ----------------------------------------------------
    def system(self, condition):
        """``M dp/dt = A p + s`` for a condition (cached per condition).

        Returns
        -------
        LinearSystem
            ``operator`` A = -(K + C) (csr, shape (n, n), nm^3/s, symmetric negative
            semi-definite), ``source`` s = f (shape (n,), nm^3/s), ``mass`` M (nm^3).
        """
        if condition not in self._cache:
            self._cache[condition] = self._assemble(
                at_concentration(condition, self.params.radical_mM))
        return self._cache[condition]

    def _assemble(self, condition):
        r = self._r_qp
        d = self.diffusion(condition, r)
        rel = self.relaxation(condition, r)
        k = self.dnp_rates(condition, r)
        K = assemble_stiffness(self.basis, d)
        C = assemble_reaction(self.basis, rel + k)
        f = assemble_load(self.basis, rel * self.params.proton_thermal + k * condition.dnp_target)
        return LinearSystem(operator=_symmetric(-(K + C)), source=f, mass=self.mass)

    # --- observables ----------------------------------------------------------
    def visible_radius_nm(self, pbar, bandwidth_kHz=200.0):
        """Radius r_b in nm of the visible/hidden boundary (hidden: ``r_in <= r < r_b``).

        Convention ``params.boundary_averaging``
        (:func:`latticedns.continuum.boundary.boundary_radius_nm`): by default
        ("equal_volume") the shell ``[r_in, r_b]`` has the volume of the protons whose
        own shift ``|A_z(r, theta)| |pbar| / 2`` lies outside +-bandwidth/2 (0.6729 nm
        at 0.99926 and 200 kHz; ``r_in`` at ``pbar = 0``: every proton visible).  With
        a named factor ("rms", "mean_abs", ...) r_b is where the averaged shift equals
        bandwidth/2 (0 at ``pbar = 0``).
        """
        p = self.params
        return boundary_radius_nm(pbar, bandwidth_kHz, p.boundary_averaging, p.r_in_nm,
                                  p.r_out_nm)

    def boundary_radius_nm(self, pbar, bandwidth_kHz=200.0):
        """:meth:`visible_radius_nm` moved onto a mesh vertex within :data:`SNAP_NM`."""
        rb = self.visible_radius_nm(pbar, bandwidth_kHz)
        v = self.vertices_nm[np.argmin(np.abs(self.vertices_nm - rb))]
        return float(v) if abs(v - rb) <= SNAP_NM else rb

    def observable_weights(self, pbar, bandwidth_kHz=200.0):
        """Rows giving the mean polarization of the visible and of the hidden region.

        Volume-weighted means ``int r^2 p_h dr / int r^2 dr`` of the FE interpolant over
        ``[r_b, r_out]`` (visible) and ``[r_in, r_b]`` (hidden), with
        ``r_b = boundary_radius_nm(pbar, bandwidth_kHz)``; exact for any r_b.

        Returns
        -------
        ndarray, shape (2, n)
            Rows (visible, hidden), each summing to 1; a row of NaN if its region is
            empty.
        """
        rb = self.boundary_radius_nm(pbar, bandwidth_kHz)
        r0, r1 = self.vertices_nm[0], self.vertices_nm[-1]
        vis = shell_weights(self.basis, rb, r1) if rb < r1 else np.full(self.n, np.nan)
        hid = shell_weights(self.basis, r0, rb) if rb > r0 else np.full(self.n, np.nan)
        return np.stack([vis, hid])

    def saturation_mask(self, pbar, bandwidth_kHz=200.0):
        """DOFs zeroed by a selective saturation: those supported only in the visible region.

        A DOF is saturated if every element it belongs to lies at ``r >= r_b``.  The
        hidden mean is then exactly unchanged by the saturation; the DOF at ``r_b``
        itself is kept, so the visible mean right after saturation is the (small)
        contribution of the element ramp just outside ``r_b``.

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        rb = self.boundary_radius_nm(pbar, bandwidth_kHz)
        left = self.basis.mesh.p[0][self.basis.mesh.t].min(axis=0)  # (n_elements,)
        hidden_elements = left < rb - 1e-12 * max(rb, 1.0)
        touched = np.zeros(self.n, dtype=bool)
        touched[self.basis.element_dofs[:, hidden_elements].ravel()] = True
        return ~touched

    def saturate(self, p, pbar, bandwidth_kHz=200.0, residual=0.0):
        """``p`` after a selective saturation, conservative in both means.

        The DOFs of :meth:`saturation_mask` are multiplied by ``residual``.  When r_b is a
        mesh vertex (always for the boundaries of the mesh, ``boundary_pbars``), the DOF at
        r_b, whose hat function reaches one element into the visible region, is multiplied
        by ``residual`` too, and the hidden mean is restored exactly by the hidden
        neighbour DOF of that element (the P2 mid-point): the visible mean becomes
        ``residual`` times its value and the hidden mean is unchanged, exactly, for every
        mesh.  The state is the step at r_b up to one element of size ``h_boundary_nm``, so
        refining the mesh converges to one model (``docs/theory.md``, "Saturation").
        """
        mask = self.saturation_mask(pbar, bandwidth_kHz)
        out = np.where(mask, p * residual, p)
        rb = self.boundary_radius_nm(pbar, bandwidth_kHz)
        at = np.flatnonzero(np.isclose(self.nodes_nm, rb, rtol=0.0, atol=1e-12))
        if len(at) != 1 or mask[at[0]]:
            return out
        b = int(at[0])
        right_end = self.basis.mesh.p[0][self.basis.mesh.t].max(axis=0)  # (n_elements,)
        left = self.basis.element_dofs[:, np.isclose(right_end, rb, rtol=0.0, atol=1e-12)]
        if left.shape[1] != 1:
            return out
        hidden = self.observable_weights(pbar, bandwidth_kHz)[1]
        partner = [int(j) for j in left[:, 0] if j != b and hidden[j] > 0]
        if not partner:
            return out
        m = max(partner, key=lambda j: hidden[j])  # the mid-point (P2) or the vertex (P1)
        out[b] = p[b] * residual
        out[m] = p[m] + (1.0 - residual) * p[b] * hidden[b] / hidden[m]
        return out

    def radial_profile_weights(self, bin_edges_nm):
        """Rows averaging p over shells ``[e_b, e_b+1]`` (volume-weighted, r^2 dr).

        Shells are clipped to ``[r_in, r_out]``; empty shells give rows of NaN.

        Returns
        -------
        ndarray, shape (len(bin_edges_nm) - 1, n)
        """
        edges = np.asarray(bin_edges_nm, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ConfigError("bin_edges_nm", "must be an increasing sequence of >= 2 radii")
        return np.stack([shell_weights(self.basis, lo, hi)
                         for lo, hi in zip(edges[:-1], edges[1:])])


def _symmetric(a):
    """``(a + a^T) / 2`` as csr: exactly symmetric (assembly leaves ~1e-17 asymmetry)."""
    return ((a + a.T) * 0.5).tocsr()
