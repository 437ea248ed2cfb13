"""Physics presets and validity warnings (issue 14): a preset fills the keys where the
simulator departs from the paper, explicit keys win and are named, and runs with values
outside the range of DNP experiments, a calibration used elsewhere, or a model outside its
validated range are warned."""

import os

import numpy as np
import pytest

from latticedns.diffusion import DiffusionConditions, diffusion_coefficient, hidden_radius_nm
from latticedns.experiment import execute_run, parse_run_document
from latticedns.experiment.presets import PRESETS
from latticedns.tomlfile import read_toml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = os.path.join(ROOT, "runs")


def bundled(name="hypres-mw-off.toml", physics=(), microwave=(), run=(), only=None):
    doc, _ = read_toml(os.path.join(RUNS, name), "run file")
    doc["physics"].update(dict(physics))
    doc["microwave"].update(dict(microwave))
    doc["run"].update(dict(run))
    if only is not None:
        doc["variant"] = [v for v in doc["variant"] if v["name"] == only]
    return doc


def spec_of(**kw):
    return parse_run_document(bundled(**kw), RUNS)[0]


def test_presets_set_the_documented_physics_and_the_default_is_the_calibrated_one():
    default = spec_of()
    assert default.preset == "calibrated" and default.warnings == ()
    assert (default.physics.lineshape, default.physics.cutoff_nm,
            default.physics.splitting_factor, default.physics.gamma2_II_kHz) == \
        ("gaussian", 1.5, 0.5, 11.0)
    assert (default.calibration.tau_c_model, default.calibration.relaxation_tau_c) == \
        ("flipflop", "electron_t1")
    paper = spec_of(physics={"preset": "paper"})
    assert paper.preset == "paper" and paper.warnings == ()
    assert (paper.physics.lineshape, paper.physics.cutoff_nm, paper.physics.splitting_factor) \
        == ("lorentzian", 1.0, 1.0)
    assert paper.physics.gamma2_II_kHz * 1e3 * 2 * np.pi == pytest.approx(2.2e4)  # s^-1
    assert (paper.calibration.tau_c_model, paper.calibration.relaxation_tau_c) == \
        ("constant", "tau_c")
    transport = spec_of(physics={"preset": "paper-transport"})
    assert transport.calibration.relaxation_tau_c == "electron_t1"
    # the continuum takes the keys it has (no flip-flop cutoff there)
    cont = spec_of(physics={"preset": "paper"}, run={"model": "continuum"})
    assert cont.physics.lineshape == "lorentzian" and not hasattr(cont.physics, "cutoff_nm")


def test_explicit_keys_win_over_the_preset_and_are_named():
    s = spec_of(physics={"preset": "paper", "cutoff_nm": 1.5, "splitting_factor": 1.0})
    assert s.physics.cutoff_nm == 1.5 and s.physics.lineshape == "lorentzian"
    assert s.warnings == ("physics.cutoff_nm = 1.5 overrides the paper preset's 1",)


def test_paper_preset_gives_the_papers_fig3_contrast_and_the_default_does_not():
    """D(r_h) at Pbar = 0.5 over Boltzmann: ~17x in the paper's Fig. 3a; 18.8x with the
    paper preset's readings (docs/theory.md section 5), 3.8x with the calibrated ones."""
    ratios = {}
    for name in ("paper", "calibrated"):
        p = PRESETS[name].physics
        c = DiffusionConditions(splitting_factor=p["splitting_factor"],
                                gamma2_II_kHz=p["gamma2_II_kHz"])
        on, off = diffusion_coefficient(hidden_radius_nm(c.hidden_coupling_kHz, c.averaging),
                                        [0.5, c.electron_boltzmann], c)
        ratios[name] = on / off
    assert ratios["paper"] == pytest.approx(18.8, abs=0.05)
    assert ratios["calibrated"] == pytest.approx(3.8, abs=0.05)


def test_paper_transport_preset_reproduces_the_fast_microwave_off_transfer():
    """docs/reproduction.md: the paper's transport (Lorentzian line, constant tau_c, Fig. 3
    readings) moves the microwave-off peak to ~2.5 min, against ~18 min by default."""
    rec = execute_run(spec_of(physics={"preset": "paper-transport"}, only="positive"))
    r = rec.result
    det = r.stage == r.stage.max()
    t, v = r.t_s[det] - r.t_s[det][0], r.visible[det]
    assert t[np.argmax(v)] == pytest.approx(150.0, abs=20.0)
    assert 0.02 < v.max() < 0.025


@pytest.mark.parametrize("changes, expected", [
    ({"physics": {"b0_T": 3350.0}}, "physics.b0_T = 3350 T is outside the range of DNP "
                                    "experiments (0.1-30 T): a field in mT given as T?"),
    ({"physics": {"temperature_K": 1400.0}}, "physics.temperature_K = 1400 K"),
    ({"microwave": {"tau_c_us": 5e5}}, "microwave.tau_c_us = 500000 us"),
])
def test_implausible_values_are_warned(changes, expected):
    s = spec_of(**changes)
    assert any(w.startswith(expected) for w in s.warnings), s.warnings


