"""``latticedns export``: curves as CSV/TSV that `read_curves` reads back to the bit."""

import argparse
import dataclasses
import os

import numpy as np
import pytest

from latticedns.cli_export import add_export_parser, export_curves
from latticedns.errors import ConfigError
from latticedns.experiment import execute_runs, parse_run_document
from latticedns.fit.data import read_curves
from latticedns.protocol import ProtocolResult
from latticedns.store import RunRecord, read_runs, write_runs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GEOM = os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml")

DOC = f'''
[run]
name = "t"
model = "continuum"
sample = "{GEOM}"

[physics]
mesh_refinement = 0.5

[[stage]]
type = "saturate"
[[stage]]
type = "microwave"
name = "prepare"
duration_s = 640.0
power_mW = 118.0
n_outputs = 8
[[stage]]
type = "delay"
name = "gate"
duration_s = 10.0
[[stage]]
type = "selective_saturate"
[[stage]]
type = "detect"
name = "detect"
n_pulses = 24
interval_s = 10.0
flip_angle_deg = 0.1

[[variant]]
name = "positive"
[[variant]]
name = "negative"
set = {{ "stage.prepare.dnp_sign" = -1 }}
'''


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    import tomllib

    path = tmp_path_factory.mktemp("res") / "r.h5"
    specs = parse_run_document(tomllib.loads(DOC), ROOT)
    specs[1] = dataclasses.replace(specs[1], warnings=("b0_T = 3350 T is outside 0.1-30 T",
                                                       "two\nlines = 2"))
    write_runs(path, [rec for _, rec in execute_runs(specs)])
    return str(path)


def cli(*argv):
    parser = argparse.ArgumentParser()
    add_export_parser(parser.add_subparsers())
    args = parser.parse_args(["export", *argv])
    return args.func(args)


def _expected(rec, k):
    sel = rec.result.stage == k
    return rec.result.t_s[sel] - rec.stages.t_start_s[k], rec.result.visible[sel], \
        rec.result.hidden[sel]


@pytest.mark.parametrize("ext, stage, k", [(".csv", None, 4), (".tsv", "prepare", 1),
                                           (".csv", "4", 4)])
def test_round_trip_through_read_curves_is_exact(tmp_path, result, capsys, ext, stage, k):
    out = tmp_path / f"curves{ext}"
    assert cli(result, "-o", str(out), *(["--stage", stage] if stage else [])) == 0
    assert f"wrote {out}: 2 run(s)" in capsys.readouterr().out
    curves = {c.name: c for c in read_curves(out)}
    assert list(curves) == ["positive_visible", "positive_hidden", "negative_visible",
                            "negative_hidden"]
    for rec in read_runs(result):
        t, vis, hid = _expected(rec, k)
        for name, values in ((f"{rec.name}_visible", vis), (f"{rec.name}_hidden", hid)):
            c = curves[name]
            assert c.unit == "percent" and c.sigma is None
            assert c.t_s.tobytes() == t.tobytes()  # seconds, exactly
            # the file holds 100 * p exactly; read_curves scales it by 0.01
            assert c.values.tobytes() == ((100.0 * values) * 0.01).tobytes()
            np.testing.assert_allclose(c.values, values, rtol=4e-16, atol=1e-300)
    text = out.read_text()
    sep = "\t" if ext == ".tsv" else ","
    assert f"\ntime_s{sep}positive_visible{sep}positive_hidden{sep}" in text
    assert "# time_unit = s\n# signal_unit = percent\n" in text
    # a detection records from its start, a timed stage at the ends of its n_outputs steps
    assert t.tolist() == (np.arange(24) * 10.0).tolist() if k == 4 else \
        t.tolist() == (np.arange(1, 9) * 80.0).tolist()


def test_header_names_runs_conditions_and_warnings(tmp_path, result):
    out = tmp_path / "c.csv"
    export_curves(result, out)
    lines = out.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[:len(comments)] == comments  # all before the header row
    run = [c for c in comments if c.startswith("# run 'negative': ")][0]
    assert "model continuum" in run and "B0 7.05 T" in run and "T 1.2 K" in run
    assert "radical 50 mM" in run and "24 records" in run
    stage = [c for c in comments if c.startswith("# run 'negative' stage 'detect'")][0]
    assert "Pbar 0.99926" in stage and "tau_c 253.4" in stage and "rad/s" in stage
    assert "% of the volume" in stage and "r_b 0.6" in stage and "T1 visible" in stage
    # warnings that look like header keys stay comments (read_curves accepted the file)
    assert "# run 'negative' warning: b0_T = 3350 T is outside 0.1-30 T" in comments
    assert "# run 'negative' warning: two lines = 2" in comments
    assert "# time_s: s from the start of stage 'detect' (index 4) of each run; columns " \
           "RUN_visible, RUN_hidden: % (fraction x 100)" in comments


