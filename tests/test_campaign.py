"""Campaigns: sweep expansion, bad files (exit 2), workers, failures, resume, SIGKILL safety."""

import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from latticedns.campaign import load_campaign, open_store, run_campaign
from latticedns.cli import main
from latticedns.errors import ConfigError
from latticedns.store import read_runs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GEOM = os.path.join(ROOT, "geometries", "dnp-juice-50mM.toml")

BASE = f'''
[run]
name = "t"
model = "continuum"
sample = "{GEOM}"

[physics]
mesh_refinement = 0.5

[[stage]]
type = "saturate"
[[stage]]
type = "microwave"
name = "prepare"
duration_s = 640.0
power_mW = 118.0
[[stage]]
type = "delay"
duration_s = 10.0
[[stage]]
type = "selective_saturate"
[[stage]]
type = "detect"
name = "detect"
n_pulses = 8
interval_s = 10.0
flip_angle_deg = 0.1

[[variant]]
name = "pos"
[[variant]]
name = "neg"
set = {{ "stage.prepare.dnp_sign" = -1 }}
'''

CAMPAIGN = '''
[campaign]
name = "c"
base = "base.toml"
seeds = 2

[sweep]
"sample.radical_mM" = [25, 50]
"microwave.tau_c_us" = [0.5, 1.0]
'''

# a tiny lattice (2 radicals at 100 mM, ~250 protons): seeds give different samples
LATTICE = '''
[campaign]
base = "base.toml"
seeds = 2
variants = ["pos"]

[set]
"run.model" = "lattice"
"run.n_radicals" = 2
"physics.hyperfine_cutoff_nm" = 1.5

[sweep]
"sample.radical_mM" = [100, 2000]
'''


# the second point fails while running: the dense method refuses its 20,114 protons
FAILING = """
[campaign]
base = "base.toml"
seeds = 2
variants = ["pos"]
mode = "zip"

[set]
"run.model" = "lattice"
"physics.hyperfine_cutoff_nm" = 1.5

[sweep]
"sample.radical_mM" = [100, 50]
"run.n_radicals" = [2, 81]
"run.method" = ["auto", "dense"]
"""


def setup(tmp_path, campaign=CAMPAIGN, base=BASE):
    (tmp_path / "base.toml").write_text(base)
    path = tmp_path / "camp.toml"
    path.write_text(campaign)
    return str(path)


def arrays(store):
    with h5py.File(store) as f:
        return {f"{name}/{k}": g[k][()] for name, g in f["runs"].items()
                for k in ("t_s", "visible", "hidden", "profiles")}


def assert_same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k


def test_expansion_product_zip_and_seeds(tmp_path):
    c = load_campaign(setup(tmp_path))
    assert c.keys == ("sample.radical_mM", "microwave.tau_c_us") and len(c.points) == 4
    assert len(c.tasks) == 4 * 2 * 2 and len({t.run_id for t in c.tasks}) == 16
    t = c.tasks[0]
    assert t.run_id == "radical_mM=25 tau_c_us=0.5 seed=0 pos"
    assert t.document["sample"]["radical_mM"] == 25
    assert t.document["microwave"]["tau_c_us"] == 0.5
    assert [t.document["run"]["seed"] for t in c.tasks[:4]] == [1, 1, 2, 2]  # s0 + k
    z = load_campaign(setup(tmp_path, CAMPAIGN.replace('seeds = 2', 'mode = "zip"')))
    assert [p["microwave.tau_c_us"] for p in z.points] == [0.5, 1.0] and len(z.tasks) == 4
    assert [t.fingerprint for t in load_campaign(setup(tmp_path)).tasks] == \
        [t.fingerprint for t in c.tasks]  # deterministic


@pytest.mark.parametrize("change, key", [
    (('seeds = 2', 'seeds = 0'), "campaign.seeds"),
    (('seeds = 2', 'seeds = 2\ncolour = 1'), "campaign.colour"),
    (('"microwave.tau_c_us" = [0.5, 1.0]', ''), None),
    (('[sweep]\n"sample.radical_mM" = [25, 50]\n"microwave.tau_c_us" = [0.5, 1.0]', '[sweep]'),
     "sweep"),
    (('"microwave.tau_c_us"', '"microwave.tau_cc_us"'), "sweep.microwave.tau_cc_us"),
    (('"microwave.tau_c_us"', '"stage.detect.power_W"'), "sweep.stage.detect.power_W"),
    (('"microwave.tau_c_us"', '"stage.nope.power_mW"'), "sweep.stage.nope.power_mW"),
    (('"microwave.tau_c_us" = [0.5, 1.0]', '"microwave.tau_c_us" = []'),
     "sweep.microwave.tau_c_us"),
    (('"microwave.tau_c_us"', '"stage.prepare.dnp_sign"'), "sweep.stage.prepare.dnp_sign"),
    (('base = "base.toml"', 'base = "missing.toml"'), "campaign.base"),
    (('seeds = 2', 'seeds = 2\nmode = "zip"\n[set]\n"run.colour" = 1'), "set.run.colour"),
])
def test_bad_campaign_files_exit_2_and_write_nothing(tmp_path, capsys, change, key):
    if key is None:  # control: a valid campaign parses
        load_campaign(setup(tmp_path, CAMPAIGN.replace(*change)))
        return
    path = setup(tmp_path, CAMPAIGN.replace(*change))
    store = tmp_path / "s.h5"
    assert main(["campaign", "run", path, "-o", str(store)]) == 2
    err = capsys.readouterr().err
    assert key in err and err.count("\n") == 1
    assert not store.exists() and not os.path.exists(f"{store}.d")