def test_flip_angle_in_radians_is_warned():
    doc = bundled()
    next(st for st in doc["stage"] if st["type"] == "detect")["flip_angle_deg"] = 0.0017
    s = parse_run_document(doc, RUNS)[0]
    assert any(w.startswith("stage.detect.flip_angle_deg = 0.0017 deg") and "radians" in w
               for w in s.warnings), s.warnings


def test_a_calibration_used_at_another_field_and_temperature_is_warned():
    s = spec_of(physics={"b0_T": 3.35, "temperature_K": 1.4})
    [w] = s.warnings
    assert "belongs to 7.05 T / 1.2 K" in w and "used at 3.35 T / 1.4 K" in w
    # a calibration that says it was made here is not
    here = spec_of(physics={"b0_T": 3.35, "temperature_K": 1.4},
                   microwave={"calibration_b0_T": 3.35, "calibration_temperature_K": 1.4})
    assert here.warnings == ()


def test_the_continuum_with_the_gaussian_line_is_warned_with_its_measured_departure():
    s = spec_of(run={"model": "continuum"})
    assert len(s.warnings) == 1 and "+0.74 % at 67 min" in s.warnings[0] \
        and "+1.24 % at 18 min" in s.warnings[0]
    assert spec_of(run={"model": "continuum"}, physics={"lineshape": "lorentzian"}).warnings \
        == ("physics.lineshape = 'lorentzian' overrides the calibrated preset's 'gaussian'",)


def test_paper_preset_cannot_build_up_the_bundled_dnp():
    """docs/usage.md: with the paper's Eq. 6 reading the protons relax at ~0.155 s^-1
    under microwaves, so the bundled DNP calibration builds up 3.0 % in 640 s (71 % with
    the calibrated preset)."""
    doc = bundled(physics={"preset": "paper"}, run={"profile_times_s": []}, only="positive")
    next(st for st in doc["stage"] if st["type"] == "detect")["n_pulses"] = 4
    r = execute_run(parse_run_document(doc, RUNS)[0]).result
    built = r.visible[r.stage == 1][-1]
    assert 0.025 < built < 0.035


def test_fig3a_shows_the_papers_headline_contrast_beside_the_default_reading(tmp_path):
    """`latticedns figure fig3a` marks x3.8 (the calibrated readings) and, beside it, x18.8
    under the paper's readings; with --preset paper the drawn curves are the paper's."""
    from latticedns.cli import main
    from latticedns.plotting import plot_fig3a

    texts = [t.get_text() for t in plot_fig3a().axes[0].texts]
    assert any(t.startswith("x3.8: this reading") for t in texts)
    assert any(t.startswith("x18.8: the paper's reading") and "~17x" in t for t in texts)
    assert main(["figure", "fig3a", "--preset", "paper", "-o", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").stat().st_size > 20_000


def test_the_channel_continuum_takes_its_glass_from_the_sample_and_is_not_warned():
    s = spec_of(run={"model": "continuum"}, physics={"transport": "channels"})
    assert s.warnings == ()
    assert (s.physics.proton_density_per_nm3, s.physics.min_dist_proton_proton_nm,
            s.physics.min_dist_radical_radical_nm, s.physics.r_in_nm) == pytest.approx(
        (s.sample.protons_per_nm3, 0.15, 0.6, 0.3))
    assert s.physics.channel_cutoff_nm == 1.5
    paper = spec_of(run={"model": "continuum"}, physics={"transport": "channels",
                                                         "preset": "paper"})
    assert paper.physics.channel_cutoff_nm == 1.0  # the preset's flip-flop cutoff


def test_warnings_are_printed_at_the_start_and_recorded_in_the_result(tmp_path, capsys):
    """A run at 3.35 T / 1.4 K with the 7.05 T / 1.2 K calibration: one line on stderr before
    the run, the same text in the result file, and the preset among the parameters."""
    from latticedns.cli import main
    from latticedns.store import read_run
    from latticedns.tomlfile import dump_toml

    doc = bundled(physics={"b0_T": 3.35, "temperature_K": 1.4}, run={
        "model": "continuum", "profile_times_s": []}, only="positive")
    next(st for st in doc["stage"] if st["type"] == "detect")["n_pulses"] = 8
    doc["run"]["sample"] = os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml")
    path = tmp_path / "elsewhere.toml"
    path.write_text(dump_toml(doc))
    assert main(["run", str(path), "-o", str(tmp_path / "r.h5")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any("belongs to 7.05 T / 1.2 K" in line for line in lines), err
    rec = read_run(tmp_path / "r.h5", "positive")
    assert any("used at 3.35 T / 1.4 K" in w for w in rec.warnings)
    assert [line[len("warning: "):] for line in lines] == list(rec.warnings)
    assert rec.parameters["physics"]["preset"] == "calibrated"
    assert "physics: preset calibrated (departures from the paper" in err
