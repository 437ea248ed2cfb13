"""HypRes protocol on the lattice: linearity, selective saturation, pulses, microwave series."""

import os

import numpy as np
import pytest

from latticedns.lattice import SampleSpec, generate_sample
from latticedns.lattice.model import LatticeModel, LatticeParameters
from latticedns.conditions import ElectronCondition
from latticedns.constants import GAMMA_H, larmor_angular
from latticedns.errors import ConfigError
from latticedns.protocol import (Delay, Detect, Microwave, MicrowaveCalibration, Saturate,
                                 SelectiveSaturate, run_protocol)
from latticedns.protocol.microwave import MicrowaveSetting


def lattice(n=1200, seed=3, **params):
    sample = generate_sample(SampleSpec.from_dict(
        {"radical_mM": 50, "n_protons": n, "proton_density_per_nm3": 7.48, "seed": seed}))
    return LatticeModel(sample, LatticeParameters(hyperfine_cutoff_nm=2.4, **params))


def hypres(sign, detect_power=0.0, n=64, interval=10.0):
    return [Saturate(), Microwave(640.0, 118.0, sign, n_outputs=4), Delay(10.0),
            SelectiveSaturate(200.0), Detect(n, interval, 0.1, power_mW=detect_power, dnp_sign=-1)]


@pytest.fixture(scope="module")
def model():
    return lattice()


def test_positive_and_negative_preparations_are_linear(model):
    pos = run_protocol(model, hypres(+1))
    neg = run_protocol(model, hypres(-1))
    zero = run_protocol(model, hypres(+1), MicrowaveCalibration(dnp_target=0.0))
    for key in ("visible", "hidden"):
        total = getattr(pos, key) + getattr(neg, key)
        np.testing.assert_allclose(total, 2 * getattr(zero, key), rtol=0, atol=1e-9)
    assert pos.visible[4] > 0.6 and neg.visible[4] < -0.6  # ~ +-70 % after preparation


def test_selective_saturation_spares_the_hidden_protons(model):
    res = run_protocol(model, hypres(+1, n=2))
    before = res.stage == 2
    after = res.stage == 4
    v0, h0 = res.visible[before][-1], res.hidden[before][-1]
    v1, h1 = res.visible[after][0], res.hidden[after][0]
    assert abs(v1) < 2e-3 * abs(v0)
    assert abs(h1 - h0) < 1e-9


@pytest.mark.parametrize("pulse_model", ["discrete", "continuous"])
def test_small_angle_depletion_without_diffusion(pulse_model):
    frozen = lattice(1200, cutoff_nm=0.05, t1_bulk_s=np.inf)  # no pair closer than 0.05 nm: no flip-flops
    assert len(frozen.geometry.i) == 0
    cal = MicrowaveCalibration(pbar_table=((0.0, 1.0), (200.0, 1.0)))  # Pbar = 1: no relaxation
    p0 = np.full(frozen.n, 0.3)
    res = run_protocol(frozen, [Detect(40, 1.0, 10.0)], cal, p0=p0, pulse_model=pulse_model,
                       method="krylov")
    expected = 0.3 * np.cos(np.deg2rad(10.0)) ** np.arange(40)
    np.testing.assert_allclose(res.visible, expected, rtol=1e-9)
    np.testing.assert_allclose(res.hidden, 0.3, rtol=1e-12)


def test_continuous_pulse_model_matches_discrete_pulses(model):
    stages = hypres(+1, n=100)
    a = run_protocol(model, stages, pulse_model="discrete", method="dense")
    b = run_protocol(model, stages, pulse_model="continuous", method="dense")
    det = a.stage == 4
    # measured: 1.4e-6 of the peak over 100 pulses 10 s apart (0.1 degree)
    assert np.max(np.abs(a.visible[det] - b.visible[det])) < 5e-6 * np.abs(a.visible[det]).max()


