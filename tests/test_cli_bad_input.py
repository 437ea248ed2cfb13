"""Bad input through the command line (issue 13): every case exits 2 with one message that
names the user-facing key, prints no traceback, and leaves every file of the working
directory unchanged (content hash and mtime).  Nothing is simulated: each case is refused
before any work starts."""

import hashlib
import os

import pytest

from latticedns.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEOM = os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml")
RUN = open(os.path.join(ROOT, "runs", "hypres-mw-off.toml")).read().replace(
    'sample = "dnp-juice-50mM"', f'sample = "{GEOM}"')
CAMPAIGN = '''[campaign]
base = "run.toml"
[sweep]
"microwave.tau_c_us" = [0.5, 1.0]
'''


def sub(old, new, text=RUN):
    assert old in text, old
    return text.replace(old, new, 1)


def physics(line, text=RUN):
    """``line`` added to the ``[physics]`` table."""
    return sub('preset = "calibrated"', f'preset = "calibrated"\n{line}', text)


def before_tables(line, text=RUN):
    """``line`` at the top level, before the first table."""
    return line + "\n" + text


#: (case, run-file text, key the message must name)
RUN_CASES = [
    ("tau_c string", sub("tau_c_us = 0.5", 'tau_c_us = "fast"'), "microwave.tau_c_us"),
    ("tau_c nan", sub("tau_c_us = 0.5", "tau_c_us = nan"), "microwave.tau_c_us"),
    ("tau_c negative", sub("tau_c_us = 0.5", "tau_c_us = -0.5"), "microwave.tau_c_us"),
    ("tau_c_pbar_ref string", sub("tau_c_us = 0.5", 'tau_c_us = 0.5\ntau_c_pbar_ref = "0.5"'),
     "microwave.tau_c_pbar_ref"),
    ("tau_c_pbar_ref 1", sub("tau_c_us = 0.5", "tau_c_us = 0.5\ntau_c_pbar_ref = 1.0"),
     "microwave.tau_c_pbar_ref"),
    ("pbar_table ragged", sub("tau_c_us = 0.5", "tau_c_us = 0.5\npbar_table = [[0.0, 0.6], [100.0]]"),
     "microwave.pbar_table"),
    ("pbar_table strings", sub("tau_c_us = 0.5", 'tau_c_us = 0.5\npbar_table = [["a", 0.6]]'),
     "microwave.pbar_table"),
    ("pbar_table scalar", sub("tau_c_us = 0.5", "tau_c_us = 0.5\npbar_table = 5"),
     "microwave.pbar_table"),
    ("pbar_table nan", sub("tau_c_us = 0.5", "tau_c_us = 0.5\npbar_table = [[0.0, nan], [9.0, 0.5]]"),
     "microwave.pbar_table"),
    ("pbar_table decreasing", sub("tau_c_us = 0.5",
                                  "tau_c_us = 0.5\npbar_table = [[9.0, 0.6], [1.0, 0.5]]"),
     "microwave.pbar_table"),
    ("profile time after the end", sub("profile_times_s = [650.0, 1250.0, 2450.0]",
                                       "profile_times_s = [650.0, 1e6]"), "run.profile_times_s"),
    ("pbar_table pbar 2", sub("tau_c_us = 0.5", "tau_c_us = 0.5\npbar_table = [[0.0, 2.0]]"),
     "microwave.pbar_table"),
    ("dnp_target 2", sub("dnp_target = 0.8", "dnp_target = 2.0"), "microwave.dnp_target"),
    ("dnp_rate string", sub("dnp_rate_per_s = 0.004", 'dnp_rate_per_s = "slow"'),
     "microwave.dnp_rate_per_s"),
    ("saturation power 0", sub("saturation_power_mW = 118.18", "saturation_power_mW = 0.0"),
     "microwave.saturation_power_mW"),
    ("tau_c_model", sub("tau_c_us = 0.5", 'tau_c_us = 0.5\ntau_c_model = "magic"'),
     "microwave.tau_c_model"),
    ("microwave unknown key", sub("tau_c_us = 0.5", "tau_c_us = 0.5\ncolour = 1"),
     "microwave.colour"),
    ("microwave b0 here", sub("tau_c_us = 0.5", "tau_c_us = 0.5\nb0_T = 3.35"), "microwave.b0_T"),
    ("stage power string", sub("power_mW = 118.0", 'power_mW = "high"'), "stage.prepare.power_mW"),
    ("stage power negative", sub("power_mW = 118.0", "power_mW = -1.0"), "stage.prepare.power_mW"),
    ("stage duration inf", sub("duration_s = 640.0", "duration_s = inf"),
     "stage.prepare.duration_s"),
    ("stage duration string", sub("duration_s = 640.0", 'duration_s = "long"'),
     "stage.prepare.duration_s"),
    ("stage type", sub('type = "saturate"', 'type = "explode"'), "stage.0.type"),
    # found by a fuzz of every key with 12 bad values (2026-12-02): these were tracebacks
    ("stage type array", sub('type = "saturate"', "type = [1.0]"), "stage.0.type"),
    ("stage name array", sub('name = "gate"', "name = [1.0]"), "stage.2.name"),
    ("stage name number", sub('name = "gate"', "name = 5"), "stage.2.name"),
    ("stage name with a dot", sub('name = "gate"', 'name = "gate.1"'), "stage.2.name"),
    ("variant name array", sub('name = "positive"', "name = [1.0]"), "variant.0.name"),
    ("tau_c overflows", sub("tau_c_us = 0.5", "tau_c_us = 1e-300"), "microwave.tau_c_us"),
    ("electron T1 huge", sub("tau_c_us = 0.5", "tau_c_us = 0.5\nelectron_t1_s = 1e300"),
     "microwave.electron_t1_s"),
    ("duration underflows", sub("duration_s = 640.0", "duration_s = 1e-300"),
     "stage.prepare.duration_s"),
    ("duration overflows", sub("duration_s = 10.0", "duration_s = 1e300"),
     "stage.gate.duration_s"),
    ("interval overflows", sub("interval_s = 10.0", "interval_s = 1e300"),
     "stage.detect.interval_s"),
    ("n_pulses bool", sub("n_pulses = 1024", "n_pulses = true"), "stage.detect.n_pulses"),
    ("n_outputs bool", sub("n_outputs = 16", "n_outputs = true"), "stage.prepare.n_outputs"),
    ("splitting factor overflows", physics("splitting_factor = 1e300"),
     "physics.splitting_factor"),
    ("e-e cutoff beyond the box", sub("n_radicals = 20", "n_radicals = 8", sub(
        "tau_c_us = 0.5", 'tau_c_us = 0.5\ntau_c_model = "sample"')), "microwave.ee_cutoff_nm"),
    ("pulse model", sub("rtol = 1e-6", 'rtol = 1e-6\npulse_model = "sudden"'), "run.pulse_model"),
    ("rtol below rounding", sub("rtol = 1e-6", "rtol = 1e-300"), "run.rtol"),
    ("stage unknown key", sub('type = "saturate"', 'type = "saturate"\ncolour = 1'),
     "stage.0.colour"),
    ("n_pulses float", sub("n_pulses = 1024", "n_pulses = 10.5"), "stage.detect.n_pulses"),
    ("n_pulses zero", sub("n_pulses = 1024", "n_pulses = 0"), "stage.detect.n_pulses"),
    ("interval zero", sub("interval_s = 10.0", "interval_s = 0.0"), "stage.detect.interval_s"),
    ("flip string", sub("flip_angle_deg = 0.1", 'flip_angle_deg = "small"'),
     "stage.detect.flip_angle_deg"),
    ("flip 200", sub("flip_angle_deg = 0.1", "flip_angle_deg = 200.0"),
     "stage.detect.flip_angle_deg"),
    ("run method", sub('method = "auto"', 'method = "magic"'), "run.method"),
    ("run solver", sub('method = "auto"', 'method = "auto"\nsolver = "magic"'), "run.solver"),
    ("run model", sub('model = "lattice"', 'model = "both"'), "run.model"),
    ("run sample int", sub(f'sample = "{GEOM}"', "sample = 5"), "run.sample"),
    ("run sample unknown name", sub(f'sample = "{GEOM}"', 'sample = "dnp-juice-5mM"'),
     "run.sample"),
    ("run sample missing file", sub(f'sample = "{GEOM}"', 'sample = "nowhere.toml"'),
     "run.sample"),
    ("run name int", sub('name = "hypres-mw-off"', "name = 5"), "run.name"),
    ("run rtol string", sub("rtol = 1e-6", 'rtol = "tight"'), "run.rtol"),
    ("run rtol big", sub("rtol = 1e-6", "rtol = 0.5"), "run.rtol"),
    ("run bandwidth nan", sub("bandwidth_kHz = 200.0", "bandwidth_kHz = nan"), "run.bandwidth_kHz"),
    ("run profile_times strings", sub("profile_times_s = [650.0, 1250.0, 2450.0]",
                                      'profile_times_s = ["a"]'), "run.profile_times_s"),
    ("run profile_times negative", sub("profile_times_s = [650.0, 1250.0, 2450.0]",
                                       "profile_times_s = [-1.0]"), "run.profile_times_s"),
    ("run profile_edges decreasing", sub("rtol = 1e-6", "rtol = 1e-6\nprofile_edges_nm = [1.0, 0.5]"),
     "run.profile_edges_nm"),
    ("run visible_pool", sub("rtol = 1e-6", 'rtol = 1e-6\nvisible_pool = "all"'), "run.visible_pool"),
    ("run unknown key", sub("rtol = 1e-6", "rtol = 1e-6\ncolour = 1"), "run.colour"),
    ("run seed float", sub("seed = 1", "seed = 1.5"), "run.seed"),
    ("run seed negative", sub("seed = 1", "seed = -3"), "sample.seed"),
    ("run n_radicals zero", sub("n_radicals = 20", "n_radicals = 0"), "sample.n_radicals"),
    ("run n_radicals huge", sub("n_radicals = 20", "n_radicals = 400000"), "run.n_radicals"),
    ("run mesh_check lattice", sub("rtol = 1e-6", "rtol = 1e-6\nmesh_check = true"),
     "run.mesh_check"),
    ("physics t1 string", physics('t1_bulk_s = "1h"'),
     "physics.t1_bulk_s"),
    ("physics b0 bool", physics("b0_T = true"), "physics.b0_T"),
    ("physics cutoff negative", physics("cutoff_nm = -1.5"), "physics.cutoff_nm"),
    ("physics cutoff beyond box", physics("cutoff_nm = 5.0"), "physics.cutoff_nm"),
    ("physics lineshape", physics('lineshape = "square"'),
     "physics.lineshape"),
    ("physics preset", sub('preset = "calibrated"', 'preset = "papier"'), "physics.preset"),
    ("physics unknown key", physics("colour = 1"),
     "physics.colour"),
    ("physics removed key", sub('model = "lattice"', 'model = "continuum"',
                                physics("n_elements = 48")),
     "physics.n_elements"),
    ("variant cutoff beyond box", RUN + '\n[[variant]]\nname = "big"\n'
                                        'set = { "physics.cutoff_nm" = 5.0 }\n',
     "physics.cutoff_nm"),
    ("variant set unknown key", RUN + '\n[[variant]]\nname = "x"\nset = { "run.colour" = 1 }\n',
     "run.colour"),
    ("variant set not a table", RUN + '\n[[variant]]\nname = "x"\nset = 5\n', "variant.x.set"),
    ("variant duplicate name", RUN + '\n[[variant]]\nname = "positive"\n', "variant.name"),
    ("variant unknown stage", RUN + '\n[[variant]]\nname = "x"\n'
                                    'set = { "stage.lunch.duration_s" = 1.0 }\n', "stage.lunch"),
    ("top-level stage ints", before_tables("stage = [1, 2]",
                                           RUN.split("[[stage]]")[0].split("[[variant]]")[0]),
     "stage"),
    ("unknown table", RUN + "\n[extras]\nx = 1\n", "extras"),
    ("not toml", "this is [not toml", "run file"),
]


