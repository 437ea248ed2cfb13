"""The TopSpin pseudo-2D reader (issue 12), on datasets the test writes with nmrglue:
known amplitudes, a known phase and a known delay list; the extracted curve matches them
to 1e-6."""

import os

import numpy as np
import pytest

from latticedns.errors import ConfigError

ng = pytest.importorskip("nmrglue")

from latticedns.fit.topspin import read_topspin  # noqa: E402

SW, SFO1, O1 = 20000.0, 300.13, 4.7 * 300.13  # Hz, MHz, Hz
AMPS = np.array([0.0, 0.9, 2.4, 3.1, 2.8, 2.0, 1.1, 0.4]) * 1e7  # a surge then a decay


def write_dataset(path, amps=AMPS, phase=0.7, offset_hz=300.0, vdlist=None):
    udic = ng.fileiobase.create_blank_udic(2)
    udic[0].update(size=len(amps), complex=False, encoding="states", sw=1.0, obs=SFO1,
                   car=O1, label="vd", time=True, freq=False)
    udic[1].update(size=2048, complex=True, encoding="direct", sw=SW, obs=SFO1, car=O1,
                   label="1H", time=True, freq=False)
    dic = ng.bruker.create_dic(udic)
    dic["acqus"].update(SW_h=SW, SFO1=SFO1, O1=O1, BF1=SFO1, SW=SW / SFO1, NUC1="1H")
    dic["acqu2s"].update(SFO1=SFO1, SW_h=1.0, O1=0.0, BF1=SFO1, SW=1.0 / SFO1, NUC1="1H")
    t = np.arange(2048) / SW
    fid = np.exp(1j * phase) * np.exp(2j * np.pi * offset_hz * t - t / 0.02)
    data = np.array([a * fid for a in amps])
    ng.bruker.write(str(path), dic, data, overwrite=True)
    if vdlist is not None:
        (path / "vdlist").write_text("\n".join(vdlist) + "\n")
    return path


def test_extracted_curve_matches_the_known_signals(tmp_path):
    d = write_dataset(tmp_path / "1", vdlist=["0", "10m", "20m", "50m", "0.1", "0.2s",
                                              "500m", "1"])
    c = read_topspin(str(d), window_ppm=[0.0, 10.0], times="vdlist")
    # the line (4.7 ppm carrier + 300 Hz = 1.0 ppm away) lies in a 0.5 ppm window around
    # one side of the carrier and not the other (TopSpin's frequency order)
    near = [read_topspin(str(d), window_ppm=[4.7 + s - 0.25, 4.7 + s + 0.25],
                         times="vdlist").values for s in (1.0, -1.0)]
    assert max(np.abs(near[0]).max(), np.abs(near[1]).max()) > 0.7 * np.abs(c.values).max()
    assert min(np.abs(near[0]).max(), np.abs(near[1]).max()) < 0.1 * np.abs(c.values).max()
    assert c.unit == "arbitrary" and c.scaled
    np.testing.assert_allclose(c.t_s, [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(c.values / c.values.max(), AMPS / AMPS.max(), rtol=0,
                               atol=1e-6)
    # the given phase gives the same curve; a wrong phase by 90 degrees does not
    given = read_topspin(str(d), window_ppm=[0.0, 10.0], phase_deg=-np.rad2deg(0.7),
                         times="interval", interval_s=0.025)
    np.testing.assert_allclose(given.values / given.values.max(), AMPS / AMPS.max(),
                               atol=1e-6)
    np.testing.assert_allclose(given.t_s, 0.025 * np.arange(8))
    wrong = read_topspin(str(d), window_ppm=[0.0, 10.0], phase_deg=-np.rad2deg(0.7) + 90,
                         times="interval", interval_s=0.025)
    assert np.abs(wrong.values).max() < 0.2 * np.abs(given.values).max()


def test_thermal_reference_makes_polarization(tmp_path):
    d = write_dataset(tmp_path / "1")
    ref = write_dataset(tmp_path / "2", amps=np.array([1e6]))
    c = read_topspin(str(d), window_ppm=[0.0, 10.0], times="interval", interval_s=10.0,
                     thermal=str(ref), thermal_polarization_percent=0.006)
    assert c.unit == "percent"
    # 0.006 % polarization gives the thermal integral: AMPS / 1e6 times that
    np.testing.assert_allclose(c.values, AMPS / 1e6 * 0.006e-2, rtol=1e-6, atol=1e-12)
    raw = read_topspin(str(d), window_ppm=[0.0, 10.0], times="interval", interval_s=10.0)
    number = read_topspin(str(d), window_ppm=[0.0, 10.0], times="interval", interval_s=10.0,
                          thermal=float(raw.values.max()), thermal_polarization_percent=1.0)
    assert number.unit == "percent" and number.values.max() == pytest.approx(0.01)


@pytest.mark.parametrize("case, kwargs, message", [
    ("no dir", {}, "not a TopSpin experiment directory"),
    ("no ser", {}, "no 'ser' file"),
    ("no window", {"window_ppm": None}, "window_ppm"),
    ("empty window", {"window_ppm": [400.0, 500.0]}, "holds no point"),
    ("no vdlist", {"times": "vdlist"}, "has no vdlist"),
    ("bad times", {"times": "stopwatch"}, "times"),
    ("no interval", {"times": "interval", "interval_s": None}, "interval_s"),
    ("reference without polarization", {"thermal": 5.0}, "thermal_polarization_percent"),
])
def test_bad_datasets_name_the_problem(tmp_path, case, kwargs, message):
    d = tmp_path / "1"
    if case != "no dir":
        write_dataset(d)
    if case == "no ser":
        os.remove(d / "ser")
    opts = {"window_ppm": [0.0, 10.0], "times": "interval", "interval_s": 1.0, **kwargs}
    with pytest.raises(ConfigError, match=message) as info:
        read_topspin(str(d), **opts)
    assert str(d) in info.value.key


def test_a_fit_file_reads_a_topspin_series(tmp_path):
    """A [[curve]] with ``topspin = DIR``: the series in arbitrary units gets a free scale;
    amplitudes made by the simulator at known parameters are fitted back to them."""
    from latticedns.fit import Objective, fit, parse_fit_document
    from test_fit import short_run

    run = short_run(tmp_path, variants=("positive",), n_pulses=48, interval_s=50.0)
    write_dataset(tmp_path / "flat", amps=np.ones(48) * 1e7)
    fdoc = {"fit": {"run": str(run), "profiles": False},
            "parameter": [{"key": "microwave.tau_c_us", "initial": 1.0, "bounds": [0.1, 5.0],
                           "scale": "log"}],
            "curve": [{"topspin": "flat", "window_ppm": [0.0, 10.0], "times": "interval",
                       "interval_s": 50.0}]}
    model = Objective(parse_fit_document(fdoc, str(tmp_path))).model_curves([np.log10(0.5)])[0]
    write_dataset(tmp_path / "hypres", amps=1e9 * model)
    fdoc["curve"][0]["topspin"] = "hypres"
    res = fit(parse_fit_document(fdoc, str(tmp_path)))
    assert res.parameters[0].value == pytest.approx(0.5, rel=1e-3)
