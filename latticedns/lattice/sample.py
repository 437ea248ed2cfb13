"""`Sample` (positions of protons and radicals) and `generate_sample`.

Units: lengths in nm, number densities in 1/nm^3, concentrations in mM.

Generation (periodic cubic box of edge L, see :class:`SampleSpec` for the counts):

1. radicals: random sequential addition (RSA) with the radical-radical hard core;
2. protons, ``"glassy"``: RSA of uniform points outside the proton-radical exclusion
   spheres with the proton-proton hard core (plain rejection if that is 0);
   ``"sc"``/``"fcc"``: lattice sites minus those inside exclusion spheres, then exactly
   ``round(occupancy * remaining)`` sites chosen at random (vacancies);
3. protons (and radicals) are sorted along a Morton (Z-order) curve, so that spatial
   neighbours are close in index (narrow-band sparse matrices, cache locality).

Everything is drawn from one ``numpy.random.default_rng(spec.seed)`` stream: the same
spec gives the same sample bit for bit (on the same numpy/scipy versions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from latticedns.errors import ConfigError
from latticedns.lattice._placement import morton_order, near_centres, random_sequential_addition
from latticedns.lattice.composition import per_nm3_to_mM
from latticedns.lattice.spec import ARRANGEMENTS, SampleSpec

__all__ = ["Sample", "generate_sample"]


def _positions(key: str, x: object, box_nm: float) -> np.ndarray:
    a = np.array(x, dtype=np.float64, copy=True, order="C")
    if a.ndim != 2 or a.shape[1] != 3:
        raise ConfigError(key, f"must have shape (n, 3), got {a.shape}")
    if a.size and not (np.all(np.isfinite(a)) and a.min() >= 0.0 and a.max() < box_nm):
        raise ConfigError(key, f"positions must lie in [0, {box_nm:g}) nm")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Sample:
    """Positions of protons and radicals in a periodic cubic box.

    Parameters
    ----------
    protons_nm : (N, 3) float64
        Proton positions in [0, box_nm)^3, nm, Morton-ordered (read-only copy).
    radicals_nm : (M, 3) float64
        Radical (electron spin) positions in [0, box_nm)^3, nm (read-only copy).
    box_nm : float
        Box edge L, nm (periodic in x, y, z).  B0 is along z.
    spec : SampleSpec
        The definition it was generated from.
    """

    protons_nm: np.ndarray
    radicals_nm: np.ndarray
    box_nm: float
    spec: SampleSpec

    def __post_init__(self) -> None:
        L = float(self.box_nm)
        if not np.isfinite(L) or L <= 0:
            raise ConfigError("box_nm", f"must be > 0 nm, got {self.box_nm!r}")
        object.__setattr__(self, "box_nm", L)
        object.__setattr__(self, "protons_nm", _positions("protons_nm", self.protons_nm, L))
        object.__setattr__(self, "radicals_nm", _positions("radicals_nm", self.radicals_nm, L))

    @property
    def n_protons(self) -> int:
        """Number of protons N."""
        return len(self.protons_nm)

    @property
    def n_radicals(self) -> int:
        """Number of radicals M."""
        return len(self.radicals_nm)

    @property
    def volume_nm3(self) -> float:
        """Box volume L^3, nm^3."""
        return self.box_nm**3

    @property
    def proton_density_per_nm3(self) -> float:
        """N / L^3, 1/nm^3."""
        return self.n_protons / self.volume_nm3

    @property
    def radical_density_per_nm3(self) -> float:
        """M / L^3, 1/nm^3."""
        return self.n_radicals / self.volume_nm3

    @property
    def radical_mM(self) -> float:
        """Actual radical concentration M / L^3, mM."""
        return per_nm3_to_mM(self.radical_density_per_nm3)

    @property
    def protons_per_radical(self) -> float:
        """N / M."""
        return self.n_protons / self.n_radicals if self.n_radicals else float("inf")


def _lattice_sites(spec: SampleSpec) -> np.ndarray:
    """All sc/fcc sites in the box, (n_cells^3 * basis, 3) nm, in [0, L)."""
    n, a = spec.n_cells, spec.lattice_spacing_nm
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])[:ARRANGEMENTS[spec.arrangement]]
    g = np.arange(n, dtype=np.float64)
    cells = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    return ((cells + basis[None]) * a).reshape(-1, 3)


def generate_sample(spec: SampleSpec, rng: np.random.Generator | int | None = None) -> Sample:
    """Generate a sample from its definition.

    Parameters
    ----------
    spec : SampleSpec
        Sample definition (counts and conventions: see :class:`SampleSpec`).
    rng : numpy.random.Generator or int, optional
        Random source; default ``numpy.random.default_rng(spec.seed)``.

    Returns
    -------
    Sample
        protons_nm (N, 3) and radicals_nm (M, 3) float64 in [0, L)^3 nm, Morton-ordered.

    Raises
    ------
    ConfigError
        If the hard-core distances cannot be honoured (names the distance key), or no
        lattice site survives the exclusion (``sample.min_dist_proton_radical_nm``).
    """
    if not isinstance(spec, SampleSpec):
        raise ConfigError("spec", f"must be a SampleSpec, got {type(spec).__name__}")
    rng = np.random.default_rng(spec.seed if rng is None else rng)
    L = spec.box_edge_nm
    radicals = random_sequential_addition(rng, spec.radical_count, L,
                                          spec.min_dist_radical_radical_nm,
                                          key="sample.min_dist_radical_radical_nm")
    r_pr = spec.min_dist_proton_radical_nm
    if spec.arrangement == "glassy":
        protons = random_sequential_addition(rng, spec.expected_proton_count, L,
                                             spec.min_dist_proton_proton_nm, radicals, r_pr,
                                             key="sample.min_dist_proton_proton_nm")
    else:
        sites = _lattice_sites(spec)
        sites = sites[~near_centres(cKDTree(sites, boxsize=L), radicals, r_pr)]
        k = int(round(spec.occupancy * len(sites)))
        if k < 1:
            raise ConfigError("sample.min_dist_proton_radical_nm",
                              "no lattice site left outside the radical exclusion spheres")
        protons = sites[np.sort(rng.choice(len(sites), size=k, replace=False))]
    protons = protons[morton_order(protons, L)]
    radicals = radicals[morton_order(radicals, L)]
    return Sample(protons_nm=protons, radicals_nm=radicals, box_nm=L, spec=spec)
