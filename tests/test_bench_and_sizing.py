"""``latticedns bench`` (what it reports, its refusals) and the size estimate behind the
memory guard of ``latticedns run``."""

import json
import os

import numpy as np
import pytest

from latticedns.benchmark import benchmark_sample
from latticedns.cli import main
from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.lattice.sizing import check_fits, estimate_size
from latticedns.errors import ConfigError

GEOM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "geometries",
                                    "dnp-juice-50mM.toml"))


def test_bench_reports_sample_solver_costs_and_bdf_ratio(capsys):
    assert main(["bench", "--protons", "1200", "--cutoff-nm", "1.0", "--method", "krylov",
                 "--compare-bdf", "60"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["protons"] == 1200 and out["radicals"] >= 4 and out["cutoff_nm"] == 1.0
    assert out["pairs"] > 0 and out["nnz"] == 2 * out["pairs"] + 1200
    assert out["method"] == "krylov" and out["solver"] and out["success"]
    assert out["n_solves"] > 0 and out["propagate_s"] > 0 and out["peak_memory_GB"] > 0
    assert out["reference"] == "dense rtol=1e-06" and out["relative_error"] < 1e-5
    assert out["reference_peak_GB"] > 0 and out["reference_s"] > 0
    # solve_ivp(BDF) on the same schedule agrees with the Krylov run (both at rtol 1e-6)
    if out["bdf"] == "finished":
        assert out["bdf_relative_error"] < 1e-3 and out["bdf_ratio"] > 1
    else:
        assert out["bdf_ratio"].startswith(">")
    assert "[bench" in captured.err and "sample: 1200 protons" in captured.err


@pytest.mark.parametrize("argv, key", [
    (["--protons", "100"], "--protons"),
    (["--cutoff-nm", "0"], "--cutoff-nm"),
    (["--rtol", "5"], "--rtol"),
    (["--method", "foo"], "--method"),
    (["--solver", "foo"], "--solver"),
    (["--compare-bdf", "-1"], "--compare-bdf"),
    (["--protons", "400000000"], "--protons"),  # above the sample's 1e8
    (["--protons", "50000000"], "--protons"),  # ~1.6e12 bytes: refused by the memory estimate
])
def test_bench_refuses_bad_options(capsys, argv, key):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert key in err and "Traceback" not in err


@pytest.mark.parametrize("n, cutoff", [(3000, 1.0), (3000, 1.5), (8000, 1.2)])
def test_size_estimate_matches_built_samples(n, cutoff):
    spec, params = benchmark_sample(n, cutoff)
    est = estimate_size(spec, params)
    model = LatticeModel(generate_sample(spec), params)
    assert est.protons == model.n
    assert abs(est.pairs - len(model.geometry.i)) <= 0.05 * len(model.geometry.i)


def test_size_grows_with_the_cube_of_the_cutoff():
    spec = SampleSpec.from_dict({"radical_mM": 50, "n_protons": 10**5, "proton_density_per_nm3": 7.48})
    a = estimate_size(spec, LatticeParameters(cutoff_nm=1.0))
    b = estimate_size(spec, LatticeParameters(cutoff_nm=2.0))
    assert b.pairs == pytest.approx(8 * a.pairs, rel=1e-6) and b.bytes > a.bytes


def test_check_fits_names_the_key_and_the_estimate():
    spec = SampleSpec.from_dict({"radical_mM": 50, "n_radicals": 400000, "proton_density_per_nm3": 7.48})
    with pytest.raises(ConfigError) as err:
        check_fits(spec, LatticeParameters(), "run.n_radicals", budget_bytes=20e9)
    assert err.value.key == "run.n_radicals" and "GB" in str(err.value)
    small = SampleSpec.from_dict({"radical_mM": 50, "n_radicals": 4, "proton_density_per_nm3": 7.48})
    assert check_fits(small, LatticeParameters(cutoff_nm=1.0), "run.n_radicals").protons > 0


def test_run_refuses_a_sample_too_big_for_memory_before_writing(tmp_path, capsys):
    run = tmp_path / "big.toml"
    run.write_text(f'''
[run]
name = "big"
sample = "{GEOM}"
n_radicals = 400000
[[stage]]
type = "delay"
duration_s = 1.0
''')
    out = tmp_path / "big.h5"
    assert main(["run", str(run), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "run.n_radicals" in err and "GB" in err and "Traceback" not in err
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["big.toml"]


def test_peak_memory_sampler_sees_an_allocation():
    from latticedns.benchmark import PeakMemory

    with PeakMemory() as mem:
        block = np.ones(60_000_000)  # 0.48 GB
        block[::4096] += 1.0
        del block
    assert mem.peak_GB > 0.4
