"""Sample definitions, sample generation and neighbour pair lists.

Units: lengths in nm, number densities in 1/nm^3, concentrations in mM.

Public API
----------
SampleSpec                 validated definition of a sample (``[sample]`` TOML table)
Composition, Component     glass composition -> 1H density
Sample, generate_sample    positions of protons and radicals in a periodic cubic box
proton_pairs, proton_radical_pairs, nearest_radical_distance, PairList,
ProtonRadicalPairList      minimum-image neighbour lists
mM_to_per_nm3, per_nm3_to_mM
"""

from latticedns.lattice.composition import (KNOWN_COMPONENTS, Component, Composition,
                                            mM_to_per_nm3, per_nm3_to_mM)
from latticedns.lattice.neighbours import (PairList, ProtonRadicalPairList,
                                           nearest_radical_distance, proton_pairs,
                                           proton_radical_pairs)
from latticedns.lattice.sample import Sample, generate_sample
from latticedns.lattice.spec import SampleSpec

__all__ = [
    "SampleSpec", "Composition", "Component", "KNOWN_COMPONENTS",
    "Sample", "generate_sample",
    "PairList", "ProtonRadicalPairList", "proton_pairs", "proton_radical_pairs",
    "nearest_radical_distance",
    "mM_to_per_nm3", "per_nm3_to_mM",
]