def test_run_selection_and_refusals_write_nothing(tmp_path, result):
    out = tmp_path / "one.tsv"
    summary = export_curves(result, out, runs=["negative"], stage="prepare")
    assert [c.name for c in read_curves(out)] == ["negative_visible", "negative_hidden"]
    assert summary["n_runs"] == 1 and summary["n_rows"] == 8
    for kwargs, key, match in [
        ({"runs": ["nope"]}, "--run", "no run 'nope'"),
        ({"stage": "nope"}, "--stage", "no stage 'nope'"),
        ({"stage": "0"}, "--stage", "0 record"),  # an instantaneous stage records nothing
        ({"stage": "gate"}, "--stage", "1 record"),  # read_curves needs two rows
        ({"stage": "all"}, "--stage", "share the time 650 s"),  # gate end = detection start
    ]:
        target = tmp_path / "x.csv"
        with pytest.raises(ConfigError, match=match) as err:
            export_curves(result, target, **kwargs)
        assert err.value.key == key and not target.exists()
    with pytest.raises(ConfigError, match=r"\.csv or \.tsv") as err:
        export_curves(result, tmp_path / "x.txt")
    assert err.value.key == "output"
    assert sorted(os.listdir(tmp_path)) == ["one.tsv"]  # no temporary files


def test_existing_output_needs_force_and_inputs_are_never_overwritten(tmp_path, result):
    out = tmp_path / "c.csv"
    out.write_text("precious")
    with pytest.raises(ConfigError, match="--force") as err:
        export_curves(result, out)
    assert err.value.key == "output" and out.read_text() == "precious"
    assert cli(result, "-o", str(out), "--force") == 0
    assert len(read_curves(out)) == 4
    copy = tmp_path / "r.csv"  # a result file named like a CSV: still an input
    copy.write_bytes(open(result, "rb").read())
    with pytest.raises(ConfigError, match="is an input"):
        export_curves(copy, copy, force=True)
    assert copy.read_bytes() == open(result, "rb").read()
    assert sorted(os.listdir(tmp_path)) == ["c.csv", "r.csv"]


def _record(name, t, stage, visible=None, parameters=None):
    n = len(t)
    return RunRecord(name=name, parameters=parameters or {}, seed=None, model="continuum",
                     result=ProtocolResult(
                         t_s=np.asarray(t, float), stage=np.asarray(stage),
                         visible=np.linspace(0.0, 0.01, n) if visible is None else visible,
                         hidden=np.linspace(0.5, 0.4, n), profile_t_s=np.zeros(0),
                         profiles=np.zeros((0, 0)), profile_edges_nm=np.zeros(1),
                         p_final=np.zeros(1)))


def test_all_stages_old_files_nan_columns_and_unequal_times(tmp_path):
    # a file without a stage table (written before it existed): starts from the parameters
    params = {"stage": [{"type": "saturate"}, {"type": "microwave", "duration_s": 100.0},
                        {"type": "detect", "n_pulses": 3, "interval_s": 5.0}]}
    t = [25.0, 50.0, 75.0, 100.0, 100.5, 105.0, 110.0]
    empty = np.full(7, np.nan)
    path = tmp_path / "old.h5"
    write_runs(path, [_record("a", t, [1, 1, 1, 1, 2, 2, 2], parameters=params),
                      _record("b,c", t, [1, 1, 1, 1, 2, 2, 2], visible=empty,
                              parameters=params),
                      _record("d", np.add(t, 1.0), [1, 1, 1, 1, 2, 2, 2], parameters=params)])
    out = tmp_path / "all.csv"
    summary = export_curves(path, out, runs=["a", "b,c"], stage="all")
    curves = {c.name: c for c in read_curves(out)}
    assert list(curves) == ["a_visible", "a_hidden", "b_c_hidden"]  # NaN: left out
    assert summary["omitted"] == ["b_c_visible"] and "# omitted (NaN, an empty pool): " \
        "b_c_visible" in out.read_text()
    assert curves["a_visible"].t_s.tolist() == t  # from the start of the first stage
    export_curves(path, out, runs=["a"], stage="2", force=True)  # "2": by index
    (c, _) = read_curves(out)
    assert c.t_s.tolist() == [0.5, 5.0, 10.0]  # 100 s = 0 + 100 (the saturation takes none)
    with pytest.raises(ConfigError, match="different record times") as err:
        export_curves(path, tmp_path / "x.csv", runs=["a", "d"])
    assert err.value.key == "--run"
    write_runs(tmp_path / "nan.h5", [dataclasses.replace(
        _record("e", t, [1] * 7, visible=empty), result=dataclasses.replace(
            _record("e", t, [1] * 7).result, visible=empty, hidden=empty))])
    with pytest.raises(ConfigError, match="NaN") as err:
        export_curves(tmp_path / "nan.h5", tmp_path / "x.csv", stage="all")
    assert not (tmp_path / "x.csv").exists()
