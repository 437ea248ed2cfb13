"""The continuum with escape channels: sampled near-zone protons feeding the radial bulk.

``ContinuumModel(params)`` with ``params.transport == "channels"`` builds this model
(``docs/theory.md`` 8.8).  Its unknowns are the finite-element field p(r) on the bulk shell
``r_c <= r <= r_MV`` (``r_c = channel_radius_nm``; the same elements, forms and one-pair
D(r) as the default model) followed by the polarizations of the N sampled near protons of
:func:`latticedns.continuum.channels.sample_channels`.  With mu the volume per steradian of
one near proton (``ChannelSample.mass_nm3``), the energy of the exchange is

    E = mu/2 sum_(near pairs) W_ij (p_i - p_j)^2 + mu/2 sum_(near-far pairs) W_ij (p_i - p(r_j))^2

so that ``M dp/dt = A p + s`` with

    M = diag(w M_FE, mu I),
    A = diag(-w (K + C), -mu diag(R + k)) - mu G_n^T diag(W_n) G_n - mu G_f^T diag(W_f) G_f,
    s = (w f_FE, mu (R p_thermal + k p_target)),

G_n the near-pair difference matrix (rows e_i - e_j) and G_f the near-far one (rows
e_i - phi(r_j), phi the finite-element basis at the far partner's radius), w the
``field_weight`` of the sample (the field holds the sample's far protons): A is symmetric
negative semi-definite, and the total ``ones @ M @ p`` is conserved without relaxation.

Visible and hidden: each near proton by the lattice's own criterion (its summed A_z); the
bulk field by the equal-volume radius of the shell ``[r_c, r_MV]`` (all of it visible
unless the band is narrow enough to hide protons beyond r_c: 2K > r_c^3).

Examples
--------
>>> from latticedns.conditions import ElectronCondition
>>> from latticedns.continuum import ContinuumModel, ContinuumParameters
>>> m = ContinuumModel(ContinuumParameters(transport="channels", channel_radicals=10))
>>> type(m).__name__, m.n == m.n_field + m.channels.n
('ChannelContinuumModel', True)
>>> s = m.system(ElectronCondition(pbar=0.99926))
>>> import numpy as np
>>> bool(abs(s.operator @ np.ones(m.n)).max() < 1e-6 * abs(s.operator).max())  # R small
True
"""

import numpy as np
import scipy.sparse as sp

from .boundary import equal_volume_radius_nm, hidden_volume_scale_nm3
from .channels import channel_rates, sample_channels
from .forms import (assemble_load, assemble_mass, assemble_reaction, assemble_stiffness,
                    quadrature_radii, shell_weights)
from .mesh import graded_vertices, radial_basis
from .model import SNAP_NM, ContinuumModel, _symmetric
from ..errors import ConfigError
from ..system import LinearSystem

__all__ = ["ChannelContinuumModel"]


