"""Sample definitions and generation (lengths in nm, densities in 1/nm^3)."""

import math
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from scipy.constants import N_A
from scipy.spatial import cKDTree

from latticedns.errors import ConfigError
from latticedns.lattice import (Composition, SampleSpec, generate_sample, mM_to_per_nm3,
                                nearest_radical_distance, per_nm3_to_mM)
from latticedns.lattice import _placement
from latticedns.lattice._placement import morton_order, sequential_accept
from latticedns.lattice.sample import _lattice_sites

GEOMETRIES = Path(__file__).resolve().parents[1] / "geometries"
JUICE = {"H2O": 0.1, "D2O": 0.3, "glycerol-d8": 0.6}


def spec(**kw):
    base = dict(radical_mM=50.0, proton_density_per_nm3=7.5, box_nm=8.0)
    base.update(kw)
    return SampleSpec(**base)


# ----------------------------------------------------------------- units and composition
def test_50mM_is_0_0301_per_nm3():
    assert mM_to_per_nm3(50) == pytest.approx(0.05 * N_A / 1e24, rel=1e-15)
    assert round(mM_to_per_nm3(50), 4) == 0.0301
    assert per_nm3_to_mM(mM_to_per_nm3(37.0)) == pytest.approx(37.0, rel=1e-14)
    assert spec().radicals_per_nm3 == pytest.approx(0.030110704, rel=1e-8)


def test_dnp_juice_proton_density_from_composition():
    n_h = Composition.from_dict(JUICE).protons_per_nm3
    # by hand: phi * rho / M * N_A * 1e-21 * sites * (1 - D fraction)
    by_hand = N_A * 1e-21 * (0.1 * 0.99705 / 18.0153 * 2
                             + 0.3 * 1.1044 / 20.0276 * 2 * 0.001
                             + 0.6 * 1.371 / 100.14 * 8 * 0.02)
    assert n_h == pytest.approx(by_hand, rel=1e-12)
    assert 7.0 <= n_h <= 7.5 and n_h == pytest.approx(7.477, abs=0.002)
    # the residual 1H of glycerol-d8 is ~0.79 /nm^3 of it
    fully_d = Composition.from_dict({"H2O": 0.1, "D2O": 0.3,
                                     "glycerol-d8": {"volume_fraction": 0.6,
                                                     "deuterium_fraction": 1.0}})
    assert n_h - fully_d.protons_per_nm3 == pytest.approx(0.7915, abs=1e-3)


def test_custom_component_and_fraction_sum():
    c = Composition.from_dict({"H2O": 0.5, "X": {"volume_fraction": 0.5, "density_g_cm3": 1.0,
                                                 "molar_mass_g_mol": 18.0153, "h_sites": 2,
                                                 "deuterium_fraction": 0.5}})
    pure = 1.0 / 18.0153 * N_A * 1e-21 * 2
    assert c.protons_per_nm3 == pytest.approx(0.5 * 0.99705 / 18.0153 * N_A * 1e-21 * 2
                                              + 0.25 * pure, rel=1e-12)
    with pytest.raises(ConfigError, match="sum to 1") as e:
        Composition.from_dict({"H2O": 0.1, "D2O": 0.3})
    assert e.value.key == "sample.composition"
    with pytest.raises(ConfigError) as e:
        Composition.from_dict({"unobtainium": 1.0})
    assert e.value.key == "sample.composition.unobtainium"
    with pytest.raises(ConfigError) as e:
        Composition.from_dict({"H2O": {"volume_fraction": 1.0, "colour": "blue"}})
    assert e.value.key == "sample.composition.H2O.colour"


