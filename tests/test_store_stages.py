"""Per-stage conditions, warnings, the resolved sample and campaign run names in result files."""

import dataclasses
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from latticedns.errors import ConfigError
from latticedns.experiment import build_model, execute_run, execute_runs, parse_run_document
from latticedns.experiment.execute import protocol_options
from latticedns.lattice import SampleSpec
from latticedns.protocol import ProtocolResult, run_protocol
from latticedns.store import (STAGE_COLUMNS, RunRecord, StageTable, append_run, geometry_toml,
                              read_metadata, read_run, read_runs, write_runs)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GEOM = os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml")

# microwaves on again after the selective saturation: the visible pool depends on
# run.visible_pool (the saturation's Pbar, or the stage's own)
DOC = f'''
[run]
name = "t"
model = "continuum"
sample = "{GEOM}"
visible_pool = "saturated"

[physics]
mesh_refinement = 0.5

[[stage]]
type = "saturate"
[[stage]]
type = "microwave"
name = "prepare"
duration_s = 640.0
power_mW = 118.0
n_outputs = 4
[[stage]]
type = "delay"
name = "gate"
duration_s = 10.0
[[stage]]
type = "selective_saturate"
bandwidth_kHz = 150.0
[[stage]]
type = "detect"
name = "detect"
n_pulses = 8
interval_s = 10.0
flip_angle_deg = 0.1
bandwidth_kHz = 120.0
[[stage]]
type = "microwave"
name = "again"
duration_s = 30.0
power_mW = 60.0
n_outputs = 3

[[variant]]
name = "positive"
[[variant]]
name = "negative"
set = {{ "stage.prepare.dnp_sign" = -1 }}
'''


def specs(model="continuum", pool="saturated", **run):
    doc = read_toml_text(DOC.replace('visible_pool = "saturated"', f'visible_pool = "{pool}"'))
    doc["run"]["model"] = model
    doc["run"].update(run)
    if model == "lattice":  # a tiny lattice: 2 radicals at 100 mM, ~250 protons
        doc["run"].update(n_radicals=2)
        doc.setdefault("sample", {})["radical_mM"] = 100.0
        doc["physics"] = {"hyperfine_cutoff_nm": 1.5}
    return parse_run_document(doc, ROOT)


def read_toml_text(text):
    import tomllib

    return tomllib.loads(text)


def _pool_weights(model, rec, k):
    st = rec.stages
    return model.observable_weights(st.pool_pbar[k], st.pool_bandwidth_kHz[k])