def test_visible_signal_converges_with_the_cutoff():
    """The detected curve converges with the flip-flop cutoff (default 1.5 nm).

    Measured here (1500 protons): largest change 12.2 % of the peak from 1.0 to 1.5 nm,
    5.7 % from 1.5 to 2.0 nm, 4.1 % from 2.0 to 2.5 nm (docs/performance.md).
    """
    stages = hypres(+1, n=64)
    curves = []
    for cutoff in (1.0, 1.5, 2.0):
        res = run_protocol(lattice(1500, seed=4, cutoff_nm=cutoff), stages, method="krylov")
        curves.append(res.visible[res.stage == 4])
    peak = curves[-1].max()
    first, second = (np.max(np.abs(b - a)) for a, b in zip(curves[:-1], curves[1:]))
    assert second < 0.6 * first and second < 0.08 * peak


def test_eq6_samples_the_electron_t1_by_default(model):
    """Eq. 6 with Gamma = 1/T1e (default) or the flip-flop Gamma_c (the paper), closed form."""
    omega0 = float(larmor_angular(GAMMA_H, 7.05))
    full = MicrowaveSetting(118.0, -1)
    rates = {}
    for choice in ("electron_t1", "tau_c"):
        cond = MicrowaveCalibration(relaxation_tau_c=choice).condition(full)
        gamma = 1.0 if choice == "electron_t1" else cond.gamma_c
        assert cond.gamma_c_relaxation == pytest.approx(gamma, rel=1e-12)
        expected = 0.5 * model.geometry.apm_sq * (1 - cond.pbar ** 2) * gamma / (gamma ** 2 + omega0 ** 2)
        np.testing.assert_allclose(model.gamma1(cond), expected, rtol=1e-12)
        rates[choice] = float(np.mean(model.relaxation(cond) - 1.0 / model.params.t1_bulk_s))
        dnp = float(np.mean(model.dnp_rates(cond)))
    # with the flip-flop tau_c the mean paramagnetic relaxation under full power (~0.15 s^-1)
    # is ~30x the mean DNP rate: DNP would have to act in seconds to reach 70 %
    assert rates["tau_c"] > 10 * dnp and rates["electron_t1"] < 1e-4 * dnp
    for bad in (-1.0, 0.0, np.inf):
        with pytest.raises(ConfigError, match="relaxation_tau_c_us"):
            ElectronCondition(pbar=0.5, relaxation_tau_c_us=bad)


def test_visible_pool_follows_the_selective_saturation(model):
    stages = hypres(+1, detect_power=118.0, n=8, interval=0.025)
    sat = run_protocol(model, stages, visible_pool="saturated", method="dense")
    now = run_protocol(model, stages, visible_pool="shift", method="dense")
    det = sat.stage == 4
    before = sat.visible[sat.stage == 2][-1]
    np.testing.assert_array_equal(sat.visible[~det], now.visible[~det])
    assert abs(sat.visible[det][0]) < 2e-3 * before  # the saturated pool starts at ~0
    # at Pbar = 0.5 the shifts halve: hyperpolarized protons enter the band at once
    assert now.visible[det][0] > 0.003
    # with microwaves off during detection both choices read the same protons
    a = run_protocol(model, hypres(+1, n=8), visible_pool="saturated")
    b = run_protocol(model, hypres(+1, n=8), visible_pool="shift")
    np.testing.assert_array_equal(a.visible, b.visible)
    with pytest.raises(ValueError, match="visible_pool"):
        run_protocol(model, stages, visible_pool="now")


