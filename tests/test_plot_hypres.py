"""plot_runs: Fig. 2b/2d-style detection curves from run records."""

import subprocess
import sys

import numpy as np
import pytest

from latticedns.errors import ConfigError
from latticedns.plotting import plot_runs
from latticedns.plotting.hypres import detection_curve, thermal_polarization
from latticedns.protocol import ProtocolResult
from latticedns.store import RunRecord


def _record(name, rng, interval_s=10.0, n=64, parameters=None):
    # stages: 0 saturate (not recorded), 1 microwave with 8 outputs, 2 detect
    t_mw = np.linspace(0, 640, 9)[1:]
    t_det = 650.0 + interval_s * np.arange(n)
    t = np.concatenate([t_mw, t_det])
    vis = np.concatenate([np.linspace(0.01, 0.05, 8), 0.05 * np.exp(-t_det / 3000)])
    result = ProtocolResult(
        t_s=t, visible=vis, hidden=vis * 1.5 + 0.01 * rng.uniform(size=t.size),
        stage=np.r_[np.ones(8, int), 2 * np.ones(n, int)], profile_t_s=np.zeros(0),
        profiles=np.zeros((0, 3)), profile_edges_nm=np.array([0.3, 0.4, 0.5, 0.6]),
        p_final=np.zeros(0))
    return RunRecord(name, parameters or {}, 0, "continuum", result)


def test_plot_writes_png_with_expected_lines(tmp_path):
    rng = np.random.default_rng(0)
    recs = [_record(n, rng) for n in ("positive", "negative", "microwave-off")]
    fig = plot_runs(recs)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 * 3 + 1
    assert "min" in ax.get_xlabel()  # 630 s span > 600 s
    assert ax.lines[0].get_xdata()[0] == 0.0
    assert np.isclose(ax.lines[0].get_xdata()[-1], 630.0 / 60)
    thermal = ax.lines[-1]
    assert thermal.get_color() == "k" and thermal.get_linestyle() == "--"
    assert np.allclose(thermal.get_ydata(), 0.60)
    assert np.allclose(ax.lines[0].get_ydata(), 100 * recs[0].result.visible[8:])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["positive", "negative", "microwave-off"]
    out = tmp_path / "fig2b.png"
    fig.savefig(out, dpi=50)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_units_hidden_and_thermal_from_parameters():
    rng = np.random.default_rng(0)
    rec = _record("118 mW", rng, interval_s=1.0, n=100,
                  parameters={"physics": {"b0_T": 7.05, "temperature_K": 2.4}})
    fig = plot_runs([rec], show_hidden=False)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and "(s)" in ax.get_xlabel()
    assert np.allclose(ax.lines[-1].get_ydata(), 100 * thermal_polarization(rec.parameters))
    assert 0.29 < ax.lines[-1].get_ydata()[0] < 0.31  # half the 1.2 K value
    assert "(min)" in plot_runs(rec, time_unit="min").axes[0].get_xlabel()
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
    ax = plot_runs(rec, time_max_s=2.0).axes[0]
    assert ax.get_xlim() == (0.0, 2.0) and "(s)" in ax.get_xlabel()
    t, vis, _ = detection_curve(rec.result)
    lo, hi = ax.get_ylim()
    window = 100 * vis[t <= 2.0]
    assert lo <= min(window.min(), 0.0) and hi >= window.max()
    assert hi < 100 * vis.max() + 0.2 * (100 * vis.max())  # set by the window, not clipped
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ConfigError, match="time_max_s"):
            plot_runs(rec, time_max_s=bad)


def test_plotting_does_not_import_h5py():
    code = "import sys, latticedns.plotting; assert 'h5py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