@pytest.mark.parametrize("kind", ["lattice", "continuum"])
@pytest.mark.parametrize("pool", ["saturated", "shift"])
def test_stage_table_holds_the_conditions_the_protocol_used(kind, pool):
    spec = specs(kind, pool)[0]
    rec = execute_run(spec)
    st = rec.stages
    assert st.name == ("0", "prepare", "gate", "3", "detect", "again")
    assert st.type == ("saturate", "microwave", "delay", "selective_saturate", "detect",
                       "microwave")
    # the protocol's clock: the fit's start times, record times within each stage
    assert st.t_start_s.tolist() == [0.0, 0.0, 640.0, 650.0, 650.0, 730.0]
    for k in range(len(st)):
        t = rec.result.t_s[rec.result.stage == k]
        assert np.all(t >= st.t_start_s[k]) and np.all(t <= st.t_start_s[k] + st.duration_s[k])
    cal = spec.calibration
    on, off, mid = cal.condition(spec.stages[1].microwave), cal.condition(None), \
        cal.condition(spec.stages[5].microwave)
    # instantaneous stages hold the setting before them: the saturation follows the gate (off)
    assert st.power_mW.tolist() == [0.0, 118.0, 0.0, 0.0, 0.0, 60.0]
    assert st.pbar.tolist() == [off.pbar, on.pbar, off.pbar, off.pbar, off.pbar, mid.pbar]
    assert st.tau_c_us.tolist() == [c.tau_c_us for c in (off, on, off, off, off, mid)]
    np.testing.assert_allclose(st.gamma_c_rad_per_s, 1e6 / st.tau_c_us, rtol=1e-15)
    assert st.tau_c_us[1] == pytest.approx(0.5, rel=1e-4) and st.tau_c_us[0] > 200
    assert st.relaxation_tau_c_us.tolist() == [1e6] * 6  # the electron T1, 1 s
    assert st.dnp_rate_per_s[1] > 0 and st.dnp_target[1] == 0.8 and st.dnp_target[2] == 0.0
    # the pools: the bandwidths of detect / selective_saturate, run.bandwidth_kHz else, and
    # after the selective saturation the saturation's Pbar only with "saturated"
    assert st.pool_bandwidth_kHz.tolist() == [200.0, 200.0, 200.0, 150.0, 120.0, 200.0]
    last = off.pbar if pool == "saturated" else mid.pbar
    assert st.pool_pbar.tolist() == [off.pbar, on.pbar, off.pbar, off.pbar, off.pbar, last]
    assert st.t1_bulk_s.tolist() == [3600.0] * 6
    np.testing.assert_allclose(st.visible_fraction + st.hidden_fraction, 1.0, rtol=1e-14)
    # the last record is the observable of the final state with the stored pool: the
    # stored pool is the one the protocol averaged over
    model, _ = build_model(spec)
    np.testing.assert_allclose(_pool_weights(model, rec, 5) @ rec.result.p_final,
                               [rec.result.visible[-1], rec.result.hidden[-1]], rtol=1e-12)
    if kind == "lattice":
        n = model.n
        assert (st.n_visible + st.n_hidden).tolist() == [n] * 6
        assert st.boundary_radius_nm is None
        for k in range(6):
            assert st.n_visible[k] == np.count_nonzero(_pool_weights(model, rec, k)[0])
        np.testing.assert_array_equal(st.visible_fraction, st.n_visible / n)
        # T1 of the pools: 1 / mean of 2 Gamma_1 + 1/T1_bulk over their protons
        vis = model.visible(st.pool_pbar[1], st.pool_bandwidth_kHz[1])
        rate = model.relaxation(on)
        assert st.t1_hidden_s[1] == pytest.approx(1 / rate[~vis].mean(), rel=1e-14)
        assert st.t1_hidden_s[1] < st.t1_visible_s[1] < 3600.0
    else:
        assert st.n_visible is None and st.n_hidden is None
        rb = [model.boundary_radius_nm(p, b) for p, b in zip(st.pool_pbar, st.pool_bandwidth_kHz)]
        assert st.boundary_radius_nm.tolist() == rb
        r0, r1 = model.vertices_nm[0], model.vertices_nm[-1]
        np.testing.assert_allclose(st.hidden_fraction, (np.array(rb) ** 3 - r0 ** 3)
                                   / (r1 ** 3 - r0 ** 3), rtol=1e-13)
        # the volume means of R(r) against those of its interpolant (the observables' weights)
        for k, cond in ((1, on), (4, off)):
            fe = _pool_weights(model, rec, k) @ model.relaxation(cond, model.nodes_nm)
            np.testing.assert_allclose(1 / np.array([st.t1_visible_s[k], st.t1_hidden_s[k]]),
                                       fe, rtol=1e-5)
        assert st.t1_hidden_s[1] < 3590.0 < st.t1_visible_s[1]
    # nothing of the simulation changed: the curves are those of the protocol alone
    bare = run_protocol(model, spec.stages, cal, **protocol_options(spec.run))
    for key in ("t_s", "visible", "hidden", "profiles"):
        assert getattr(bare, key).tobytes() == getattr(rec.result, key).tobytes(), key


def test_execute_runs_records_warnings_stages_and_sample(tmp_path):
    runs = [dataclasses.replace(s, warnings=(f"warning of {s.name}", "b0_T = 3350 T?"))
            for s in specs()]
    together = [rec for _, rec in execute_runs(runs)]
    for spec, rec in zip(runs, together):
        alone = execute_run(spec)
        assert rec.warnings == alone.warnings == spec.warnings
        assert rec.sample_toml == alone.sample_toml and rec.stages.name == alone.stages.name
        for key, value in rec.stages.columns().items():
            assert np.asarray(value).tobytes() == np.asarray(alone.stages.columns()[key]).tobytes()
    assert together[1].stages.dnp_target[1] == -0.8
    # the resolved sample is a geometry file giving the run's sample back
    geom = tmp_path / "used.toml"
    geom.write_text(together[0].sample_toml)
    assert SampleSpec.from_toml(geom) == runs[0].sample
    assert together[0].sample_toml.startswith("# Resolved sample of run 'positive'")


