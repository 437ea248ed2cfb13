"""Fits (issue 12): data files, fit files, parameter recovery with calibrated intervals.

Synthetic data are made by the simulator itself (continuum) at known parameters with
Gaussian noise of a stated level; the fit must recover the truth within its 95 % intervals
and, over 20 noise realizations, cover it 17-20 times.
"""

import os

import h5py
import numpy as np
import pytest

from latticedns.cli import main
from latticedns.errors import ConfigError
from latticedns.fit import Objective, fit, parse_fit_document, read_curves
from latticedns.tomlfile import dump_toml, read_toml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRUTH = {"microwave.tau_c_us": 0.5, "physics.t1_bulk_s": 3600.0}


def write_csv(path, t, cols, unit="percent", sigma=None, extra=""):
    with open(path, "w") as fh:
        fh.write(f"# signal_unit = {unit}\n{extra}")
        names = list(cols) + ([f"{c}_sigma" for c in cols] if sigma is not None else [])
        fh.write("time," + ",".join(names) + "\n")
        for i in range(len(t)):
            row = [cols[c][i] for c in cols] + ([sigma] * len(cols) if sigma is not None else [])
            fh.write(f"{t[i]:.9g}," + ",".join(f"{v:.12g}" for v in row) + "\n")


def short_run(tmp_path, name="hypres-mw-off.toml", variants=None, run=(), physics=(),
              **detect):
    """A bundled run file with a shorter detection (fast fits): only ``variants`` (names)
    if given, ``run`` and ``physics`` keys changed, the detection's keys set to ``detect``."""
    doc, _ = read_toml(os.path.join(ROOT, "runs", name), "run file")
    doc["run"].update(sample=os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml"),
                      profile_times_s=[], **dict(run))
    doc["physics"].update(dict(physics))
    if variants is not None:
        doc["variant"] = [v for v in doc["variant"] if v["name"] in variants]
    for st in doc["stage"]:
        if st["type"] == "detect":
            st.update(detect)
    path = tmp_path / f"short-{name}"
    path.write_text(dump_toml(doc))
    return path


def off_fit_doc(run, data, profiles=False, **extra):
    return {"fit": {"run": str(run), "profiles": profiles, **extra},
            "parameter": [
                {"key": "microwave.tau_c_us", "initial": 0.8, "bounds": [0.1, 5.0], "scale": "log"},
                {"key": "physics.t1_bulk_s", "initial": 2000.0, "bounds": [300.0, 3e4],
                 "scale": "log"}],
            "curve": [{"data": str(data), "column": c, "variant": c, "scale_group": "gain"}
                      for c in ("positive", "negative")]}


@pytest.fixture(scope="module")
def off_truth(tmp_path_factory):
    """The short microwave-off run, its fit document and the model at the truth."""
    tmp = tmp_path_factory.mktemp("fit")
    run = short_run(tmp, n_pulses=64, interval_s=40.0)
    t = 40.0 * np.arange(64)
    data = tmp / "zero.csv"
    write_csv(data, t, {"positive": 0 * t, "negative": 0 * t}, unit="arbitrary")
    obj = Objective(parse_fit_document(off_fit_doc(run, data), str(tmp)))
    model = obj.model_curves([np.log10(0.5), np.log10(3600.0)])
    return tmp, run, t, model


# --- data files -------------------------------------------------------------------------

