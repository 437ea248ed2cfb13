"""Glass composition -> proton number density, and concentration unit conversions.

Units: lengths in nm, number densities in 1/nm^3, concentrations in mM (mmol/L),
mass densities in g/cm^3, molar masses in g/mol.

The proton density of a mixture is computed from volume fractions under *ideal mixing*
(no excess volume) with 25 degC liquid densities:

    n_H = sum_k  phi_k * rho_k / M_k * N_A * h_sites_k * (1 - deuterium_fraction_k)

where ``rho_k / M_k * N_A`` is the molecular number density of the pure component
(1 g/cm^3 / (1 g/mol) * N_A = N_A * 1e-21 molecules/nm^3).  Residual 1H on
deuterated components counts (``1 - deuterium_fraction`` of their H/D sites).
H/D exchange between water and the glycerol OD groups conserves the total number of
1H, so it does not change n_H.  Not included (a few % together, of opposite signs):
the negative excess volume of water/glycerol mixing (~ -1 %), thermal contraction on
cooling to 1.2 K, and the volume displaced by the radical molecules.  The protons of
the radical itself (17 on TEMPOL) are not solvent protons and are not counted.

Built-in components (:data:`KNOWN_COMPONENTS`), densities at 25 degC:

=============  ========  =========  =======  ==================  ==============
name           g/cm^3    g/mol      H sites  deuterium_fraction  molecules/nm^3
=============  ========  =========  =======  ==================  ==============
H2O            0.99705   18.0153    2        0                   33.33
D2O            1.1044    20.0276    2        0.999               33.21
glycerol       1.261     92.094     8        0                   8.246
glycerol-d8    1.371     100.14     8        0.98                8.245
DMSO           1.100     78.13      6        0                   8.478
DMSO-d6        1.190     84.17      6        0.999               8.514
=============  ========  =========  =======  ==================  ==============

For DNP juice (H2O:D2O:glycerol-d8 = 1:3:6 v/v/v) this gives
0.1*66.66 + 0.3*66.42*0.001 + 0.6*65.96*0.02 = 6.666 + 0.020 + 0.792 = 7.48 1H/nm^3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from scipy.constants import N_A

from latticedns.constants import number_density_per_nm3

from latticedns.errors import ConfigError

__all__ = [
    "Component",
    "Composition",
    "KNOWN_COMPONENTS",
    "mM_to_per_nm3",
    "per_nm3_to_mM",
]

#: litres -> nm^3 (1 L = 1e-3 m^3 = 1e24 nm^3)
_NM3_PER_LITRE = 1e24
#: (g/cm^3) / (g/mol) -> molecules/nm^3  (1 cm^3 = 1e21 nm^3)
_MOLECULES_PER_NM3 = N_A * 1e-21


def mM_to_per_nm3(c_mM: float) -> float:
    """Convert a concentration in mM (mmol/L) to a number density in 1/nm^3.

    50 mM -> 0.030110704 /nm^3 (CODATA N_A from ``scipy.constants``).
    """
    return float(number_density_per_nm3(c_mM))


def per_nm3_to_mM(n_per_nm3: float) -> float:
    """Convert a number density in 1/nm^3 to a concentration in mM (inverse of :func:`mM_to_per_nm3`)."""
    return n_per_nm3 * _NM3_PER_LITRE / (1e-3 * N_A)


def _num(key: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """Validate a real number in ``[lo, hi]`` (``(lo, hi]`` if lo_open); raise ConfigError naming key."""
    rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"must be a number in {rng}, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
        raise ConfigError(key, f"must be in {rng}, got {value!r}")
    return v


@dataclass(frozen=True)
class Component:
    """One component of a glass-forming mixture.

    Parameters
    ----------
    name : str
        Label (e.g. ``"glycerol-d8"``).
    volume_fraction : float
        Volume fraction of the pure liquid before mixing, in (0, 1].
    density_g_cm3 : float
        Mass density of the pure component, g/cm^3, in (0, 25].
    molar_mass_g_mol : float
        Molar mass, g/mol, in (0, 1e6].
    h_sites : int
        Number of hydrogen (H or D) sites per molecule, 0..10000.
    deuterium_fraction : float
        Atom fraction of D on those sites, [0, 1] (0.999 = "99.9 atom % D");
        the remaining ``1 - deuterium_fraction`` are 1H and count as protons.
    """

    name: str
    volume_fraction: float
    density_g_cm3: float
    molar_mass_g_mol: float
    h_sites: int
    deuterium_fraction: float = 0.0

    def __post_init__(self) -> None:
        key = f"sample.composition.{self.name}"
        for field, lo, hi in (("volume_fraction", 0.0, 1.0), ("density_g_cm3", 0.0, 25.0),
                              ("molar_mass_g_mol", 0.0, 1e6)):
            object.__setattr__(self, field, _num(f"{key}.{field}", getattr(self, field),
                                                 lo, hi, lo_open=True))
        h = self.h_sites
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 10000:
            raise ConfigError(f"{key}.h_sites", f"must be an integer in [0, 10000], got {h!r}")
        object.__setattr__(self, "deuterium_fraction",
                           _num(f"{key}.deuterium_fraction", self.deuterium_fraction, 0.0, 1.0))

    @property
    def molecules_per_nm3(self) -> float:
        """Molecular number density of the pure component, 1/nm^3."""
        return self.density_g_cm3 / self.molar_mass_g_mol * _MOLECULES_PER_NM3

    @property
    def protons_per_nm3_pure(self) -> float:
        """1H number density of the pure component, 1/nm^3 (residual 1H included)."""
        return self.molecules_per_nm3 * self.h_sites * (1.0 - self.deuterium_fraction)

    @property
    def protons_per_nm3(self) -> float:
        """Contribution of this component to the mixture's 1H density, 1/nm^3."""
        return self.volume_fraction * self.protons_per_nm3_pure


