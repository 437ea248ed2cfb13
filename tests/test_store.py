"""HDF5 result files: exact round trip, plain-h5py layout, atomic writes, force, append."""

import json
import os

import h5py
import numpy as np
import pytest

import latticedns
from latticedns.errors import ConfigError
from latticedns.protocol import ProtocolResult
from latticedns.store import (RunRecord, SamplePositions, append_run, check_output_path,
                              read_metadata, read_run, read_runs, write_runs)
from latticedns.store import runfile

ARRAYS = ("t_s", "visible", "hidden", "stage", "profile_t_s", "profiles", "profile_edges_nm")


def _result(rng, T=50, K=3, B=27, n=200):
    return ProtocolResult(
        t_s=np.sort(rng.uniform(0, 1e4, T)), visible=rng.normal(size=T), hidden=rng.normal(size=T),
        stage=np.repeat(np.arange(5), T // 5), profile_t_s=rng.uniform(0, 1e4, K),
        profiles=rng.normal(size=(K, B)), profile_edges_nm=np.linspace(0.3, 3.0, B + 1),
        p_final=rng.normal(size=n),
        cost={"stage_seconds": list(rng.uniform(size=5)), "n_factorizations": 3, "n_solves": 77})


PARAMS = {
    "sample": {"radical_mM": 50.0, "arrangement": "glassy", "seed": 7, "composition":
               {"glycerol": 0.6, "water": 0.4}},
    "physics": {"b0_T": 7.05, "temperature_K": 1.2, "t1_bulk_s": float("inf"),
                "tau_cn_us": None, "flag": True},
    "protocol": [{"type": "saturate"}, {"type": "detect", "n_pulses": 10}],
    "powers_mW": [0, 5.5, 118], "names": ["a", "b"], "empty": [], "nothing": {},
    "big": 2**70,
}


def _records(n_runs=3, lattice_n=5000):
    rng = np.random.default_rng(0)
    recs = []
    for k in range(n_runs):
        lattice = k % 2 == 0
        sample = SamplePositions(rng.uniform(0, 8, (lattice_n, 3)), rng.uniform(0, 8, (4, 3)),
                                 8.0) if lattice else None
        recs.append(RunRecord(name=f"run {k}", parameters=dict(PARAMS, k=k),
                              seed=None if k == 1 else 1000 + k,
                              model="lattice" if lattice else "continuum",
                              result=_result(rng), sample=sample, wall_s=rng.uniform()))
    return recs


def _assert_same(a, b, final=False):
    assert a.name == b.name and a.model == b.model and a.seed == b.seed
    assert a.wall_s == b.wall_s
    assert json.dumps(a.parameters) == json.dumps(b.parameters)
    for key in ARRAYS + (("p_final",) if final else ()):
        x, y = getattr(a.result, key), getattr(b.result, key)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), key
    assert a.result.cost == b.result.cost
    assert (a.sample is None) == (b.sample is None)
    if a.sample is not None:
        for key in ("protons_nm", "radicals_nm"):
            x, y = getattr(a.sample, key), getattr(b.sample, key)
            assert y.dtype == np.float64 and x.tobytes() == y.tobytes()
        assert a.sample.box_nm == b.sample.box_nm


def test_round_trip_is_bit_identical(tmp_path):
    path = tmp_path / "runs.h5"
    recs = _records()
    write_runs(path, recs, metadata={"campaign": "fig2b"})
    back = read_runs(path)
    assert [r.name for r in back] == [r.name for r in recs]
    for a, b in zip(recs, back):
        _assert_same(a, b)
        assert b.result.p_final.shape == (0,)
    assert back[0].parameters["physics"]["t1_bulk_s"] == float("inf")
    assert back[0].parameters["big"] == 2**70
    _assert_same(recs[2], read_run(path, "run 2"))
    meta = read_metadata(path)
    assert meta["metadata"] == {"campaign": "fig2b"} and meta["format_version"] == 1
    with pytest.raises(ConfigError, match="no run"):
        read_run(path, "nope")


def test_final_state_is_stored_on_request(tmp_path):
    recs = _records(1)
    write_runs(tmp_path / "f.h5", recs, store_final_state=True)
    _assert_same(recs[0], read_runs(tmp_path / "f.h5")[0], final=True)