@pytest.mark.parametrize("method", ["dense", "krylov"])
def test_shared_prefixes_give_the_same_results_bit_for_bit(model, method):
    from latticedns.protocol import iter_protocols
    lists = [hypres(+1, detect_power=w, n=16, interval=0.025) for w in (0.0, 60.0, 118.0)]
    lists += [hypres(-1, n=8), hypres(+1, n=8), hypres(+1, detect_power=60.0, n=16, interval=0.025)]
    kw = dict(method=method, rtol=1e-8, profile_times_s=(300.0, 650.0))
    calls = []
    shared = list(iter_protocols(model, lists, progress=lambda i, k, *a: calls.append((i, k)),
                                 **kw))
    for stages, res in zip(lists, shared):
        alone = run_protocol(model, stages, **kw)
        for key in ("t_s", "visible", "hidden", "stage", "profile_t_s", "profiles", "p_final"):
            np.testing.assert_array_equal(getattr(res, key), getattr(alone, key), err_msg=key)
        assert len(res.cost["stage_seconds"]) == len(stages)
        # the linear solvers that ran are recorded (none for the dense method)
        assert (res.cost["solver"] == "") == (method == "dense")
        assert res.cost["solver"] == alone.cost["solver"]
    # only the detection of the 2nd and 3rd lists is computed; the 4th shares the saturation;
    # the 5th differs from the 1st only in its detection; the 6th repeats the 2nd entirely
    started = sorted({(i, k) for i, k in calls})
    assert [k for i, k in started if i == 1] == [4] and [k for i, k in started if i == 2] == [4]
    assert [k for i, k in started if i == 3] == [1, 2, 3, 4]
    assert [k for i, k in started if i == 4] == [4] and [k for i, k in started if i == 5] == [4]


def test_profiles_between_discrete_pulses_are_the_state_at_their_time():
    """A profile time between two pulses of a discrete detection is the state after the
    earlier pulse advanced to that time (was: the state at the next pulse), and one in the
    last interval is recorded (was: dropped); checked against expm of the dense operator."""
    from scipy.linalg import expm

    m = lattice(1000, seed=5)
    cal = MicrowaveCalibration()
    p0 = np.linspace(0.0, 0.5, m.n)
    det = Detect(3, 2.0, 30.0, power_mW=60.0, dnp_sign=-1)
    res = run_protocol(m, [det], cal, p0=p0, method="dense", pulse_model="discrete",
                       profile_times_s=[0.0, 1.0, 5.5], rtol=1e-10)
    assert res.profile_t_s.tolist() == [0.0, 1.0, 5.5]
    c = cal.condition(det.microwave)
    L, s = m.operator(c)
    L = L.toarray()

    def advance(p, t):
        E = expm(L * t)
        return E @ p + np.linalg.solve(L, (E - np.eye(m.n)) @ s)

    tipped = m.saturation_mask(c.pbar, det.bandwidth_kHz)
    pulse = lambda p: np.where(tipped, p * np.cos(np.deg2rad(30.0)), p)
    expected = {0.0: p0, 1.0: advance(pulse(p0), 1.0),
                5.5: advance(pulse(advance(pulse(advance(pulse(p0), 2.0)), 2.0)), 1.5)}
    w = m.radial_profile_weights(res.profile_edges_nm)
    for t, prof in zip(res.profile_t_s, res.profiles):
        np.testing.assert_allclose(prof, w @ expected[float(t)], rtol=1e-8, atol=1e-12)


def test_the_pulse_model_is_a_choice_and_is_recorded(model):
    """run.pulse_model reaches run_protocol; the model that ran is in the result's cost."""
    from latticedns.experiment import parse_run_document, protocol_options
    from latticedns.tomlfile import read_toml

    stages = hypres(+1, n=4)
    assert run_protocol(model, stages, method="dense").cost["pulse_model"] == "discrete"
    assert run_protocol(model, stages, method="krylov").cost["pulse_model"] == "continuous"
    with pytest.raises(ConfigError, match="pulse_model"):
        run_protocol(model, stages, pulse_model="sudden")
    runs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs")
    doc, _ = read_toml(os.path.join(runs, "hypres-mw-off.toml"), "run file")
    doc["run"]["pulse_model"] = "continuous"
    spec = parse_run_document(doc, runs)[0]
    assert protocol_options(spec.run)["pulse_model"] == "continuous"
