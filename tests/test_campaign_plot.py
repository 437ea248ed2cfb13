"""Campaign stores: selecting runs, curves per swept value, xarray, one figure per sweep."""

import os

import numpy as np
import pytest

from latticedns.campaign import load_campaign, open_store, run_campaign
from latticedns.cli import main
from latticedns.errors import ConfigError
from latticedns.plotting import sweep_figures
from latticedns.plotting.sweep import BAND, sweep_names

from test_campaign import CAMPAIGN, setup

ONE_AXIS = CAMPAIGN.replace('"microwave.tau_c_us" = [0.5, 1.0]', "").replace(
    "seeds = 2", 'seeds = 2\nvariants = ["pos"]')


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A product campaign (2 axes x 2 variants x 2 seeds) and a one-axis one (continuum)."""
    out = {}
    for name, text in (("multi", CAMPAIGN), ("single", ONE_AXIS)):
        d = tmp_path_factory.mktemp(name)
        out[name] = str(d / "s.h5")
        run_campaign(load_campaign(setup(d, text)), out[name], workers=1)
    return out


def test_select_and_curves(stores):
    s = open_store(stores["multi"])
    assert s.variants == ("pos", "neg") and s.campaign["mode"] == "product"
    assert s.points[1] == {"sample.radical_mM": 25, "microwave.tau_c_us": 1.0}
    ids = s.select(radical_mM=25, variant="pos")
    assert list(ids) == list(s.select({"sample.radical_mM": 25}, variant="pos"))
    assert len(ids) == 4 and all(" pos" in r and "radical_mM=25" in r for r in ids)
    assert len(s.select(**{"sample.radical_mM": [25, 50], "tau_c_us": 0.5})) == 8
    curves = s.curves("radical_mM", where={"microwave.tau_c_us": 0.5}, variant="pos")
    assert list(curves) == [25, 50]
    t, y = curves[50]
    assert y.shape == (2, 8) and t[0] == 0.0 and np.allclose(np.diff(t), 10.0)
    full = s.array("visible", radical_mM=50, tau_c_us=0.5, variant="pos")
    assert np.array_equal(y, full[:, -8:])  # the detection stage: the last 8 points
    hidden = s.curves("radical_mM", tau_c_us=0.5, variant="pos", name="hidden")[50][1]
    assert np.array_equal(hidden, s.array("hidden", radical_mM=50, tau_c_us=0.5,
                                          variant="pos")[:, -8:])
    with pytest.raises(ConfigError, match="several points or variants"):
        s.curves("radical_mM", variant="pos")
    with pytest.raises(ConfigError, match="several swept keys"):
        s.curves()
    with pytest.raises(ConfigError, match="not a swept key"):
        s.select(radical_uM=25)
    with pytest.raises(ConfigError, match="variant"):
        s.select(variant="nope")
    assert len(open_store(stores["single"]).curves()) == 2  # the only key by default


def test_to_xarray(stores):
    pytest.importorskip("xarray")
    s = open_store(stores["multi"])
    ds = s.to_xarray(variant="pos")
    assert ds["visible"].dims == ("run", "t_s") and ds.sizes["run"] == 8
    assert ds["sample.radical_mM"].attrs["units"] == "mM"
    cube = ds.set_index(run=["sample.radical_mM", "microwave.tau_c_us", "seed_index"])\
        .unstack("run")
    v = cube["visible"].sel({"sample.radical_mM": 50, "microwave.tau_c_us": 0.5})
    curves = s.curves("radical_mM", tau_c_us=0.5, variant="pos")
    assert np.array_equal(v.transpose("seed_index", "t_s").values, curves[50][1])


def test_plot_one_sweep_one_png(stores, tmp_path, capsys):
    s = open_store(stores["single"])
    ((parts, fig),) = sweep_figures(s)
    assert parts == []
    ax = fig.axes[0]
    assert len(ax.lines) == 2 + 1 and len(ax.collections) == 2  # 2 means, Boltzmann; bands
    thermal = ax.lines[-1]
    assert thermal.get_linestyle() == "--" and np.allclose(thermal.get_ydata(), 0.60, atol=1e-3)
    t, y = s.curves()[25]
    assert np.allclose(ax.lines[0].get_ydata(), 100 * y.mean(axis=0))
    assert np.array_equal(ax.lines[0].get_xdata(), t)
    labels = [x.get_text() for x in ax.get_legend().get_texts()]
    assert labels[0] == "radical_mM=25 (2 seeds)" and any(BAND in x for x in labels)
    png = tmp_path / "sweep.png"
    assert main(["plot", stores["single"], "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", stores["single"], "-o", str(png)]) == 2  # no overwrite
    assert "--force" in capsys.readouterr().err
    assert main(["plot", stores["single"], "-o", str(png), "--force"]) == 0
    # --time-max: the first seconds of each detection only
    ((_, early),) = sweep_figures(s, time_max_s=t[3])
    np.testing.assert_array_equal(early.axes[0].lines[0].get_xdata(), t[:4])
    assert main(["plot", stores["single"], "-o", str(png), "--force", "--time-max",
                 str(t[3])]) == 0
    assert main(["plot", stores["single"], "-o", str(png), "--force", "--time-max", "0"]) == 2
    assert "--time-max" in capsys.readouterr().err


def test_plot_several_sweeps_one_file_each(stores, tmp_path, capsys):
    out = tmp_path / "fig.png"
    names = [f"fig-{a}-{v}.png" for v in ("pos", "neg") for a in ("radical_mM", "tau_c_us")]
    (tmp_path / names[-1]).write_text("keep")
    assert main(["plot", stores["multi"], "-o", str(out)]) == 2  # one exists: none written
    assert "--force" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == [names[-1]]
    assert main(["plot", stores["multi"], "-o", str(out), "--force"]) == 0
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    assert sweep_names(open_store(stores["multi"])) == [n[4:-4].split("-") for n in names]
