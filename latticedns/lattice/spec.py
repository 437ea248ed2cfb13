"""`SampleSpec`: a validated, immutable definition of a sample (the ``[sample]`` table).

Units: lengths in nm, number densities in 1/nm^3, concentrations in mM.  Every key
carries its unit in its name.  See ``geometries/README.md`` for the full key list.

Counting convention (both densities refer to the *total* box volume V = L^3):

* radicals: ``M = round(radicals_per_nm3 * V)``, exactly;
* glassy protons: ``N = round(protons_per_nm3 * V)``, exactly.  The protons are placed
  only outside the radical exclusion spheres, so the local density between radicals is
  higher by ``1 / (1 - f)``, f = excluded volume fraction (1.6 % at 50 mM with
  0.5 nm, 0.34 % with the 0.3 nm default).  This keeps the macroscopic 1H density and
  the protons-per-radical ratio (248 for 50 mM DNP juice) exact; it roughly offsets the
  solvent volume displaced by the radical molecules, which the composition ignores.
* crystalline protons: sites inside exclusion spheres are removed, then exactly
  ``round(occupancy * remaining sites)`` sites are occupied (random vacancies).  The
  box edge is rounded to a whole number of lattice cells (>= 1).

Defaults of the hard-core distances (closest approaches, not spin-diffusion barriers):

* ``min_dist_proton_radical_nm = 0.3``: the unpaired electron of a nitroxide sits on
  the N-O bond; the closest *solvent* proton is that of a water hydrogen-bonded to the
  nitroxide O (O...H ~ 0.19 nm, + ~0.06 nm to the N-O midpoint, ~0.25-0.3 nm).  The
  radical's own protons (17 on TEMPOL, methyls at 0.3-0.45 nm) are not lattice sites;
  they are intramolecular, strongly hyperfine-shifted, and absent in TEMPOL-d17.
* ``min_dist_radical_radical_nm = 0.6``: two TEMPOL molecules in contact (molecular
  diameter ~0.6-0.7 nm).
* ``min_dist_proton_proton_nm = 0.15``: the shortest H-H distance in the glass (H2O
  intramolecular 0.152 nm; glycerol geminal CH2 ~0.175 nm).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any, Mapping

from latticedns.errors import ConfigError
from latticedns.tomlfile import read_toml
from latticedns.lattice.composition import Composition, _num, mM_to_per_nm3

__all__ = ["SampleSpec", "ARRANGEMENTS", "MAX_PROTONS", "MAX_PACKING_FRACTION",
           "MAX_EXCLUDED_FRACTION"]

#: allowed values of ``arrangement``; value = lattice sites per cubic cell
ARRANGEMENTS: dict[str, int] = {"glassy": 0, "sc": 1, "fcc": 4}
#: largest sample accepted (memory: 24 bytes per proton for positions alone)
MAX_PROTONS = 100_000_000
MAX_RADICALS = 10_000_000
#: largest hard-sphere packing fraction accepted for random sequential addition
#: (the RSA jamming limit in 3D is 0.384; rejection becomes slow well before it)
MAX_PACKING_FRACTION = 0.25
#: largest fraction of the box that the proton-radical exclusion spheres may cover
MAX_EXCLUDED_FRACTION = 0.5


def _int(key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(key, f"must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


@dataclass(frozen=True)
class SampleSpec:
    """Definition of a periodic cubic sample of protons around radicals.

    Exactly one of ``proton_density_per_nm3`` / ``composition`` (glassy only; crystalline
    samples take the density from the lattice) and exactly one of ``box_nm`` /
    ``n_radicals`` / ``n_protons`` must be given.

    Parameters
    ----------
    radical_mM : float
        Radical concentration, mM, in (0, 1000].  50 mM = 0.0301 radicals/nm^3.
    proton_density_per_nm3 : float, optional
        1H number density of the whole sample, 1/nm^3, in (0, 200].
    composition : Composition or mapping, optional
        Glass composition from which the 1H density is computed (``[sample.composition]``).
    box_nm : float, optional
        Box edge L, nm, in (0, 2000].
    n_radicals : int, optional
        Box edge from the radical concentration: L = (n_radicals / c)^(1/3); [1, 1e7].
    n_protons : int, optional
        Box edge from the proton density: L = (n_protons / n_H)^(1/3); [1, 1e8].
    min_dist_proton_radical_nm : float
        Hard-core proton-radical distance, nm, [0, 5]; default 0.3.
    min_dist_radical_radical_nm : float
        Hard-core radical-radical distance, nm, [0, 10]; default 0.6.
    min_dist_proton_proton_nm : float
        Hard-core proton-proton distance, nm, [0, 0.5]; default 0.15.
    arrangement : {"glassy", "sc", "fcc"}
        Random protons, or a simple-cubic / face-centred-cubic proton lattice.
    lattice_spacing_nm : float, optional
        Cubic cell edge a, nm, [0.05, 5]; required for (only for) sc/fcc.
    occupancy : float, optional
        Fraction of lattice sites occupied, (0, 1]; sc/fcc only; default 1.
    seed : int
        Seed of ``numpy.random.default_rng``, [0, 2^63 - 1]; default 0.
    """

    radical_mM: float
    proton_density_per_nm3: float | None = None
    composition: Composition | None = None
    box_nm: float | None = None
    n_radicals: int | None = None
    n_protons: int | None = None
    min_dist_proton_radical_nm: float = 0.3
    min_dist_radical_radical_nm: float = 0.6
    min_dist_proton_proton_nm: float = 0.15
    arrangement: str = "glassy"
    lattice_spacing_nm: float | None = None
    occupancy: float | None = None
    seed: int = 0

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        s = object.__setattr__
        s(self, "radical_mM", _num("sample.radical_mM", self.radical_mM, 0, 1000, lo_open=True))
        if not isinstance(self.arrangement, str) or self.arrangement not in ARRANGEMENTS:
            raise ConfigError("sample.arrangement",
                              f"must be one of {', '.join(map(repr, ARRANGEMENTS))}, "
                              f"got {self.arrangement!r}")
        crystal = self.arrangement != "glassy"
        if isinstance(self.composition, Mapping):
            s(self, "composition", Composition.from_dict(self.composition))
        elif self.composition is not None and not isinstance(self.composition, Composition):
            raise ConfigError("sample.composition", "must be a table of components")
        dens_given = [k for k in ("proton_density_per_nm3", "composition")
                      if getattr(self, k) is not None]
        if crystal:
            if dens_given:
                raise ConfigError(f"sample.{dens_given[0]}", "not allowed for a crystalline "
                                  "arrangement (the density follows from lattice_spacing_nm "
                                  "and occupancy)")
            if self.lattice_spacing_nm is None:
                raise ConfigError("sample.lattice_spacing_nm",
                                  f"required for arrangement {self.arrangement!r}: [0.05, 5] nm")
            s(self, "lattice_spacing_nm", _num("sample.lattice_spacing_nm",
                                               self.lattice_spacing_nm, 0.05, 5))
            s(self, "occupancy", 1.0 if self.occupancy is None else
              _num("sample.occupancy", self.occupancy, 0, 1, lo_open=True))
        else:
            for k in ("lattice_spacing_nm", "occupancy"):
                if getattr(self, k) is not None:
                    raise ConfigError(f"sample.{k}", "only allowed with arrangement 'sc' or 'fcc'")
            if len(dens_given) != 1:
                raise ConfigError("sample.proton_density_per_nm3",
                                  "give exactly one of proton_density_per_nm3 (in (0, 200] /nm^3) "
                                  f"or [sample.composition]; got {dens_given or 'neither'}")
            if self.proton_density_per_nm3 is not None:
                s(self, "proton_density_per_nm3", _num("sample.proton_density_per_nm3",
                                                       self.proton_density_per_nm3, 0, 200,
                                                       lo_open=True))
            elif not 0 < self.protons_per_nm3 <= 200:
                raise ConfigError("sample.composition", "gives a 1H density of "
                                  f"{self.protons_per_nm3:.4g} /nm^3, allowed (0, 200]")
        for k, hi in (("min_dist_proton_radical_nm", 5), ("min_dist_radical_radical_nm", 10),
                      ("min_dist_proton_proton_nm", 0.5)):
            s(self, k, _num(f"sample.{k}", getattr(self, k), 0, hi))
        s(self, "seed", _int("sample.seed", self.seed, 0, 2**63 - 1))
        box_given = [k for k in ("box_nm", "n_radicals", "n_protons") if getattr(self, k) is not None]
        if len(box_given) != 1:
            raise ConfigError("sample.box_nm", "give exactly one of box_nm (nm, in (0, 2000]), "
                              f"n_radicals or n_protons; got {box_given or 'none'}")
        if self.box_nm is not None:
            s(self, "box_nm", _num("sample.box_nm", self.box_nm, 0, 2000, lo_open=True))
        elif self.n_radicals is not None:
            s(self, "n_radicals", _int("sample.n_radicals", self.n_radicals, 1, MAX_RADICALS))
        else:
            s(self, "n_protons", _int("sample.n_protons", self.n_protons, 1, MAX_PROTONS))
        self._check_feasible(box_given[0])

    def _check_feasible(self, box_key: str) -> None:
        """Cheap a-priori checks that the box can hold the requested particles."""
        L, V = self.box_edge_nm, self.volume_nm3
        M, N = self.radical_count, self.expected_proton_count
        bk = f"sample.{box_key}"
        if M < 1:
            raise ConfigError(bk, f"box of {L:.4g} nm holds {self.radicals_per_nm3 * V:.3g} < 0.5 "
                              f"radicals at {self.radical_mM:g} mM; need L >= "
                              f"{(0.5 / self.radicals_per_nm3) ** (1 / 3):.4g} nm")
        if M > MAX_RADICALS or N > MAX_PROTONS:
            raise ConfigError(bk, f"sample too large ({M} radicals, ~{N} protons); allowed "
                              f"<= {MAX_RADICALS} radicals and <= {MAX_PROTONS} protons")
        for k in ("min_dist_proton_radical_nm", "min_dist_radical_radical_nm",
                  "min_dist_proton_proton_nm"):
            if getattr(self, k) >= L / 2:
                raise ConfigError(f"sample.{k}", f"must be < box/2 = {L / 2:.4g} nm (minimum "
                                  f"image), got {getattr(self, k):g}")
        d_rr = self.min_dist_radical_radical_nm
        if M * math.pi / 6 * d_rr**3 / V > MAX_PACKING_FRACTION:
            dmax = (MAX_PACKING_FRACTION * V * 6 / math.pi / M) ** (1 / 3)
            raise ConfigError("sample.min_dist_radical_radical_nm",
                              f"radical hard spheres of {d_rr:g} nm at {self.radical_mM:g} mM "
                              f"cannot be packed at random (packing fraction > "
                              f"{MAX_PACKING_FRACTION}); allowed [0, {dmax:.4g}] nm")
        f = self.excluded_volume_fraction
        if f > MAX_EXCLUDED_FRACTION:
            rmax = (MAX_EXCLUDED_FRACTION * V * 3 / (4 * math.pi * M)) ** (1 / 3)
            raise ConfigError("sample.min_dist_proton_radical_nm",
                              f"radical exclusion spheres would cover {min(f, 1):.0%} of the box "
                              f"(> {MAX_EXCLUDED_FRACTION:.0%}); allowed [0, {rmax:.4g}] nm")
        d_pp = self.min_dist_proton_proton_nm
        if self.arrangement == "glassy":
            phi = N / (V * (1 - f)) * math.pi / 6 * d_pp**3
            if phi > MAX_PACKING_FRACTION:
                raise ConfigError("sample.min_dist_proton_proton_nm",
                                  f"{d_pp:g} nm hard spheres at {self.protons_per_nm3:.4g} /nm^3 "
                                  f"exceed packing fraction {MAX_PACKING_FRACTION}; allowed [0, "
                                  f"{(MAX_PACKING_FRACTION * V * (1 - f) * 6 / math.pi / N) ** (1 / 3):.4g}] nm")
        elif d_pp > self.nearest_site_distance_nm:
            raise ConfigError("sample.min_dist_proton_proton_nm",
                              f"exceeds the {self.arrangement} nearest-neighbour distance "
                              f"{self.nearest_site_distance_nm:.4g} nm; allowed [0, that]")

    # ------------------------------------------------------------------ derived
    @property
    def radicals_per_nm3(self) -> float:
        """Radical number density, 1/nm^3 (50 mM -> 0.0301)."""
        return mM_to_per_nm3(self.radical_mM)

    @property
    def protons_per_nm3(self) -> float:
        """Nominal 1H number density of the whole sample, 1/nm^3.

        Given directly, computed from the composition, or ``occupancy * sites / a^3`` for a
        lattice (before removing sites inside exclusion spheres).
        """
        if self.arrangement != "glassy":
            return self.occupancy * ARRANGEMENTS[self.arrangement] / self.lattice_spacing_nm**3
        if self.proton_density_per_nm3 is not None:
            return self.proton_density_per_nm3
        return self.composition.protons_per_nm3

    @property
    def _requested_edge_nm(self) -> float:
        if self.box_nm is not None:
            return self.box_nm
        if self.n_radicals is not None:
            return (self.n_radicals / self.radicals_per_nm3) ** (1 / 3)
        return (self.n_protons / self.protons_per_nm3) ** (1 / 3)

    @property
    def box_edge_nm(self) -> float:
        """Box edge L, nm, from box_nm, n_radicals or n_protons (crystalline: rounded to a
        whole number of cells, at least one)."""
        if self.arrangement != "glassy":
            return self.n_cells * self.lattice_spacing_nm
        return self._requested_edge_nm

    @property
    def n_cells(self) -> int:
        """Lattice cells per box edge (crystalline only; 0 for glassy)."""
        if self.arrangement == "glassy":
            return 0
        return max(1, round(self._requested_edge_nm / self.lattice_spacing_nm))

    @property
    def nearest_site_distance_nm(self) -> float:
        """Nearest-neighbour lattice distance, nm (a for sc, a/sqrt(2) for fcc; 0 for glassy)."""
        if self.arrangement == "glassy":
            return 0.0
        return self.lattice_spacing_nm / (1.0 if self.arrangement == "sc" else math.sqrt(2.0))

    @property
    def volume_nm3(self) -> float:
        """Box volume L^3, nm^3."""
        return self.box_edge_nm**3

    @property
    def radical_count(self) -> int:
        """Number of radicals, ``round(radicals_per_nm3 * V)`` (exact)."""
        return int(round(self.radicals_per_nm3 * self.volume_nm3))

    @property
    def excluded_volume_fraction(self) -> float:
        """Nominal fraction of the box inside proton-radical exclusion spheres (overlaps ignored)."""
        return self.radical_count * 4 / 3 * math.pi * self.min_dist_proton_radical_nm**3 / self.volume_nm3

    @property
    def expected_proton_count(self) -> int:
        """Glassy: the exact count ``round(protons_per_nm3 * V)``.  Crystalline: an estimate
        ``round(occupancy * sites * (1 - excluded_volume_fraction))``."""
        n = self.protons_per_nm3 * self.volume_nm3
        if self.arrangement != "glassy":
            n *= max(0.0, 1.0 - self.excluded_volume_fraction)
        return int(round(n))

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SampleSpec":
        """Build from the contents of a ``[sample]`` table; unknown keys are refused."""
        if not isinstance(d, Mapping):
            raise ConfigError("sample", f"must be a table, got {type(d).__name__}")
        allowed = [f.name for f in fields(cls)]
        for k in d:
            if k not in allowed:
                raise ConfigError(f"sample.{k}", f"unknown key; allowed: {', '.join(allowed)}")
        if "radical_mM" not in d:
            raise ConfigError("sample.radical_mM", "missing (required, in (0, 1000] mM)")
        return cls(**dict(d))

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "SampleSpec":
        """Load a geometry file with a single top-level ``[sample]`` table."""
        p = os.fspath(path)
        doc, _ = read_toml(p, "sample", "geometry file")
        for k in doc:
            if k != "sample":
                raise ConfigError(k, f"unknown top-level key in {p}; allowed: sample")
        if "sample" not in doc:
            raise ConfigError("sample", f"{p}: missing [sample] table")
        return cls.from_dict(doc["sample"])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the given (non-None) keys; ``from_dict(to_dict())`` round-trips."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            out[f.name] = v.to_dict() if isinstance(v, Composition) else v
        return out