# ----------------------------------------------------------------- counts and geometry
def test_counts_follow_concentrations():
    s = spec(box_nm=12.3)
    smp = generate_sample(s)
    V = 12.3**3
    assert smp.n_radicals == round(mM_to_per_nm3(50) * V) == s.radical_count
    assert smp.n_protons == round(7.5 * V) == s.expected_proton_count
    assert smp.proton_density_per_nm3 == pytest.approx(7.5, abs=0.5 / V)
    assert smp.radical_mM == pytest.approx(50, abs=per_nm3_to_mM(0.5 / V))
    assert smp.protons_nm.shape == (smp.n_protons, 3) and smp.protons_nm.dtype == np.float64
    assert smp.radicals_nm.shape == (smp.n_radicals, 3)
    for x in (smp.protons_nm, smp.radicals_nm):
        assert x.min() >= 0 and x.max() < smp.box_nm
        assert not x.flags.writeable


@pytest.mark.parametrize("kw, expect", [({"n_radicals": 37}, ("n_radicals", 37)),
                                        ({"n_protons": 12345}, ("n_protons", 12345))])
def test_box_from_counts(kw, expect):
    s = SampleSpec(radical_mM=25, composition=JUICE, **kw)
    smp = generate_sample(s)
    assert getattr(smp, expect[0]) == expect[1]
    assert smp.box_nm == pytest.approx(s.box_edge_nm)


def test_minimum_distances_honoured():
    s = spec(box_nm=9.0, radical_mM=100, min_dist_proton_radical_nm=0.9,
             min_dist_radical_radical_nm=1.5, min_dist_proton_proton_nm=0.3, seed=3)
    smp = generate_sample(s)
    L = smp.box_nm
    pt, rt = cKDTree(smp.protons_nm, boxsize=L), cKDTree(smp.radicals_nm, boxsize=L)
    eps = 1e-12
    assert len(pt.query_pairs(0.3 - eps)) == 0
    assert len(rt.query_pairs(1.5 - eps)) == 0
    assert nearest_radical_distance(smp).min() >= 0.9 - eps
    # the constraints are active: a plain uniform sample would violate them
    free = generate_sample(spec(box_nm=9.0, radical_mM=100, min_dist_proton_radical_nm=0,
                                min_dist_radical_radical_nm=0, min_dist_proton_proton_nm=0,
                                seed=3))
    assert len(cKDTree(free.protons_nm, boxsize=L).query_pairs(0.3)) > 100
    assert nearest_radical_distance(free).min() < 0.9


def test_seed_reproducible_bit_for_bit():
    a, b = generate_sample(spec(seed=11)), generate_sample(spec(seed=11))
    assert a.protons_nm.tobytes() == b.protons_nm.tobytes()
    assert a.radicals_nm.tobytes() == b.radicals_nm.tobytes()
    c = generate_sample(spec(seed=12))
    assert c.n_protons == a.n_protons
    assert not np.array_equal(a.protons_nm, c.protons_nm)
    d = generate_sample(spec(seed=11), rng=np.random.default_rng(12))
    assert np.array_equal(d.protons_nm, c.protons_nm)


def test_protons_morton_sorted_and_local():
    smp = generate_sample(spec(box_nm=10.0))
    assert np.array_equal(morton_order(smp.protons_nm, smp.box_nm), np.arange(smp.n_protons))
    # neighbours are close in index: median index gap of 0.5 nm pairs << N / 3 (random order)
    pairs = cKDTree(smp.protons_nm, boxsize=smp.box_nm).query_pairs(0.5, output_type="ndarray")
    assert np.median(np.abs(pairs[:, 1] - pairs[:, 0])) < smp.n_protons / 20


def test_sequential_accept_is_one_by_one():
    # chain 0-1, 1-2, 2-3: one-by-one keeps 0 and 2 (1 blocked by 0, 3 blocked by 2)
    ok = sequential_accept(5, np.array([[0, 1], [2, 1], [2, 3]]))
    assert ok.tolist() == [True, False, True, False, True]
    # a pre-rejected candidate blocks nobody
    ok = sequential_accept(3, np.array([[0, 1], [1, 2]]), np.array([True, False, False]))
    assert ok.tolist() == [False, True, False]


@pytest.mark.parametrize("arr, a, nn, per_cell", [("sc", 0.5, 0.5, 1),
                                                 ("fcc", 0.8, 0.8 / math.sqrt(2), 4)])