#: Built-in component data: name -> (density g/cm^3 at 25 degC, molar mass g/mol,
#: H sites per molecule, default deuterium atom fraction).
KNOWN_COMPONENTS: dict[str, tuple[float, float, int, float]] = {
    "H2O": (0.99705, 18.0153, 2, 0.0),
    "D2O": (1.1044, 20.0276, 2, 0.999),
    "glycerol": (1.261, 92.094, 8, 0.0),
    "glycerol-d8": (1.371, 100.14, 8, 0.98),
    "DMSO": (1.100, 78.13, 6, 0.0),
    "DMSO-d6": (1.190, 84.17, 6, 0.999),
}

_COMPONENT_KEYS = ("volume_fraction", "density_g_cm3", "molar_mass_g_mol", "h_sites",
                   "deuterium_fraction")

#: allowed deviation of the sum of volume fractions from 1
VOLUME_FRACTION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Composition:
    """A mixture of components; its 1H density under ideal mixing.

    Parameters
    ----------
    components : tuple of Component
        Volume fractions must sum to 1 within 1e-4.
    """

    components: tuple[Component, ...]

    def __post_init__(self) -> None:
        comps = tuple(self.components)
        object.__setattr__(self, "components", comps)
        if not comps or not all(isinstance(c, Component) for c in comps):
            raise ConfigError("sample.composition", "must list at least one component")
        names = [c.name for c in comps]
        if len(set(names)) != len(names):
            raise ConfigError("sample.composition", f"duplicate component names in {names}")
        total = math.fsum(c.volume_fraction for c in comps)
        if abs(total - 1.0) > VOLUME_FRACTION_TOLERANCE:
            raise ConfigError("sample.composition",
                              f"volume fractions must sum to 1 (+/- {VOLUME_FRACTION_TOLERANCE:g}), "
                              f"got {total:.6g}")

    @property
    def protons_per_nm3(self) -> float:
        """1H number density of the mixture, 1/nm^3 (ideal mixing, see module docstring)."""
        return math.fsum(c.protons_per_nm3 for c in self.components)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], key: str = "sample.composition") -> "Composition":
        """Build from a TOML-style table.

        Each entry is either ``name = volume_fraction`` for a built-in component
        (:data:`KNOWN_COMPONENTS`), or a table ``[name]`` with ``volume_fraction`` and
        optionally ``density_g_cm3``, ``molar_mass_g_mol``, ``h_sites``,
        ``deuterium_fraction`` (all required for a component that is not built in;
        for a built-in one they override the built-in values).
        """
        if not isinstance(d, Mapping) or not d:
            raise ConfigError(key, "must be a non-empty table of component = volume fraction")
        comps = []
        for name, entry in d.items():
            ckey = f"{key}.{name}"
            known = KNOWN_COMPONENTS.get(name)
            base = dict(zip(_COMPONENT_KEYS[1:], known)) if known else {}
            if isinstance(entry, Mapping):
                for k in entry:
                    if k not in _COMPONENT_KEYS:
                        raise ConfigError(f"{ckey}.{k}",
                                          f"unknown key; allowed: {', '.join(_COMPONENT_KEYS)}")
                base.update(entry)
            elif known is not None:
                base["volume_fraction"] = entry
            else:
                raise ConfigError(ckey, "unknown component: give a table with volume_fraction, "
                                  "density_g_cm3, molar_mass_g_mol, h_sites, deuterium_fraction, "
                                  f"or use a built-in one: {', '.join(KNOWN_COMPONENTS)}")
            for k in _COMPONENT_KEYS[:-1]:
                if k not in base:
                    raise ConfigError(f"{ckey}.{k}", "missing (required for a component that "
                                      "is not built in)")
            comps.append(Component(name=name, **base))
        return cls(tuple(comps))

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Inverse of :meth:`from_dict` (every field explicit)."""
        return {c.name: {k: getattr(c, k) for k in _COMPONENT_KEYS} for c in self.components}
