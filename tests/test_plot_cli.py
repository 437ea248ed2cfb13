"""``latticedns plot RESULT.h5`` with --stage and --profiles on a real (continuum) result."""

import os

import pytest

from latticedns.cli import main

GEOM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "geometries",
                                    "dnp-juice-50mM.toml"))
RUN = f'''
[run]
name = "t"
model = "continuum"
sample = "{GEOM}"
profile_times_s = [650.0, 900.0]

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
name = "read"
n_pulses = 32
interval_s = 10.0
flip_angle_deg = 0.1
'''
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    (d / "r.toml").write_text(RUN)
    (d / "noprof.toml").write_text(RUN.replace("profile_times_s = [650.0, 900.0]", ""))
    for name in ("r", "noprof"):
        assert main(["run", str(d / f"{name}.toml"), "-o", str(d / f"{name}.h5")]) == 0
    return d


def _files(d):
    return sorted(p.name for p in d.iterdir())


def test_stage_and_profiles_figures(result, capsys):
    d = result
    assert main(["plot", str(d / "r.h5"), "--stage", "prepare", "--dpi", "40"]) == 0
    assert (d / "r-prepare.png").read_bytes()[:8] == PNG  # default name: RESULT-STAGE.png
    assert main(["plot", str(d / "r.h5"), "--profiles", "--dpi", "40"]) == 0
    assert (d / "r-profiles.png").read_bytes()[:8] == PNG
    assert main(["plot", str(d / "r.h5"), "-o", str(d / "curves.png")]) == 0
    assert (d / "curves.png").stat().st_size > 5000
    assert "wrote" in capsys.readouterr().out
    # existing outputs need --force
    assert main(["plot", str(d / "r.h5"), "--profiles"]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("argv, key, words", [
    (["--stage", "build-up"], "--stage", ["no stage 'build-up'", "prepare (microwave)",
                                          "gate (delay)", "read (detect)",
                                          "0 (saturate, no points)"]),
    (["--stage", "3"], "--stage", ["no recorded points"]),
    (["--profiles", "--stage", "prepare"], "--stage", ["not used with --profiles"]),
    (["--profiles", "--time-max", "10"], "--time-max", ["not used with --profiles"]),
    (["--dpi", "0"], "--dpi", ["[10, 1200]"]),
])
def test_bad_plot_options_exit_2_naming_them_and_write_nothing(result, capsys, argv, key,
                                                               words):
    before = _files(result)
    assert main(["plot", str(result / "r.h5"), "-o", str(result / "x.png"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"latticedns: error: {key}: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert _files(result) == before


def test_profiles_of_a_result_without_them_are_refused(result, capsys):
    before = _files(result)
    assert main(["plot", str(result / "noprof.h5"), "--profiles"]) == 2
    err = capsys.readouterr().err
    assert "--profiles: no radial profiles stored" in err and "run.profile_times_s" in err
    assert err.count("\n") == 1 and _files(result) == before