class ChannelContinuumModel(ContinuumModel):
    """Radial bulk field plus sampled near-zone protons (the model contract).

    Parameters
    ----------
    params : ContinuumParameters
        With ``transport = "channels"``.

    Attributes
    ----------
    channels : ChannelSample
        The sampled near zone.
    n_field : int
        Number of finite-element DOFs (the first ``n_field`` unknowns).
    field_vertices_nm : ndarray
        Vertices of the field's mesh on ``[r_c, r_MV]``, nm.
    vertices_nm : ndarray
        ``r_in`` followed by ``field_vertices_nm``: the sphere's extent for the readers of
        :class:`ContinuumModel` (the stage table's pool fractions, ``vertices_nm[0]`` and
        ``[-1]``).
    """

    def __init__(self, params=None):
        self.params = p = params
        r_c = float(p.channel_radius_nm)
        self.channels = c = sample_channels(p)
        pbars = (p.electron_thermal,) + p.boundary_pbars
        breaks = [r for r in (self._far_boundary_nm(pb, p.bandwidth_kHz) for pb in pbars)
                  if r > r_c + SNAP_NM]
        h_max, h_inner, h_boundary, growth, step = p.mesh_sizes()
        self.field_vertices_nm = graded_vertices(r_c, p.r_out_nm, h_max_nm=h_max,
                                                 h_inner_nm=h_inner, growth=growth,
                                                 boundaries_nm=breaks,
                                                 h_boundary_nm=h_boundary,
                                                 size_cap=self._diffusion_size_cap(step, growth, r_c))
        # the sphere's extent first (readers of vertices_nm[0] / [-1] see [r_in, r_MV])
        self.vertices_nm = np.concatenate([[p.r_in_nm], self.field_vertices_nm])
        self.basis = radial_basis(self.field_vertices_nm, p.element, p.intorder)
        self.n_field = nf = int(self.basis.N)
        mu, self._weight = c.mass_nm3, c.field_weight
        self.mass = sp.block_diag([self._weight * _symmetric(assemble_mass(self.basis)),
                                   sp.identity(c.n) * mu], format="csr")
        self._r_qp = quadrature_radii(self.basis)
        n = nf + c.n
        rows = np.arange(len(c.i))
        self._g_near = sp.csr_matrix(
            (np.r_[np.ones(len(rows)), -np.ones(len(rows))],
             (np.r_[rows, rows], np.r_[nf + c.i, nf + c.j])), shape=(len(rows), n))
        probes = self.basis.probes(c.far_r_nm.reshape(1, -1)).tocsr()  # (Q, n_field)
        e_near = sp.csr_matrix((np.ones(len(c.k)), (np.arange(len(c.k)), nf + c.k)),
                               shape=(len(c.k), n))
        self._g_far = (e_near - sp.hstack([probes, sp.csr_matrix((len(c.k), c.n))])).tocsr()
        self._cache = {}

    def _far_boundary_nm(self, pbar, bandwidth_kHz):
        """Equal-volume visible/hidden radius of the bulk shell ``[r_c, r_out]`` (nm)."""
        p = self.params
        return equal_volume_radius_nm(hidden_volume_scale_nm3(pbar, bandwidth_kHz),
                                      p.channel_radius_nm, p.r_out_nm)

    @property
    def n(self):
        """Number of unknowns: the field's DOFs, then the near protons."""
        return self.n_field + self.channels.n

    @property
    def nodes_nm(self):
        """Radii of the unknowns in nm: the field's DOFs, then the near protons'."""
        return np.concatenate([self.basis.doflocs[0], self.channels.r_nm])

    # --- the linear system ----------------------------------------------------
    def _assemble(self, condition):
        """``M dp/dt = A p + s`` at one condition (module docstring; cached by ``system``)."""
        p, c = self.params, self.channels
        r = self._r_qp
        rel = self.relaxation(condition, r)
        k = self.dnp_rates(condition, r)
        K = assemble_stiffness(self.basis, self.diffusion(condition, r))
        C = assemble_reaction(self.basis, rel + k)
        f = assemble_load(self.basis, rel * p.proton_thermal + k * condition.dnp_target)
        w_near, w_far, rel_n, k_n = channel_rates(c, condition, p)
        mu = c.mass_nm3
        local = sp.block_diag([-self._weight * (K + C), sp.diags(-mu * (rel_n + k_n))],
                              format="csr")
        exchange = (self._g_near.T @ sp.diags(mu * w_near) @ self._g_near
                    + self._g_far.T @ sp.diags(mu * w_far) @ self._g_far)
        source = np.concatenate([self._weight * f, mu * (rel_n * p.proton_thermal
                                                         + k_n * condition.dnp_target)])
        return LinearSystem(operator=_symmetric(local - exchange), source=source,
                            mass=self.mass)

    # --- observables ----------------------------------------------------------
    def _near_visible(self, pbar, bandwidth_kHz):
        return np.abs(0.5 * pbar * self.channels.a_z) <= np.pi * 1e3 * bandwidth_kHz

    def _field_split(self, pbar, bandwidth_kHz):
        """Boundary of the bulk field (snapped to a vertex within SNAP_NM), nm."""
        rb = self._far_boundary_nm(pbar, bandwidth_kHz)
        v = self.field_vertices_nm[np.argmin(np.abs(self.field_vertices_nm - rb))]
        return float(v) if abs(v - rb) <= SNAP_NM else rb

    def _field_row(self, lo, hi):
        """Unnormalized row ``int_lo^hi r^2 p dr`` of the field (zeros if empty)."""
        r0, r1 = self.field_vertices_nm[0], self.field_vertices_nm[-1]
        lo, hi = max(lo, r0), min(hi, r1)
        if not hi - lo > 1e-12 * hi:  # empty, or a rounding sliver at r_c or r_out
            return np.zeros(self.n_field)
        return shell_weights(self.basis, lo, hi) * self._weight * (hi ** 3 - lo ** 3) / 3.0

    def observable_weights(self, pbar, bandwidth_kHz=200.0):
        """Rows (visible, hidden) of volume-weighted means over the field and the near protons.

        Returns
        -------
        ndarray, shape (2, n)
            Each row sums to 1 (NaN if its pool is empty).
        """
        rb = self._field_split(pbar, bandwidth_kHz)
        vis = self._near_visible(pbar, bandwidth_kHz)
        mu = self.channels.mass_nm3
        rows = [np.concatenate([self._field_row(rb, np.inf), mu * vis]),
                np.concatenate([self._field_row(-np.inf, rb), mu * ~vis])]
        return np.stack([_normalized(x) for x in rows])

    def saturation_mask(self, pbar, bandwidth_kHz=200.0):
        """Unknowns zeroed by a selective saturation: visible near protons and the field DOFs
        supported only in the field's visible region (all of it for the usual bands)."""
        rb = self._field_split(pbar, bandwidth_kHz)
        left = self.basis.mesh.p[0][self.basis.mesh.t].min(axis=0)
        hidden_elements = left < rb - 1e-12 * max(rb, 1.0)
        touched = np.zeros(self.n_field, dtype=bool)
        touched[self.basis.element_dofs[:, hidden_elements].ravel()] = True
        return np.concatenate([~touched, self._near_visible(pbar, bandwidth_kHz)])

    def saturate(self, p, pbar, bandwidth_kHz=200.0, residual=0.0):
        """``p`` with the :meth:`saturation_mask` unknowns multiplied by ``residual`` (both
        means exact whenever the field is all visible, i.e. 2K <= r_c^3)."""
        return np.where(self.saturation_mask(pbar, bandwidth_kHz), p * residual, p)

    def radial_profile_weights(self, bin_edges_nm):
        """Rows averaging p over shells of r (field: r^2 dr; near protons: their r), (B, n)."""
        edges = np.asarray(bin_edges_nm, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ConfigError("bin_edges_nm", "must be an increasing sequence of >= 2 radii")
        which = np.digitize(self.channels.r_nm, edges) - 1
        mu = self.channels.mass_nm3
        return np.stack([_normalized(np.concatenate([self._field_row(lo, hi),
                                                     mu * (which == b)]))
                         for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))])


def _normalized(row):
    total = row.sum()
    return row / total if total > 0 else np.full(row.shape, np.nan)