def test_invalid_sweep_points_are_refused_before_any_run(tmp_path, capsys):
    """A sweep point the run file refuses (2000 mM) stops the campaign before it starts:
    exit 2, the key and the run named, nothing written."""
    path = setup(tmp_path, LATTICE, BASE.replace("mesh_refinement = 0.5", ""))
    store = tmp_path / "s.h5"
    assert main(["campaign", "run", path, "-o", str(store)]) == 2
    err = capsys.readouterr().err
    assert "sample.radical_mM" in err and "radical_mM=2000" in err
    assert not store.exists() and not os.path.exists(str(store) + ".d")


def test_workers_bit_identical_and_failed_runs_recorded(tmp_path, capsys):
    """A run that fails while running (the dense method refuses 20,114 protons once the
    sample is built) is recorded with its error; the others finish, bit-identical with
    1 and 2 workers."""
    path = setup(tmp_path, FAILING, BASE.replace("mesh_refinement = 0.5", ""))
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    assert main(["campaign", "run", path, "-o", str(one), "--workers", "1"]) == 1
    assert main(["campaign", "run", path, "-o", str(two), "--workers", "2"]) == 1
    a = arrays(one)
    assert_same(a, arrays(two))
    assert len(a) == 2 * 4  # two runs at 100 mM
    s = open_store(two)
    assert list(s.table["status"]) == ["done", "done", "failed", "failed"]
    assert "dense method limited" in s.table["error"][2]
    with h5py.File(two) as f:  # different seeds: different samples
        p0, p1 = (f["runs"][r]["sample/protons_nm"][()] for r in s.select())
        assert p0.shape != p1.shape or not np.array_equal(p0, p1)
        assert f["campaign/sweep/sample.radical_mM"].attrs["units"] == "mM"
        assert f["campaign/wall_s"].attrs["units"] == "s"
        assert "[sweep]" in f["campaign"].attrs["campaign_toml"]
    assert main(["campaign", "status", str(two)]) == 0
    assert "2 done, 2 failed" in capsys.readouterr().out


def test_resume_skips_finished_runs_and_refuses_changes(tmp_path, capsys):
    path = setup(tmp_path, CAMPAIGN.replace("seeds = 2", "seeds = 1"))
    store = str(tmp_path / "s.h5")
    first = run_campaign(load_campaign(path), store, workers=2)
    assert (first.n_executed, first.n_done, first.n_failed) == (8, 8, 0)
    again = run_campaign(load_campaign(path), store, workers=2)
    assert again.n_executed == 0 and again.n_done == 8
    grown = setup(tmp_path, CAMPAIGN)  # one more seed per point: only the new runs
    more = run_campaign(load_campaign(grown), store, workers=2)
    assert more.n_executed == 8 and more.n_done == 16
    s = open_store(store)
    v = s.array("visible", {"sample.radical_mM": 25, "microwave.tau_c_us": 0.5}, variant="pos")
    assert v.shape == (2, 2 + 8) and np.array_equal(v[0], v[1])  # continuum: seed-free
    assert len(read_runs(store)) == 16
    changed = setup(tmp_path, CAMPAIGN.replace("[sweep]", '[set]\n"physics.mesh_refinement" = 0.6\n'
                                                         '[sweep]'))
    with pytest.raises(ConfigError, match="--force"):
        run_campaign(load_campaign(changed), store)
    assert main(["campaign", "run", changed, "-o", store]) == 2
    assert "differ from this campaign" in capsys.readouterr().err
    forced = run_campaign(load_campaign(changed), store, workers=2, force=True)
    assert forced.n_executed == 16


def _start(path, store):
    return subprocess.Popen([sys.executable, "-m", "latticedns.cli", "campaign", "run", path,
                             "-o", store, "--workers", "2"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _check_readable(store):
    done = set()
    if os.path.exists(store):
        s = open_store(store)
        done = set(s.select())
        assert {r.name for r in read_runs(store)} == done
    for name in os.listdir(store + ".d") if os.path.isdir(store + ".d") else []:
        if name.endswith(".h5") and not name.startswith("."):
            (rec,) = read_runs(os.path.join(store + ".d", name))
            assert np.all(np.isfinite(rec.result.visible))
    return done


def test_sigkill_at_any_moment_then_resume_is_bit_identical(tmp_path):
    path = setup(tmp_path, CAMPAIGN.replace("seeds = 2", "seeds = 3"))
    ref = str(tmp_path / "ref.h5")
    assert main(["campaign", "run", path, "-o", ref, "--workers", "2"]) == 0
    store = str(tmp_path / "killed.h5")
    rng = random.Random(5)
    kills, files = 0, lambda: len(os.listdir(store + ".d")) if os.path.isdir(store + ".d") else 0
    for target in (0, 2, 7, 13, 19):  # kill once that many runs are in, + a random delay
        proc = _start(path, store)
        t0 = time.monotonic()
        while files() < target + 1 + (target > 0) and proc.poll() is None \
                and time.monotonic() - t0 < 60:  # + the lock file
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3) if target else 0.3)
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-write or not
        proc.wait()
        kills += 1
        _check_readable(store)
    assert kills >= 3, f"the campaign finished before 3 kills ({kills})"
    proc = _start(path, store)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else "resume failed"
    assert len(_check_readable(store)) == 24
    assert_same(arrays(store), arrays(ref))
    # no temporary file of any killed coordinator is left, beside the store or in STORE.d
    leftovers = [n for d in (str(tmp_path), store + ".d") for n in os.listdir(d)
                 if n.endswith(".tmp")]
    assert leftovers == [], leftovers
