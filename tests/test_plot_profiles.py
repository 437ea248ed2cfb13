"""plot_profiles: radial profiles P(r, t) and the visible/hidden boundary of the detection."""

from types import SimpleNamespace

import numpy as np
import pytest

from latticedns.continuum.boundary import boundary_radius_nm
from latticedns.diffusion import mean_volume_radius_nm
from latticedns.errors import ConfigError
from latticedns.plotting import plot_profiles
from latticedns.plotting.profiles import visible_boundary_nm
from latticedns.protocol import ProtocolResult
from latticedns.protocol.microwave import MicrowaveCalibration
from latticedns.store import RunRecord

EDGES = np.round(np.arange(0.3, 3.01, 0.1), 10)
STAGES = [{"type": "saturate"},
          {"type": "microwave", "name": "prepare", "duration_s": 640.0, "power_mW": 118.0},
          {"type": "delay", "name": "gate", "duration_s": 10.0},
          {"type": "selective_saturate", "bandwidth_kHz": 200.0},
          {"type": "detect", "name": "detect", "n_pulses": 1024, "interval_s": 10.0,
           "power_mW": 0.0, "bandwidth_kHz": 200.0}]
PHYSICS = {"b0_T": 7.05, "temperature_K": 1.2}
MICROWAVE = {"b0_T": 7.05, "temperature_K": 1.2, "saturation_power_mW": 118.18}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _params(visible_pool="saturated", detect_mW=0.0, model_physics=None):
    stages = [dict(s) for s in STAGES]
    stages[-1]["power_mW"] = detect_mW
    return {"run": {"visible_pool": visible_pool}, "physics": dict(model_physics or PHYSICS),
            "microwave": dict(MICROWAVE), "stage": stages,
            "sample": {"radical_mM": 50.0, "min_dist_proton_radical_nm": 0.3}}


def _record(name="positive", times=(2450.0, 650.0, 1250.0), parameters=None, model="lattice"):
    centres = 0.5 * (EDGES[:-1] + EDGES[1:])
    # a barrier: high inside 0.7 nm, decaying with time; the bulk at 1 %
    rows = [np.where(centres < 0.7, 0.6 * np.exp(-(t - 650) / 2000), 0.01) for t in times]
    if model == "continuum":
        rows = [np.where(centres < 2.0, r, np.nan) for r in rows]  # no protons beyond r_MV
    result = ProtocolResult(
        t_s=np.array([650.0, 660.0]), visible=np.array([0.0, 0.001]),
        hidden=np.array([0.5, 0.49]), stage=np.array([4, 4]),
        profile_t_s=np.array(times), profiles=np.array(rows), profile_edges_nm=EDGES,
        p_final=np.zeros(0))
    return RunRecord(name, _params() if parameters is None else parameters, 1, model, result)


def test_one_curve_per_time_against_the_distance_and_the_hidden_band():
    rec = _record()
    fig = plot_profiles([rec])
    (ax,) = [a for a in fig.axes if a.get_visible()]
    curves = ax.lines[:3]
    labels = [ln.get_label() for ln in curves]
    assert labels == ["t = 650 s (detect + 0 s)", "t = 1250 s (detect + 600 s)",
                      "t = 2450 s (detect + 1800 s)"]  # sorted by time, named by stage
    centres = 0.5 * (EDGES[:-1] + EDGES[1:])
    for line, i in zip(curves, (1, 2, 0)):
        assert np.allclose(line.get_xdata(), centres)
        assert np.allclose(line.get_ydata(), 100 * rec.result.profiles[i])
    assert len({ln.get_color() for ln in curves}) == 3
    thermal = ax.lines[3]
    assert thermal.get_linestyle() == "--" and np.allclose(thermal.get_ydata(), 0.6, atol=0.01)
    assert "distance from the nearest radical" in ax.get_xlabel() and "nm" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()
    # the band hidden during the detection: r < r_b, the equal-volume radius at P_B, 200 kHz
    pbar = MicrowaveCalibration(**MICROWAVE).pbar_boltzmann
    r_b = boundary_radius_nm(pbar, 200.0, "equal_volume", 0.3, mean_volume_radius_nm(50.0))
    assert r_b == pytest.approx(0.6729, abs=1e-4)
    (band,) = [p for p in ax.patches if p.get_label().startswith("hidden in detection")]
    x0, x1 = band.get_x(), band.get_x() + band.get_width()  # axvspan: a Rectangle
    assert x0 == pytest.approx(0.3) and x1 == pytest.approx(r_b)
    assert "0.67 nm" in band.get_label() and "equal-volume" in ax.get_title()
    assert "B0 = 7.05 T" in fig._suptitle.get_text()
    assert ax.get_legend().get_frame().get_alpha() == pytest.approx(0.85)