def test_crystalline_lattice(arr, a, nn, per_cell):
    s = SampleSpec(radical_mM=20, arrangement=arr, lattice_spacing_nm=a, box_nm=7.1,
                   min_dist_proton_radical_nm=0.6, seed=5)
    assert s.box_edge_nm == pytest.approx(round(7.1 / a) * a)
    smp = generate_sample(s)
    x = smp.protons_nm
    # on the lattice: coordinates multiples of a/2 (fcc) or a (sc)
    step = a / 2 if arr == "fcc" else a
    assert np.allclose(x / step, np.rint(x / step), atol=1e-9)
    d, _ = cKDTree(x, boxsize=smp.box_nm).query(x, k=2)
    assert d[:, 1].min() == pytest.approx(nn, rel=1e-9)
    sites = _lattice_sites(s)
    assert len(sites) == per_cell * s.n_cells**3
    d_site, _ = cKDTree(smp.radicals_nm, boxsize=smp.box_nm).query(sites, k=1)
    n_outside = np.count_nonzero(d_site > 0.6)
    assert 0 < n_outside < len(sites)
    assert smp.n_protons == n_outside
    assert nearest_radical_distance(smp).min() > 0.6
    # occupancy: exactly round(occ * sites outside exclusion), random vacancies
    part = generate_sample(SampleSpec(**{**s.to_dict(), "occupancy": 0.7}))
    assert part.n_protons == round(0.7 * n_outside)
    assert s.protons_per_nm3 == pytest.approx(per_cell / a**3)


def test_glassy_pair_correlation_flat():
    s = spec(box_nm=15.0, seed=2)
    smp = generate_sample(s)
    L, x, n = smp.box_nm, smp.protons_nm, smp.n_protons
    pairs = cKDTree(x, boxsize=L).query_pairs(2.0, output_type="ndarray")
    v = x[pairs[:, 1]] - x[pairs[:, 0]]
    r = np.linalg.norm(v - L * np.rint(v / L), axis=1)
    edges = np.arange(0.0, 2.01, 0.1)
    hist, _ = np.histogram(r, edges)
    ideal = n * (n - 1) / 2 * 4 / 3 * np.pi * np.diff(edges**3) / L**3
    g = hist / ideal
    assert r.min() >= 0.15 and np.count_nonzero(r < 0.2) > 0  # hard core, reached
    beyond = edges[:-1] >= 0.3
    assert np.all(np.abs(g[beyond] - 1) < 0.03), g
    # proton density around radicals flat beyond the exclusion distance too
    d = nearest_radical_distance(smp)
    assert d.min() >= 0.3


# ----------------------------------------------------------------- TOML and bad inputs
def test_geometry_files_load_and_generate():
    files = sorted(GEOMETRIES.glob("*.toml"))
    names = {f.name for f in files}
    assert {f"dnp-juice-{c}mM.toml" for c in (10, 25, 50, 100)} <= names
    assert any(SampleSpec.from_toml(f).arrangement != "glassy" for f in files)
    s = SampleSpec.from_toml(GEOMETRIES / "dnp-juice-50mM.toml")
    assert s.radicals_per_nm3 == pytest.approx(0.0301, abs=5e-5)
    assert s.protons_per_nm3 == pytest.approx(7.477, abs=0.002)
    assert SampleSpec.from_dict(s.to_dict()) == s
    smp = generate_sample(s)
    assert smp.n_radicals == 200