def test_resolved_sample_of_overrides_and_crystals(tmp_path):
    spec = specs("lattice", seed=12)[0]  # run.seed, run.n_radicals, [sample] changes
    text = execute_run(spec).sample_toml
    (tmp_path / "a.toml").write_text(text)
    back = SampleSpec.from_toml(tmp_path / "a.toml")
    assert back == spec.sample and back.seed == 12 and back.n_radicals == 2
    assert back.radical_mM == 100.0
    fcc = SampleSpec.from_toml(os.path.join(ROOT, "geometries", "fcc-benchmark-50mM.toml"))
    (tmp_path / "b.toml").write_text(geometry_toml(fcc.to_dict(), "x = 1\nsecond line"))
    assert SampleSpec.from_toml(tmp_path / "b.toml") == fcc
    assert geometry_toml({"a": float("inf"), "b": 'q"\x7f', "c": {"d e": [1, 2.5]}}) == (
        '[sample]\na = inf\nb = "q\\"\\u007f"\n\n[sample.c]\n"d e" = [1, 2.5]\n')


def _synthetic(model="lattice", n_stages=3, **extra):
    rng = np.random.default_rng(1)
    result = ProtocolResult(
        t_s=np.arange(6.0), visible=rng.normal(size=6), hidden=rng.normal(size=6),
        stage=np.repeat(np.arange(n_stages), 6 // n_stages), profile_t_s=np.zeros(0),
        profiles=np.zeros((0, 2)), profile_edges_nm=np.array([0.3, 1.0, 2.0]),
        p_final=np.zeros(4), cost={})
    rows = []
    for k in range(n_stages):
        row = {key: float(rng.uniform()) for key in STAGE_COLUMNS}
        row.update(name=f"stage é{k}", type="delay", dnp_sign=-1)
        if model == "lattice":
            row.update(n_visible=100 + k, n_hidden=7)
            del row["boundary_radius_nm"]
        else:
            del row["n_visible"], row["n_hidden"]
        rows.append(row)
    return RunRecord(name=f"r {model}", parameters={"physics": {"b0_T": 7.05}}, seed=3,
                     model=model, result=result, stages=StageTable.from_rows(rows), **extra)


def test_round_trip_of_stages_warnings_and_sample_text(tmp_path):
    path = tmp_path / "s.h5"
    recs = [_synthetic("lattice", warnings=["ünïcode ⚠", "two\nlines", ""],
                       sample_toml="[sample]\nradical_mM = 50.0\n"),
            _synthetic("continuum", n_stages=2)]
    write_runs(path, recs[:1])
    append_run(path, recs[1])
    back = read_runs(path)
    for a, b in zip(recs, back):
        assert b.warnings == a.warnings and b.sample_toml == a.sample_toml
        assert all(type(w) is str for w in b.warnings) and type(b.sample_toml) is str
        assert list(b.stages.columns()) == list(a.stages.columns())
        for key, value in a.stages.columns().items():
            got = b.stages.columns()[key]
            if key in ("name", "type"):
                assert got == value and all(type(x) is str for x in got)
            else:
                assert got.dtype == value.dtype and got.tobytes() == value.tobytes(), key
        assert type(b.model) is str and type(b.name) is str
    assert back[0].stages.n_visible.dtype == np.int64 and back[1].stages.n_visible is None
    assert back[1].stages.boundary_radius_nm is not None and back[1].warnings == ()
    assert back[0].stages.index("stage é1") == 1 and back[0].stages.index("2") == 2
    with pytest.raises(ConfigError, match="no stage"):
        back[0].stages.index("nope")
    assert all(type(v) is str for k, v in read_metadata(path).items()
               if k in ("format", "latticedns_version", "created"))
    with h5py.File(path) as f:  # plain h5py: units on every dataset, text via .asstr()
        g = f["runs/r lattice"]
        assert json.loads(g.attrs["warnings_json"]) == list(recs[0].warnings)
        assert g.attrs["sample_toml"] == recs[0].sample_toml
        st = g["stages"]
        assert st.attrs["n_stages"] == 3 and list(st) == list(recs[0].stages.columns())
        for key, ds in st.items():
            assert ds.attrs["units"] == STAGE_COLUMNS[key][0] and ds.attrs["description"]
        assert st["gamma_c_rad_per_s"].attrs["units"] == "rad/s"
        assert st["tau_c_us"].attrs["units"] == "us" and st["t1_visible_s"].attrs["units"] == "s"
        assert list(st["name"].asstr()[()]) == list(recs[0].stages.name)
        assert isinstance(st["name"][()][0], bytes)  # why the docs say .asstr()
        assert "n_visible" not in f["runs/r continuum/stages"]


def test_files_without_the_new_items_read_as_before(tmp_path):
    path = tmp_path / "old.h5"
    write_runs(path, [_synthetic(warnings=["w"], sample_toml="x")])
    with h5py.File(path, "r+") as f:  # as written before the stage table existed
        g = f["runs/r lattice"]
        del g["stages"], g.attrs["warnings_json"], g.attrs["sample_toml"]
    rec = read_run(path, "r lattice")
    assert rec.stages is None and rec.warnings == () and rec.sample_toml == ""


def test_bad_stage_tables_and_warnings_are_refused():
    rec = _synthetic()
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(rec, warnings="one string")
    assert err.value.key == "warnings"
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(rec, warnings=("a", 3))
    assert err.value.key == "warnings"
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(rec, sample_toml=None)
    assert err.value.key == "sample_toml"
    with pytest.raises(ConfigError, match="stage indices reach 2"):
        dataclasses.replace(rec, stages=_synthetic(n_stages=2).stages)
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(rec.stages, pbar=np.zeros(2))
    assert err.value.key == "stages.pbar"
    with pytest.raises(ConfigError) as err:
        dataclasses.replace(rec.stages, n_visible=np.array([1.5, 2.0, 3.0]))
    assert err.value.key == "stages.n_visible"
    with pytest.raises(ConfigError, match="some stages only"):
        StageTable.from_rows([{**{k: 1 for k in STAGE_COLUMNS}, "name": "a", "type": "b"},
                              {**{k: 1 for k in STAGE_COLUMNS if k != "n_visible"},
                               "name": "c", "type": "d"}])


def test_docs_stage_example_runs_on_a_result(tmp_path):
    write_runs(tmp_path / "runs.h5", [execute_run(specs()[0])])
    doc = open(os.path.join(ROOT, "docs", "hdf5.md")).read()
    code = re.findall(r"```python\n(.*?)```", doc, re.S)[1]
    code = "import sys\n" + code + "\nassert 'latticedns' not in sys.modules\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("detect 0.99926") and "us rad/s" in out
    assert SampleSpec.from_toml(tmp_path / "sample-used.toml") == specs()[0].sample


def test_campaign_runs_carry_their_run_id(tmp_path):
    from latticedns.campaign import load_campaign, run_campaign
    from latticedns.campaign.worker import execute_task

    (tmp_path / "base.toml").write_text(DOC)
    (tmp_path / "c.toml").write_text('[campaign]\nbase = "base.toml"\nvariants = ["negative"]\n'
                                     '[sweep]\n"microwave.tau_c_us" = [0.5, 1.0]\n')
    campaign = load_campaign(str(tmp_path / "c.toml"))
    task = campaign.tasks[1]
    out = execute_task(task)
    assert out.error == "" and out.record.name == task.run_id == "tau_c_us=1.0 seed=0 negative"
    assert out.record.parameters["campaign"] == {
        "run_id": task.run_id, "variant": "negative", "point": 1, "seed_index": 0,
        "values": {"microwave.tau_c_us": 1.0}, "fingerprint": task.fingerprint}
    assert out.record.stages.tau_c_us[1] == pytest.approx(1.0, rel=1e-4)
    store = tmp_path / "s.h5"
    run_campaign(campaign, str(store), workers=1)
    tasks = {t.run_id: t for t in campaign.tasks}
    for rec in read_runs(store):
        assert rec.parameters["campaign"]["run_id"] == rec.name
        t = tasks[rec.name]
        spec = {s.name: s for s in parse_run_document(t.document, t.base_dir)}[t.variant]
        assert rec.stages is not None and rec.warnings == spec.warnings
    with h5py.File(store) as f:
        assert f["runs"][task.run_id]["parameters"].attrs["campaign.run_id"] == task.run_id