def test_csv_and_tsv_with_units_and_sigmas(tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("\ufeff# time_unit = min\n# signal_unit = percent\n# a comment\n"
                   "t,pos,pos_sigma,neg\n0,1.0,0.1,-1\n0.5,2.0,0.1,-2\n1,3.0,0.2,-3\n")
    pos, neg = read_curves(csv)
    assert pos.name == "pos" and np.allclose(pos.t_s, [0, 30, 60])
    assert np.allclose(pos.values, [0.01, 0.02, 0.03])
    assert np.allclose(pos.sigma, [1e-3, 1e-3, 2e-3])
    assert neg.sigma is None and not pos.scaled and len(pos.sha256) == 64
    tsv = tmp_path / "b.tsv"
    tsv.write_text("time\tsignal\tsigma\n0\t5\t1\n10\t7\t1\n")
    (c,) = read_curves(tsv)
    assert c.scaled and c.unit == "arbitrary" and np.allclose(c.sigma, 1.0)


BAD_DATA = [
    ("missing", None, "cannot be read"),
    ("empty", "", "no header"),
    ("one column", "time\n0\n1\n", ">= 2 columns"),
    ("a word", "time,a\n0,1\n1,x\n", "not a number"),
    ("nan", "time,a\n0,1\n1,nan\n", "not a finite number"),
    ("time back", "time,a\n0,1\n2,1\n1,1\n", "strictly increasing"),
    ("sigma zero", "time,a,a_sigma\n0,1,0\n1,1,1\n", "sigmas must be > 0"),
    ("orphan sigma", "time,a,b_sigma\n0,1,1\n1,1,1\n", "without its curve"),
    ("unknown key", "# gain = 3\ntime,a\n0,1\n1,1\n", "unknown header key"),
    ("bad unit", "# time_unit = hours\ntime,a\n0,1\n1,1\n", "time_unit"),
    ("short row", "time,a,b\n0,1,2\n1,1\n", "columns"),
    ("one row", "time,a\n0,1\n", "two data rows"),
    ("repeated", "time,a,a\n0,1,1\n1,1,1\n", "repeats"),
]


@pytest.mark.parametrize("label, text, message", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_files_name_the_file_and_the_problem(tmp_path, label, text, message):
    path = tmp_path / "d.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        read_curves(path)
    assert str(path) in info.value.key


# --- fit files --------------------------------------------------------------------------

def _bad(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value


BAD_FITS = [
    (("fit",), None, "fit"),
    (("fit", "colour"), "red", "fit.colour"),
    (("fit", "model"), "bogus", "fit.model"),
    (("fit", "model"), "lattice", "fit.seeds"),  # a lattice fit needs its seeds
    (("fit", "rtol"), 0.5, "fit.rtol"),
    (("parameter", 0, "bounds"), [5.0, 0.1], "parameter.microwave.tau_c_us.bounds"),
    (("parameter", 0, "initial"), 9.0, "parameter.microwave.tau_c_us.bounds"),
    (("parameter", 0, "scale"), "cubic", "parameter.microwave.tau_c_us.scale"),
    (("parameter", 1, "bounds"), [-1.0, 10.0], "parameter.physics.t1_bulk_s.bounds"),
    (("parameter", 0, "key"), "microwave.colour", "microwave.colour"),
    (("curve", 0, "column"), "nothing", "curve.0.column"),
    (("curve", 0, "variant"), "sideways", "curve.0.variant"),
    (("curve", 0, "stage"), "lunch", "curve.0.stage"),
    (("curve", 0, "observable"), "total", "curve.0.observable"),
    (("curve", 0, "time_window_s"), [5.0, 1.0], "curve.0.time_window_s"),
    (("curve", 0, "stage"), "gate", "curve.0.data"),  # data reach beyond the 10 s gate
    (("curve",), [], "curve"),
]


@pytest.mark.parametrize("path, value, key", BAD_FITS, ids=[str(b[0]) for b in BAD_FITS])
def test_bad_fit_files_name_the_key(off_truth, path, value, key):
    tmp, run, t, model = off_truth
    data = tmp / "zero.csv"
    doc = off_fit_doc(run, data)
    _bad(doc, path, value)
    with pytest.raises(ConfigError) as info:
        parse_fit_document(doc, str(tmp))
    assert info.value.key.startswith(key), (info.value.key, info.value.message)


def test_cli_refuses_bad_input_before_any_work(tmp_path, capsys):
    fitfile = tmp_path / "f.toml"
    out = tmp_path / "f.h5"
    fitfile.write_text('[fit]\nrun = "nowhere.toml"\n')
    assert main(["fit", str(fitfile), "-o", str(out)]) == 2
    assert "fit.run" in capsys.readouterr().err and not out.exists()
    assert main(["fit", str(fitfile), "-o", str(fitfile), "--force"]) == 2  # never the input
    assert fitfile.read_text().startswith("[fit]")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


# --- recovery ---------------------------------------------------------------------------

def test_microwave_off_recovery_and_interval_coverage(off_truth):
    """tau_c and T1 with a shared (spectrometer) scale, positive and negative curves in
    arbitrary units, 2 % noise: over 20 realizations the 95 % intervals (covariance) cover
    the truth 17-20 times; one realization with profile-likelihood intervals covers it."""
    tmp, run, t, model = off_truth
    rng = np.random.default_rng(2024)
    noise, gain = 2e-4, 250.0
    covered = np.zeros(2, int)
    data = tmp / "noisy.csv"
    for k in range(20):
        write_csv(data, t, {c: gain * (m + rng.normal(0, noise, t.size))
                            for c, m in zip(("positive", "negative"), model)}, unit="arbitrary")
        res = fit(parse_fit_document(off_fit_doc(run, data, profiles=(k == 0)), str(tmp)))
        truth = [TRUTH[p.key] for p in res.parameters]
        covered += [p.lower95 <= v <= p.upper95 for p, v in zip(res.parameters, truth)]
        if k == 0:
            assert all(p.interval_method == "profile" for p in res.parameters)
            assert all(p.lower95 <= v <= p.upper95 for p, v in zip(res.parameters, truth))
            assert res.curves[0].scale == pytest.approx(gain, rel=0.05)
            # with a free gain, tau_c and T1 both shape the amplitude: strongly correlated
            # (~0.96, flagged), yet each is determined (intervals that cover, no bound)
            fit_warnings = [w for w in res.warnings if not w.startswith("run file: ")]
            assert all("trade off" in w for w in fit_warnings) and res.dof == 2 * 64 - 2 - 1
            # the base run's own warning (the continuum's departure from the lattice)
            assert any(w.startswith("run file: model = 'continuum'") for w in res.warnings)
    assert np.all((covered >= 17) & (covered <= 20)), covered


def test_microwave_on_series_global_recovery(tmp_path):
    """tau_c (the anchor at Pbar = 0.5) and the DNP rate fitted globally to two powers of
    the microwave-on series (polarization in %, sigma given): recovered within the profile
    intervals, with a sensible reduced chi^2."""
    run = short_run(tmp_path, "hypres-mw-on.toml", variants=("30 mW", "118 mW"), n_pulses=96)
    t = 0.025 * np.arange(96)
    zero = tmp_path / "zero.csv"
    write_csv(zero, t, {"30 mW": 0 * t, "118 mW": 0 * t})
    fdoc = {"fit": {"run": str(run)},
            "parameter": [
                {"key": "microwave.tau_c_us", "initial": 0.3, "bounds": [0.05, 5.0],
                 "scale": "log"},
                {"key": "microwave.dnp_rate_per_s", "initial": 0.01, "bounds": [1e-4, 0.1],
                 "scale": "log"}],
            "curve": [{"data": str(zero), "column": c, "variant": c} for c in ("30 mW", "118 mW")]}
    obj = Objective(parse_fit_document(fdoc, str(tmp_path)))
    model = obj.model_curves([np.log10(0.5), np.log10(0.004)])
    rng = np.random.default_rng(5)
    sigma = 0.02  # % points
    data = tmp_path / "on.csv"
    write_csv(data, t, {c: 100 * m + rng.normal(0, sigma, t.size)
                        for c, m in zip(("30 mW", "118 mW"), model)}, sigma=sigma)
    for c in fdoc["curve"]:
        c["data"] = str(data)
    res = fit(parse_fit_document(fdoc, str(tmp_path)))
    for p, v in zip(res.parameters, (0.5, 0.004)):
        assert p.lower95 <= v <= p.upper95, p
        assert p.upper95 / p.lower95 < 3.0  # informative
    assert 0.5 < res.reduced_chi2 < 1.6 and res.sigma_given


def test_unidentifiable_parameter_is_flagged(off_truth):
    """A bulk T1 of 1e4-1e6 s barely touches a 40-minute detection: its profile is flat to
    the bounds, and the fit says so instead of reporting a precise value."""
    tmp, run, t, model = off_truth
    rng = np.random.default_rng(3)
    data = tmp / "flat.csv"
    write_csv(data, t, {c: 100 * (m + rng.normal(0, 2e-4, t.size))
                        for c, m in zip(("positive", "negative"), model)})
    doc = off_fit_doc(run, data, profiles=True)
    doc["parameter"][1].update(initial=1e5, bounds=[1e4, 1e6])
    for c in doc["curve"]:
        del c["scale_group"]
    states = []
    res = fit(parse_fit_document(doc, str(tmp)), progress=states.append)
    assert any("physics.t1_bulk_s" in w and ("not identifiable" in w or "bound" in w)
               for w in res.warnings), res.warnings
    # progress: every evaluation reported once, through the phases in order, with a time
    # left once the optimization has finished
    assert [s.n_evaluations for s in states] == list(range(1, res.n_evaluations + 1))
    phases = list(dict.fromkeys(s.phase for s in states))
    assert phases[0] == "start 1 of 1" and phases[-2:] == [
        "profile 1 of 2: microwave.tau_c_us", "profile 2 of 2: physics.t1_bulk_s"]
    assert all(s.left_s is None for s in states if s.phase.startswith("start"))
    assert all(s.left_s >= 0 for s in states if s.phase.startswith("profile"))
    assert all(a.elapsed_s <= b.elapsed_s for a, b in zip(states, states[1:]))


def test_cli_fit_writes_report_result_and_best_run(off_truth, tmp_path, capsys, monkeypatch):
    import latticedns.cli

    monkeypatch.setattr(latticedns.cli, "PROGRESS_INTERVAL_S", 0.05)  # lines off a terminal
    tmp, run, t, model = off_truth
    rng = np.random.default_rng(11)
    data = tmp_path / "d.csv"
    write_csv(data, t, {c: 100 * (m + rng.normal(0, 2e-4, t.size))
                        for c, m in zip(("positive", "negative"), model)})
    doc = off_fit_doc(run, data)
    for c in doc["curve"]:
        del c["scale_group"]
    fitfile = tmp_path / "fit-off.toml"
    fitfile.write_text(dump_toml(doc))
    out, best = tmp_path / "fit.h5", tmp_path / "best.toml"
    assert main(["fit", str(fitfile), "-o", str(out), "--no-profiles",
                 "--write-run", str(best)]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "microwave.tau_c_us" in text and "wrote" in text
    assert any(line.startswith("[fit ") and "evaluations, chi^2" in line
               for line in captured.err.splitlines()), captured.err
    with h5py.File(out) as f:
        assert f.attrs["fit_file"] == fitfile.read_text()
        assert str(data) in f.attrs["data_files"]
        assert f["curves/0/model"].shape == (64,) and "keys" in f["correlation"].attrs
    # the written run file reproduces the best-fit curve
    with h5py.File(out) as f:
        best_model = f["curves/0/model"][()]
    rerun = tmp_path / "rerun.h5"
    assert main(["run", str(best), "-o", str(rerun), "--only", "positive"]) == 0
    from latticedns.store import read_run
    r = read_run(rerun, "positive").result
    det = r.stage == r.stage.max()
    assert np.allclose(r.visible[det], best_model, rtol=1e-6, atol=1e-9)
    assert main(["fit", str(fitfile), "-o", str(out)]) == 2  # exists, no --force
    png = tmp_path / "fit.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0 and png.stat().st_size > 10_000


def test_lattice_fit_averages_common_seeds_and_states_their_noise(tmp_path):
    """A lattice fit evaluates the same samples (fit.seeds) at every point and fits their
    mean; data made by that mean at tau_c = 0.5 us are fitted back to it, and the report
    states how much the seed mean scatters against the data's sigma."""
    run = short_run(tmp_path, variants=("positive",), run={"n_radicals": 2},
                    physics={"hyperfine_cutoff_nm": 1.5}, n_pulses=32, interval_s=50.0)
    t = 50.0 * np.arange(32)
    zero = tmp_path / "zero.csv"
    write_csv(zero, t, {"positive": 0 * t})
    fdoc = {"fit": {"run": str(run), "model": "lattice", "seeds": [1, 2], "profiles": False},
            "parameter": [{"key": "microwave.tau_c_us", "initial": 0.8, "bounds": [0.1, 5.0],
                           "scale": "log"}],
            "curve": [{"data": str(zero), "column": "positive", "variant": "positive"}]}
    spec = parse_fit_document(fdoc, str(tmp_path))
    with Objective(spec) as obj:
        per_seed = obj.model_curves([np.log10(0.5)], per_seed=True)[0]
    assert per_seed.shape == (2, 32) and not np.array_equal(per_seed[0], per_seed[1])
    rng = np.random.default_rng(8)
    data = tmp_path / "d.csv"
    write_csv(data, t, {"positive": 100 * per_seed.mean(axis=0) + rng.normal(0, 0.01, t.size)},
              sigma=0.01)
    fdoc["curve"][0]["data"] = str(data)
    res = fit(parse_fit_document(fdoc, str(tmp_path)))
    p = res.parameters[0]
    assert p.lower95 <= 0.5 <= p.upper95 and p.upper95 / p.lower95 < 1.5
    assert len(res.seed_noise) == 1 and res.seed_noise[0] > 0
    assert any("lattice sample noise" in w for w in res.warnings)
    bad = dict(fdoc, fit=dict(fdoc["fit"], seeds=[1, 1]))
    with pytest.raises(ConfigError, match="fit.seeds"):
        parse_fit_document(bad, str(tmp_path))


def test_lattice_fit_seeds_run_in_worker_processes_with_the_same_bits(tmp_path):
    """The seeds of a lattice fit are simulated by worker processes that keep their models
    between evaluations: 1 and 2 workers give the same bits, equal to this process's own
    simulation within the propagation tolerance, and a killed worker stops the fit with a message naming it."""
    from latticedns.fit.simulate import curves_at
    from latticedns.fit.workers import WorkerDied

    run = short_run(tmp_path, variants=("positive",), run={"n_radicals": 2},
                    physics={"hyperfine_cutoff_nm": 1.5}, n_pulses=16, interval_s=50.0)
    zero = tmp_path / "zero.csv"
    write_csv(zero, 50.0 * np.arange(16), {"positive": np.zeros(16)})
    fdoc = {"fit": {"run": str(run), "model": "lattice", "seeds": [1, 2, 3], "profiles": False},
            "parameter": [{"key": "microwave.tau_c_us", "initial": 0.8, "bounds": [0.1, 5.0],
                           "scale": "log"}],
            "curve": [{"data": str(zero), "column": "positive", "variant": "positive"}]}
    spec = parse_fit_document(fdoc, str(tmp_path))
    theta = [[np.log10(0.5)], [np.log10(0.7)]]
    with Objective(spec, workers=1) as one, Objective(spec, workers=2) as two:
        assert (one.n_workers, two.n_workers) == (1, 2)
        for x in theta:  # the second point reuses the workers' models
            a = one.model_curves(x, per_seed=True)[0]
            b = two.model_curves(x, per_seed=True)[0]
            assert a.shape == (3, 16) and np.array_equal(a, b)
        # this process may use more BLAS/PARDISO threads, which round differently (3e-9
        # measured; identical bits with one thread), well within the propagation rtol
        here = np.array([curves_at(spec, [0.7], s, {})[0] for s in (1, 2, 3)])
        np.testing.assert_allclose(a, here, rtol=1e-7, atol=1e-12)
        two._workers._procs[1].kill()  # the worker of seed 2
        with pytest.raises(WorkerDied, match="seeds 2 ended"):
            two.model_curves(theta[0])