def test_runs_without_profiles_are_left_out_or_refused():
    empty = ProtocolResult(t_s=np.array([0.0]), visible=np.array([0.0]),
                           hidden=np.array([0.0]), stage=np.array([4]),
                           profile_t_s=np.zeros(0), profiles=np.zeros((0, 27)),
                           profile_edges_nm=EDGES, p_final=np.zeros(0))
    none = RunRecord("118 mW", _params(), 1, "lattice", empty)
    with pytest.raises(ConfigError, match="run.profile_times_s") as err:
        plot_profiles([none])
    assert err.value.key == "profiles" and "118 mW" in err.value.message
    fig = plot_profiles([none, _record("a"), _record("b")])
    shown = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title().split("\n")[0] for a in shown] == ["a", "b"]


def test_continuum_profiles_stop_where_the_shells_are_empty():
    physics = {**PHYSICS, "radical_mM": 50.0, "r_in_nm": 0.3, "boundary_averaging": "rms"}
    rec = _record(model="continuum", parameters=_params(model_physics=physics))
    ax = plot_profiles(rec).axes[0]
    assert ax.get_xlim()[1] == pytest.approx(2.0)
    r_b, pbar, bandwidth = visible_boundary_nm(rec)
    assert r_b == pytest.approx(boundary_radius_nm(pbar, 200.0, "rms", 0.3,
                                                   mean_volume_radius_nm(50.0)))


def test_boundary_follows_the_visible_pool_and_the_stage_table():
    cal = MicrowaveCalibration(**MICROWAVE)
    saturated = visible_boundary_nm(_record(parameters=_params("saturated", detect_mW=60.0)))
    shift = visible_boundary_nm(_record(parameters=_params("shift", detect_mW=60.0)))
    assert saturated[1] == pytest.approx(cal.pbar_boltzmann)  # judged at the saturation
    assert shift[1] == pytest.approx(cal.pbar(60.0))  # judged at the detection's Pbar
    assert shift[0] < saturated[0]  # a smaller Pbar hides fewer protons
    # a stored stage table (RunRecord.stages) gives the pool directly
    stored = SimpleNamespace(type=("saturate", "detect"), pool_pbar=np.array([0.9, 0.3]),
                             pool_bandwidth_kHz=np.array([200.0, 100.0]),
                             boundary_radius_nm=np.array([0.5, 0.55]),
                             hidden_fraction=np.array([0.05, 0.02]))
    lattice = SimpleNamespace(parameters=_params(), model="lattice", stages=stored)
    r_b, pbar, bandwidth = visible_boundary_nm(lattice)
    assert (pbar, bandwidth) == (0.3, 100.0)
    assert r_b == pytest.approx(boundary_radius_nm(0.3, 100.0, "equal_volume", 0.3,
                                                   mean_volume_radius_nm(50.0)))
    continuum = SimpleNamespace(parameters=_params(), model="continuum", stages=stored)
    assert visible_boundary_nm(continuum) == (0.55, 0.3, 100.0)  # its own stored r_b
    no_detect = _params()
    no_detect["stage"] = no_detect["stage"][:3]
    assert visible_boundary_nm(_record(parameters=no_detect)) is None
    assert visible_boundary_nm(_record(parameters={})) is None