def _snapshot(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                out[name] = (hashlib.sha256(fh.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return out


def _check_refused(tmp_path, capsys, argv, key):
    before = _snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert key in err, (key, err)
    assert _snapshot(tmp_path) == before  # nothing written, nothing touched


@pytest.mark.parametrize("case, text, key", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_bad_run_files_are_refused_before_any_work(tmp_path, capsys, case, text, key):
    path = tmp_path / "run.toml"
    path.write_text(text)
    (tmp_path / "old.h5").write_bytes(b"an earlier result")  # must survive --force
    _check_refused(tmp_path, capsys, ["run", str(path), "-o", str(tmp_path / "old.h5"),
                                      "--force"], key)


CLI_CASES = [
    ("bench rtol", ["bench", "--rtol", "5", "--protons", "1000"], "--rtol"),
    ("bench method", ["bench", "--method", "foo", "--protons", "1000"], "--method"),
    ("bench protons small", ["bench", "--protons", "10"], "--protons"),
    ("bench protons huge", ["bench", "--protons", "100000000"], "--protons"),
    ("run missing file", ["run", "nowhere.toml"], "run file"),
    ("run a directory", ["run", "."], "run file"),
    ("run output is the run file", ["run", "run.toml", "-o", "run.toml", "--force"], "output"),
    ("run output is the geometry", ["run", "run.toml", "-o", GEOM, "--force"], "output"),
    ("run only unknown", ["run", "run.toml", "--only", "sideways"], "--only"),
    ("run resume and force", ["run", "run.toml", "--resume", "--force"], "--resume"),
    ("run output exists", ["run", "run.toml", "-o", "run.toml"], "output"),
    ("plot time max", ["plot", "run.toml", "--time-max", "-5"], "--time-max"),
    ("plot output is the result", ["plot", "run.toml", "-o", "run.toml", "--force"], "output"),
    ("campaign store is the campaign", ["campaign", "run", "camp.toml", "-o", "camp.toml"],
     "output"),
    ("campaign workers", ["campaign", "run", "camp.toml", "-o", "s.h5", "--workers", "0"],
     "--workers"),
    ("fit missing file", ["fit", "nowhere.toml"], "fit file"),
    ("fit restarts", ["fit", "camp.toml", "--restarts", "-1"], "--restarts"),
    ("figure set", ["figure", "fig3a", "--set", "colour=1"], "colour"),
]


@pytest.mark.parametrize("case, argv, key", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_command_lines_are_refused(tmp_path, capsys, monkeypatch, case, argv, key):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.toml").write_text(RUN)
    (tmp_path / "camp.toml").write_text(CAMPAIGN)
    _check_refused(tmp_path, capsys, argv, key)


def test_the_size_guard_gives_the_estimate_and_names_allow_large(tmp_path, capsys,
                                                                 monkeypatch):
    from latticedns.lattice import sizing

    path = tmp_path / "run.toml"
    path.write_text(RUN)
    monkeypatch.setattr(sizing, "memory_budget_bytes", lambda: 1e8)  # a 0.1 GB machine
    assert main(["run", str(path), "-o", str(tmp_path / "o.h5")]) == 2
    err = capsys.readouterr().err
    assert "run.n_radicals" in err and "--allow-large" in err and "4,967 protons" in err
    assert not (tmp_path / "o.h5").exists()


GEOM_TEXT = open(GEOM).read()


def gsub(old, new):
    assert old in GEOM_TEXT, old
    return GEOM_TEXT.replace(old, new, 1)


#: (case, geometry text, key): the run file's sample is this geometry file
GEOM_CASES = [
    ("radical_mM string", gsub("radical_mM = 50", 'radical_mM = "fifty"'), "sample.radical_mM"),
    ("radical_mM nan", gsub("radical_mM = 50", "radical_mM = nan"), "sample.radical_mM"),
    ("radical_mM negative", gsub("radical_mM = 50", "radical_mM = -5"), "sample.radical_mM"),
    ("arrangement", gsub('arrangement = "glassy"', 'arrangement = "crystal-ish"'),
     "sample.arrangement"),
    ("arrangement array", gsub('arrangement = "glassy"', "arrangement = [1.0]"),
     "sample.arrangement"),
    ("min dist negative", gsub("min_dist_proton_radical_nm = 0.3",
                               "min_dist_proton_radical_nm = -0.3"),
     "sample.min_dist_proton_radical_nm"),
    ("min dist string", gsub("min_dist_proton_proton_nm = 0.15",
                             'min_dist_proton_proton_nm = "small"'),
     "sample.min_dist_proton_proton_nm"),
    ("composition string", gsub("H2O = 0.1", 'H2O = "some"'), "sample.composition"),
    ("composition unknown solvent", gsub("H2O = 0.1", "H2O = 0.1\nmercury = 0.1"),
     "sample.composition"),
    ("unknown key", gsub("seed = 1", "seed = 1\ncolour = 1"), "sample.colour"),
    ("not toml", "[sample\nradical_mM = 50", "run.sample"),
]


@pytest.mark.parametrize("case, text, key", GEOM_CASES, ids=[c[0] for c in GEOM_CASES])
def test_bad_geometry_files_are_refused(tmp_path, capsys, case, text, key):
    geom = tmp_path / "geom.toml"
    geom.write_text(text)
    run = tmp_path / "run.toml"
    run.write_text(RUN.replace(GEOM, str(geom)))
    _check_refused(tmp_path, capsys, ["run", str(run), "-o", str(tmp_path / "o.h5")], key)


#: (case, campaign text, key)
CAMPAIGN_CASES = [
    ("no campaign table", "[sweep]\n\"microwave.tau_c_us\" = [0.5]\n", "campaign"),
    ("base missing", CAMPAIGN.replace('base = "run.toml"', 'base = "nowhere.toml"'),
     "campaign.base"),
    ("empty sweep", CAMPAIGN.split("[sweep]")[0] + "[sweep]\n", "sweep"),
    ("unknown swept key", CAMPAIGN.replace("microwave.tau_c_us", "microwave.colour"),
     "microwave.colour"),
    ("swept value bad", CAMPAIGN.replace("[0.5, 1.0]", '[0.5, "fast"]'), "microwave.tau_c_us"),
    ("seeds zero", CAMPAIGN.replace("[campaign]", "[campaign]\nseeds = 0"), "campaign.seeds"),
    ("unknown campaign key", CAMPAIGN.replace("[campaign]", "[campaign]\ncolour = 1"),
     "campaign.colour"),
    ("set unknown key", CAMPAIGN + '[set]\n"run.colour" = 1\n', "run.colour"),
    ("set a continuum key on a lattice base", CAMPAIGN + '[set]\n"physics.mesh_refinement" = 2\n',
     "physics.mesh_refinement"),
]


@pytest.mark.parametrize("case, text, key", CAMPAIGN_CASES, ids=[c[0] for c in CAMPAIGN_CASES])
def test_bad_campaign_files_are_refused(tmp_path, capsys, monkeypatch, case, text, key):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.toml").write_text(RUN)
    (tmp_path / "camp.toml").write_text(text)
    _check_refused(tmp_path, capsys, ["campaign", "run", "camp.toml", "-o", "s.h5"], key)


FIT = """[fit]
run = "run.toml"
[[parameter]]
key = "microwave.tau_c_us"
initial = 0.5
bounds = [0.1, 5.0]
scale = "log"
[[curve]]
data = "d.csv"
variant = "positive"
"""


#: (case, fit text, data text, key)
FIT_CASES = [
    ("fit unknown table", FIT + "[extras]\n", None, "extras"),
    ("fit bounds", FIT.replace("[0.1, 5.0]", "[5.0, 0.1]"), None, "parameter.microwave.tau_c_us"),
    ("fit bad key", FIT.replace("microwave.tau_c_us", "microwave.colour"), None,
     "microwave.colour"),
    ("fit value the run refuses", FIT.replace("[0.1, 5.0]", "[0.0, 5.0]").replace(
        'scale = "log"', 'scale = "linear"'), None, "microwave.tau_c_us"),
    ("fit variant", FIT.replace('variant = "positive"', 'variant = "up"'), None,
     "curve.0.variant"),
    ("data nan", FIT, "time,a\n0,1\n10,nan\n", "d.csv"),
    ("data times back", FIT, "time,a\n0,1\n10,2\n5,3\n", "d.csv"),
    ("data missing", FIT.replace("d.csv", "none.csv"), None, "none.csv"),
    ("data beyond the stage", FIT, "time,a\n0,1\n1e6,2\n", "curve.0.data"),
    ("topspin not a dataset", FIT.replace('data = "d.csv"', 'topspin = "."\nwindow_ppm = [0, 9]'),
     None, "data"),
    # found by the fuzz (2026-12-02): these were tracebacks
    ("fit variant array", FIT.replace('variant = "positive"', "variant = [1.0]"), None,
     "curve.0.variant"),
    ("fit column table", FIT.replace('variant = "positive"', 'variant = "positive"\ncolumn = {a = 1}'),
     None, "curve.0.column"),
    ("fit seeds of arrays", FIT.replace('run = "run.toml"', 'run = "run.toml"\nmodel = "lattice"\n'
                                        "seeds = [[1]]"), None, "fit.seeds"),
]


@pytest.mark.parametrize("case, text, data, key", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_bad_fit_and_data_files_are_refused(tmp_path, capsys, monkeypatch, case, text, data,
                                             key):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.toml").write_text(RUN)
    (tmp_path / "d.csv").write_text(data or "time,a\n0,1\n10,2\n")
    (tmp_path / "fit.toml").write_text(text)
    _check_refused(tmp_path, capsys, ["fit", "fit.toml", "-o", "f.h5"], key)


def test_an_optional_solver_that_is_not_installed_is_refused_first(tmp_path, capsys,
                                                                   monkeypatch):
    from latticedns.propagation import solvers

    monkeypatch.setattr(solvers, "available_solvers", lambda: ["dense", "splu"])
    path = tmp_path / "run.toml"
    path.write_text(sub('method = "auto"', 'method = "auto"\nsolver = "pardiso"'))
    _check_refused(tmp_path, capsys, ["run", str(path), "-o", str(tmp_path / "o.h5")],
                   "run.solver")
