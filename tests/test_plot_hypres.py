"""plot_runs: detection (or any stage's) curves from run records, visible and hidden panels."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from latticedns.errors import ConfigError
from latticedns.plotting import plot_runs
from latticedns.plotting.hypres import detection_curve, thermal_polarization
from latticedns.plotting.runinfo import caption, find_stage, stage_at, stage_start_s
from latticedns.protocol import ProtocolResult
from latticedns.store import RunRecord

#: saturate, prepare (640 s, 8 records), gate (10 s, 1 record), selective saturation, detect
STAGES = [{"type": "saturate"},
          {"type": "microwave", "name": "prepare", "duration_s": 640.0, "n_outputs": 8},
          {"type": "delay", "name": "gate", "duration_s": 10.0},
          {"type": "selective_saturate"},
          {"type": "detect", "n_pulses": 64, "interval_s": 10.0, "power_mW": 0.0,
           "bandwidth_kHz": 200.0}]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _record(name, rng, interval_s=10.0, n=64, parameters=None, hidden_scale=1.5,
            model="continuum"):
    t_mw = np.linspace(0, 640, 9)[1:]
    t_det = 650.0 + interval_s * np.arange(n)
    t = np.concatenate([t_mw, [650.0], t_det])
    vis = np.concatenate([np.linspace(0.01, 0.05, 8), [0.05], 0.05 * np.exp(-t_det / 3000)])
    result = ProtocolResult(
        t_s=t, visible=vis, hidden=vis * hidden_scale + 0.01 * rng.uniform(size=t.size),
        stage=np.r_[np.ones(8, int), [2], 4 * np.ones(n, int)], profile_t_s=np.zeros(0),
        profiles=np.zeros((0, 3)), profile_edges_nm=np.array([0.3, 0.4, 0.5, 0.6]),
        p_final=np.zeros(0))
    params = {"stage": [dict(s) for s in STAGES]} if parameters is None else parameters
    return RunRecord(name, params, 0, model, result)


def test_visible_and_hidden_panels_each_follow_their_curves(tmp_path):
    rng = np.random.default_rng(0)
    # hidden 20x the visible: on one axis it would be clipped (the old figure) or flatten it
    recs = [_record(n, rng, hidden_scale=20.0) for n in ("positive", "negative", "microwave-off")]
    fig = plot_runs(recs)
    top, bottom = fig.axes[:2]
    assert len(top.lines) == 3 + 1 and len(bottom.lines) >= 3
    assert "min" in bottom.get_xlabel() and top.get_shared_x_axes().joined(top, bottom)
    assert top.lines[0].get_xdata()[0] == 0.0
    assert np.isclose(top.lines[0].get_xdata()[-1], 630.0 / 60)
    thermal = top.lines[3]
    assert thermal.get_color() == "k" and thermal.get_linestyle() == "--"
    assert np.allclose(thermal.get_ydata(), 0.60)
    assert np.allclose(top.lines[0].get_ydata(), 100 * recs[0].result.visible[9:])
    assert np.allclose(bottom.lines[0].get_ydata(), 100 * recs[0].result.hidden[9:])
    for ax, kind in ((top, "visible"), (bottom, "hidden")):
        lo, hi = ax.get_ylim()
        data = np.concatenate([ln.get_ydata() for ln in ax.lines[:3]])
        assert lo <= data.min() and data.max() <= hi, kind  # nothing clipped
        assert hi - lo < 1.3 * (data.max() - min(data.min(), 0.0)) + 1.0, kind  # autoscaled
    assert "hidden" in bottom.get_ylabel() and "visible" in top.get_ylabel()
    # the legend lists the runs and the thermal line, outside the axes: it covers no data
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:4] == \
        ["positive", "negative", "microwave-off", "Boltzmann 0.60 %"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    for ax in (top, bottom):
        assert not box.overlaps(ax.get_window_extent())
    out = tmp_path / "fig2b.png"
    fig.savefig(out, dpi=50)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_title_holds_the_conditions_and_runs_their_own():
    rng = np.random.default_rng(0)

    def params(b0, preset=None):
        physics = {"b0_T": b0, "temperature_K": 1.4, **({"preset": preset} if preset else {})}
        return {"physics": physics, "sample": {"radical_mM": 50.0}, "stage": STAGES}

    one = _record("a", rng, parameters=params(3.35, "paper"))
    title = plot_runs([one]).axes[0].get_title()
    for part in ("B0 = 3.35 T", "T = 1.4 K", "50 mM radical", "continuum model",
                 "physics preset: paper"):
        assert part in title, (part, title)
    assert "physics preset: default" in plot_runs(_record("b", rng)).axes[0].get_title()
    # a condition that differs between the runs moves from the title to the legend
    fig = plot_runs([_record("low", rng, parameters=params(3.35)),
                     _record("high", rng, parameters=params(7.05))])
    assert "B0" not in fig.axes[0].get_title() and "T = 1.4 K" in fig.axes[0].get_title()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["low (B0 = 3.35 T)", "high (B0 = 7.05 T)"]
    common, own = caption([one])
    assert own == [""] and common.startswith("B0 = 3.35 T")


def test_given_axes_get_a_twin_axis_and_a_legend_inside():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    fig, ax = plt.subplots()
    assert plot_runs([_record("a", rng, hidden_scale=20.0)], ax=ax) is fig
    twin = [a for a in fig.axes if a is not ax]
    assert len(twin) == 1 and twin[0].lines[0].get_linestyle() == "--"
    assert twin[0].get_ylim()[1] >= twin[0].lines[0].get_ydata().max()
    legend = ax.get_legend()
    assert legend.get_frame().get_alpha() == pytest.approx(0.85)
    assert "hidden (dashed, right axis)" in [t.get_text() for t in legend.get_texts()]
    # a pair of axes: visible into the first, hidden (solid) into the second
    fig, (a, b) = plt.subplots(2, 1)
    plot_runs([_record("a", rng, hidden_scale=20.0)], ax=(a, b))
    assert len(fig.axes) == 2 and len(a.lines) == 2 and b.lines[0].get_linestyle() == "-"


def test_validity_warnings_at_the_foot():
    rng = np.random.default_rng(0)
    rec = _record("a", rng)
    warned = RunRecord("b", rec.parameters, 0, "continuum", rec.result,
                       warnings=("physics.b0_T = 3350 T is outside 0.1-30 T: a field in mT "
                                 "given as T?",))
    fig = plot_runs([warned, rec])
    foot = fig._supxlabel.get_text()
    assert foot.startswith("warning: physics.b0_T = 3350 T") and foot.count("warning:") == 1
    assert fig._supxlabel.get_color() == "C3"
    assert plot_runs([rec])._supxlabel is None


def test_units_hidden_and_thermal_from_parameters():
    rng = np.random.default_rng(0)
    rec = _record("118 mW", rng, interval_s=1.0, n=100,
                  parameters={"physics": {"b0_T": 7.05, "temperature_K": 2.4}})
    fig = plot_runs([rec], show_hidden=False)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and "(s)" in ax.get_xlabel()
    assert np.allclose(ax.lines[-1].get_ydata(), 100 * thermal_polarization(rec.parameters))
    assert 0.29 < ax.lines[-1].get_ydata()[0] < 0.31  # half the 1.2 K value
    assert "(min)" in plot_runs(rec, time_unit="min").axes[1].get_xlabel()
    assert thermal_polarization({"a": {"proton_thermal": 0.01}}) == 0.01
    assert thermal_polarization({}) == 0.006
    t, vis, hid = detection_curve(rec.result)
    assert t[0] == 0 and len(t) == 100
    with pytest.raises(ConfigError):
        plot_runs([], time_unit="s")
    with pytest.raises(ConfigError):
        plot_runs([rec], time_unit="h")


def test_time_window_limits_axis_and_y_range():
    rng = np.random.default_rng(0)
    rec = _record("118 mW", rng, interval_s=0.025, n=1024)
    fig = plot_runs(rec, time_max_s=2.0)
    ax = fig.axes[0]
    assert ax.get_xlim() == (0.0, 2.0) and "(s)" in fig.axes[1].get_xlabel()
    t, vis, hid = detection_curve(rec.result)
    lo, hi = ax.get_ylim()
    window = 100 * vis[t <= 2.0]
    assert lo <= min(window.min(), 0.0) and hi >= window.max()
    assert hi < 100 * vis.max() + 0.2 * (100 * vis.max())  # set by the window, not clipped
    hlo, hhi = fig.axes[1].get_ylim()
    assert hlo <= 100 * hid[t <= 2.0].min() and hhi >= 100 * hid[t <= 2.0].max()
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ConfigError, match="time_max_s"):
            plot_runs(rec, time_max_s=bad)


def test_a_chosen_stage_by_name_index_or_type():
    rng = np.random.default_rng(0)
    rec = _record("positive", rng)
    fig = plot_runs(rec, stage="prepare")
    top = fig.axes[0]
    x = top.lines[0].get_xdata()
    assert np.allclose(x, np.linspace(80, 640, 8) / 60)  # t = 0 at the stage start, in min
    assert top.lines[0].get_marker() == "o"  # few points: markers
    assert "start of stage 'prepare' (microwave)" in fig.axes[1].get_xlabel()
    assert np.allclose(top.lines[0].get_ydata(), 100 * rec.result.visible[:8])
    for same in ("1", "microwave"):
        assert np.array_equal(plot_runs(rec, stage=same).axes[0].lines[0].get_xdata(), x)
    gate = plot_runs(rec, stage="gate").axes[0].lines[0]
    assert np.allclose(gate.get_xdata(), [10.0])  # at the end of the 10 s gate, t from 640 s
    assert find_stage(rec, "detect") == 4 and stage_start_s(rec, 4) == 650.0
    with pytest.raises(ConfigError) as err:
        plot_runs(rec, stage="build-up")
    assert err.value.key == "stage"
    assert "0 (saturate, no points), prepare (microwave), gate (delay), " \
           "3 (selective_saturate, no points), 4 (detect)" in err.value.message
    with pytest.raises(ConfigError, match="no recorded points") as err:
        plot_runs(rec, stage="0")
    assert err.value.key == "stage"


def test_stages_from_the_stored_stage_table():
    # a record with a stage table (RunRecord.stages) is read from it, not its parameters
    stored = SimpleNamespace(name=("0", "buildup", "gate", "3", "read"),
                             type=("saturate", "microwave", "delay", "selective_saturate",
                                   "detect"),
                             t_start_s=np.array([0.0, 0.0, 640.0, 650.0, 650.0]),
                             duration_s=np.array([0.0, 640.0, 10.0, 0.0, 640.0]))
    rec = SimpleNamespace(name="r", parameters={}, stages=stored,
                          result=SimpleNamespace(stage=np.array([1, 1, 2, 4, 4])))
    assert find_stage(rec, "buildup") == 1 and find_stage(rec, "read") == 4
    assert stage_start_s(rec, 2) == 640.0
    assert stage_at(rec, 650.0) == ("read", 650.0) and stage_at(rec, 645.0) == ("gate", 640.0)
    assert stage_at(rec, 5000.0) == ("read", 650.0)
    with pytest.raises(ConfigError, match="buildup"):
        find_stage(rec, "prepare")


def test_plotting_does_not_import_h5py():
    code = "import sys, latticedns.plotting; assert 'h5py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