def test_layout_readable_with_plain_h5py(tmp_path):
    path = tmp_path / "runs.h5"
    recs = _records()
    write_runs(path, recs)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "latticedns-result" and f.attrs["format_version"] == 1
        assert f.attrs["latticedns_version"] == latticedns.__version__
        assert "T" in f.attrs["created"]
        datasets = []
        f.visititems(lambda n, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        assert len(datasets) == 3 * 7 + 2 * 2
        for ds in datasets:
            assert ds.attrs["units"] in ("s", "1", "nm") and ds.attrs["description"]
        g = f["runs/run 0"]
        assert g["t_s"].attrs["units"] == "s" and g["visible"].attrs["units"] == "1"
        assert g.attrs["model"] == "lattice" and g.attrs["seed"] == 1000
        assert isinstance(f["runs/run 1"].attrs["seed"], h5py.Empty)
        assert json.loads(g.attrs["parameters_json"])["sample"]["radical_mM"] == 50.0
        p = g["parameters"].attrs
        assert p["sample.radical_mM"] == 50.0 and p["sample.composition.glycerol"] == 0.6
        assert list(p["names"]) == ["a", "b"] and list(p["powers_mW"]) == [0, 5.5, 118]
        assert p["physics.tau_cn_us"] == "null" and p["physics.flag"]
        assert g["cost"].attrs["n_solves"] == 77
        s = g["sample"]
        assert s.attrs["box_nm"] == 8.0 and s["protons_nm"].dtype == np.float64
        assert s["protons_nm"].compression == "gzip" and s["protons_nm"].compression_opts == 4
        assert s["protons_nm"].chunks is not None and s["radicals_nm"].compression is None
        assert "sample" not in f["runs/run 1"]


def test_force_semantics_and_no_temp_files(tmp_path):
    path = tmp_path / "runs.h5"
    path.write_bytes(b"precious")
    with pytest.raises(ConfigError, match="--force") as err:
        check_output_path(path, force=False)
    assert err.value.key == "output"
    with pytest.raises(ConfigError, match="exists"):
        write_runs(path, _records(1))
    assert path.read_bytes() == b"precious"
    write_runs(path, _records(1), force=True)
    assert read_runs(path)[0].name == "run 0"
    assert sorted(os.listdir(tmp_path)) == ["runs.h5"]
    with pytest.raises(ConfigError, match="does not exist"):
        check_output_path(tmp_path / "no" / "x.h5")


def test_crash_inside_writer_leaves_target_untouched(tmp_path, monkeypatch):
    path = tmp_path / "runs.h5"
    write_runs(path, _records(1))
    before = path.read_bytes()

    def boom(*args):
        assert any(n.endswith(".tmp") for n in os.listdir(tmp_path))  # temp file is open
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(runfile, "_write_run", boom)  # inside fill()
    with pytest.raises(RuntimeError, match="simulated"):
        write_runs(path, _records(2), force=True)
    with pytest.raises(RuntimeError, match="simulated"):
        append_run(path, _records(2)[1])
    with pytest.raises(RuntimeError, match="simulated"):
        write_runs(tmp_path / "new.h5", _records(1))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["runs.h5"]


def test_append_run(tmp_path):
    path = tmp_path / "runs.h5"
    recs = _records(3)
    write_runs(path, recs[:2])
    append_run(path, recs[2])
    back = read_runs(path)
    assert [r.name for r in back] == ["run 0", "run 1", "run 2"]
    for a, b in zip(recs, back):
        _assert_same(a, b)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already"):
        append_run(path, recs[0])
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["runs.h5"]
    with pytest.raises(ConfigError, match="does not exist"):
        append_run(tmp_path / "missing.h5", recs[0])


def test_bad_files_and_records(tmp_path):
    missing = tmp_path / "missing.h5"
    with pytest.raises(ConfigError, match=str(missing)):
        read_runs(missing)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(ConfigError, match="not an HDF5"):
        read_runs(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ConfigError, match="not a latticedns"):
        read_runs(other)
    rec = _records(1)[0]
    with pytest.raises(ConfigError, match="twice"):
        write_runs(tmp_path / "d.h5", [rec, rec])
    assert not (tmp_path / "d.h5").exists()
    kw = dict(name="a", parameters={}, seed=1, model="lattice", result=rec.result)
    for bad, key in [({"name": "a/b"}, "name"), ({"model": "fem"}, "model"),
                     ({"parameters": {"x": object()}}, "parameters"), ({"seed": 1.5}, "seed"),
                     ({"model": "continuum", "sample": rec.sample}, "sample")]:
        with pytest.raises(ConfigError) as err:
            RunRecord(**{**kw, **bad})
        assert err.value.key == key


def test_parameters_normalized_to_json(tmp_path):
    rec = RunRecord("a", {"t": (1, 2), "x": np.float64(0.5), "n": np.int32(3)}, np.int64(4),
                    "continuum", _records(1)[0].result)
    assert rec.parameters == {"t": [1, 2], "x": 0.5, "n": 3} and type(rec.seed) is int
    write_runs(tmp_path / "a.h5", rec)
    assert read_run(tmp_path / "a.h5", "a").parameters == rec.parameters


def test_docs_example_runs_without_latticedns(tmp_path):
    import re
    import subprocess
    import sys

    write_runs(tmp_path / "runs.h5", _records(2))
    doc = os.path.join(os.path.dirname(__file__), "..", "docs", "hdf5.md")
    code = re.search(r"```python\n(.*?)```", open(doc).read(), re.S).group(1)
    code = "import sys\n" + code + "\nassert 'latticedns' not in sys.modules\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("run 0 lattice")


def test_target_appearing_during_the_write_is_not_clobbered(tmp_path, monkeypatch):
    path = tmp_path / "runs.h5"
    original = runfile._write_run

    def racing(*args):
        path.write_bytes(b"someone else")  # created after the up-front check
        return original(*args)

    monkeypatch.setattr(runfile, "_write_run", racing)
    with pytest.raises(ConfigError, match="exists"):
        write_runs(path, _records(1))
    assert path.read_bytes() == b"someone else" and sorted(os.listdir(tmp_path)) == ["runs.h5"]


def test_sample_from_dict_or_lattice_sample(tmp_path):
    from latticedns.lattice import Sample

    rec = _records(1, lattice_n=10)[0]
    s = rec.sample
    as_dict = RunRecord("d", {}, 1, "lattice", rec.result,
                        sample={"protons_nm": s.protons_nm, "radicals_nm": s.radicals_nm,
                                "box_nm": 8.0})
    as_sample = RunRecord("s", {}, 1, "lattice", rec.result,
                          sample=Sample(s.protons_nm, s.radicals_nm, 8.0, spec=None))
    write_runs(tmp_path / "s.h5", [as_dict, as_sample])
    for back in read_runs(tmp_path / "s.h5"):
        assert back.sample.protons_nm.tobytes() == s.protons_nm.tobytes()
        assert back.sample.box_nm == 8.0