def test_readme_documents_every_key():
    text = (GEOMETRIES / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-zA-Z_0-9]+)` \|", text, flags=re.M))
    keys = {f.name for f in fields(SampleSpec)} - {"composition"}
    assert keys <= documented
    assert "[sample.composition]" in text


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found") as e:
        SampleSpec.from_toml(tmp_path / "nope.toml")
    assert str(tmp_path / "nope.toml") in str(e.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("[sample]\nradical_mM = 50\nproton_density_per_nm3 = 7\nbox_nm = 8\nboxx = 3\n")
    with pytest.raises(ConfigError) as e:
        SampleSpec.from_toml(bad)
    assert e.value.key == "sample.boxx"
    bad.write_text("[sample\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        SampleSpec.from_toml(bad)
    bad.write_text("[run]\nx = 1\n")
    with pytest.raises(ConfigError):
        SampleSpec.from_toml(bad)


@pytest.mark.parametrize("kw, key", [
    ({"radical_mM": 0}, "sample.radical_mM"),
    ({"radical_mM": -5}, "sample.radical_mM"),
    ({"radical_mM": True}, "sample.radical_mM"),
    ({"radical_mM": "50"}, "sample.radical_mM"),
    ({"radical_mM": float("nan")}, "sample.radical_mM"),
    ({"proton_density_per_nm3": 0}, "sample.proton_density_per_nm3"),
    ({"proton_density_per_nm3": None}, "sample.proton_density_per_nm3"),
    ({"composition": JUICE}, "sample.proton_density_per_nm3"),  # both given
    ({"box_nm": -1}, "sample.box_nm"),
    ({"n_radicals": 5}, "sample.box_nm"),  # two box keys
    ({"box_nm": 2.0}, "sample.box_nm"),  # < 0.5 radical at 50 mM
    ({"min_dist_proton_proton_nm": -0.1}, "sample.min_dist_proton_proton_nm"),
    ({"min_dist_radical_radical_nm": 5.0, "radical_mM": 100, "box_nm": 20},
     "sample.min_dist_radical_radical_nm"),  # impossible radical packing
    ({"min_dist_radical_radical_nm": 4.5}, "sample.min_dist_radical_radical_nm"),  # >= L/2
    ({"min_dist_proton_radical_nm": 3.0, "radical_mM": 200, "box_nm": 10,
      "min_dist_radical_radical_nm": 0}, "sample.min_dist_proton_radical_nm"),  # covers box
    ({"min_dist_proton_proton_nm": 0.45, "proton_density_per_nm3": 100},
     "sample.min_dist_proton_proton_nm"),  # impossible proton packing
    ({"arrangement": "hcp"}, "sample.arrangement"),
    ({"lattice_spacing_nm": 0.5}, "sample.lattice_spacing_nm"),  # glassy
    ({"arrangement": "sc"}, "sample.proton_density_per_nm3"),  # density is the lattice's
    ({"arrangement": "sc", "proton_density_per_nm3": None}, "sample.lattice_spacing_nm"),
    ({"arrangement": "sc", "proton_density_per_nm3": None, "lattice_spacing_nm": 0.1},
     "sample.min_dist_proton_proton_nm"),  # nn distance < hard core
    ({"arrangement": "fcc", "proton_density_per_nm3": None, "lattice_spacing_nm": 0.5,
      "occupancy": 1.5}, "sample.occupancy"),
    ({"seed": -1}, "sample.seed"),
    ({"seed": 1.5}, "sample.seed"),
])
def test_bad_inputs_name_the_key(kw, key):
    with pytest.raises(ConfigError) as e:
        spec(**kw)
    assert e.value.key == key
    assert isinstance(e.value, ValueError)


def test_from_dict_refuses_unknown_and_missing():
    with pytest.raises(ConfigError) as e:
        SampleSpec.from_dict({"radical_mM": 50, "proton_density_per_nm3": 7, "box_nm": 8,
                              "temperature_K": 1.2})
    assert e.value.key == "sample.temperature_K"
    with pytest.raises(ConfigError) as e:
        SampleSpec.from_dict({"proton_density_per_nm3": 7, "box_nm": 8})
    assert e.value.key == "sample.radical_mM"


def test_rejection_failure_is_a_config_error(monkeypatch):
    monkeypatch.setattr(_placement, "MAX_RSA_ROUNDS", 1)
    with pytest.raises(ConfigError, match="could not place") as e:
        generate_sample(spec(min_dist_proton_proton_nm=0.35, proton_density_per_nm3=10))
    assert e.value.key == "sample.min_dist_proton_proton_nm"
